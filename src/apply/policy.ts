// Sync policy semantics that need no cluster: the effective policy of an Application, the retry schedule, the
// guards in front of apply and prune (ownership, prune opt-out, empty renders) and the history list.
import type { Application, HistoryTrigger } from "../api/application.js";
import type { CommitMetadata } from "../api/gitrepository.js";
import { HISTORY_LIMIT, Labels } from "../api/constants.js";
import { parseDuration } from "../api/duration.js";
import { ownerLabelValue } from "../api/ownership.js";
import type { PropagationPolicy, SyncPolicy } from "../api/syncpolicy.js";
import { applyDefaults, defaultSyncPolicySpec } from "../api/validate.js";

/** Annotation on an applied object that keeps Mooring from ever deleting it. */
export const PRUNE_ANNOTATION = "mooring.dev/prune";
export const PRUNE_DISABLED = "disabled";

/** Every field resolved: what the controller acts on. */
export interface EffectivePolicy {
  automated: boolean;
  prune: boolean;
  selfHeal: boolean;
  allowEmpty: boolean;
  retry: { limit: number; durationMs: number; factor: number; maxDurationMs: number };
  createNamespace: boolean;
  pruneLast: boolean;
  propagationPolicy: "Foreground" | "Background" | "Orphan";
  force: boolean;
  /** options.applyOutOfSyncOnly: objects whose live state already matches the render are not sent. */
  applyOutOfSyncOnly: boolean;
  healthWait: boolean;
  /** health.timeout, else the Application's spec.timeout. */
  healthTimeoutMs: number;
}

const PROPAGATION: Record<PropagationPolicy, EffectivePolicy["propagationPolicy"]> = { foreground: "Foreground", background: "Background", orphan: "Orphan" };

/**
 * The policy an Application syncs under: its SyncPolicy's spec with every default applied, or — without a
 * syncPolicyRef — all defaults (automated, prune, self-heal).
 */
export function effectivePolicy(app: Pick<Application, "spec">, policy?: Pick<SyncPolicy, "spec"> | undefined): EffectivePolicy {
  const spec = policy
    ? applyDefaults({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "SyncPolicy", metadata: { name: "p" }, spec: structuredClone(policy.spec ?? {}) } as SyncPolicy).spec!
    : defaultSyncPolicySpec();
  const a = spec.automated ?? {};
  const r = spec.retry ?? {};
  const o = spec.options ?? {};
  const h = spec.health ?? {};
  const appTimeout = app.spec?.timeout ?? "5m";
  return {
    automated: a.enabled ?? true,
    prune: a.prune ?? true,
    selfHeal: a.selfHeal ?? true,
    allowEmpty: a.allowEmpty ?? false,
    retry: {
      limit: r.limit ?? 5,
      durationMs: parseDuration(r.backoff?.duration ?? "5s"),
      factor: r.backoff?.factor ?? 2,
      maxDurationMs: parseDuration(r.backoff?.maxDuration ?? "3m"),
    },
    createNamespace: o.createNamespace ?? false,
    pruneLast: o.pruneLast ?? false,
    propagationPolicy: PROPAGATION[o.prunePropagationPolicy ?? "background"],
    force: o.force ?? false,
    applyOutOfSyncOnly: o.applyOutOfSyncOnly ?? false,
    healthWait: h.wait ?? true,
    healthTimeoutMs: parseDuration(h.timeout ?? appTimeout),
  };
}

/**
 * Wait before retry number `attempt` (1 = first retry after the first failure): duration·factor^(attempt−1),
 * capped at maxDuration. Undefined when the limit is reached (the Application then stalls until the next change).
 */
export function retryDelay(attempt: number, retry: EffectivePolicy["retry"]): number | undefined {
  if (attempt < 1 || attempt > retry.limit) return undefined;
  const d = retry.durationMs * Math.pow(retry.factor, attempt - 1);
  return Math.min(d, retry.maxDurationMs);
}

/** The value of the application label on objects an Application applies (the render controller sets it). */
export function applicationLabelValue(app: { metadata?: { namespace?: string; name?: string } }): string {
  return ownerLabelValue(app.metadata?.namespace ?? "", app.metadata?.name ?? "");
}

interface Labelled {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** The Application (label value) that claims a live object, if another than `mine`. */
export function otherOwner(live: Labelled | undefined, mine: string): string | undefined {
  const v = live?.metadata?.labels?.[Labels.application];
  return v && v !== mine ? v : undefined;
}

export type PruneDecision = { prune: true } | { prune: false; reason: string };

/**
 * Whether a live object that left the render may be deleted. Callers only ask about ids from this Application's
 * own previous inventory; this adds the checks on the live object: still claimed by us, and not opted out.
 */
export function pruneDecision(live: Labelled | undefined, mine: string): PruneDecision {
  if (!live) return { prune: false, reason: "already gone" };
  if (live.metadata?.annotations?.[PRUNE_ANNOTATION] === PRUNE_DISABLED) return { prune: false, reason: `annotated ${PRUNE_ANNOTATION}: ${PRUNE_DISABLED}` };
  const owner = live.metadata?.labels?.[Labels.application];
  if (owner !== mine) return { prune: false, reason: owner ? `now claimed by Application ${owner}` : "no longer labelled as ours" };
  return { prune: true };
}

/**
 * The "everything deleted by an empty commit" guard: a render with no objects over a non-empty inventory is
 * refused unless allowEmpty. Returns the refusal message, or undefined when the sync may go on.
 */
export function emptyRenderRefusal(objects: number, inventory: number, allowEmpty: boolean): string | undefined {
  if (objects > 0 || inventory === 0 || allowEmpty) return undefined;
  return `the render produced no objects and ${inventory} object${inventory === 1 ? " is" : "s are"} applied; refusing to prune everything. Fix spec.path, or set automated.allowEmpty: true in the SyncPolicy if emptying is intended`;
}

export interface HistoryEntry {
  revision: string;
  digest?: string;
  startedAt: string;
  finishedAt?: string;
  /** Running: the sync's write-ahead record, written before the first object is applied and replaced by the outcome. */
  phase: "Succeeded" | "Failed" | "Running";
  message?: string;
  initiatedBy: "auto" | "manual";
  /** Sequence number (./history.ts nextId): what mooring rollback --to names. */
  id?: number;
  trigger?: HistoryTrigger;
  commit?: CommitMetadata;
  /** The rendered artifact this entry applied, kept while the entry is in the history. */
  url?: string;
  changes?: { created: number; configured: number; unchanged: number; pruned: number; failed?: number };
}

/** Text of a Running entry until the sync's outcome replaces it. */
export const IN_PROGRESS = "in progress: the sync started and has not finished";

/**
 * The history with every Running entry read as the interrupted sync it is. Syncs of one Application never overlap,
 * so a Running entry seen at the start of a reconcile is one whose process stopped before writing the outcome.
 */
export function settleInterrupted(history: readonly HistoryEntry[]): HistoryEntry[] {
  return history.map((h) =>
    h.phase !== "Running"
      ? h
      : { ...h, phase: "Failed", finishedAt: h.finishedAt ?? h.startedAt, message: (h.message ?? "").replace(IN_PROGRESS, "interrupted: the sync started and did not finish (the apply controller stopped during it)") },
  );
}

/** Newest first, at most `limit` (spec.historyLimit) entries; the entry gets the next id unless it has one. */
export function pushHistory(history: readonly HistoryEntry[] | undefined, entry: HistoryEntry, limit = HISTORY_LIMIT): HistoryEntry[] {
  const before = history ?? [];
  const id = entry.id ?? Math.max(0, ...before.map((h) => h.id ?? 0)) + 1;
  return [{ ...entry, id }, ...before].slice(0, Math.max(1, limit));
}

/** Failed syncs of `digest` since the last success or the last other digest: the retry count to resume from. */
export function consecutiveFailures(history: readonly HistoryEntry[] | undefined, digest: string): number {
  let n = 0;
  for (const h of history ?? []) {
    if (h.phase !== "Failed" || h.digest !== digest) break;
    n++;
  }
  return n;
}

/** Marker of the manual-sync request a history entry answered (status has no field of its own for it yet). */
export function manualMarker(requestedAt: string): string {
  return `sync requested at "${requestedAt}"`;
}

/** Whether some entry of the history already answered this manual-sync request. */
export function manualRequestHandled(history: readonly HistoryEntry[] | undefined, requestedAt: string): boolean {
  const m = manualMarker(requestedAt);
  return (history ?? []).some((h) => h.initiatedBy === "manual" && h.phase !== "Running" && (h.message ?? "").startsWith(m));
}
