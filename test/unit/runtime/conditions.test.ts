import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { computeStatus, markReady, markReconciling, markStalled, setCondition, type StatusWithConditions } from "../../../src/runtime/conditions.js";

describe("conditions", () => {
  it("keeps lastTransitionTime when only the reason or message changes", () => {
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    let c = setCondition(undefined, { type: "Ready", status: "False", reason: "A", message: "a" }, t0);
    assert.equal(c[0]!.lastTransitionTime, "2026-01-01T00:00:00Z");
    c = setCondition(c, { type: "Ready", status: "False", reason: "B", message: "b" }, t0 + 60_000);
    assert.equal(c[0]!.lastTransitionTime, "2026-01-01T00:00:00Z");
    assert.equal(c[0]!.reason, "B");
    c = setCondition(c, { type: "Ready", status: "True", reason: "B", message: "b" }, t0 + 120_000);
    assert.equal(c[0]!.lastTransitionTime, "2026-01-01T00:02:00Z");
    assert.equal(setCondition(c, { type: "Ready", status: "True", reason: "B", message: "b" }, t0 + 999_000), c, "no change returns the same array");
  });

  it("follows kstatus: Reconciling/Stalled abnormal-true, Ready positive, observedGeneration recorded", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    let s: StatusWithConditions = markReconciling({}, 3, "Progressing", "working", now);
    assert.equal(computeStatus({ metadata: { generation: 3 }, status: s }), "InProgress");
    assert.equal(s.observedGeneration, 3);
    s = markStalled(s, 3, "BadSpec", "cannot", now);
    assert.deepEqual(s.conditions!.map((c) => `${c.type}=${c.status}`).sort(), ["Ready=False", "Stalled=True"]);
    assert.equal(computeStatus({ metadata: { generation: 3 }, status: s }), "Failed");
    s = markReady(s, 3, "Succeeded", "done", now);
    assert.deepEqual(s.conditions!.map((c) => `${c.type}=${c.status}`), ["Ready=True"]);
    assert.equal(computeStatus({ metadata: { generation: 3 }, status: s }), "Current");
    assert.equal(computeStatus({ metadata: { generation: 4 }, status: s }), "InProgress", "a newer generation is not observed yet");
  });
});
