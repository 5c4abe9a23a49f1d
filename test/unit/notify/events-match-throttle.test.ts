// The event table, Alert filtering, dedup and the rate limit: pure, with a fake clock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AlertSpec } from "../../../src/api/index.js";
import { classify, shaOf, toNotification, type KubeEvent, type NotificationEvent } from "../../../src/notify/events.js";
import { matchingAlerts, selects, type AlertObject } from "../../../src/notify/match.js";
import { Throttle } from "../../../src/notify/throttle.js";
import { FakeClock } from "../../../src/runtime/clock.js";

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

const event = (over: Partial<NotificationEvent> = {}): NotificationEvent => ({
  id: "1",
  kind: "Synced",
  severity: "info",
  object: { kind: "Application", namespace: "demo", name: "web" },
  reason: "Succeeded",
  message: "applied",
  revision: `main@sha1:${SHA}`,
  time: "2026-01-01T00:00:00Z",
  reportingController: "mooring-apply",
  ...over,
});
const spec = (over: Partial<AlertSpec> = {}): AlertSpec => ({ providerRef: { name: "p" }, eventSources: [{ kind: "Application", name: "*" }], ...over });

void describe("selects", () => {
  void it("filters by source kind, name, '*', matchLabels, event kinds, severity and suspend", () => {
    assert.equal(selects(spec(), event(), {}), true);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "web" }] }), event(), {}), true);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "api" }] }), event(), {}), false);
    assert.equal(selects(spec({ eventSources: [{ kind: "GitRepository", name: "*" }] }), event(), {}), false);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "*", matchLabels: { team: "shop" } }] }), event(), { team: "shop", x: "y" }), true);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "*", matchLabels: { team: "shop" } }] }), event(), { team: "ops" }), false);
    assert.equal(selects(spec({ eventSources: [{ kind: "Application", name: "*", matchLabels: { team: "shop" } }] }), event(), undefined), false);
    assert.equal(selects(spec({ eventKinds: ["SyncFailed"] }), event(), {}), false);
    assert.equal(selects(spec({ eventKinds: ["SyncFailed", "Synced"] }), event(), {}), true);
    assert.equal(selects(spec({ eventSeverity: "error" }), event(), {}), false);
    assert.equal(selects(spec({ eventSeverity: "error" }), event({ kind: "SyncFailed", severity: "error" }), {}), true);
    assert.equal(selects(spec({ suspend: true }), event(), {}), false);
  });

  void it("never matches an Alert of another namespace", () => {
    const alert = (ns: string): AlertObject => ({ apiVersion: "notification.mooring.dev/v1alpha1", kind: "Alert", metadata: { name: "a", namespace: ns }, spec: spec() });
    assert.deepEqual(matchingAlerts([alert("demo"), alert("other")], event(), {}).map((a) => a.metadata.namespace), ["demo"]);
  });
});

void describe("Throttle", () => {
  const limits = { dedupWindowMs: 300_000, events: 3, intervalMs: 60_000 };
  void it("sends the same event once per window, and again after it", () => {
    const clock = new FakeClock();
    const t = new Throttle(clock);
    assert.equal(t.admit("demo/a", event(), limits), "send");
    assert.equal(t.admit("demo/a", event({ id: "2", time: "later" }), limits), "duplicate", "a new Event with the same facts is the same event");
    assert.equal(t.admit("demo/b", event(), limits), "send", "another Alert has its own window");
    assert.equal(t.admit("demo/a", event({ message: "other" }), limits), "send");
    assert.equal(t.admit("demo/a", event({ revision: "main@sha1:" + "f".repeat(40) }), limits), "send");
    clock.advance(300_000);
    assert.equal(t.admit("demo/a", event(), { ...limits, events: 100 }), "send");
  });

  void it("rate limits per Alert: at most `events` per interval, refilled over it", () => {
    const clock = new FakeClock();
    const t = new Throttle(clock);
    const verdicts = [0, 1, 2, 3, 4].map((i) => t.admit("demo/a", event({ message: `m${i}` }), limits));
    assert.deepEqual(verdicts, ["send", "send", "send", "rateLimited", "rateLimited"]);
    assert.equal(t.admit("demo/b", event({ message: "m9" }), limits), "send");
    clock.advance(20_000); // one token back (3 per minute)
    assert.equal(t.admit("demo/a", event({ message: "m5" }), limits), "send");
    assert.equal(t.admit("demo/a", event({ message: "m6" }), limits), "rateLimited");
    // A rate-limited event was not counted as sent: it is not a duplicate later.
    clock.advance(60_000);
    assert.equal(t.admit("demo/a", event({ message: "m4" }), limits), "send");
  });
});
