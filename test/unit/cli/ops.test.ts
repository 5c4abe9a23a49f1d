// mooring sync --wait's progress line, from the conditions the apply controller writes, with no cluster.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { syncProgress } from "../../../src/cli/ops.js";

const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: "2026-03-02T10:00:00Z" });
const app = (conditions: unknown[], running = false) =>
  ({ metadata: { name: "web", namespace: "demo" }, spec: {}, status: { conditions, history: running ? [{ phase: "Running", revision: "r", startedAt: "t", initiatedBy: "manual" }] : [] } }) as never;

void describe("mooring sync progress", () => {
  void it("names the wave waited on with the waves and objects applied, and the health waited for", () => {
    const line = syncProgress(app([cond("Synced", "False", "Progressing", "waiting for wave 1 to be healthy before applying wave 2 (1 of 3 waves applied, 4 objects): Deployment demo/db: 0 of 1 replicas ready"), cond("Healthy", "Unknown", "Progressing", "Deployment demo/db: 0 of 1 replicas ready")]));
    assert.equal(line, "waves: waiting for wave 1 to be healthy before applying wave 2 (1 of 3 waves applied, 4 objects): Deployment demo/db: 0 of 1 replicas ready; health: Deployment demo/db: 0 of 1 replicas ready");
  });
  void it("says what is being applied while a sync's entry is Running", () => {
    assert.equal(syncProgress(app([cond("Synced", "Unknown", "Progressing", "applying 12 object(s); 2 not applied before are recorded in the inventory first")], true)), "applying: applying 12 object(s); 2 not applied before are recorded in the inventory first");
  });
  void it("falls back to the conditions when nothing is pending", () => {
    assert.equal(syncProgress(app([cond("Synced", "True", "Succeeded", "ok"), cond("Ready", "True", "Succeeded", "ok")])), "Synced=True; Ready=True");
  });
});
