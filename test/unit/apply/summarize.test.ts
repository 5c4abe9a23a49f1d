// syncPart() and summarize(): the owned status from the decision, the execution outcome and health, with no
// cluster — a table of situations, each checked against the kstatus rules.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Decision } from "../../../src/apply/decide.js";
import type { Health } from "../../../src/apply/health.js";
import type { DriftItem, OwnedStatus, SyncOutcome } from "../../../src/apply/owned.js";
import { type EffectivePolicy, type HistoryEntry, effectivePolicy } from "../../../src/apply/policy.js";
import { type Stop, type SummarizeInput, type SyncPartInput, WATCH_RETRY_MS, summarize, summarizeStop, syncPart } from "../../../src/apply/summarize.js";
import { type Condition, computeStatus } from "../../../src/runtime/conditions.js";

const NOW = Date.parse("2026-03-02T10:00:00Z");
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
const D1 = "sha256:1111";
const D2 = "sha256:2222";
const defaults = effectivePolicy({ spec: {} } as never);
const cond = (type: string, status: Condition["status"], reason: string, observedGeneration = 2, message = `${type} ${reason}`): Condition => ({ type, status, reason, message, observedGeneration, lastTransitionTime: iso(NOW - 3_600_000) });
const ok = (digest = D1, at = NOW - 600_000): HistoryEntry => ({ revision: "main@sha1:a", digest, startedAt: iso(at), finishedAt: iso(at), phase: "Succeeded", message: "applied", initiatedBy: "auto" });
const INV = [{ id: "_ConfigMap_ns_cm", v: "v1" }] as OwnedStatus["sync"]["inventory"];
const healthy: Health = { status: "Healthy" };

/** Synced at D1 (generation 2 read at generation 3 unless said otherwise), Ready. */
function owned(over: Partial<OwnedStatus> = {}): OwnedStatus {
  return {
    observedGeneration: 2,
    sync: { status: "Synced", revision: "main@sha1:a", lastAppliedAt: iso(NOW - 600_000), inventory: INV },
    health: { status: "Healthy" },
    history: [ok()],
    conditions: [cond("Synced", "True", "Succeeded"), cond("Healthy", "True", "Succeeded"), cond("Ready", "True", "Succeeded")],
    ...over,
  };
}
const decision = (d: Partial<Decision> & { kind: Decision["kind"] }): Decision => ({ resetRetries: false, ...d }) as Decision;

function run(o: { decision?: Decision; outcome?: SyncOutcome; owned?: OwnedStatus; health?: Health; policy?: EffectivePolicy; drift?: DriftItem[]; artifact?: SyncPartInput["artifact"] | null; suspend?: boolean; renderFailure?: string }) {
  const artifact = o.artifact === null ? undefined : (o.artifact ?? { digest: D1, revision: "main@sha1:a" });
  const own = o.owned ?? owned();
  const policy = o.policy ?? defaults;
  const outcome = o.outcome ?? { kind: "none" };
  const part = syncPart({ now: NOW, generation: 3, suspend: !!o.suspend, artifact, owned: own, history: own.history, policy, decision: o.decision ?? decision({ kind: "idle" }), outcome, drift: o.drift ?? [], retryResetAt: 0 });
  const i: SummarizeInput = { now: NOW, generation: 3, suspend: !!o.suspend, hasArtifact: !!artifact, renderFailure: o.renderFailure, policy, previousHealth: own.health.status, intervalMs: 600_000, stamp: { generation: 3, reconcileRequestedAt: "req-1", now: NOW }, outcome };
  const s = summarize(part, o.health ?? healthy, i);
  const c = (type: string) => s.owned.conditions.find((x) => x.type === type);
  const kstatus = computeStatus({ metadata: { generation: 3 }, status: s.owned as never });
  return { part, s, c, kstatus };
}

const entry = (phase: "Succeeded" | "Failed", digest = D2, message = phase === "Failed" ? "boom" : "applied 1 object(s)"): HistoryEntry => ({ revision: "main@sha1:b", digest, startedAt: iso(NOW - 1_000), finishedAt: iso(NOW), phase, message, initiatedBy: "auto" });
const failedOutcome = (retryable: boolean): SyncOutcome => ({ kind: "failed", message: "boom", inventory: INV, retryable, entry: entry("Failed") });

describe("summarize: every final status is stamped", () => {
  it("observedGeneration and lastHandledReconcileAt answer the generation and request read", () => {
    const { s } = run({});
    assert.equal(s.owned.observedGeneration, 3);
    assert.equal(s.owned.lastHandledReconcileAt, "req-1");
  });
});

describe("summarize: a table of situations", () => {
  const table: { name: string; args: Parameters<typeof run>[0]; sync?: string; ready: [string, string]; reconciling?: string; stalled?: string; kstatus: string; check?: (r: ReturnType<typeof run>) => void }[] = [
    {
      name: "idle and healthy: Ready=True naming the revision",
      args: {},
      sync: "Synced",
      ready: ["True", "Succeeded"],
      kstatus: "Current",
      check: ({ c, s }) => {
        assert.equal(c("Ready")?.message, "applied revision main@sha1:a; all objects healthy");
        assert.equal(s.requeueAfter, 600_000);
      },
    },
    {
      name: "a sync succeeded: history, inventory, revision and lastAppliedAt from it",
      args: { decision: decision({ kind: "sync" }), outcome: { kind: "succeeded", result: { applied: [], failures: [] }, pruned: undefined, inventory: INV, entry: entry("Succeeded") }, artifact: { digest: D2, revision: "main@sha1:b" } },
      sync: "Synced",
      ready: ["True", "Succeeded"],
      kstatus: "Current",
      check: ({ s, c }) => {
        assert.equal(s.owned.history[0]?.phase, "Succeeded");
        assert.equal(s.owned.sync.revision, "main@sha1:b");
        assert.equal(s.owned.sync.lastAppliedAt, iso(NOW));
        assert.equal(c("Synced")?.observedGeneration, 3);
      },
    },
    {
      name: "a retryable failure: Ready=False, Reconciling=True retrying at finishedAt + 5 s",
      args: { decision: decision({ kind: "sync" }), outcome: failedOutcome(true), artifact: { digest: D2 } },
      sync: "OutOfSync",
      ready: ["False", "SyncFailed"],
      reconciling: "ProgressingWithRetry",
      kstatus: "InProgress",
      check: ({ c, s }) => {
        assert.equal(c("Reconciling")?.message, `retrying at ${iso(NOW + 5_000)}`);
        assert.equal(s.requeueAfter, 5_000);
        assert.equal(s.owned.history[0]?.phase, "Failed");
      },
    },
    {
      name: "a failure no retry can fix: Stalled=True",
      args: { decision: decision({ kind: "sync" }), outcome: failedOutcome(false), artifact: { digest: D2 } },
      sync: "OutOfSync",
      ready: ["False", "SyncFailed"],
      stalled: "SyncFailed",
      kstatus: "Failed",
    },
    {
      name: "the last retry failed: Stalled=True, retries exhausted",
      args: { decision: decision({ kind: "sync" }), outcome: failedOutcome(true), artifact: { digest: D2 }, policy: { ...defaults, retry: { ...defaults.retry, limit: 0 } } },
      sync: "OutOfSync",
      ready: ["False", "SyncFailed"],
      stalled: "SyncFailed",
      kstatus: "Failed",
      check: ({ c }) => assert.match(c("Stalled")!.message, /^sync failed 1 time\(s\), retries exhausted \(limit 0\); .*: boom$/),
    },
    {
      name: "blocked by a window: Synced=False keeps its observedGeneration, an event, a requeue at the window's end",
      args: { decision: decision({ kind: "blockedByWindow", reason: "SyncWindowClosed", message: "deny window", retryAt: NOW + 60_000 }), outcome: { kind: "blocked", reason: "SyncWindowClosed", message: "deny window", retryAt: NOW + 60_000 }, artifact: { digest: D2 } },
      sync: "OutOfSync",
      ready: ["False", "SyncWindowClosed"],
      kstatus: "InProgress",
      check: ({ c, part, s }) => {
        assert.equal(c("Synced")?.observedGeneration, 2);
        assert.deepEqual(part.notes.map((n) => n.reason), ["SyncWindowClosed"]);
        assert.equal(s.requeueAfter, 60_010);
      },
    },
    {
      name: "a dependency cycle: blocked and Stalled (DependencyNotReady)",
      args: { decision: decision({ kind: "blockedByDependency", message: "dependency cycle: a → b → a", cycle: true }), outcome: { kind: "blocked", reason: "DependencyNotReady", message: "dependency cycle: a → b → a" }, artifact: { digest: D2 } },
      sync: "OutOfSync",
      ready: ["False", "DependencyNotReady"],
      stalled: "DependencyNotReady",
      kstatus: "Failed",
    },
    {
      name: "waiting for a wave: Reconciling=True, looked at again within 30 s",
      args: { decision: decision({ kind: "sync" }), outcome: { kind: "waiting", message: "waiting for wave 0", inventory: INV, deadline: NOW + 300_000 }, artifact: { digest: D2 } },
      sync: "OutOfSync",
      ready: ["Unknown", "Progressing"],
      reconciling: "Progressing",
      kstatus: "InProgress",
      check: ({ s }) => assert.equal(s.requeueAfter, 30_000),
    },
    {
      name: "no artifact and the render failed: Ready=False RenderFailed",
      args: { decision: decision({ kind: "awaitingRender" }), artifact: null, owned: owned({ sync: { status: "Unknown", inventory: [] }, history: [], conditions: [] }), renderFailure: "render failed: no such path", health: { status: "Unknown", message: "nothing has been applied yet" } },
      sync: "Unknown",
      ready: ["False", "RenderFailed"],
      kstatus: "InProgress",
    },
    {
      name: "no artifact yet: Synced=Unknown, Ready=Unknown saying what it waits for",
      args: { decision: decision({ kind: "awaitingRender" }), artifact: null, owned: owned({ sync: { status: "Unknown", inventory: [] }, history: [], conditions: [] }), health: { status: "Unknown", message: "nothing has been applied yet" } },
      sync: "Unknown",
      ready: ["Unknown", "Progressing"],
      kstatus: "InProgress",
      check: ({ c }) => assert.equal(c("Ready")?.message, "waiting for the render controller to publish the rendered artifact"),
    },
    {
      name: "a newer revision fails to render: Ready=False while the old objects stay",
      args: { renderFailure: "render failed: bad chart" },
      sync: "Synced",
      ready: ["False", "RenderFailed"],
      kstatus: "InProgress",
      check: ({ c }) => assert.equal(c("Ready")?.message, "render failed: bad chart; the objects of main@sha1:a stay applied"),
    },
    {
      name: "automation off with a new render: OutOfSync, Ready=False naming the manual sync",
      args: { decision: decision({ kind: "awaitingManualSync", message: "automated sync is off" }), artifact: { digest: D2 } },
      sync: "OutOfSync",
      ready: ["False", "OutOfSync"],
      kstatus: "InProgress",
    },
    {
      name: "healthy objects not ready yet: Ready=Unknown with the health message, Reconciling waiting for health",
      args: { health: { status: "Progressing", message: "Deployment ns/web: 1 of 2 replicas" }, owned: owned({ sync: { status: "Synced", revision: "main@sha1:a", lastAppliedAt: iso(NOW - 10_000), inventory: INV } }) },
      sync: "Synced",
      ready: ["Unknown", "Progressing"],
      reconciling: "Progressing",
      kstatus: "InProgress",
      check: ({ c, s }) => {
        assert.equal(c("Ready")?.message, "Deployment ns/web: 1 of 2 replicas");
        assert.equal(c("Reconciling")?.message, "waiting for health: Deployment ns/web: 1 of 2 replicas");
        assert.equal(s.requeueAfter, 300_000 - 10_000 + 100);
      },
    },
    {
      name: "not healthy past the health timeout: Degraded (HealthCheckTimeout), a warning",
      args: { health: { status: "Progressing", message: "1 of 2" }, owned: owned({ sync: { status: "Synced", revision: "main@sha1:a", lastAppliedAt: iso(NOW - 600_000), inventory: INV } }) },
      sync: "Synced",
      ready: ["False", "HealthCheckTimeout"],
      kstatus: "InProgress",
      check: ({ s }) => {
        assert.equal(s.health.status, "Degraded");
        assert.deepEqual(s.notes.map((n) => `${n.type} ${n.reason}`), ["Warning HealthCheckTimeout"]);
      },
    },
    {
      name: "suspended: Ready keeps its status with reason Suspended; no requeue",
      args: { decision: decision({ kind: "suspended" }), suspend: true },
      sync: "Synced",
      ready: ["True", "Suspended"],
      kstatus: "Current",
      check: ({ s }) => assert.equal(s.requeueAfter, undefined),
    },
    {
      name: "a drift report is over: Synced=True again, 'the live objects match'",
      args: { owned: owned({ conditions: [cond("Synced", "False", "OutOfSync"), cond("Ready", "False", "OutOfSync")] }) },
      sync: "Synced",
      ready: ["True", "Succeeded"],
      kstatus: "Current",
      check: ({ c }) => assert.equal(c("Synced")?.message, "the live objects match revision main@sha1:a again"),
    },
    {
      name: "drift not corrected: reported in status.sync.drifted with one event",
      args: {
        decision: decision({ kind: "awaitingManualSync", message: "selfHeal is off" }),
        drift: [{ id: "apps_Deployment_ns_web", ref: { apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "ns" }, missing: false, fields: ["/spec/replicas"] }],
        policy: { ...defaults, selfHeal: false },
      },
      sync: "OutOfSync",
      ready: ["False", "OutOfSync"],
      kstatus: "InProgress",
      check: ({ s, part }) => {
        assert.deepEqual(s.owned.sync.drifted, ["apps_Deployment_ns_web"]);
        assert.deepEqual(part.newlyDrifted, ["apps_Deployment_ns_web"]);
        assert.match(part.notes.find((n) => n.reason === "DriftDetected")!.message, /\/spec\/replicas\); not corrected \(selfHeal is off\)$/);
      },
    },
    {
      name: "a new commit rendering the same objects: the revision follows, no history entry",
      args: { artifact: { digest: D1, revision: "main@sha1:c" } },
      sync: "Synced",
      ready: ["True", "Succeeded"],
      kstatus: "Current",
      check: ({ s }) => {
        assert.equal(s.owned.sync.revision, "main@sha1:c");
        assert.equal(s.owned.history.length, 1);
      },
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const r = run(t.args);
      if (t.sync) assert.equal(r.s.owned.sync.status, t.sync, "sync.status");
      assert.deepEqual([r.c("Ready")?.status, r.c("Ready")?.reason], t.ready, "Ready");
      assert.equal(r.c("Reconciling")?.reason, t.reconciling, "Reconciling");
      assert.equal(r.c("Stalled")?.reason, t.stalled, "Stalled");
      assert.equal(r.kstatus, t.kstatus, "kstatus");
      // Reconciling and Stalled are never both True (kstatus).
      assert.ok(!(r.c("Reconciling") && r.c("Stalled")));
      t.check?.(r);
    });
  }
});

describe("summarizeStop: a reconcile that stops before it can sync", () => {
  const stamp = { generation: 3, reconcileRequestedAt: "req-1", now: NOW };
  const stalledBefore = owned({ conditions: [cond("Synced", "False", "SyncFailed"), cond("Ready", "False", "SyncFailed"), cond("Stalled", "True", "SyncFailed")] });
  const table: { name: string; owned: OwnedStatus; stop: Stop; ready: [string, string]; reconciling?: string; stalled?: string; kstatus: string; requeueAfter?: number }[] = [
    {
      name: "a cross-namespace reference: Stalled, never requeued (the spec must change)",
      owned: owned(),
      stop: { kind: "refused", reason: "CrossNamespaceRefForbidden", message: "spec.sourceRef.namespace names GitRepository other/repo in another namespace" },
      ready: ["False", "CrossNamespaceRefForbidden"],
      stalled: "CrossNamespaceRefForbidden",
      kstatus: "Failed",
    },
    {
      name: "a missing SyncPolicy: Stalled, never requeued",
      owned: owned(),
      stop: { kind: "refused", reason: "SyncPolicyNotFound", message: "SyncPolicy ns/p does not exist" },
      ready: ["False", "SyncPolicyNotFound"],
      stalled: "SyncPolicyNotFound",
      kstatus: "Failed",
    },
    {
      name: "a watch that is not ready: Ready=False (WatchFailed), Reconciling=True, looked at again in 10 s",
      owned: owned(),
      stop: { kind: "watchFailed", message: "the operator cannot list services: 403" },
      ready: ["False", "WatchFailed"],
      reconciling: "ProgressingWithRetry",
      kstatus: "InProgress",
      requeueAfter: WATCH_RETRY_MS,
    },
    {
      name: "a watch that is not ready after a stalled sync: retried by itself, so no longer Stalled",
      owned: stalledBefore,
      stop: { kind: "watchFailed", message: "the operator cannot list services: 403" },
      ready: ["False", "WatchFailed"],
      reconciling: "ProgressingWithRetry",
      kstatus: "InProgress",
      requeueAfter: WATCH_RETRY_MS,
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const { owned: out, requeueAfter } = summarizeStop(t.owned, t.stop, stamp);
      const c = (type: string) => out.conditions.find((x) => x.type === type);
      assert.deepEqual([c("Ready")?.status, c("Ready")?.reason], t.ready, "Ready");
      assert.equal(c("Ready")?.message, t.stop.message);
      assert.equal(c("Reconciling")?.reason, t.reconciling, "Reconciling");
      assert.equal(c("Stalled")?.reason, t.stalled, "Stalled");
      assert.equal(computeStatus({ metadata: { generation: 3 }, status: out as never }), t.kstatus, "kstatus");
      assert.equal(requeueAfter, t.requeueAfter, "requeueAfter");
      // Everything but Ready/Reconciling/Stalled stays as it was; the stamp answers this generation and request.
      assert.deepEqual(out.sync, t.owned.sync);
      assert.deepEqual(out.history, t.owned.history);
      assert.deepEqual(c("Synced"), t.owned.conditions.find((x) => x.type === "Synced"));
      assert.equal(out.observedGeneration, 3);
      assert.equal(out.lastHandledReconcileAt, "req-1");
    });
  }
});
