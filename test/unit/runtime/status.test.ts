import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "../../../src/runtime/client.js";
import { computeStatus, type Condition, type StatusWithConditions } from "../../../src/runtime/conditions.js";
import type { KubeObject } from "../../../src/runtime/kinds.js";
import { TerminalError } from "../../../src/runtime/reconcile.js";
import { type Outcome, StalledError, StatusWriter, WaitingError, canonicalStatus, outcomeOf, ready, resultOf, stableJson, stalled, summarize, waiting } from "../../../src/runtime/status.js";
import { isTerminal } from "../../../src/runtime/controller.js";

const NOW = Date.parse("2026-03-02T10:00:00Z");
const LATER = NOW + 60_000;
const cond = (s: StatusWithConditions, type: string) => s.conditions?.find((c) => c.type === type);
const types = (s: StatusWithConditions) => (s.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort();

describe("summarize: one outcome → Ready/Reconciling/Stalled, observedGeneration and lastHandledReconcileAt", () => {
  const table: { name: string; outcome: Outcome; want: string[]; kstatus: string }[] = [
    { name: "ready", outcome: ready("Succeeded", "ok"), want: ["Ready=True"], kstatus: "Current" },
    { name: "waiting", outcome: waiting(5_000, "Progressing", "rolling out"), want: ["Ready=Unknown", "Reconciling=True"], kstatus: "InProgress" },
    { name: "retrying", outcome: { kind: "retrying", reason: "SyncFailed", message: "boom", retry: { reason: "ProgressingWithRetry", message: "retrying at t" } }, want: ["Ready=False", "Reconciling=True"], kstatus: "InProgress" },
    { name: "blocked", outcome: { kind: "blocked", reason: "RenderFailed", message: "bad chart" }, want: ["Ready=False"], kstatus: "InProgress" },
    { name: "blocked, Unknown", outcome: { kind: "blocked", status: "Unknown", reason: "Progressing", message: "no artifact" }, want: ["Ready=Unknown"], kstatus: "InProgress" },
    { name: "stalled", outcome: stalled("InvalidSpec", "fix it"), want: ["Ready=False", "Stalled=True"], kstatus: "Failed" },
    { name: "suspended (Ready keeps False)", outcome: { kind: "suspended", reason: "Suspended", message: "suspended" }, want: ["Ready=False"], kstatus: "InProgress" },
  ];
  for (const t of table) {
    it(`${t.name}: ${t.want.join(", ")} (kstatus ${t.kstatus}), stamped`, () => {
      // Start from the opposite state each time, so every stale condition must be removed.
      const start: StatusWithConditions = summarize({}, t.outcome.kind === "stalled" ? ready("Succeeded", "ok") : stalled("X", "old"), { generation: 1, now: NOW });
      const s = summarize(start, t.outcome, { generation: 4, reconcileRequestedAt: "r1", now: LATER });
      assert.deepEqual(types(s), t.want);
      assert.equal(s.observedGeneration, 4);
      assert.equal(s.lastHandledReconcileAt, "r1");
      for (const c of s.conditions ?? []) assert.equal(c.observedGeneration, 4, c.type);
      assert.equal(cond(s, "Ready")?.reason, t.outcome.reason);
      assert.equal(computeStatus({ metadata: { generation: 4 }, status: s }), t.kstatus);
    });
  }

  it("suspended without a Ready condition before is Ready=Unknown", () => {
    assert.deepEqual(types(summarize({}, { kind: "suspended", reason: "Suspended", message: "m" }, { now: NOW })), ["Ready=Unknown"]);
  });

  it("suspended keeps Ready's status and its lastTransitionTime, with the new reason", () => {
    const before = summarize({}, ready("Succeeded", "ok"), { generation: 2, now: NOW });
    const s = summarize(before, { kind: "suspended", reason: "Suspended", message: "nothing is applied" }, { generation: 2, now: LATER });
    assert.equal(cond(s, "Ready")?.status, "True");
    assert.equal(cond(s, "Ready")?.reason, "Suspended");
    assert.equal(cond(s, "Ready")?.lastTransitionTime, cond(before, "Ready")?.lastTransitionTime);
  });

  it("reconciling with a readyMessage says one thing on Ready and another on Reconciling", () => {
    const s = summarize({}, { kind: "reconciling", reason: "Progressing", message: "waiting for health: 1 of 2", readyMessage: "1 of 2" }, { now: NOW });
    assert.equal(cond(s, "Ready")?.message, "1 of 2");
    assert.equal(cond(s, "Reconciling")?.message, "waiting for health: 1 of 2");
  });

  it("leaves other conditions alone and keeps lastTransitionTime while the status holds", () => {
    const other: Condition = { type: "Synced", status: "True", reason: "Succeeded", message: "x", lastTransitionTime: "2026-01-01T00:00:00Z" };
    const a = summarize({ conditions: [other] }, ready("Succeeded", "ok"), { generation: 1, now: NOW });
    const b = summarize(a, ready("Succeeded", "still ok"), { generation: 2, now: LATER });
    assert.deepEqual(cond(b, "Synced"), other);
    assert.equal(cond(b, "Ready")?.lastTransitionTime, "2026-03-02T10:00:00Z");
    assert.equal(cond(b, "Ready")?.message, "still ok");
  });

  it("without a request annotation keeps the lastHandledReconcileAt already there", () => {
    const s = summarize({ lastHandledReconcileAt: "old" }, ready("Succeeded", "ok"), { generation: 1, now: NOW });
    assert.equal(s.lastHandledReconcileAt, "old");
  });
});

describe("outcomeOf and resultOf: typed errors mapped in one place", () => {
  it("StalledError is terminal and stalls with its reason, no requeue", () => {
    const err = new StalledError("InvalidSpec", "spec.path is empty");
    assert.equal(isTerminal(err), true);
    const o = outcomeOf(err);
    assert.deepEqual([o.kind, o.reason, o.message], ["stalled", "InvalidSpec", "spec.path is empty"]);
    assert.deepEqual(resultOf(o), {});
  });

  it("WaitingError is Waiting(after): reconciling, requeued after `after`", () => {
    const o = outcomeOf(new WaitingError(7_000, "DependencyNotReady", "waiting for a"));
    assert.equal(o.kind, "reconciling");
    assert.deepEqual(resultOf(o), { requeueAfter: 7_000 });
    assert.equal(isTerminal(new WaitingError(1, "r", "m")), false);
  });

  it("a TerminalError stalls; any other error is retrying", () => {
    assert.equal(outcomeOf(new TerminalError("no")).kind, "stalled");
    const o = outcomeOf(new Error("connection reset"));
    assert.equal(o.kind, "retrying");
    assert.equal(o.message, "connection reset");
  });

  it("requeueAfter is the safety net; `after` wins over it", () => {
    assert.deepEqual(resultOf({ ...ready("Succeeded", "ok"), requeueAfter: 60_000 }), { requeueAfter: 60_000 });
    assert.deepEqual(resultOf({ ...waiting(500, "Progressing", "m"), requeueAfter: 60_000 }), { requeueAfter: 500 });
    assert.deepEqual(resultOf({ ...stalled("X", "m"), requeueAfter: 60_000 }), {});
  });
});

describe("StatusWriter: compares with its own last write", () => {
  function fakeClient() {
    const writes: KubeObject[] = [];
    const client = {
      applyStatus: async <T extends KubeObject>(obj: T) => {
        writes.push(obj);
        return { ...obj, metadata: { ...obj.metadata, uid: "u1", resourceVersion: String(writes.length) } } as T;
      },
    } as unknown as Client;
    return { client, writes };
  }
  const obj = (status: Record<string, unknown> | undefined, uid = "u1"): KubeObject => ({ apiVersion: "x/v1", kind: "Thing", metadata: { name: "a", namespace: "ns", uid }, ...(status ? { status } : {}) });

  it("writes nothing when the status equals what the object shows (key order and condition order do not matter)", async () => {
    const { client, writes } = fakeClient();
    const w = new StatusWriter<Record<string, unknown>>({ client, fieldManager: "me" });
    const c1 = { type: "A", status: "True" };
    const c2 = { type: "B", status: "True" };
    assert.equal(await w.write(obj({ x: 1, y: 2, conditions: [c1, c2] }), { conditions: [c2, c1], y: 2, x: 1 }), false);
    assert.equal(writes.length, 0);
  });

  it("writes a change once, and a cache still showing the old object does not make it write again", async () => {
    const { client, writes } = fakeClient();
    const w = new StatusWriter<Record<string, unknown>>({ client, fieldManager: "me" });
    const stale = obj({ phase: "old" });
    assert.equal(await w.write(stale, { phase: "new" }), true);
    assert.equal(writes.length, 1);
    assert.equal(writes[0]!.metadata?.name, "a");
    // The cache has not caught up: the writer knows better.
    assert.deepEqual(w.current(stale), { phase: "new" });
    assert.equal(await w.write(stale, { phase: "new" }), false);
    assert.equal(writes.length, 1);
    assert.equal(await w.write(stale, { phase: "newer" }), true);
    assert.equal(writes.length, 2);
  });

  it("a status someone else edited is written back: the controller owns its status", async () => {
    const { client, writes } = fakeClient();
    const w = new StatusWriter<Record<string, unknown>>({ client, fieldManager: "me" });
    const at = (status: Record<string, unknown>, resourceVersion: string): KubeObject => ({ ...obj(status), metadata: { ...obj(status).metadata, resourceVersion } });
    assert.equal(await w.write(at({ phase: "old" }, "0"), { phase: "new" }), true); // the fake answers resourceVersion "1"
    // The version the write was made from: the cache is behind, nothing to write.
    assert.equal(await w.write(at({ phase: "old" }, "0"), { phase: "new" }), false);
    // The cache shows the write: nothing to write either.
    assert.equal(await w.write(at({ phase: "new" }, "1"), { phase: "new" }), false);
    assert.equal(writes.length, 1);
    // From the version the write was made from, a change back is a change (the server holds the write).
    assert.equal(w.unchanged(at({ phase: "old" }, "0"), { phase: "old" }), false);
    // Someone else edits the status: the last write is still the controller's truth, and it is written back.
    const edited = at({ phase: "edited" }, "7");
    assert.deepEqual(w.current(edited), { phase: "new" });
    assert.equal(await w.write(edited, w.current(edited)), true);
    assert.equal(writes.length, 2);
    assert.deepEqual(writes[1]!.status, { phase: "new" });
  });

  it("a re-created object (another uid) or forget() starts from what the object shows", async () => {
    const { client, writes } = fakeClient();
    const w = new StatusWriter<Record<string, unknown>>({ client, fieldManager: "me" });
    await w.write(obj({ phase: "old" }), { phase: "new" });
    assert.equal(w.lastWritten(obj(undefined, "u2")), undefined);
    assert.deepEqual(w.current(obj({ phase: "fresh" }, "u2")), { phase: "fresh" });
    w.forget({ namespace: "ns", name: "a" });
    assert.equal(w.lastWritten(obj(undefined)), undefined);
    assert.equal(writes.length, 1);
  });

  it("ownedOf limits what is compared and remembered to the owned part", async () => {
    const { client, writes } = fakeClient();
    const w = new StatusWriter<{ mine?: number }>({ client, fieldManager: "me", ownedOf: (o) => ({ mine: (o.status as { mine?: number } | undefined)?.mine }) });
    assert.equal(await w.write(obj({ mine: 1, theirs: 2 }), { mine: 1 }), false);
    assert.equal(await w.write(obj({ mine: 1, theirs: 3 }), { mine: 2 }), true);
    assert.equal(writes.length, 1);
  });

  it("canonicalStatus sorts keys and conditions by type, keeps other arrays in order", () => {
    assert.equal(canonicalStatus({ b: [2, 1], a: { d: 1, c: 2 } }), '{"a":{"c":2,"d":1},"b":[2,1]}');
    assert.equal(canonicalStatus({ conditions: [{ type: "B" }, { type: "A" }] }), '{"conditions":[{"type":"A"},{"type":"B"}]}');
  });
});

describe("stableJson", () => {
  it("stableJson sorts object keys at every depth and keeps array order", () => {
    assert.equal(stableJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
    assert.equal(stableJson({ x: 1, y: 2 }), stableJson({ y: 2, x: 1 }));
    assert.equal(stableJson(null), "null");
  });
});
