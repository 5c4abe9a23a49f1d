// Status as an output: a reconcile ends in one Outcome, summarize() turns it into the kstatus conditions (Ready,
// Reconciling, Stalled) with the mark* helpers, and a StatusWriter writes the result once, skipping the write when
// it equals what the object shows or, while the cache does not show it yet, what this writer wrote last; a status
// someone else edited is written back.
//
//   try { outcome = await steps(obj) } catch (err) { outcome = outcomeOf(err) }
//   finally { await writer.write(obj, summarize(obj.status ?? {}, outcome, stamp(obj)), { signal }) }
//   return resultOf(outcome)
//
// Errors a step may throw, beside TerminalError: StalledError (no retry until the object changes: Stalled=True) and
// WaitingError (not an error at all: look again after `after` ms, Reconciling=True).
import type { Client } from "./client.js";
import { type Condition, type ConditionStatus, type StatusWithConditions, Ready, Reconciling, Stalled, getCondition, markReady, markReconciling, markStalled, removeCondition, setCondition } from "./conditions.js";
import type { KubeObject } from "./kinds.js";
import { type Result, TerminalError } from "./reconcile.js";

/** Cannot progress until the object (or something it names) changes: Stalled=True, Ready=False, no retry. */
export class StalledError extends TerminalError {
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StalledError";
  }
}

/** Not failed, not done: waiting for something outside (a dependency, a rollout). Reconciling=True; again after `after` ms. */
export class WaitingError extends Error {
  constructor(
    readonly after: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "WaitingError";
  }
}

/**
 * How a reconcile ended, as the object's status should say it (kstatus):
 * - ready: Ready=True; Reconciling and Stalled removed.
 * - reconciling: work in progress — Reconciling=True, Ready=Unknown (`readyMessage`, else `message`); with `after`,
 *   look again then (this is Waiting).
 * - retrying: a failure that is retried by itself — Ready=False (reason, message), Reconciling=True (retry reason
 *   and message); with `after`, the retry is due then.
 * - blocked: not ready for a reason outside this reconcile (a failed render, a degraded object) — Ready=`status`
 *   (default False), Reconciling and Stalled removed; the object's next change wakes it.
 * - stalled: no progress without a change — Stalled=True, Ready=False; Reconciling removed; no requeue.
 * - suspended: nothing is done — Ready keeps its status (Unknown when absent) with this reason; Reconciling and
 *   Stalled removed.
 * `requeueAfter` on any kind asks to look again then (a safety-net interval); `after` wins when both are set.
 */
export type Outcome = { reason: string; message: string; requeueAfter?: number } & (
  | { kind: "ready" }
  | { kind: "reconciling"; readyMessage?: string; after?: number }
  | { kind: "retrying"; retry: { reason: string; message: string }; after?: number }
  | { kind: "blocked"; status?: Exclude<ConditionStatus, "True"> }
  | { kind: "stalled" }
  | { kind: "suspended" }
);

export const ready = (reason: string, message: string): Outcome => ({ kind: "ready", reason, message });
/** Waiting(after): Reconciling=True, look again after `after` ms. */
export const waiting = (after: number, reason: string, message: string): Outcome => ({ kind: "reconciling", reason, message, after });
export const stalled = (reason: string, message: string): Outcome => ({ kind: "stalled", reason, message });

/** Reason of a generic error (retried with backoff) in the conditions. */
export const ReconcileError = "ReconcileError";

/** The outcome a thrown error stands for: StalledError/TerminalError → stalled, WaitingError → waiting, else retrying. */
export function outcomeOf(err: unknown): Outcome {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof StalledError) return stalled(err.reason, message);
  if (err instanceof WaitingError) return waiting(err.after, err.reason, message);
  if (err instanceof TerminalError) return stalled(ReconcileError, message);
  return { kind: "retrying", reason: ReconcileError, message, retry: { reason: ReconcileError, message: "retrying with backoff" } };
}

/** What the work queue should do after `outcome` (a generic error is rethrown by the caller, not returned here). */
export function resultOf(outcome: Outcome): Result {
  const after = outcome.kind === "reconciling" || outcome.kind === "retrying" ? (outcome.after ?? outcome.requeueAfter) : outcome.requeueAfter;
  if (outcome.kind === "stalled") return {};
  return after !== undefined ? { requeueAfter: Math.max(1, after) } : {};
}

/** The stamp every final status carries: which generation and which reconcile request it answers. */
export interface Stamp {
  generation?: number;
  /** The object's reconcile-request annotation value, when it has one: recorded as lastHandledReconcileAt. */
  reconcileRequestedAt?: string;
  now?: number;
}

export type Summarized<S> = S & { observedGeneration?: number; lastHandledReconcileAt?: string };

/**
 * The status with Ready/Reconciling/Stalled set from `outcome` (other conditions untouched), observedGeneration set
 * to the stamp's generation and lastHandledReconcileAt to its request. Pure.
 */
export function summarize<S extends StatusWithConditions>(status: S, outcome: Outcome, stamp: Stamp = {}): Summarized<S> {
  const { generation: gen, now = Date.now() } = stamp;
  const { reason, message } = outcome;
  let out: S;
  switch (outcome.kind) {
    case "ready":
      out = markReady(status, gen, reason, message, now);
      break;
    case "reconciling":
      out = markReconciling(status, gen, reason, message, now);
      if (outcome.readyMessage !== undefined) out = withConditions(out, setCondition(out.conditions, { type: Ready, status: "Unknown", reason, message: outcome.readyMessage, observedGeneration: gen }, now));
      break;
    case "retrying": {
      let c = setCondition(status.conditions, { type: Ready, status: "False", reason, message, observedGeneration: gen }, now);
      c = setCondition(c, { type: Reconciling, status: "True", reason: outcome.retry.reason, message: outcome.retry.message, observedGeneration: gen }, now);
      out = withConditions(status, removeCondition(c, Stalled));
      break;
    }
    case "blocked":
    case "suspended": {
      const s = outcome.kind === "blocked" ? (outcome.status ?? "False") : (getCondition(status.conditions, Ready)?.status ?? "Unknown");
      const c = setCondition(status.conditions, { type: Ready, status: s, reason, message, observedGeneration: gen }, now);
      out = withConditions(status, removeCondition(removeCondition(c, Reconciling), Stalled));
      break;
    }
    case "stalled":
      out = markStalled(status, gen, reason, message, now);
      break;
  }
  const stamped: Summarized<S> = { ...out };
  if (gen !== undefined) stamped.observedGeneration = gen;
  else delete stamped.observedGeneration;
  if (stamp.reconcileRequestedAt !== undefined) stamped.lastHandledReconcileAt = stamp.reconcileRequestedAt;
  return stamped;
}

function withConditions<S extends StatusWithConditions>(status: S, conditions: Condition[]): S {
  return conditions === status.conditions ? status : { ...status, conditions };
}

/** `v` with its keys sorted when it is a plain object (a JSON.stringify replacer step; arrays keep their order). */
function keysSorted(v: unknown): unknown {
  if (!v || typeof v !== "object" || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** JSON text of a value with object keys sorted: equal values give equal text whatever order their keys were set in. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => keysSorted(v));
}

/** Canonical text of a status: as stableJson, and conditions sorted by type (their order carries no meaning). */
export function canonicalStatus(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => {
    if (key === "conditions" && Array.isArray(v)) return [...(v as Condition[])].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
    return keysSorted(v);
  });
}

export interface StatusWriterOptions<S> {
  client: Client;
  /** The field manager of the status server-side apply. */
  fieldManager: string;
  /** The part of an object's status this writer owns (default: the whole status). */
  ownedOf?: (obj: KubeObject) => S;
  /** Take over fields another manager holds (default true, as a controller owning its fields wants). */
  force?: boolean;
}

/**
 * Writes (server-side apply, status subresource) the part of a status one controller owns, remembering per object
 * what it wrote last and which version of the object that write was made from. The controller owns its status, so
 * its last write is the truth: `current()` returns it even while the cache still shows an older object. `write()`
 * sends nothing while the object is the version the last write was made from and the status equals that write (the
 * cache does not show it yet), or when the object shows the status — so "nothing changed, no request" and "the cache
 * does not show my own write yet" are handled here, once. A later version showing something else (someone else
 * edited the status) is written back, as controller-runtime and Flux controllers do. The memory is dropped when the
 * object's uid changes (re-created) or by `forget()` (deleted).
 */
export class StatusWriter<S extends object> {
  private readonly last = new Map<string, { uid?: string; from?: string; status: S; text: string }>();
  private readonly ownedOf: (obj: KubeObject) => S;

  constructor(private readonly o: StatusWriterOptions<S>) {
    this.ownedOf = o.ownedOf ?? ((obj) => ((obj as { status?: S }).status ?? {}) as S);
  }

  /** The owned status: as last written by this writer, else as `obj` shows it. */
  current(obj: KubeObject): S {
    return this.lastWritten(obj) ?? this.ownedOf(obj);
  }

  /** What this writer last wrote for `obj` (undefined: nothing yet, or `obj` is a re-created object). */
  lastWritten(obj: KubeObject): S | undefined {
    const e = this.last.get(keyOf(obj));
    return e && e.uid === obj.metadata?.uid ? e.status : undefined;
  }

  /**
   * Whether writing `status` would change nothing. While `obj` is the version the last write was made from (the
   * cache does not show it yet), that write is what the server holds; on any other version, `obj` must show the
   * status too (and, when this writer wrote last, so must that write: an interleaved older version is not trusted).
   */
  unchanged(obj: KubeObject, status: S): boolean {
    const text = canonicalStatus(status);
    const e = this.last.get(keyOf(obj));
    const mine = e && e.uid === obj.metadata?.uid ? e : undefined;
    if (mine && mine.from === obj.metadata?.resourceVersion) return mine.text === text;
    return (!mine || mine.text === text) && canonicalStatus(this.ownedOf(obj)) === text;
  }

  /** Writes `status` unless unchanged; resolves with whether a request was sent. */
  async write(obj: KubeObject, status: S, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (this.unchanged(obj, status)) return false;
    const written = await this.o.client.applyStatus<KubeObject>(
      { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata!.name, namespace: obj.metadata?.namespace }, status } as KubeObject,
      { fieldManager: this.o.fieldManager, force: this.o.force ?? true, signal: opts.signal },
    );
    const owned = this.ownedOf(written);
    this.last.set(keyOf(obj), { uid: obj.metadata?.uid, from: obj.metadata?.resourceVersion, status: owned, text: canonicalStatus(owned) });
    return true;
  }

  /** Drops what this writer remembers of an object (deleted, or finalized). */
  forget(obj: KubeObject | { namespace?: string; name: string }): void {
    this.last.delete("metadata" in obj ? keyOf(obj) : `${obj.namespace ?? ""}/${obj.name}`);
  }
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}
