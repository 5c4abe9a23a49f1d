// The reconcile contract: a reconciler is told WHICH object to look at (namespace and name), never what happened to
// it, so it must read the current state and converge — it will be called again after any change.
import type { Logger } from "../log.js";

/** The object to reconcile. `namespace` is "" for cluster-scoped kinds. */
export interface Request {
  namespace: string;
  name: string;
}

/**
 * What to do after a successful reconcile.
 * - `{}` / undefined: done; the next event for the object reconciles it again.
 * - `{ requeueAfter: ms }`: reconcile again after ms (periodic checks); the backoff history is cleared.
 * - `{ requeue: true }`: reconcile again with the per-item backoff (5 ms doubling).
 * If the reconciler throws, the result does not matter: an error always means a retry with backoff, unless it is a
 * TerminalError, which is recorded (log, metrics) and not retried until the object changes again.
 */
export interface Result {
  requeue?: boolean;
  requeueAfter?: number;
}

export interface ReconcileContext {
  /** Aborted at the per-reconcile timeout and at shutdown: pass it to every client call. */
  signal: AbortSignal;
  /** A logger carrying the controller, the object and a reconcile id. */
  log: Logger;
  reconcileID: string;
}

export type ReconcileFunc = (req: Request, ctx: ReconcileContext) => Promise<Result | void>;

export interface Reconciler {
  reconcile: ReconcileFunc;
}

/** An error that retrying cannot fix (invalid spec, missing permission by design): recorded, not retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TerminalError";
  }
}

export function requestKey(r: Request): string {
  return r.namespace ? `${r.namespace}/${r.name}` : r.name;
}

export function requestFromKey(key: string): Request {
  const i = key.indexOf("/");
  return i < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
