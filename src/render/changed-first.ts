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

/**
 * Emits `reqs`: each one the artifact at `url`/`digest` changes (or may change) at normal priority as soon as it is
 * known (a worker can start on it while the others are looked at), then those it does not change at low priority,
 * each group in its given order. Never rejects: what cannot be looked at is emitted at normal priority.
 */
export async function changedFirst(
  reqs: AppRequest[],
  artifact: { url?: string; digest?: string } | undefined,
  d: { memory: Pick<RenderMemory, "load">; sources: Pick<SourceCache, "checkout">; replayLimits: RenderLimits },
  emit: (p: Prioritized) => void,
): Promise<void> {
  const emitNormal = (rs: AppRequest[]) => rs.forEach((req) => emit({ req, priority: Priority.normal }));
  if (reqs.length < 2 || !artifact?.url || !artifact.digest) return emitNormal(reqs);
  let checkout;
  try {
    // The same checkout the reconciles use (once per digest): the first of them no longer waits for it.
    checkout = await d.sources.checkout(artifact.url, artifact.digest);
  } catch {
    return emitNormal(reqs);
  }
  const same: AppRequest[] = [];
  let i = 0;
  try {
    for (; i < reqs.length; i++) {
      const r = reqs[i]!;
      const memo = await d.memory.load(r.namespace, r.name);
      const unchanged = memo?.ok === true && memo.reads !== undefined && replayReads(checkout.dir, memo.reads, d.replayLimits);
      if (unchanged) same.push(r);
      else emit({ req: r, priority: Priority.normal });
    }
  } catch {
    // A memo that cannot be read: the rest (and the unchanged found so far) are not known to be unchanged.
    return emitNormal([...same, ...reqs.slice(i)]);
  } finally {
    checkout.release();
  }
  same.forEach((req) => emit({ req, priority: Priority.low }));
}

/**
 * Coalesces the map calls of one source's update (the runtime maps the old object and the new one, synchronously
 * one after the other) into one ordering, of the newest object, and enqueues what it emits as it emits it: the map
 * itself returns no request. A failed ordering enqueues the rest in the given order at normal priority.
 */
export function orderedEnqueue<O>(
  keyOf: (o: O) => string,
  order: (o: O) => { reqs: AppRequest[]; ordered: (emit: (p: Prioritized) => void) => Promise<void> },
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
        const emitted = new Set<string>();
        const id = (r: AppRequest) => `${r.namespace}/${r.name}`;
        void ordered((p) => {
          emitted.add(id(p.req));
          enqueue(p.req, p.priority);
        }).catch(() => reqs.filter((r) => !emitted.has(id(r))).forEach((r) => enqueue(r, Priority.normal)));
      });
    }
    return [];
  };
}
