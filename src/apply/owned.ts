// The part of Application.status the apply controller owns (written as `mooring-sync`), the outcome types the apply
// modules hand each other, and the small helpers they share to build status.
import type { Application, HealthStatus, SyncStatus } from "../api/application.js";
import { Annotations, ConditionTypes, Reasons } from "../api/constants.js";
import { type Condition, getCondition, metaTime } from "../runtime/conditions.js";
import type { KubeObject } from "../runtime/kinds.js";
import type { Stamp } from "../runtime/status.js";
import type { ApplyResult } from "./applier.js";
import type { PruneResult } from "./prune.js";
import { type InventoryEntry, type ObjectRef, describeRef } from "./inventory.js";
import type { HistoryEntry } from "./policy.js";
import type { RollbackStatus } from "./history.js";

export const OWNED_CONDITIONS: readonly string[] = [ConditionTypes.synced, ConditionTypes.healthy, ConditionTypes.ready, ConditionTypes.reconciling, ConditionTypes.stalled, ConditionTypes.rolledBack];

export type AppObject = Application & KubeObject;

export interface OwnedStatus {
  /** The generation this controller last acted on (docs/api.md: the apply controller's). */
  observedGeneration?: number;
  /** The last reconcile request (mooring.dev/reconcile-requested-at) handled: what `mooring reconcile --wait` waits for. */
  lastHandledReconcileAt?: string;
  sync: { status: SyncStatus; revision?: string; lastAppliedAt?: string; inventory: InventoryEntry[]; drifted?: string[] };
  health: { status: HealthStatus; message?: string };
  history: HistoryEntry[];
  /** A rollback and the hold it puts on automation (./history.ts). */
  rollback?: RollbackStatus;
  conditions: Condition[];
}

/** The owned part of an Application's status as the object shows it. */
export function currentOwned(app: Application | KubeObject): OwnedStatus {
  const s = (app as Application).status ?? {};
  return {
    ...(s.observedGeneration !== undefined ? { observedGeneration: s.observedGeneration } : {}),
    ...(s.lastHandledReconcileAt !== undefined ? { lastHandledReconcileAt: s.lastHandledReconcileAt } : {}),
    sync: { ...(s.sync ?? {}), status: s.sync?.status ?? "Unknown", inventory: s.sync?.inventory ?? [] } as OwnedStatus["sync"],
    health: (s.health as OwnedStatus["health"]) ?? { status: "Unknown" },
    history: (s.history ?? []) as HistoryEntry[],
    ...(s.rollback ? { rollback: s.rollback as RollbackStatus } : {}),
    conditions: ((s.conditions ?? []) as Condition[]).filter((c) => OWNED_CONDITIONS.includes(c.type)),
  };
}

/** The Application with the owned part of its status replaced by `owned` (other managers' conditions kept). */
export function overlayOwned(app: AppObject, owned: OwnedStatus): AppObject {
  const others = ((app.status?.conditions ?? []) as Condition[]).filter((c) => !OWNED_CONDITIONS.includes(c.type));
  return {
    ...app,
    status: {
      ...(app.status ?? {}),
      observedGeneration: owned.observedGeneration,
      lastHandledReconcileAt: owned.lastHandledReconcileAt,
      sync: owned.sync,
      health: owned.health,
      history: owned.history,
      rollback: owned.rollback,
      conditions: [...others, ...owned.conditions],
    },
  };
}

/** What a final status answers: this generation, and any pending reconcile request. */
export function stampOf(app: Application | KubeObject, now: number): Stamp {
  return { generation: app.metadata?.generation, reconcileRequestedAt: app.metadata?.annotations?.[Annotations.reconcileRequestedAt], now };
}

/** Status messages stay readable (and far below the schema's 32 KiB limit). */
export function clip(text: string, max = 4000): string {
  return text.length > max ? `${text.slice(0, max - 20)}… (${text.length - max + 20} more characters)` : text;
}

export { metaTime };

/** Milliseconds of an RFC 3339 time (NaN when absent). */
export const ms = (t: string | undefined): number => (t ? Date.parse(t) : NaN);

/** The render controller's failure message when it could not render the Application's current spec and source. */
export function renderFailure(app: Application): string | undefined {
  const rendered = getCondition((app.status?.conditions ?? []) as Condition[], ConditionTypes.rendered);
  return rendered?.status === "False" && rendered.reason !== Reasons.suspended ? `render failed: ${rendered.message}` : undefined;
}

/** A managed object whose live state no longer holds what was applied. */
export interface DriftItem {
  id: string;
  ref: ObjectRef;
  missing: boolean;
  /** JSON pointers of the changed fields (a few). */
  fields: string[];
  liveRv?: string;
}

/** How a drifted object is described in messages: its kind and name, and what changed. */
export function describeDrift(d: DriftItem, deleted = "deleted"): string {
  return `${describeRef(d.ref)} (${d.missing ? deleted : d.fields.join(", ")})`;
}

/** What executing a decision did (or, for a blocked decision, why nothing was done). */
export type SyncOutcome =
  | { kind: "none" }
  | { kind: "healed"; items: DriftItem[] }
  | { kind: "blocked"; reason: string; message: string; retryAt?: number }
  | { kind: "waiting"; message: string; inventory: InventoryEntry[]; deadline: number }
  | { kind: "succeeded"; result: ApplyResult; pruned: PruneResult | undefined; inventory: InventoryEntry[]; entry: HistoryEntry }
  | { kind: "failed"; message: string; inventory: InventoryEntry[]; entry: HistoryEntry; retryable: boolean };
