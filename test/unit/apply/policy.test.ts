import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  applicationLabelValue, consecutiveFailures, effectivePolicy, emptyRenderRefusal, manualMarker, manualRequestHandled, otherOwner, pruneDecision, pushHistory, retryDelay, settleInterrupted, IN_PROGRESS,
  type HistoryEntry,
} from "../../../src/apply/policy.js";
import { HISTORY_LIMIT } from "../../../src/api/constants.js";

const app = (spec: object = {}) => ({ spec: { sourceRef: { kind: "GitRepository" as const, name: "r" }, ...spec } });

describe("effective sync policy", () => {
  it("without a syncPolicyRef: automated, prune and self-heal, the documented defaults", () => {
    const p = effectivePolicy(app());
    assert.deepEqual(p, {
      automated: true, prune: true, selfHeal: true, allowEmpty: false,
      retry: { limit: 5, durationMs: 5_000, factor: 2, maxDurationMs: 180_000 },
      createNamespace: false, pruneLast: false, propagationPolicy: "Background", force: false, applyOutOfSyncOnly: false, healthWait: true, healthTimeoutMs: 300_000,
    });
  });
  it("takes the SyncPolicy's values and defaults the rest; health timeout falls back to the Application's timeout", () => {
    const p = effectivePolicy(app({ timeout: "30s" }), { spec: { automated: { enabled: false }, retry: { limit: 2, backoff: { duration: "1s" } }, options: { prunePropagationPolicy: "foreground", force: true } } });
    assert.equal(p.automated, false);
    assert.equal(p.prune, true);
    assert.deepEqual(p.retry, { limit: 2, durationMs: 1_000, factor: 2, maxDurationMs: 180_000 });
    assert.equal(p.propagationPolicy, "Foreground");
    assert.equal(p.force, true);
    assert.equal(p.healthTimeoutMs, 30_000);
    assert.equal(effectivePolicy(app({ timeout: "30s" }), { spec: { health: { timeout: "2s" } } }).healthTimeoutMs, 2_000);
  });
});

describe("retry backoff", () => {
  const retry = { limit: 5, durationMs: 5_000, factor: 2, maxDurationMs: 30_000 };
  it("doubles from the first duration, capped at maxDuration, and stops at the limit", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, retry)), [5_000, 10_000, 20_000, 30_000, 30_000, undefined]);
    assert.equal(retryDelay(1, { ...retry, limit: 0 }), undefined);
    assert.equal(retryDelay(3, { ...retry, factor: 1 }), 5_000);
  });
  it("resumes from the history: consecutive failures of the same digest", () => {
    const h = (phase: "Succeeded" | "Failed", digest: string): HistoryEntry => ({ revision: "r", digest, startedAt: "t", phase, initiatedBy: "auto" });
    assert.equal(consecutiveFailures([h("Failed", "a"), h("Failed", "a"), h("Succeeded", "a"), h("Failed", "a")], "a"), 2);
    assert.equal(consecutiveFailures([h("Failed", "b"), h("Failed", "a")], "a"), 0);
    assert.equal(consecutiveFailures(undefined, "a"), 0);
  });
});

describe("guards", () => {
  const mine = applicationLabelValue({ metadata: { namespace: "team", name: "web" } });
  it("the application label value is <namespace>.<name>", () => assert.equal(mine, "team.web"));
  it("an object labelled by another Application is not ours to take", () => {
    assert.equal(otherOwner({ metadata: { labels: { "delivery.mooring.dev/application": "team.other" } } }, mine), "team.other");
    assert.equal(otherOwner({ metadata: { labels: { "delivery.mooring.dev/application": mine } } }, mine), undefined);
    assert.equal(otherOwner({ metadata: {} }, mine), undefined);
    assert.equal(otherOwner(undefined, mine), undefined);
  });
  it("prunes only live objects still claimed by us and not annotated mooring.dev/prune: disabled", () => {
    const labels = { "delivery.mooring.dev/application": mine };
    assert.deepEqual(pruneDecision({ metadata: { labels } }, mine), { prune: true });
    assert.equal(pruneDecision({ metadata: { labels, annotations: { "mooring.dev/prune": "disabled" } } }, mine).prune, false);
    assert.match((pruneDecision({ metadata: { labels: { "delivery.mooring.dev/application": "x.y" } } }, mine) as { reason: string }).reason, /claimed by Application x.y/);
    assert.equal(pruneDecision({ metadata: {} }, mine).prune, false);
    assert.equal(pruneDecision(undefined, mine).prune, false);
  });
  it("refuses an empty render over a non-empty inventory unless allowEmpty", () => {
    assert.match(emptyRenderRefusal(0, 3, false)!, /no objects and 3 objects are applied/);
    assert.equal(emptyRenderRefusal(0, 3, true), undefined);
    assert.equal(emptyRenderRefusal(0, 0, false), undefined);
    assert.equal(emptyRenderRefusal(2, 3, false), undefined);
  });
});

describe("history", () => {
  it("keeps the newest first and at most 10 entries", () => {
    let h: HistoryEntry[] = [];
    for (let i = 0; i < 15; i++) h = pushHistory(h, { revision: `r${i}`, startedAt: "t", phase: "Succeeded", initiatedBy: "auto" });
    assert.equal(HISTORY_LIMIT, 10);
    assert.equal(h.length, 10);
    assert.equal(h[0]!.revision, "r14");
    assert.equal(h[9]!.revision, "r5");
  });
  it("remembers which manual-sync request an entry answered", () => {
    const h = pushHistory([], { revision: "r", startedAt: "t", phase: "Succeeded", initiatedBy: "manual", message: `${manualMarker("now-1")}: applied 3 objects` });
    assert.equal(manualRequestHandled(h, "now-1"), true);
    assert.equal(manualRequestHandled(h, "now-2"), false);
  });
  it("a Running entry (a sync's write-ahead record) answers no manual request, and one left by a stopped process reads as Failed, interrupted", () => {
    const running: HistoryEntry = { revision: "r", digest: "sha256:1", startedAt: "2026-12-05T00:00:00Z", phase: "Running", initiatedBy: "manual", message: `${manualMarker("now-1")}: ${IN_PROGRESS}` };
    const h = pushHistory([{ revision: "r0", startedAt: "t", phase: "Succeeded", initiatedBy: "auto" }], running);
    assert.equal(manualRequestHandled(h, "now-1"), false, "still running: the CLI keeps waiting");
    const settled = settleInterrupted(h);
    assert.equal(settled[0]!.phase, "Failed");
    assert.equal(settled[0]!.finishedAt, "2026-12-05T00:00:00Z");
    assert.equal(settled[0]!.message, `${manualMarker("now-1")}: interrupted: the sync started and did not finish (the apply controller stopped during it)`);
    assert.deepEqual(settled[1], h[1], "finished entries are kept as they are");
    assert.equal(manualRequestHandled(settled, "now-1"), true, "the interrupted request is answered (Failed)");
    assert.equal(consecutiveFailures(settled, "sha256:1"), 1, "an interrupted sync counts as a failure for the retry schedule");
  });
});
