// Provider and Alert status as pure functions (src/notify/status.ts), table-tested without a cluster.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Alert, Provider } from "../../../src/api/notification.js";
import type { DeliveryRecord } from "../../../src/notify/delivery.js";
import { alertStatus, providerStatus } from "../../../src/notify/status.js";

const NOW = Date.parse("2026-03-02T10:00:00Z");
const provider = (over: Partial<Provider["spec"]> = {}, ready?: "True" | "False"): Provider =>
  ({
    apiVersion: "notification.mooring.dev/v1alpha1",
    kind: "Provider",
    metadata: { name: "slack", namespace: "demo", generation: 2, annotations: { "mooring.dev/reconcile-requested-at": "r1" } },
    spec: { type: "slack", ...over },
    ...(ready ? { status: { conditions: [{ type: "Ready", status: ready, reason: "X", message: "the Secret is missing", lastTransitionTime: "2026-01-01T00:00:00Z" }] } } : {}),
  }) as Provider;
const alert = (over: Partial<Alert["spec"]> = {}): Alert =>
  ({
    apiVersion: "notification.mooring.dev/v1alpha1",
    kind: "Alert",
    metadata: { name: "ops", namespace: "demo", generation: 3 },
    spec: { providerRef: { name: "slack" }, eventSources: [{ kind: "Application", name: "*" }], ...over },
  }) as Alert;
const record = (result: DeliveryRecord["result"]): DeliveryRecord => ({ event: "Synced", object: "Application/demo/web", at: "2026-03-02T09:59:00Z", result, attempts: 1, reason: result === "Succeeded" ? "Delivered" : "DeliveryFailed", message: "sent" });
const cond = (s: { conditions?: { type: string; status: string; reason?: string; message?: string }[] }, type: string) => s.conditions?.find((c) => c.type === type);

describe("providerStatus", () => {
  it("Ready from the check (or Suspended), Delivered Unknown until a delivery, stamped with generation and request", () => {
    const ok = providerStatus(provider(), undefined, { ok: true, message: "ready to send" }, undefined, NOW);
    assert.deepEqual([cond(ok, "Ready")?.status, cond(ok, "Ready")?.reason, cond(ok, "Delivered")?.status, cond(ok, "Delivered")?.reason], ["True", "Succeeded", "Unknown", "NoEvents"]);
    assert.deepEqual([ok.observedGeneration, ok.lastHandledReconcileAt, ok.lastDelivery], [2, "r1", undefined]);
    const bad = providerStatus(provider(), undefined, { ok: false, reason: "SecretNotFound", message: "no Secret" }, undefined, NOW);
    assert.deepEqual([cond(bad, "Ready")?.status, cond(bad, "Ready")?.reason], ["False", "SecretNotFound"]);
    const off = providerStatus(provider({ suspend: true }), undefined, { ok: true, message: "ready" }, undefined, NOW);
    assert.deepEqual([cond(off, "Ready")?.status, cond(off, "Ready")?.reason], ["False", "Suspended"]);
  });

  it("Delivered and lastDelivery from the last delivery; an earlier process's kept when this one has none", () => {
    const sent = providerStatus(provider(), undefined, { ok: true, message: "ready" }, record("Succeeded"), NOW);
    assert.deepEqual([cond(sent, "Delivered")?.status, cond(sent, "Delivered")?.reason], ["True", "Delivered"]);
    assert.deepEqual(sent.lastDelivery, { event: "Synced", object: "Application/demo/web", at: "2026-03-02T09:59:00Z", result: "Succeeded", attempts: 1 });
    const failed = providerStatus(provider(), sent, { ok: true, message: "ready" }, record("Failed"), NOW);
    assert.deepEqual([cond(failed, "Delivered")?.status, failed.lastDelivery?.result], ["False", "Failed"]);
    const restarted = providerStatus(provider(), sent, { ok: true, message: "ready" }, undefined, NOW);
    assert.deepEqual([cond(restarted, "Delivered")?.status, restarted.lastDelivery?.result], ["True", "Succeeded"]);
  });
});

describe("alertStatus", () => {
  const table: { name: string; a: Alert; p: Provider | undefined; dropped?: number; want: [string, string, RegExp] }[] = [
    { name: "suspended", a: alert({ suspend: true }), p: provider({}, "True"), want: ["False", "Suspended", /suspended/] },
    { name: "no Provider", a: alert(), p: undefined, want: ["False", "ProviderNotFound", /Provider "slack" not found in namespace demo/] },
    { name: "Provider not ready", a: alert(), p: provider({}, "False"), want: ["False", "ProviderNotReady", /not ready: the Secret is missing/] },
    { name: "Provider not checked yet", a: alert(), p: provider(), want: ["False", "ProviderNotReady", /not checked yet/] },
    { name: "ready", a: alert({ eventKinds: ["SyncFailed"], eventSeverity: "error" }), p: provider({}, "True"), want: ["True", "Succeeded", /^sends SyncFailed \(severity error\) of Application\/\* to Provider slack \(slack\)$/] },
    { name: "ready, events dropped", a: alert(), p: provider({}, "True"), dropped: 1, want: ["True", "Succeeded", /every event .*; 1 event dropped by the rate limit/] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const s = alertStatus(t.a, undefined, t.p, undefined, t.dropped ?? 0, NOW);
      const ready = cond(s, "Ready");
      assert.deepEqual([ready?.status, ready?.reason], t.want.slice(0, 2));
      assert.match(ready?.message ?? "", t.want[2]);
      assert.equal(s.observedGeneration, 3);
      assert.equal(cond(s, "Delivered")?.reason, "NoEvents");
    });
  }
});
