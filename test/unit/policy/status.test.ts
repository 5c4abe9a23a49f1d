import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BOUNDARY_MARGIN_MS, MAX_REQUEUE_MS, POLICY_STATUS_HAS_LAST_HANDLED, evaluatePolicy } from "../../../src/policy/status.js";
import type { SyncPolicy } from "../../../src/api/syncpolicy.js";

// As the API server returns it: server-set metadata, defaults applied.
function policy(spec: Record<string, unknown>, extra: Partial<SyncPolicy> = {}): SyncPolicy {
  return {
    apiVersion: "delivery.mooring.dev/v1alpha1",
    kind: "SyncPolicy",
    metadata: { name: "p", namespace: "ns", generation: 3, uid: "9b1f7c1e-0000-4000-8000-000000000001", resourceVersion: "123", creationTimestamp: "2026-03-01T00:00:00Z" },
    spec,
    ...extra,
  } as SyncPolicy;
}

const cond = (s: { conditions?: { type: string }[] } | undefined, type: string) => s?.conditions?.find((c) => c.type === type) as
  | { status: string; reason: string; message: string; observedGeneration?: number; lastTransitionTime: string }
  | undefined;

const NOW = Date.parse("2026-03-02T23:00:00Z");

describe("evaluatePolicy", () => {
  it("a policy without windows is Ready with WindowOpen=True (NoWindows), no next change and no requeue", () => {
    const e = evaluatePolicy(policy({}), 4, NOW);
    assert.equal(e.invalid, undefined);
    assert.equal(e.status.applications, 4);
    assert.equal(e.status.observedGeneration, 3);
    assert.equal(cond(e.status, "Ready")?.status, "True");
    assert.equal(cond(e.status, "Ready")?.observedGeneration, 3);
    assert.equal(cond(e.status, "WindowOpen")?.status, "True");
    assert.equal(cond(e.status, "WindowOpen")?.reason, "NoWindows");
    assert.equal(e.status.nextWindowChange, undefined);
    assert.equal(e.requeueAfterMs, undefined);
  });

  it("an open deny window gives WindowOpen=False (InDenyWindow), nextWindowChange, and a requeue just after it", () => {
    const e = evaluatePolicy(policy({ windows: [{ kind: "deny", schedule: "0 22 * * *", duration: "8h" }] }), 0, NOW);
    assert.equal(cond(e.status, "Ready")?.status, "True");
    const w = cond(e.status, "WindowOpen")!;
    assert.equal(w.status, "False");
    assert.equal(w.reason, "InDenyWindow");
    assert.match(w.message, /deny window 0/);
    assert.equal(e.status.nextWindowChange, "2026-03-03T06:00:00Z");
    assert.equal(e.requeueAfterMs, 7 * 3_600_000 + BOUNDARY_MARGIN_MS);
  });

  it("requeues daily when no change is in sight, so the search horizon moves forward", () => {
    const e = evaluatePolicy(policy({ windows: [{ kind: "deny", schedule: "0 0 29 2 *", duration: "1h" }] }), 0, NOW);
    assert.equal(e.status.nextWindowChange, undefined);
    assert.equal(e.requeueAfterMs, MAX_REQUEUE_MS);
  });

  it("an invalid spec is Stalled (InvalidSpec) with the field named, Ready=False, WindowOpen=Unknown, and no requeue", () => {
    const e = evaluatePolicy(policy({ windows: [{ kind: "deny", schedule: "61 * * * *", duration: "1h" }] }), 1, NOW);
    assert.match(e.invalid!, /spec\.windows\[0\]\.schedule/);
    assert.equal(cond(e.status, "Stalled")?.status, "True");
    assert.equal(cond(e.status, "Stalled")?.reason, "InvalidSpec");
    assert.equal(cond(e.status, "Ready")?.status, "False");
    assert.equal(cond(e.status, "WindowOpen")?.status, "Unknown");
    assert.equal(e.status.nextWindowChange, undefined);
    assert.equal(e.status.applications, 1);
    assert.equal(e.requeueAfterMs, undefined);
  });

  it("a window the cron library cannot walk is reported like an invalid spec", () => {
    const e = evaluatePolicy(policy({ windows: [{ kind: "deny", schedule: "0 * * * *", duration: "30m", timeZone: "Australia/Lord_Howe" }] }), 0, Date.parse("2026-04-04T13:00:00Z"));
    assert.equal(cond(e.status, "Stalled")?.reason, "InvalidSpec");
    assert.match(e.invalid!, /Lord_Howe/);
  });

  it("fixing the spec removes Stalled and keeps lastTransitionTime of conditions whose status did not change", () => {
    const bad = evaluatePolicy(policy({ windows: [{ kind: "deny", schedule: "61 * * * *", duration: "1h" }] }), 0, NOW);
    const fixed = evaluatePolicy(policy({ windows: [{ kind: "deny", schedule: "0 22 * * *", duration: "8h" }] }, { status: bad.status }), 0, NOW + 60_000);
    assert.equal(cond(fixed.status, "Stalled"), undefined);
    assert.equal(cond(fixed.status, "Ready")?.status, "True");
    const again = evaluatePolicy(policy({ windows: [{ kind: "deny", schedule: "0 22 * * *", duration: "8h" }] }, { status: fixed.status }), 0, NOW + 120_000);
    assert.deepEqual(again.status, fixed.status, "a second evaluation with nothing new gives the same status (no write)");
  });

  it("the status changes when the window flips, and only the WindowOpen transition time moves", () => {
    const spec = { windows: [{ kind: "deny", schedule: "0 22 * * *", duration: "8h" }] };
    const open = evaluatePolicy(policy(spec), 0, NOW);
    const closed = evaluatePolicy(policy(spec, { status: open.status }), 0, Date.parse("2026-03-03T06:00:00Z"));
    assert.equal(cond(closed.status, "WindowOpen")?.status, "True");
    assert.equal(cond(closed.status, "WindowOpen")?.lastTransitionTime, "2026-03-03T06:00:00Z");
    assert.equal(cond(closed.status, "Ready")?.lastTransitionTime, cond(open.status, "Ready")?.lastTransitionTime);
    assert.equal(closed.status.nextWindowChange, "2026-03-03T22:00:00Z");
  });

  it("records the reconcile request only when the API declares lastHandledReconcileAt", () => {
    const e = evaluatePolicy(policy({}, { metadata: { name: "p", namespace: "ns", generation: 1, annotations: { "mooring.dev/reconcile-requested-at": "now-1" } } }), 0, NOW);
    assert.equal(e.status.lastHandledReconcileAt, POLICY_STATUS_HAS_LAST_HANDLED ? "now-1" : undefined);
  });
});
