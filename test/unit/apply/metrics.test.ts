// Per-Application metrics are bounded: at most maxApplications Applications have series of their own; the others
// are counted together under namespace="", name="", and a deleted Application frees its slot and its series.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { applyMetrics } from "../../../src/apply/metrics.js";

const app = (i: number) => ({ namespace: "ns", name: `app-${i}` });
async function series(reg: Registry, metric: string): Promise<string[]> {
  const text = await reg.metrics();
  return text.split("\n").filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `));
}

describe("per-Application metrics", () => {
  it("past the cap, counters and histograms are aggregated and gauges are not kept; the overflow is counted", async () => {
    const reg = new Registry();
    const m = applyMetrics(reg, { maxApplications: 2 });
    for (let i = 0; i < 5; i++) {
      m.objectsApplied.inc({ ...app(i), action: "created" }, 3);
      m.syncDuration.observe({ ...app(i), result: "succeeded" }, 1.5);
      m.setHealth("ns", `app-${i}`, "Healthy");
      m.drifted.set(app(i), 1);
    }
    const applied = await series(reg, "mooring_application_objects_applied_total");
    assert.deepEqual(applied.sort(), [
      'mooring_application_objects_applied_total{namespace="",name="",action="created"} 9',
      'mooring_application_objects_applied_total{namespace="ns",name="app-0",action="created"} 3',
      'mooring_application_objects_applied_total{namespace="ns",name="app-1",action="created"} 3',
    ]);
    assert.deepEqual((await series(reg, "mooring_application_sync_duration_seconds_count")).sort(), [
      'mooring_application_sync_duration_seconds_count{namespace="",name="",result="succeeded"} 3',
      'mooring_application_sync_duration_seconds_count{namespace="ns",name="app-0",result="succeeded"} 1',
      'mooring_application_sync_duration_seconds_count{namespace="ns",name="app-1",result="succeeded"} 1',
    ]);
    // Health and drift gauges: only the two Applications with a slot (6 health statuses each).
    assert.equal((await series(reg, "mooring_application_health")).length, 12);
    assert.equal((await series(reg, "mooring_application_drifted_objects")).length, 2);
    assert.deepEqual(await series(reg, "mooring_application_metrics_overflow"), ["mooring_application_metrics_overflow 3"]);
  });

  it("a deleted Application frees its slot and its series; the next Application takes the slot", async () => {
    const reg = new Registry();
    const m = applyMetrics(reg, { maxApplications: 1 });
    m.objectsApplied.inc({ ...app(0), action: "created" });
    m.syncDuration.observe({ ...app(0), result: "failed" }, 2);
    m.setHealth("ns", "app-0", "Degraded");
    m.objectsApplied.inc({ ...app(1), action: "created" });
    m.forget("ns", "app-0");
    await new Promise((r) => setImmediate(r));
    const text = await reg.metrics();
    assert.doesNotMatch(text, /name="app-0"/);
    m.objectsApplied.inc({ ...app(2), action: "configured" });
    m.setHealth("ns", "app-2", "Healthy");
    assert.match(await reg.metrics(), /mooring_application_objects_applied_total\{namespace="ns",name="app-2",action="configured"\} 1/);
    assert.match(await reg.metrics(), /mooring_application_health\{namespace="ns",name="app-2",status="Healthy"\} 1/);
    // app-1 was past the cap when it was counted; it stays in the aggregate until it claims a slot.
    assert.match(await reg.metrics(), /mooring_application_objects_applied_total\{namespace="",name="",action="created"\} 1/);
  });

  it("0 turns per-Application series off: everything is in the aggregate", async () => {
    const reg = new Registry();
    const m = applyMetrics(reg, { maxApplications: 0 });
    m.driftDetected.inc(app(0), 2);
    m.setHealth("ns", "app-0", "Healthy");
    assert.deepEqual(await series(reg, "mooring_application_drift_detected_total"), ['mooring_application_drift_detected_total{namespace="",name=""} 2']);
    assert.deepEqual(await series(reg, "mooring_application_health"), []);
  });
});
