// decide(): the apply controller's choice for one Application, with no cluster — a table of inputs and decisions.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type DecideInput, type Decision, decide } from "../../../src/apply/decide.js";
import { type EffectivePolicy, type HistoryEntry, effectivePolicy, manualMarker } from "../../../src/apply/policy.js";
import type { Condition } from "../../../src/runtime/conditions.js";

const NOW = Date.parse("2026-03-02T10:00:00Z");
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
const D1 = "sha256:1111";
const D2 = "sha256:2222";
const defaults = effectivePolicy({ spec: {} } as never);
const policy = (p: Partial<EffectivePolicy> = {}): EffectivePolicy => ({ ...defaults, ...p, retry: { ...defaults.retry, ...(p.retry ?? {}) } });
const cond = (type: string, status: Condition["status"], reason: string, observedGeneration = 2, message = `${type} ${reason}`): Condition => ({ type, status, reason, message, observedGeneration, lastTransitionTime: iso(NOW - 3_600_000) });
const ok = (digest = D1, at = NOW - 600_000): HistoryEntry => ({ revision: "main@sha1:a", digest, startedAt: iso(at), finishedAt: iso(at), phase: "Succeeded", initiatedBy: "auto" });
const failed = (digest: string, at: number, message = "boom"): HistoryEntry => ({ revision: "main@sha1:b", digest, startedAt: iso(at), finishedAt: iso(at), phase: "Failed", message, initiatedBy: "auto" });
const synced = [cond("Synced", "True", "Succeeded"), cond("Ready", "True", "Succeeded")];

/** An Application synced at D1, generation 2, nothing drifted, automated with the defaults. */
function input(over: Partial<DecideInput> = {}): DecideInput {
  return {
    now: NOW,
    generation: 2,
    suspend: false,
    artifact: { digest: D1, revision: "main@sha1:a" },
    history: [ok()],
    conditions: synced,
    policy: defaults,
    memory: { retryResetAt: 0 },
    drift: { ids: [], text: "" },
    desiredKnown: true,
    ...over,
  };
}
const drifted = { ids: ["apps/Deployment/ns/web"], text: "Deployment ns/web (spec.replicas)" };
const pick = (d: Decision) => {
  const { resetRetries: _, ...rest } = d;
  return rest;
};

describe("decide", () => {
  const table: { name: string; input: DecideInput; want: Partial<Decision> & { kind: Decision["kind"] }; reset?: boolean }[] = [
    { name: "suspended: nothing, whatever is pending", input: input({ suspend: true, artifact: { digest: D2 } }), want: { kind: "suspended" } },
    { name: "no rendered artifact yet: awaiting the render", input: input({ artifact: undefined }), want: { kind: "awaitingRender" } },
    { name: "synced, same digest, no drift: idle", input: input(), want: { kind: "idle" } },
    { name: "a new digest: sync", input: input({ artifact: { digest: D2 } }), want: { kind: "sync" } },
    { name: "never synced (no Synced condition): sync", input: input({ conditions: [], history: [] }), want: { kind: "sync" } },
    { name: "a new generation: sync, and failures before now stop counting", input: input({ generation: 3 }), want: { kind: "sync" }, reset: true },
    { name: "waves of this digest in progress: sync (resume)", input: input({ memory: { retryResetAt: 0, wavesDigest: D1 } }), want: { kind: "sync" } },
    { name: "drift with the applied render known: heal", input: input({ drift: drifted }), want: { kind: "heal" } },
    { name: "drift while the applied render is unknown: full sync", input: input({ drift: drifted, desiredKnown: false }), want: { kind: "sync" } },
    {
      name: "drift with selfHeal off: awaiting a manual sync, naming the drift",
      input: input({ drift: drifted, policy: policy({ selfHeal: false }) }),
      want: { kind: "awaitingManualSync", message: "drifted from the applied revision, not corrected because selfHeal is off: Deployment ns/web (spec.replicas)" },
    },
    {
      name: "a new digest with automation off: awaiting a manual sync",
      input: input({ artifact: { digest: D2 }, policy: policy({ automated: false }) }),
      want: { kind: "awaitingManualSync", message: "automated sync is off; waiting for a manual sync (annotate delivery.mooring.dev/sync-requested-at)" },
    },
    { name: "automation off, nothing new: idle", input: input({ policy: policy({ automated: false }) }), want: { kind: "idle" } },
    { name: "a manual request with automation off: sync answering it", input: input({ syncRequestedAt: "r1", policy: policy({ automated: false }) }), want: { kind: "sync", manual: "r1" }, reset: true },
    { name: "a manual request already handled in memory: idle", input: input({ syncRequestedAt: "r1", memory: { retryResetAt: 0, handledManual: "r1" } }), want: { kind: "idle" } },
    {
      name: "a manual request already answered in history: idle",
      input: input({ syncRequestedAt: "r1", history: [{ ...ok(), initiatedBy: "manual", message: `${manualMarker("r1")}: applied` }] }),
      want: { kind: "idle" },
    },
    { name: "a manual request with drift: full sync, not a heal", input: input({ syncRequestedAt: "r1", drift: drifted }), want: { kind: "sync", manual: "r1" }, reset: true },
    {
      name: "a failed sync of this digest, retry not due yet: backoff until finishedAt + 5 s",
      input: input({ artifact: { digest: D2 }, history: [failed(D2, NOW - 2_000), ok()], conditions: [cond("Synced", "False", "SyncFailed")] }),
      want: { kind: "backoff", retryAt: NOW + 3_000 },
    },
    {
      name: "a failed sync whose retry is due: sync",
      input: input({ artifact: { digest: D2 }, history: [failed(D2, NOW - 6_000), ok()], conditions: [cond("Synced", "False", "SyncFailed")] }),
      want: { kind: "sync" },
    },
    {
      name: "the second failure waits duration·factor (10 s)",
      input: input({ artifact: { digest: D2 }, history: [failed(D2, NOW - 6_000), failed(D2, NOW - 20_000), ok()], conditions: [cond("Synced", "False", "SyncFailed")] }),
      want: { kind: "backoff", retryAt: NOW + 4_000 },
    },
    {
      name: "retries exhausted: stalled, naming the last error",
      input: input({ artifact: { digest: D2 }, history: [failed(D2, NOW - 1_000, "no such kind")], conditions: [cond("Synced", "False", "SyncFailed")], policy: policy({ retry: { ...defaults.retry, limit: 0 } }) }),
      want: { kind: "stalled", reason: "SyncFailed", message: "sync failed 1 time(s), retries exhausted (limit 0); waiting for a new render, a spec change or a manual sync. Last error: no such kind" },
    },
    {
      name: "already Stalled on this digest: stays stalled with the same message",
      input: input({ artifact: { digest: D2 }, history: [failed(D2, NOW - 1_000)], conditions: [cond("Synced", "False", "SyncFailed"), cond("Stalled", "True", "SyncFailed", 2, "it broke")] }),
      want: { kind: "stalled", reason: "SyncFailed", message: "it broke" },
    },
    {
      name: "failures before a reset (spec change) do not count",
      input: input({ artifact: { digest: D2 }, generation: 3, history: [failed(D2, NOW - 1_000)], conditions: [cond("Synced", "False", "SyncFailed")], policy: policy({ retry: { ...defaults.retry, limit: 0 } }) }),
      want: { kind: "sync" },
      reset: true,
    },
    {
      name: "a manual request skips the retry schedule",
      input: input({ artifact: { digest: D2 }, syncRequestedAt: "r2", history: [failed(D2, NOW - 1_000)], conditions: [cond("Synced", "False", "SyncFailed"), cond("Stalled", "True", "SyncFailed")] }),
      want: { kind: "sync", manual: "r2" },
      reset: true,
    },
    {
      name: "a deny window blocks an automated sync until it closes",
      input: input({ artifact: { digest: D2 }, windows: [{ kind: "deny", schedule: "0 9 * * *", duration: "2h", timeZone: "UTC" }] }),
      want: { kind: "blockedByWindow", reason: "SyncWindowClosed", retryAt: Date.parse("2026-03-02T11:00:00Z") },
    },
    {
      name: "a deny window blocks self-heal too, naming the drift",
      input: input({ drift: drifted, windows: [{ kind: "deny", schedule: "0 9 * * *", duration: "2h", timeZone: "UTC" }] }),
      want: { kind: "blockedByWindow" },
    },
    { name: "a dependency not Ready blocks a full sync", input: input({ artifact: { digest: D2 }, dependency: { message: "waiting for dependencies: ns/db is not Ready" } }), want: { kind: "blockedByDependency", message: "waiting for dependencies: ns/db is not Ready", cycle: false } },
    { name: "a dependency cycle is marked", input: input({ artifact: { digest: D2 }, dependency: { message: "dependency cycle: a → b → a", cycle: true } }), want: { kind: "blockedByDependency", cycle: true } },
    { name: "dependencies do not hold back a heal", input: input({ drift: drifted, dependency: { message: "waiting" } }), want: { kind: "heal" } },
    { name: "Synced=False for a soft reason (OutOfSync) and nothing new: idle", input: input({ conditions: [cond("Synced", "False", "OutOfSync")] }), want: { kind: "idle" } },
    { name: "Synced=False for a failure: sync (a retry)", input: input({ conditions: [cond("Synced", "False", "SyncFailed")] }), want: { kind: "sync" } },
  ];
  for (const t of table) {
    it(t.name, () => {
      const d = decide(t.input);
      const got = pick(d) as Record<string, unknown>;
      for (const [k, v] of Object.entries(t.want)) assert.deepEqual(got[k], v, `${k} of ${JSON.stringify(got)}`);
      assert.equal(d.resetRetries, t.reset ?? false, "resetRetries");
    });
  }

  it("is pure: the same input gives the same decision, and the input is not changed", () => {
    const i = input({ artifact: { digest: D2 }, history: [failed(D2, NOW - 2_000)], conditions: [cond("Synced", "False", "SyncFailed")] });
    const copy = structuredClone(i);
    assert.deepEqual(decide(i), decide(i));
    assert.deepEqual(i, copy);
  });
});
