// Changed first. A new commit of a repository wakes every Application rendered from it, but a commit usually changes
// what few of them read. The render controller's queue is first come, first served, so an Application the commit did
// change waited behind every unchanged one (each a replay and a status write, then the apply controller's turn on
// it): with 100 Applications on one repository, seconds between a push and its change applied. So when a source's
// artifact changes, the Applications whose last render read something the new tree answers differently (or whose
// reads are not known) are queued before those it did not change. Only the order changes: each reconcile still
// decides for itself, and anything that cannot be looked at (no artifact yet, a failed download) keeps the order.
import { replayReads } from "./fs.js";
import type { SourceCache } from "./fetch.js";
import type { RenderLimits } from "./limits.js";
import type { RenderMemory } from "./memo.js";

export interface AppRequest {
  namespace: string;
  name: string;
}

/** `reqs` with those the artifact at `url`/`digest` changes (or may change) first, each group in its given order. */
export async function changedFirst(
  reqs: AppRequest[],
  artifact: { url?: string; digest?: string } | undefined,
  d: { memory: Pick<RenderMemory, "load">; sources: Pick<SourceCache, "checkout">; replayLimits: RenderLimits },
): Promise<AppRequest[]> {
  if (reqs.length < 2 || !artifact?.url || !artifact.digest) return reqs;
  let checkout;
  try {
    // The same checkout the reconciles use (once per digest): the first of them no longer waits for it.
    checkout = await d.sources.checkout(artifact.url, artifact.digest);
  } catch {
    return reqs;
  }
  try {
    const changed: AppRequest[] = [];
    const same: AppRequest[] = [];
    for (const r of reqs) {
      const memo = await d.memory.load(r.namespace, r.name);
      const unchanged = memo?.ok === true && memo.reads !== undefined && replayReads(checkout.dir, memo.reads, d.replayLimits);
      (unchanged ? same : changed).push(r);
    }
    return [...changed, ...same];
  } finally {
    checkout.release();
  }
}

/**
 * Coalesces the map calls of one source's update (the runtime maps the old object and the new one, synchronously
 * one after the other) into one ordering, of the newest object, and enqueues its result: the map itself returns no
 * request. A failed ordering enqueues in the given order.
 */
export function orderedEnqueue<O>(keyOf: (o: O) => string, order: (o: O) => { reqs: AppRequest[]; ordered: () => Promise<AppRequest[]> }, enqueue: (r: AppRequest) => void): (o: O) => AppRequest[] {
  const pending = new Map<string, O>();
  return (o) => {
    const key = keyOf(o);
    const scheduled = pending.has(key);
    pending.set(key, o);
    if (!scheduled) {
      setImmediate(() => {
        const latest = pending.get(key)!;
        pending.delete(key);
        const { reqs, ordered } = order(latest);
        void ordered()
          .catch(() => reqs)
          .then((rs) => rs.forEach(enqueue));
      });
    }
    return [];
  };
}
