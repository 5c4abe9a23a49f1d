// What the apply controller does next for one Application, as a pure function of what it read: the Application
// (spec, annotations, owned conditions), its effective policy and sync windows, the history (a Running entry already
// settled as interrupted), the drift found, the dependencies' state and the little the process remembers.
// No I/O and no clock: `now` is an input. The controller then executes the decision (./execute.ts, ./sync.ts).
import { Annotations, ConditionTypes, Reasons } from "../api/constants.js";
import { type Condition, getCondition } from "../runtime/conditions.js";
import { syncGate } from "../policy/windows.js";
import type { SyncWindow } from "../policy/windows.js";
import type { HistoryTrigger } from "./history.js";
import { ms } from "./owned.js";
import { type EffectivePolicy, type HistoryEntry, consecutiveFailures, manualRequestHandled, retryDelay } from "./policy.js";

/** Synced reasons that report a state rather than a sync still to do (drift, a window, a dependency). */
export const SOFT_SYNC_REASONS: ReadonlySet<string> = new Set<string>([Reasons.outOfSync, Reasons.syncWindowClosed, Reasons.dependencyNotReady]);

export interface DecideInput {
  now: number;
  generation?: number;
  suspend: boolean;
  /** The rendered artifact the render controller published (undefined: none yet). */
  artifact?: { digest: string; revision?: string };
  /** Newest first, Running entries settled (settleInterrupted). */
  history: readonly HistoryEntry[];
  /** The owned conditions as last written. */
  conditions: readonly Condition[];
  policy: EffectivePolicy;
  windows?: readonly SyncWindow[];
  /** The value of the sync-requested-at annotation, if any. */
  syncRequestedAt?: string;
  /** In-process memory: the manual request last handled, when retries were last reset, the digest of waves in progress. */
  memory: { handledManual?: string; retryResetAt: number; wavesDigest?: string };
  /** Drifted inventory ids (sorted) and their description. */
  drift: { ids: readonly string[]; text: string };
  /** Whether the applied render is known (drift of fields, and so self-heal, needs it). */
  desiredKnown: boolean;
  /** Why the dependencies hold the Application back (undefined: none, or all Ready). */
  dependency?: { message: string; cycle?: boolean };
  /**
   * A rollback (./history.ts rollbackHold): `artifact` is then the held target. `request`: a new request, synced now
   * (as a manual sync is); `refused`: a request that cannot be carried out, which holds every sync while it stands.
   */
  rollback?: { request?: string; refused?: string };
}

export type DecisionKind =
  | { kind: "suspended" }
  | { kind: "awaitingRender" }
  /** Nothing to do: the last sync holds and nothing drifted (a drift report or a blocked heal is over). */
  | { kind: "idle" }
  /** Automation (or self-heal) is off: the change or the drift waits for a manual sync. */
  | { kind: "awaitingManualSync"; message: string }
  | { kind: "stalled"; reason: string; message: string }
  /** A failed sync of this digest is retried at `retryAt`. */
  | { kind: "backoff"; retryAt: number }
  | { kind: "blockedByWindow"; reason: string; message: string; retryAt?: number }
  | { kind: "blockedByDependency"; message: string; cycle: boolean }
  /** Re-apply only the drifted objects. */
  | { kind: "heal" }
  /** A rollback request that cannot be carried out holds every sync. */
  | { kind: "held"; message: string }
  /** A full sync: download, apply in waves, prune. `manual`: the request it answers; `trigger`: for its history entry. */
  | { kind: "sync"; manual?: string; trigger: HistoryTrigger };

export type Decision = DecisionKind & {
  /** A spec change or a new manual request: failures before `now` no longer count towards the retry limit. */
  resetRetries: boolean;
};

/** Failures of `digest` counted towards the retry limit: those since the last reset (the whole history if none). */
export function countedFailures(history: readonly HistoryEntry[], digest: string, retryResetAt: number): number {
  return consecutiveFailures(history.filter((h) => ms(h.startedAt) >= Math.floor(retryResetAt / 1000) * 1000 || retryResetAt === 0), digest);
}

/** The retries-exhausted message. */
export function exhaustedMessage(failures: number, limit: number, last: string): string {
  return `sync failed ${failures} time(s), retries exhausted (limit ${limit}); waiting for a new render, a spec change or a manual sync${last}`;
}

interface Need {
  /** A manual-sync or a new rollback request: synced whatever automation says. */
  manual?: string;
  genChanged: boolean;
  needsFull: boolean;
  heal: boolean;
  trigger: HistoryTrigger;
}

/** What is due: a full sync (new render or spec, a failure to retry, waves to resume), a heal, a manual request. */
function need(i: DecideInput, digest: string): Need {
  const request = i.syncRequestedAt;
  // A manual request always syncs (also in automated mode, where it restarts exhausted retries).
  const manualSync = request && i.memory.handledManual !== request && !manualRequestHandled(i.history, request) ? request : undefined;
  const manual = i.rollback?.request ?? manualSync;
  const synced = getCondition([...i.conditions], ConditionTypes.synced);
  const genChanged = synced !== undefined && synced.observedGeneration !== i.generation;
  const lastSuccess = i.history.find((h) => h.phase === "Succeeded");
  const drifted = i.drift.ids.length > 0;
  // Drift alone (with the applied objects known) is corrected object by object: self-heal.
  const needsFull =
    digest !== lastSuccess?.digest ||
    genChanged ||
    i.memory.wavesDigest === digest ||
    synced === undefined ||
    (synced.status !== "True" && !SOFT_SYNC_REASONS.has(synced.reason)) ||
    (drifted && !i.desiredKnown);
  // What the history entry will say started the sync: a rollback (also its retries), a person, drift alone, or a change.
  const trigger: HistoryTrigger = i.rollback?.request ? "rollback" : manualSync ? "manual" : i.rollback ? "rollback" : drifted && digest === lastSuccess?.digest && !genChanged ? "self-heal" : "automated";
  return { manual, genChanged, needsFull, heal: !needsFull && drifted, trigger };
}

/** The decision, in the order the gates apply: automation, stalled, retry schedule, sync windows, dependencies. */
export function decide(i: DecideInput): Decision {
  if (i.suspend) return { kind: "suspended", resetRetries: false };
  if (i.rollback?.refused) return { kind: "held", message: i.rollback.refused, resetRetries: false };
  const artifact = i.artifact;
  if (!artifact) return { kind: "awaitingRender", resetRetries: false };
  const n = need(i, artifact.digest);
  const resetRetries = n.genChanged || n.manual !== undefined;
  const d = (x: DecisionKind): Decision => ({ ...x, resetRetries });
  const eff = i.policy;
  if (!n.manual) {
    if (!eff.automated && (n.needsFull || n.heal)) return d({ kind: "awaitingManualSync", message: `automated sync is off; waiting for a manual sync (annotate ${Annotations.syncRequestedAt})${n.heal ? `; drifted: ${i.drift.text}` : ""}` });
    if (n.heal && !eff.selfHeal) return d({ kind: "awaitingManualSync", message: `drifted from the applied revision, not corrected because selfHeal is off: ${i.drift.text}` });
    if (!n.needsFull && !n.heal) return d({ kind: "idle" });
  }
  if (!n.manual) {
    const blocked = retryGate(i, artifact.digest, n, resetRetries);
    if (blocked) return d(blocked);
  }
  // Sync windows: self-heal is an automated sync; a manual request passes when the windows allow manual syncs.
  const gate = syncGate(i.windows ? [...i.windows] : undefined, i.now, n.manual ? "manual" : "auto");
  if (!gate.allowed) return d({ kind: "blockedByWindow", reason: gate.reason, message: `${gate.message}${i.drift.ids.length ? `; drifted: ${i.drift.text}` : ""}`, retryAt: gate.retryAt?.getTime() });
  // dependsOn: every dependency Ready at its current generation and revision before a (full) sync.
  if (!n.heal && i.dependency) return d({ kind: "blockedByDependency", message: i.dependency.message, cycle: !!i.dependency.cycle });
  if (n.heal && !n.manual) return d({ kind: "heal" });
  // A rollback request is answered in status.rollback, not as a manual sync.
  const manual = n.manual !== undefined && n.manual !== i.rollback?.request ? { manual: n.manual } : {};
  return d({ kind: "sync", ...manual, trigger: n.trigger });
}

/** Stalled on this digest, or waiting for its next retry (the schedule is read from history). */
function retryGate(i: DecideInput, digest: string, n: Need, resetRetries: boolean): Extract<DecisionKind, { kind: "stalled" | "backoff" }> | undefined {
  // Stalled on this digest (retries exhausted, or a failure no retry can fix): stays so until something changes.
  const stalled = getCondition([...i.conditions], ConditionTypes.stalled);
  const head = i.history[0];
  if (n.needsFull && !n.genChanged && stalled?.status === "True" && stalled.reason === Reasons.syncFailed && head?.phase === "Failed" && head.digest === digest) {
    return { kind: "stalled", reason: Reasons.syncFailed, message: stalled.message };
  }
  const failures = countedFailures(i.history, digest, resetRetries ? i.now : i.memory.retryResetAt);
  if (failures === 0) return undefined;
  const delay = retryDelay(failures, i.policy.retry);
  if (delay === undefined) return { kind: "stalled", reason: Reasons.syncFailed, message: exhaustedMessage(failures, i.policy.retry.limit, `. Last error: ${head?.message ?? "unknown"}`) };
  const due = ms(head?.finishedAt ?? head?.startedAt) + delay;
  return due > i.now ? { kind: "backoff", retryAt: due } : undefined;
}
