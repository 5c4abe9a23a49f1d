// The owned status of an Application as a pure function of what the reconcile decided and did. Two halves, because
// health is read (from the cache) between them, on the inventory the first half settles:
//   syncPart  — decision + execution outcome → inventory, history, status.sync, Synced, what is stalled or retried;
//   summarize — + health → Healthy, the health timeout, Ready/Reconciling/Stalled (through the runtime's summarize())
//               and the requeue.
// Events to record are returned as notes; the controller records them (and the metrics). A reconcile that stops
// before it can sync (a refused spec, a watch that is not ready) has its status from summarizeStop.
import type { HealthStatus, SyncStatus } from "../api/application.js";
import { ConditionTypes, Reasons } from "../api/constants.js";
import { formatDuration } from "../api/duration.js";
import { type Condition, type StatusWithConditions, getCondition, setCondition } from "../runtime/conditions.js";
import { type Outcome, type Stamp, resultOf, stalled, summarize as summarizeConditions } from "../runtime/status.js";
import type { KubeObject } from "../runtime/kinds.js";
import { type Decision, type DecideInput, countedFailures, exhaustedMessage } from "./decide.js";
import type { Health } from "./health.js";
import { type InventoryEntry, describeRef, idOf } from "./inventory.js";
import { type DriftItem, type OwnedStatus, type SyncOutcome, clip, describeDrift, metaTime, ms } from "./owned.js";
import { type EffectivePolicy, type HistoryEntry, pushHistory, retryDelay } from "./policy.js";
import { type RollbackHold, type RollbackStatus, rollbackPart } from "./history.js";

/** An event to record on the Application. */
export interface Note {
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  message: string;
}

/** What the decision was made on (now, generation, suspend, the rendered artifact, the policy), and what followed. */
export interface SyncPartInput extends Pick<DecideInput, "now" | "generation" | "suspend" | "artifact" | "policy"> {
  /** The owned status as the reconcile read it (history not yet settled). */
  owned: OwnedStatus;
  /** The history with Running entries settled as interrupted. */
  history: HistoryEntry[];
  decision: Decision;
  outcome: SyncOutcome;
  drift: readonly DriftItem[];
  /** When drift is to be looked at again (an own write the cache does not show yet), ms since the epoch. */
  recheckAt?: number;
  /** Failures before this time do not count towards the retry limit (0: all count). */
  retryResetAt: number;
  /** spec.historyLimit (default HISTORY_LIMIT). */
  historyLimit?: number;
  /** Where a rollback request stands (./history.ts; default: none). */
  hold?: RollbackHold;
  /** For the words of the rollback condition. */
  appName?: string;
}

export interface SyncPart {
  inventory: InventoryEntry[];
  history: HistoryEntry[];
  rollback?: RollbackStatus;
  sync: { status: SyncStatus; revision?: string; lastAppliedAt?: string };
  conditions: Condition[];
  /** The apply answers of this sync, fresher than the cache for health. */
  fresh?: Map<string, KubeObject>;
  stalled?: { reason: string; message: string };
  /** When the next retry of a failed sync is due. */
  retryAt?: number;
  /** Look again after this many ms (undefined: the interval). */
  wait?: number;
  /** Drifted ids reported in status.sync.drifted, and those not reported before. */
  drifted: string[];
  newlyDrifted: string[];
  notes: Note[];
}

const minWait = (w: number | undefined, x: number) => Math.min(w ?? Infinity, x);

/** The first half of the status: what the sync did to inventory, history, status.sync and the Synced condition. */
export function syncPart(i: SyncPartInput): SyncPart {
  const { now, decision: dec, outcome: out, owned } = i;
  const p: SyncPart = {
    inventory: owned.sync.inventory,
    history: i.history,
    sync: { status: owned.sync.status ?? "Unknown", revision: owned.sync.revision, lastAppliedAt: owned.sync.lastAppliedAt },
    conditions: owned.conditions,
    drifted: [],
    newlyDrifted: [],
    notes: [],
  };
  fromDecision(p, i);
  fromOutcome(p, i);

  // A new commit that renders exactly the objects already applied needs no sync, yet the cluster now matches that
  // commit: report it (as Flux's lastAppliedRevision and Argo CD's sync revision do), without a history entry.
  const lastSuccess = i.history.find((h) => h.phase === "Succeeded");
  if ((out.kind === "none" || out.kind === "healed") && i.artifact?.revision && lastSuccess && i.artifact.digest === lastSuccess.digest) p.sync.revision = i.artifact.revision;

  reportDrift(p, i);
  const rolled = rollbackPart(i.hold ?? { kind: "none" }, dec.kind !== "sync" ? { kind: "other" } : out.kind === "succeeded" ? { kind: "succeeded" } : out.kind === "failed" ? { kind: "failed", message: out.message } : { kind: "other" }, p.conditions, { now, generation: i.generation, appName: i.appName ?? "APP" });
  p.conditions = rolled.conditions;
  if (rolled.rollback) p.rollback = rolled.rollback;
  for (const n of rolled.notes) p.notes.push({ ...n, action: "Rollback", message: clip(n.message) });
  return p;
}

/** What the sync did (or why it did nothing) to status.sync and the Synced condition, set over the conditions read. */
function fromOutcome(p: SyncPart, i: SyncPartInput): void {
  const { now, decision: dec, outcome: out } = i;
  const conditions = i.owned.conditions;
  const syncedCond = getCondition(conditions, ConditionTypes.synced);
  const synced = (status: Condition["status"], reason: string, message: string, gen: number | undefined) =>
    setCondition(conditions, { type: ConditionTypes.synced, status, reason, message: clip(message), observedGeneration: gen }, now);
  const cond = (status: Condition["status"], reason: string, message: string) => synced(status, reason, message, i.generation);
  const keptGen = (status: Condition["status"], reason: string, message: string) => synced(status, reason, message, syncedCond?.observedGeneration);
  const pending =
    dec.kind === "awaitingRender" ? "waiting for the render controller to publish the rendered artifact" : dec.kind === "awaitingManualSync" || dec.kind === "held" ? dec.message : undefined;

  if (out.kind === "succeeded") {
    p.inventory = out.inventory;
    p.history = pushHistory(i.history, out.entry, i.historyLimit);
    p.sync = { status: "Synced", revision: out.entry.revision, lastAppliedAt: out.entry.finishedAt };
    p.conditions = cond("True", Reasons.succeeded, out.entry.message ?? "applied");
    p.fresh = new Map(out.result.applied.map((a) => [idOf(a.ref), a.live]));
  } else if (out.kind === "healed") {
    p.sync.status = "Synced";
    if (syncedCond?.status !== "True") p.conditions = cond("True", Reasons.succeeded, `drift corrected: ${out.items.map((d) => describeRef(d.ref)).join(", ")}`);
  } else if (out.kind === "blocked") {
    p.sync.status = "OutOfSync";
    p.conditions = keptGen("False", out.reason, out.message);
    if (out.reason !== syncedCond?.reason) p.notes.push({ type: "Normal", reason: out.reason, action: "Sync", message: clip(out.message) });
  } else if (out.kind === "waiting") {
    p.inventory = out.inventory;
    p.sync.status = "OutOfSync";
    p.conditions = keptGen("False", Reasons.progressing, out.message);
    p.wait = minWait(p.wait, Math.max(50, Math.min(out.deadline - now + 100, 30_000)));
  } else if (out.kind === "failed") {
    failedPart(p, i, out);
    p.conditions = cond("False", Reasons.syncFailed, out.message);
  } else if (pending && !i.suspend) {
    if (i.artifact) p.sync.status = "OutOfSync";
    p.conditions = i.artifact ? keptGen("False", Reasons.outOfSync, pending) : cond("Unknown", Reasons.progressing, pending);
  } else if (!i.suspend && i.drift.length === 0 && syncedCond?.status === "True") {
    p.sync.status = "Synced";
  } else if (!i.suspend && dec.kind === "idle" && syncedCond?.status !== "True") {
    p.sync.status = "Synced";
    p.conditions = cond("True", Reasons.succeeded, `the live objects match revision ${p.sync.revision ?? "?"} again`);
  }
}

/** What the decision alone says: stalled, when the retry is due, when a window closes; drift rechecks. */
function fromDecision(p: SyncPart, i: SyncPartInput): void {
  const { decision: dec, now } = i;
  if (i.recheckAt !== undefined) p.wait = Math.max(50, i.recheckAt - now);
  if (dec.kind === "stalled") p.stalled = { reason: dec.reason, message: dec.message };
  if (dec.kind === "blockedByDependency" && dec.cycle) p.stalled = { reason: Reasons.dependencyNotReady, message: dec.message };
  if (dec.kind === "backoff") {
    p.wait = dec.retryAt - now;
    p.retryAt = dec.retryAt;
  }
  if (dec.kind === "blockedByWindow" && dec.retryAt !== undefined) p.wait = minWait(p.wait, Math.max(50, dec.retryAt - now + 10));
}

/** Drift that stays (detect-only, or self-heal blocked): reported in status, with an event when the set grows. */
function reportDrift(p: SyncPart, i: SyncPartInput): void {
  const out = i.outcome;
  p.drifted = out.kind === "succeeded" || out.kind === "healed" ? [] : i.drift.map((d) => d.id).sort();
  const before = i.owned.sync.drifted ?? [];
  p.newlyDrifted = p.drifted.filter((id) => !before.includes(id));
  if (p.newlyDrifted.length) {
    const text = i.drift.filter((d) => p.newlyDrifted.includes(d.id)).map((d) => describeDrift(d)).join("; ");
    p.notes.push({ type: "Warning", reason: "DriftDetected", action: "Drift", message: clip(`${text}${i.policy.selfHeal ? "" : "; not corrected (selfHeal is off)"}`) });
  }
}

/** A failed sync: history, and either the next retry or, with none left (or no retry can help), stalled. */
function failedPart(p: SyncPart, i: SyncPartInput, out: Extract<SyncOutcome, { kind: "failed" }>): void {
  p.inventory = out.inventory;
  p.history = pushHistory(i.history, out.entry, i.historyLimit);
  p.sync.status = "OutOfSync";
  const failures = countedFailures(p.history, out.entry.digest!, i.retryResetAt);
  const delay = out.retryable ? retryDelay(failures, i.policy.retry) : undefined;
  if (delay === undefined) {
    const message = out.retryable ? exhaustedMessage(failures, i.policy.retry.limit, `: ${out.message}`) : out.message;
    p.stalled = { reason: Reasons.syncFailed, message };
  } else {
    p.retryAt = ms(out.entry.finishedAt) + delay;
    p.wait = Math.max(50, p.retryAt - i.now);
  }
}

export interface SummarizeInput {
  now: number;
  generation?: number;
  suspend: boolean;
  hasArtifact: boolean;
  /** The render controller's failure, when the current spec or source cannot be rendered. */
  renderFailure?: string;
  policy: EffectivePolicy;
  /** The health status the Application showed before (events are recorded on a change). */
  previousHealth?: HealthStatus;
  /** spec.interval in ms, capped: the safety net that looks again anyway. */
  intervalMs: number;
  stamp: Stamp;
  outcome: SyncOutcome;
}

export interface Summary {
  owned: OwnedStatus;
  health: Health;
  /** undefined: not requeued (suspended). */
  requeueAfter?: number;
  notes: Note[];
}

/** The whole owned status: the sync part, health (with its timeout) and Ready/Reconciling/Stalled. */
export function summarize(part: SyncPart, assessed: Health, i: SummarizeInput): Summary {
  const { now } = i;
  let wait = part.wait;
  let health = assessed;
  // Health timeout, counted from the last apply.
  const appliedAt = ms(part.sync.lastAppliedAt);
  let healthReason: string = Reasons.progressing;
  if (health.status !== "Healthy" && health.status !== "Degraded" && health.status !== "Suspended" && i.policy.healthWait && Number.isFinite(appliedAt)) {
    const deadline = appliedAt + i.policy.healthTimeoutMs;
    if (now >= deadline) {
      health = { status: "Degraded", message: `not healthy ${formatDuration(i.policy.healthTimeoutMs)} after the sync (health timeout): ${health.message ?? health.status}` };
      healthReason = Reasons.healthCheckTimeout;
    } else wait = Math.min(wait ?? Infinity, deadline - now + 100);
  } else if (health.status === "Degraded") healthReason = Reasons.healthCheckFailed;

  const healthy = (status: Condition["status"], reason: string, message: string) =>
    setCondition(part.conditions, { type: ConditionTypes.healthy, status, reason, message: clip(message), observedGeneration: i.generation }, now);
  let conditions: Condition[];
  if (health.status === "Healthy") conditions = healthy("True", Reasons.succeeded, "all applied objects are healthy");
  else if (health.status === "Degraded") conditions = healthy("False", healthReason, health.message ?? "degraded");
  else conditions = healthy("Unknown", health.status === "Suspended" ? Reasons.suspended : Reasons.progressing, health.message ?? health.status);

  const sync = part.sync;
  const owned: OwnedStatus = {
    sync: {
      status: sync.status,
      ...(sync.revision ? { revision: sync.revision } : {}),
      ...(sync.lastAppliedAt ? { lastAppliedAt: sync.lastAppliedAt } : {}),
      inventory: part.inventory,
      ...(part.drifted.length ? { drifted: part.drifted } : {}),
    },
    health: { status: health.status, ...(health.message ? { message: clip(health.message) } : {}) },
    history: part.history,
    ...(part.rollback ? { rollback: part.rollback } : {}),
    conditions,
  };
  const summarized: OwnedStatus = summarizeConditions(owned as OwnedStatus & StatusWithConditions, readiness(part, conditions, health, healthReason, i), i.stamp);
  const notes: Note[] = [];
  if (health.status !== (i.previousHealth ?? "")) {
    if (health.status === "Degraded") notes.push({ type: "Warning", reason: healthReason, action: "HealthCheck", message: health.message ?? "degraded" });
    else if (health.status === "Healthy" && i.previousHealth) notes.push({ type: "Normal", reason: "Healthy", action: "HealthCheck", message: "all applied objects are healthy" });
  }
  const requeueAfter = i.suspend ? undefined : Math.max(50, Math.min(wait ?? i.intervalMs, i.intervalMs));
  return { owned: summarized, health, requeueAfter, notes };
}

/** Ready, Reconciling and Stalled as one runtime outcome (every message clipped as status messages are). */
function readiness(part: SyncPart, conditions: Condition[], health: Health, healthReason: string, i: SummarizeInput): Outcome {
  const synced = getCondition(conditions, ConditionTypes.synced);
  const retrying = (at: number) => ({ reason: Reasons.progressingWithRetry, message: `retrying at ${metaTime(at)}` });
  if (i.suspend) return { kind: "suspended", reason: Reasons.suspended, message: "the Application is suspended; nothing is applied or pruned" };
  if (part.stalled) return { kind: "stalled", reason: part.stalled.reason, message: clip(part.stalled.message) };
  if (i.outcome.kind === "waiting") return { kind: "reconciling", reason: Reasons.progressing, message: clip(i.outcome.message) };
  // Never rendered: the render controller's failure is the reason, not a wait for an artifact that cannot come.
  if (!i.hasArtifact && i.renderFailure) return { kind: "blocked", reason: Reasons.renderFailed, message: clip(i.renderFailure) };
  if (synced?.status === "False" && i.outcome.kind === "failed") return { kind: "retrying", reason: Reasons.syncFailed, message: clip(synced.message ?? "sync failed"), retry: retrying(part.retryAt ?? i.now) };
  if (synced?.status !== "True") {
    const message = clip(synced?.message ?? "not synced yet");
    const reason = synced?.reason ?? Reasons.progressing;
    if (part.retryAt !== undefined && synced?.reason === Reasons.syncFailed) return { kind: "retrying", reason, message, retry: retrying(part.retryAt) };
    return { kind: "blocked", status: synced?.status === "False" ? "False" : "Unknown", reason, message };
  }
  // The newest revision cannot be rendered: what is applied is an older revision, so the Application is not Ready
  // (as Flux reports a build failure), while the objects applied before stay in place.
  if (i.renderFailure) return { kind: "blocked", reason: Reasons.renderFailed, message: clip(`${i.renderFailure}; the objects of ${part.sync.revision ?? "the last applied revision"} stay applied`) };
  const held = part.rollback && part.rollback.phase !== "Released" ? "; rolled back, automated sync held (status.rollback)" : "";
  if (health.status === "Healthy" || !i.policy.healthWait) return { kind: "ready", reason: Reasons.succeeded, message: clip(`applied revision ${part.sync.revision ?? "?"}${i.policy.healthWait ? "; all objects healthy" : ""}${held}`) };
  if (health.status === "Degraded") return { kind: "blocked", reason: healthReason, message: clip(health.message ?? "degraded") };
  return { kind: "reconciling", reason: Reasons.progressing, readyMessage: clip(health.message ?? "waiting for health"), message: clip(`waiting for health: ${health.message ?? health.status}`) };
}

/** How often a reconcile stopped by a watch that is not ready looks again (the informer itself keeps retrying). */
export const WATCH_RETRY_MS = 10_000;

/**
 * A reconcile that stopped before it could sync: a spec the controller refuses (a cross-namespace reference, a
 * missing SyncPolicy), or a kind whose watch is not ready (often: the operator may not list it).
 */
export type Stop = { kind: "refused"; reason: string; message: string } | { kind: "watchFailed"; message: string } | { kind: "clusterUnreachable"; message: string };

/** How often a reconcile stopped by an unreachable remote cluster looks again (the cluster's probe also wakes it). */
export const CLUSTER_RETRY_MS = 30_000;

/**
 * The owned status after a stop, everything but Ready/Reconciling/Stalled and the stamp as it was: refused → Stalled
 * (no requeue: the spec must change); watch failed → Ready=False (WatchFailed), Reconciling=True, again in 10 s;
 * remote cluster unreachable → Ready=False (ClusterUnreachable), Reconciling=True, again in 30 s.
 */
export function summarizeStop(owned: OwnedStatus, stop: Stop, stamp: Stamp): { owned: OwnedStatus; requeueAfter?: number } {
  const outcome: Outcome =
    stop.kind === "refused"
      ? stalled(stop.reason, clip(stop.message))
      : stop.kind === "clusterUnreachable"
        ? { kind: "retrying", reason: Reasons.clusterUnreachable, message: clip(stop.message), retry: { reason: Reasons.progressingWithRetry, message: `the remote cluster is probed every few seconds; looking again every ${formatDuration(CLUSTER_RETRY_MS)}` }, after: CLUSTER_RETRY_MS }
        : { kind: "retrying", reason: Reasons.watchFailed, message: clip(stop.message), retry: { reason: Reasons.progressingWithRetry, message: `the watch is retried; looking again every ${formatDuration(WATCH_RETRY_MS)}` }, after: WATCH_RETRY_MS };
  return { owned: summarizeConditions(owned as OwnedStatus & StatusWithConditions, outcome, stamp), requeueAfter: resultOf(outcome).requeueAfter };
}
