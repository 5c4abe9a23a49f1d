// Changed first. A new commit of a repository wakes every Application rendered from it, but a commit usually changes
// what few of them read. The render controller's queue is first come, first served, so an Application the commit did
// change waited behind every unchanged one (each a replay and a status write, then the apply controller's turn on
// it): with 100 Applications on one repository, seconds between a push and its change applied. So when a source's
// artifact changes, the Applications whose last render read something the new tree answers differently (or whose
// reads are not known) are queued at normal priority and those it did not change at low priority (the runtime's work
// queue hands out higher priorities first, so a changed Application of the next commit also goes before the
// unchanged ones of this commit still waiting). Only the order changes: each reconcile still decides for itself, and
// anything that cannot be looked at (no artifact yet, a failed download) is queued at normal priority.
import { Priority } from "../runtime/index.js";
import { replayReads } from "./fs.js";
import type { SourceCache } from "./fetch.js";
import type { RenderLimits } from "./limits.js";
import type { RenderMemory } from "./memo.js";

export interface AppRequest {
  namespace: string;
  name: string;
}

/** A request and the work queue priority it is enqueued with. */
export interface Prioritized {
  req: AppRequest;
  priority: number;
}

const normal = (reqs: AppRequest[]): Prioritized[] => reqs.map((req) => ({ req, priority: Priority.normal }));

/**
 * `reqs` with those the artifact at `url`/`digest` changes (or may change) first at normal priority, then those it
 * does not change at low priority, each group in its given order.
 */
export async function changedFirst(
  reqs: AppRequest[],
  artifact: { url?: string; digest?: string } | undefined,
  d: { memory: Pick<RenderMemory, "load">; sources: Pick<SourceCache, "checkout">; replayLimits: RenderLimits },
): Promise<Prioritized[]> {
  if (reqs.length < 2 || !artifact?.url || !artifact.digest) return normal(reqs);
  let checkout;
  try {
    // The same checkout the reconciles use (once per digest): the first of them no longer waits for it.
    checkout = await d.sources.checkout(artifact.url, artifact.digest);
  } catch {
    return normal(reqs);
  }
  try {
    const changed: AppRequest[] = [];
    const same: AppRequest[] = [];
    for (const r of reqs) {
      const memo = await d.memory.load(r.namespace, r.name);
      const unchanged = memo?.ok === true && memo.reads !== undefined && replayReads(checkout.dir, memo.reads, d.replayLimits);
      (unchanged ? same : changed).push(r);
    }
    return [...normal(changed), ...same.map((req) => ({ req, priority: Priority.low }))];
  } finally {
    checkout.release();
  }
}

/**
 * Coalesces the map calls of one source's update (the runtime maps the old object and the new one, synchronously
 * one after the other) into one ordering, of the newest object, and enqueues its result: the map itself returns no
 * request. A failed ordering enqueues in the given order.
 */
export function orderedEnqueue<O>(
  keyOf: (o: O) => string,
  order: (o: O) => { reqs: AppRequest[]; ordered: () => Promise<Prioritized[]> },
  enqueue: (r: AppRequest, priority: number) => void,
): (o: O) => AppRequest[] {
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
          .catch(() => normal(reqs))
          .then((rs) => rs.forEach((r) => enqueue(r.req, r.priority)));
      });
    }
    return [];
  };
}
