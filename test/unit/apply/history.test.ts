// History and rollback, with no cluster: entry ids and limits, what a rollback request asks for and holds, the status
// and condition that say so, and decide()'s answers while a rollback holds an Application.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decide, type DecideInput } from "../../../src/apply/decide.js";
import { changesOf, parseRollbackRequest, rollbackHold, rollbackPart, type RollbackStatus } from "../../../src/apply/history.js";
import { type HistoryEntry, effectivePolicy, pushHistory } from "../../../src/apply/policy.js";
import type { Condition } from "../../../src/runtime/conditions.js";

const NOW = Date.parse("2026-03-02T10:00:00Z");
const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const entry = (id: number, digest: string, phase: HistoryEntry["phase"] = "Succeeded", url: string | undefined = `http://art/${id}.json`): HistoryEntry => ({
  id,
  revision: `main@sha1:${String(id).repeat(40).slice(0, 40)}`,
  digest,
  startedAt: "2026-03-02T09:00:00Z",
  finishedAt: "2026-03-02T09:00:01Z",
  phase,
  initiatedBy: "auto",
  trigger: "automated",
  ...(url ? { url } : {}),
});
const request = (o: Record<string, unknown>) => JSON.stringify({ requestedAt: "2026-03-02T09:59:00Z", until: "resume", ...o });
// Newest first: #3 (D3, applied now), #2 (D2), #1 (D1, its artifact no longer kept).
const HISTORY = [entry(3, D(3)), entry(2, D(2)), entry(1, D(1), "Succeeded", "")];

void describe("history entries", () => {
  void it("get the next id, and the history keeps spec.historyLimit entries, newest first", () => {
    let h: HistoryEntry[] = [];
    for (let i = 0; i < 5; i++) h = pushHistory(h, { ...entry(0, D(i)), id: undefined }, 3);
    assert.deepEqual(h.map((e) => e.id), [5, 4, 3]);
    // An entry without ids before it (written by an older version) starts at 1.
    assert.equal(pushHistory([{ ...entry(0, D(1)), id: undefined }], { ...entry(0, D(2)), id: undefined })[0]!.id, 1);
  });

  void it("count the objects a sync changed", () => {
    const ref = { apiVersion: "v1", kind: "ConfigMap", name: "a", namespace: "n" };
    const applied = (action: string) => ({ ref, action, live: {}, rendered: {} });
    const c = changesOf({ applied: [applied("created"), applied("configured"), applied("recreated"), applied("unchanged")], failures: [] } as never, { pruned: [ref, ref], failures: [] } as never);
    assert.deepEqual(c, { created: 1, configured: 2, unchanged: 1, pruned: 2 });
    assert.deepEqual(changesOf(undefined, undefined, 2), { created: 0, configured: 0, unchanged: 0, pruned: 0, failed: 2 });
  });

});

void describe("rollback requests", () => {
  void it("are refused with what is wrong when the annotation cannot be read", () => {
    for (const [value, why] of [
      ["not json", /is not JSON/],
      ["[1]", /is not a JSON object/],
      [JSON.stringify({ digest: D(2) }), /has no requestedAt/],
      [request({ digest: "sha256:xyz" }), /has no digest/],
      [request({ digest: D(2), id: 0 }), /id that is not a whole number/],
      [request({ digest: D(2), until: "later" }), /until "later"; it must be resume or newRevision/],
    ] as const) {
      const r = parseRollbackRequest(value);
      assert.ok("error" in r && why.test(r.error), `${value}: ${JSON.stringify(r)}`);
      const hold = rollbackHold({ annotation: value, history: HISTORY });
      assert.equal(hold.kind, "refused");
    }
  });

  void it("hold the Application at a kept entry; a new request is synced now", () => {
    const hold = rollbackHold({ annotation: request({ digest: D(2), id: 2 }), history: HISTORY, renderRevision: "main@sha1:new" });
    assert.equal(hold.kind, "hold");
    assert.ok(hold.kind === "hold");
    assert.deepEqual(hold.target, { id: 2, revision: HISTORY[1]!.revision, digest: D(2), url: "http://art/2.json" });
    assert.equal(hold.isNew, true);
    assert.equal(hold.heldRevision, "main@sha1:new");
  });

  void it("are refused, naming the kept entries, when no kept entry has the digest", () => {
    for (const annotation of [request({ digest: D(1) }), request({ digest: D(9) }), request({ digest: D(2), id: 3 })]) {
      const hold = rollbackHold({ annotation, history: HISTORY });
      assert.equal(hold.kind, "refused", annotation);
      assert.ok(hold.kind === "refused");
      assert.match(hold.message, /no kept history entry has the rendered digest/);
      assert.match(hold.message, /kept: #3 main@sha1:3+, #2 main@sha1:2+\./);
    }
  });

  const done: RollbackStatus = { requestedAt: "2026-03-02T09:59:00Z", id: 2, revision: "r2", digest: D(2), url: "http://art/2.json", until: "newRevision", heldRevision: "r3", phase: "Succeeded" };

  void it("once handled, hold what status recorded even after the entry left the history; a new revision releases an until:newRevision hold", () => {
    const held = rollbackHold({ annotation: request({ digest: D(2), until: "newRevision" }), previous: done, history: [], renderRevision: "r3" });
    assert.ok(held.kind === "hold" && !held.isNew && held.target.url === "http://art/2.json");
    const released = rollbackHold({ annotation: request({ digest: D(2), until: "newRevision" }), previous: done, history: [], renderRevision: "r4" });
    assert.ok(released.kind === "released" && released.revision === "r4");
    // until: resume ignores new revisions.
    const resume = rollbackHold({ annotation: request({ digest: D(2) }), previous: { ...done, until: "resume" }, history: [], renderRevision: "r4" });
    assert.equal(resume.kind, "hold");
    // The annotation removed (mooring resume): released; nothing at all: none.
    assert.equal(rollbackHold({ previous: done, history: HISTORY }).kind, "release");
    assert.equal(rollbackHold({ history: HISTORY }).kind, "none");
  });

  void it("say plainly in status.rollback and RolledBack what the Application is rolled back to", () => {
    const hold = rollbackHold({ annotation: request({ digest: D(2), id: 2 }), history: HISTORY, renderRevision: "r3" });
    const ok = rollbackPart(hold, { kind: "succeeded" }, [], { now: NOW, generation: 4, appName: "web" });
    assert.equal(ok.rollback?.phase, "Succeeded");
    assert.equal(ok.rollback?.digest, D(2));
    const c = ok.conditions.find((x: Condition) => x.type === "RolledBack")!;
    assert.equal(c.status, "True");
    assert.equal(c.reason, "RolledBack");
    assert.match(c.message, /^rolled back to revision main@sha1:2+ \(history entry #2\), rendered sha256:222222222222…; automated sync is held until 'mooring resume web'$/);
    assert.equal(ok.notes[0]?.reason, "RolledBack");
    const failed = rollbackPart(hold, { kind: "failed", message: "HTTP 404" }, [], { now: NOW, appName: "web" });
    assert.equal(failed.rollback?.phase, "Failed");
    assert.equal(failed.conditions[0]?.reason, "RollbackFailed");
    assert.match(failed.conditions[0]!.message, /failed: HTTP 404; it is retried, and automated sync stays held/);
    // Resumed: the condition and status.rollback go.
    const gone = rollbackPart({ kind: "release", previous: ok.rollback! }, { kind: "other" }, ok.conditions, { now: NOW, appName: "web" });
    assert.equal(gone.rollback, undefined);
    assert.equal(gone.conditions.some((x) => x.type === "RolledBack"), false);
    assert.equal(gone.notes[0]?.reason, "RollbackReleased");
  });
});

void describe("decide() with a rollback", () => {
  const synced: Condition[] = [{ type: "Synced", status: "True", reason: "Succeeded", message: "ok", observedGeneration: 2, lastTransitionTime: "2026-03-02T09:00:00Z" }];
  const input = (over: Partial<DecideInput>): DecideInput => ({
    now: NOW,
    generation: 2,
    suspend: false,
    artifact: { digest: D(3) },
    history: HISTORY,
    conditions: synced,
    policy: effectivePolicy({ spec: {} } as never),
    memory: { retryResetAt: 0 },
    drift: { ids: [], text: "" },
    desiredKnown: true,
    ...over,
  });

  void it("syncs a new request at once, as a rollback, even with automation off", () => {
    const d = decide(input({ artifact: { digest: D(2) }, rollback: { request: "2026-03-02T09:59:00Z" }, policy: { ...effectivePolicy({ spec: {} } as never), automated: false } }));
    assert.equal(d.kind, "sync");
    assert.ok(d.kind === "sync" && d.trigger === "rollback" && d.manual === undefined);
  });

  void it("holds: the target applied is idle even though the render moved on; a manual sync re-syncs the target", () => {
    const history = [entry(4, D(2)), ...HISTORY];
    assert.equal(decide(input({ artifact: { digest: D(2) }, history, rollback: {} })).kind, "idle");
    const m = decide(input({ artifact: { digest: D(2) }, history, rollback: {}, syncRequestedAt: "now" }));
    assert.ok(m.kind === "sync" && m.trigger === "manual" && m.manual === "now");
  });

  void it("holds every sync while a request is refused", () => {
    const d = decide(input({ artifact: { digest: D(9) }, rollback: { refused: "cannot roll back: …" } }));
    assert.deepEqual({ kind: d.kind, message: d.kind === "held" ? d.message : "" }, { kind: "held", message: "cannot roll back: …" });
  });

  void it("names the trigger: automated for a new render, self-heal for drift alone", () => {
    const a = decide(input({ artifact: { digest: D(4) } }));
    assert.ok(a.kind === "sync" && a.trigger === "automated");
    const h = decide(input({ drift: { ids: ["x"], text: "x" }, desiredKnown: false }));
    assert.ok(h.kind === "sync" && h.trigger === "self-heal");
  });
});
