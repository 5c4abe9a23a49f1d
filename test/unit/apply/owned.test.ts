// The apply controller's part of an Application's status (src/apply/owned.ts): read out of the object, laid over it,
// and the small helpers its messages use.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Condition } from "../../../src/runtime/conditions.js";
import { type AppObject, clip, currentOwned, describeDrift, ms, overlayOwned, renderFailure, stampOf } from "../../../src/apply/owned.js";

const cond = (type: string, status: Condition["status"] = "True", reason = "R", message = "m"): Condition => ({ type, status, reason, message, lastTransitionTime: "2026-01-01T00:00:00Z" });
const app = (status?: object, metadata: object = {}): AppObject =>
  ({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "web", namespace: "demo", generation: 4, ...metadata }, spec: { sourceRef: { kind: "GitRepository", name: "repo" }, path: "." }, ...(status ? { status } : {}) }) as unknown as AppObject;

describe("the apply controller's status part", () => {
  it("reads defaults from an empty status and only the conditions it owns", () => {
    assert.deepEqual(currentOwned(app()), { sync: { status: "Unknown", inventory: [] }, health: { status: "Unknown" }, history: [], conditions: [] });
    const owned = currentOwned(app({ observedGeneration: 3, sync: { status: "Synced", revision: "r" }, conditions: [cond("Ready"), cond("Rendered"), cond("Synced")] }));
    assert.equal(owned.observedGeneration, 3);
    assert.deepEqual(owned.sync, { status: "Synced", revision: "r", inventory: [] });
    assert.deepEqual(owned.conditions.map((c) => c.type), ["Ready", "Synced"]);
  });

  it("lays its part over the object and keeps other managers' conditions", () => {
    const a = app({ conditions: [cond("Rendered"), cond("Ready", "False")], render: { objects: 2 } });
    const owned = { ...currentOwned(a), observedGeneration: 4, conditions: [cond("Ready")] };
    const out = overlayOwned(a, owned);
    assert.deepEqual((out.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`), ["Rendered=True", "Ready=True"]);
    assert.equal(out.status?.observedGeneration, 4);
    assert.deepEqual((out.status as { render?: unknown }).render, { objects: 2 }, "fields it does not own are kept");
  });

  it("stamps the generation and a pending reconcile request", () => {
    assert.deepEqual(stampOf(app(undefined, { annotations: { "mooring.dev/reconcile-requested-at": "t1" } }), 5), { generation: 4, reconcileRequestedAt: "t1", now: 5 });
  });

  it("says a render failed only when Rendered is False for another reason than suspension", () => {
    assert.equal(renderFailure(app({ conditions: [cond("Rendered", "False", "RenderFailed", "bad chart")] })), "render failed: bad chart");
    assert.equal(renderFailure(app({ conditions: [cond("Rendered", "False", "Suspended")] })), undefined);
    assert.equal(renderFailure(app({ conditions: [cond("Rendered")] })), undefined);
    assert.equal(renderFailure(app()), undefined);
  });

  it("clips long messages saying how much was cut, and describes drift", () => {
    assert.equal(clip("short"), "short");
    const long = clip("x".repeat(100), 50);
    assert.equal(long, `${"x".repeat(30)}… (70 more characters)`);
    const ref = { apiVersion: "v1", kind: "ConfigMap", namespace: "demo", name: "cfg" };
    assert.match(describeDrift({ id: "i", ref, missing: false, fields: ["/data/a", "/data/b"] }), /ConfigMap.*cfg.*\(\/data\/a, \/data\/b\)$/);
    assert.match(describeDrift({ id: "i", ref, missing: true, fields: [] }, "gone"), /\(gone\)$/);
    assert.equal(ms("2026-01-01T00:00:00Z"), Date.parse("2026-01-01T00:00:00Z"));
    assert.ok(Number.isNaN(ms(undefined)));
  });
});
