// The event table: pure.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classify, shaOf, toNotification, type KubeEvent } from "../../../src/notify/events.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const appEvent = (reason: string, action: string, type = "Normal", note = "n"): KubeEvent => ({
  apiVersion: "events.k8s.io/v1",
  kind: "Event",
  metadata: { name: "e", namespace: "demo", uid: `uid-${reason}-${action}` },
  eventTime: "2026-01-01T00:00:00.000000Z",
  reason,
  action,
  type,
  note,
  reportingController: "mooring-apply",
  regarding: { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", name: "web", namespace: "demo", uid: "app-uid" },
});
const sourceEvent = (type: string): KubeEvent => ({
  ...appEvent("GitOperationFailed", "Fetch", type),
  reportingController: "mooring-source",
  regarding: { apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", name: "repo", namespace: "demo" },
});

void describe("classify", () => {
  void it("maps each Event the controllers record to an event kind and severity", () => {
    const cases: [KubeEvent, string | undefined, string | undefined][] = [
      [appEvent("Succeeded", "Sync"), "Synced", "info"],
      [appEvent("SyncFailed", "Sync", "Warning"), "SyncFailed", "error"],
      [appEvent("SyncFailed", "SelfHeal", "Warning"), "SyncFailed", "error"],
      [appEvent("HealthCheckFailed", "HealthCheck", "Warning"), "HealthDegraded", "error"],
      [appEvent("HealthCheckTimeout", "HealthCheck", "Warning"), "HealthDegraded", "error"],
      [appEvent("Healthy", "HealthCheck"), undefined, undefined],
      [appEvent("DriftDetected", "Drift", "Warning"), "DriftDetected", "error"],
      [appEvent("DriftCorrected", "SelfHeal"), "DriftReverted", "info"],
      [appEvent("SyncStarted", "Sync"), undefined, undefined],
      [appEvent("Pruned", "Prune"), undefined, undefined],
      [sourceEvent("Warning"), "SourceFailed", "error"],
      [sourceEvent("Normal"), undefined, undefined],
      // Someone else's controller recording the same reason is not Mooring's news.
      [{ ...appEvent("Succeeded", "Sync"), reportingController: "other" }, undefined, undefined],
      [{ ...appEvent("Succeeded", "Sync"), regarding: { apiVersion: "argoproj.io/v1alpha1", kind: "Application", name: "x" } }, undefined, undefined],
    ];
    for (const [ev, kind, severity] of cases) {
      const c = classify(ev);
      assert.equal(c?.kind, kind, `${ev.reason}/${ev.action}/${ev.type} by ${ev.reportingController}`);
      assert.equal(c?.severity, severity);
    }
  });

  void it("takes the revision from the message, else from the object's status", () => {
    const withRev = toNotification(appEvent("Succeeded", "Sync", "Normal", `revision main@sha1:${SHA}: 2 applied`))!;
    assert.equal(withRev.revision, `main@sha1:${SHA}`);
    assert.equal(shaOf(withRev.revision), SHA);
    const fromStatus = toNotification(appEvent("SyncFailed", "Sync", "Warning", "apply failed"), (k) => (k === "SyncFailed" ? `sha1:${SHA}` : undefined))!;
    assert.equal(fromStatus.revision, `sha1:${SHA}`);
    assert.deepEqual(fromStatus.object, { kind: "Application", namespace: "demo", name: "web", uid: "app-uid", apiVersion: "delivery.mooring.dev/v1alpha1" });
    assert.equal(toNotification(sourceEvent("Warning"))!.revision, undefined);
    assert.equal(shaOf("main@sha1:short"), undefined);
  });
});
