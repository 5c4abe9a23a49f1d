// The audit trail and rollback, as pure functions: what a history entry records (id, trigger, the commit, the kept
// rendered artifact, the objects changed; the commit as events and the CLI write it), and what a rollback request
// (delivery.mooring.dev/rollback) asks for and holds. The controller reads the request and the history, decides
// with `rollbackHold`, syncs the held artifact like any other (./sync.ts) and reports it with `rollbackPart`.
import type { HistoryTrigger, RollbackUntil } from "../api/application.js";
import { ConditionTypes, HISTORY_LIMIT, Reasons } from "../api/constants.js";
import type { CommitMetadata } from "../api/gitrepository.js";
import { type Condition, removeCondition, setCondition } from "../runtime/conditions.js";
import type { ApplyResult } from "./applier.js";
import type { PruneResult } from "./prune.js";
import type { HistoryEntry } from "./policy.js";

export type { HistoryTrigger, RollbackUntil };

/** An Application's spec.historyLimit, else the default. */
export function historyLimitOf(app: { spec?: { historyLimit?: number } }): number {
  const n = app.spec?.historyLimit;
  return n !== undefined && Number.isInteger(n) && n >= 1 ? n : HISTORY_LIMIT;
}

/** What a sync did to the objects, as counts. */
export function changesOf(result: ApplyResult | undefined, pruned: PruneResult | undefined, failed = 0): NonNullable<HistoryEntry["changes"]> {
  const count = (a: string) => result?.applied.filter((x) => x.action === a).length ?? 0;
  const f = failed + (result?.failures.length ?? 0) + (pruned?.failures.length ?? 0);
  return { created: count("created"), configured: count("configured") + count("recreated"), unchanged: count("unchanged"), pruned: pruned?.pruned.length ?? 0, ...(f ? { failed: f } : {}) };
}

/** The first line of a commit message (for tables and event messages). */
export function commitSubject(message: string | undefined): string {
  return (message ?? "").split("\n", 1)[0]!.trim();
}

/** `"subject" by Author`, for event messages and the CLI (empty without commit metadata). */
export function describeCommit(c: CommitMetadata | undefined): string {
  if (!c) return "";
  const subject = commitSubject(c.message);
  return `${subject ? `"${subject.length > 120 ? `${subject.slice(0, 119)}…` : subject}" ` : ""}by ${c.author}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Rollback

/** What `mooring rollback` writes into the delivery.mooring.dev/rollback annotation. */
export interface RollbackRequest {
  /** When it was asked (unique per request: a new value is a new rollback). */
  requestedAt: string;
  /** The history entry's digest: what is re-applied. */
  digest: string;
  id?: number;
  revision?: string;
  until: RollbackUntil;
}

/** status.rollback as the apply controller writes it. */
export interface RollbackStatus {
  requestedAt: string;
  id?: number;
  revision: string;
  digest: string;
  url?: string;
  commit?: CommitMetadata;
  until: RollbackUntil;
  heldRevision?: string;
  phase: "Succeeded" | "Failed" | "Released";
  message?: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The annotation's value read as a request, or why it cannot be. */
export function parseRollbackRequest(value: string): RollbackRequest | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return { error: "is not JSON" };
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return { error: "is not a JSON object" };
  const o = v as Record<string, unknown>;
  if (typeof o.requestedAt !== "string" || !o.requestedAt || o.requestedAt.length > 64) return { error: "has no requestedAt (a string of at most 64 characters)" };
  if (typeof o.digest !== "string" || !DIGEST.test(o.digest)) return { error: "has no digest (sha256:<64 hex digits>)" };
  if (o.id !== undefined && (typeof o.id !== "number" || !Number.isInteger(o.id) || o.id < 1)) return { error: "has an id that is not a whole number above 0" };
  if (o.revision !== undefined && (typeof o.revision !== "string" || o.revision.length > 1024)) return { error: "has a revision that is not a string" };
  const until = o.until ?? "resume";
  if (until !== "resume" && until !== "newRevision") return { error: `has until "${String(until)}"; it must be resume or newRevision` };
  return { requestedAt: o.requestedAt, digest: o.digest, ...(o.id !== undefined ? { id: o.id as number } : {}), ...(o.revision !== undefined ? { revision: o.revision as string } : {}), until };
}

/** The artifact a rollback re-applies. */
export interface RollbackTarget {
  id?: number;
  revision: string;
  digest: string;
  url: string;
  commit?: CommitMetadata;
}

/**
 * What a rollback request means now:
 *   none     — no request, nothing held;
 *   release  — the request was removed (mooring resume): the hold ends, status.rollback goes;
 *   refused  — the request cannot be carried out (unreadable, or no kept entry has its digest): nothing is synced
 *              while it stands, and the condition says why;
 *   hold     — hold the Application at `target`; `request` set when this request is new (sync it now);
 *   released — until: newRevision, and the source has moved past `heldRevision`: automation runs again.
 */
export type RollbackHold =
  | { kind: "none" }
  | { kind: "release"; previous: RollbackStatus }
  | { kind: "refused"; message: string; previous?: RollbackStatus }
  | { kind: "hold"; target: RollbackTarget; request: RollbackRequest; isNew: boolean; heldRevision?: string; previous?: RollbackStatus }
  | { kind: "released"; target: RollbackTarget; request: RollbackRequest; revision: string; previous: RollbackStatus };

export interface HoldInput {
  /** The annotation's value (undefined: not annotated). */
  annotation?: string;
  previous?: RollbackStatus;
  /** Settled history, newest first. */
  history: readonly HistoryEntry[];
  /** The render controller's current artifact revision (the source's revision). */
  renderRevision?: string;
}

/** Where a rollback request stands; pure (see RollbackHold). */
export function rollbackHold(i: HoldInput): RollbackHold {
  const prev = i.previous;
  if (i.annotation === undefined) return prev ? { kind: "release", previous: prev } : { kind: "none" };
  const req = parseRollbackRequest(i.annotation);
  if ("error" in req) return { kind: "refused", message: `the annotation delivery.mooring.dev/rollback ${req.error}; run mooring rollback again, or mooring resume to remove it`, ...(prev ? { previous: prev } : {}) };
  const handled = prev?.requestedAt === req.requestedAt;
  // A handled request holds what status recorded: its history entry may have left the history since.
  const target: RollbackTarget | undefined = handled && prev.url ? { ...(prev.id !== undefined ? { id: prev.id } : {}), revision: prev.revision, digest: prev.digest, url: prev.url, ...(prev.commit ? { commit: prev.commit } : {}) } : targetIn(i.history, req);
  if (!target) {
    const kept = i.history.filter((h) => h.phase === "Succeeded" && h.url).map((h) => `#${h.id ?? "?"} ${h.revision}`);
    return {
      kind: "refused",
      message: `cannot roll back: no kept history entry has the rendered digest ${req.digest}${req.id !== undefined ? ` (entry #${req.id})` : ""}; kept: ${kept.length ? kept.join(", ") : "none"}. Run mooring history to choose one, or mooring resume to remove the request`,
      ...(prev ? { previous: prev } : {}),
    };
  }
  const heldRevision = handled ? prev.heldRevision : i.renderRevision;
  if (handled && req.until === "newRevision" && heldRevision !== undefined && i.renderRevision !== undefined && i.renderRevision !== heldRevision) {
    return { kind: "released", target, request: req, revision: i.renderRevision, previous: prev };
  }
  return { kind: "hold", target, request: req, isNew: !handled, ...(heldRevision !== undefined ? { heldRevision } : {}), ...(prev ? { previous: prev } : {}) };
}

/** The newest succeeded entry with the request's digest (and id, when given) whose rendered artifact is kept. */
function targetIn(history: readonly HistoryEntry[], req: RollbackRequest): RollbackTarget | undefined {
  const e = history.find((h) => h.phase === "Succeeded" && h.digest === req.digest && h.url && (req.id === undefined || h.id === undefined || h.id === req.id));
  if (!e) return undefined;
  return { ...(e.id !== undefined ? { id: e.id } : {}), revision: e.revision, digest: e.digest!, url: e.url!, ...(e.commit ? { commit: e.commit } : {}) };
}

/** How the hold is said in words (status, events). */
function holdText(t: RollbackTarget, until: RollbackUntil, heldRevision: string | undefined, appName: string): string {
  const what = `revision ${t.revision}${t.id !== undefined ? ` (history entry #${t.id})` : ""}, rendered ${t.digest.slice(0, 19)}…`;
  const untilText = until === "resume" ? `until 'mooring resume ${appName}'` : `until the source has a revision other than ${heldRevision ?? "the current one"} (or 'mooring resume ${appName}')`;
  return `rolled back to ${what}; automated sync is held ${untilText}`;
}

/** status.rollback, the conditions with RolledBack, and the events to record. */
export interface RollbackPart {
  rollback?: RollbackStatus;
  conditions: Condition[];
  notes: { type: "Normal" | "Warning"; reason: string; message: string }[];
}

/** The sync's result as far as the rollback cares. */
export type RollbackSync = { kind: "succeeded" } | { kind: "failed"; message: string } | { kind: "other" };

/** status.rollback and the RolledBack condition after this reconcile; pure. */
export function rollbackPart(hold: RollbackHold, sync: RollbackSync, conditions: Condition[], o: { now: number; generation?: number; appName: string }): RollbackPart {
  const cond = (status: Condition["status"], reason: string, message: string) =>
    setCondition(conditions, { type: ConditionTypes.rolledBack, status, reason, message, observedGeneration: o.generation }, o.now);
  switch (hold.kind) {
    case "none":
      return { conditions: removeCondition(conditions, ConditionTypes.rolledBack), notes: [] };
    case "release":
      return {
        conditions: removeCondition(conditions, ConditionTypes.rolledBack),
        notes: [{ type: "Normal", reason: Reasons.rollbackReleased, message: `the rollback to revision ${hold.previous.revision} ended (delivery.mooring.dev/rollback removed: mooring resume); automated sync runs again` }],
      };
    case "refused":
      return { ...(hold.previous ? { rollback: hold.previous } : {}), conditions: cond("False", Reasons.rollbackFailed, `${hold.message}; automated sync is held while the request stands`), notes: [] };
    case "released": {
      const message = `a new revision ${hold.revision} arrived after the rollback to ${hold.target.revision}; automated sync runs again`;
      const notes: RollbackPart["notes"] = hold.previous.phase === "Released" ? [] : [{ type: "Normal", reason: Reasons.rollbackReleased, message }];
      return { rollback: { ...hold.previous, phase: "Released", message }, conditions: cond("False", Reasons.rollbackReleased, message), notes };
    }
    case "hold": {
      const { target: t, request: req } = hold;
      const base: Omit<RollbackStatus, "phase"> = {
        requestedAt: req.requestedAt,
        ...(t.id !== undefined ? { id: t.id } : {}),
        revision: t.revision,
        digest: t.digest,
        url: t.url,
        ...(t.commit ? { commit: t.commit } : {}),
        until: req.until,
        ...(hold.heldRevision !== undefined ? { heldRevision: hold.heldRevision } : {}),
      };
      const text = holdText(t, req.until, hold.heldRevision, o.appName);
      if (sync.kind === "succeeded") {
        const notes: RollbackPart["notes"] = hold.previous?.requestedAt === req.requestedAt && hold.previous.phase === "Succeeded" ? [] : [{ type: "Normal", reason: Reasons.rolledBack, message: text }];
        return { rollback: { ...base, phase: "Succeeded", message: text }, conditions: cond("True", Reasons.rolledBack, text), notes };
      }
      if (sync.kind === "failed") {
        const message = `the rollback to revision ${t.revision} failed: ${sync.message}; it is retried, and automated sync stays held`;
        return { rollback: { ...base, phase: "Failed", message }, conditions: cond("False", Reasons.rollbackFailed, message), notes: [{ type: "Warning", reason: Reasons.rollbackFailed, message }] };
      }
      // Nothing synced now: a handled request keeps its result; a new one waits (a window, a dependency).
      if (!hold.isNew && hold.previous) return { rollback: hold.previous, conditions: hold.previous.phase === "Succeeded" ? cond("True", Reasons.rolledBack, text) : conditions, notes: [] };
      return { ...(hold.previous ? { rollback: hold.previous } : {}), conditions: cond("Unknown", Reasons.progressing, `rollback to revision ${t.revision} requested; not synced yet`), notes: [] };
    }
  }
}

/** The trigger a history entry records, with the legacy initiatedBy it implies. */
export function initiatedByOf(trigger: HistoryTrigger): "auto" | "manual" {
  return trigger === "manual" || trigger === "rollback" ? "manual" : "auto";
}
