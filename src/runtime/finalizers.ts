// Finalizers, safe under concurrent writers: additions and removals are JSON patches guarded by a `test` op, so a
// patch computed from a stale read fails instead of overwriting someone else's finalizer list; we then re-read and
// retry. The finalizer is removed only after cleanup succeeded (a failed cleanup keeps it, and the error retries).
import type { Client } from "./client.js";
import type { KubeObject } from "./kinds.js";
import { isConflict, isInvalid, isNotFound } from "./rest.js";
import type { Result } from "./reconcile.js";

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return (obj.metadata?.finalizers ?? []).includes(finalizer);
}

export function isDeleting(obj: KubeObject): boolean {
  return !!obj.metadata?.deletionTimestamp;
}

type Op = { op: string; path: string; value?: unknown };

async function guardedPatch<T extends KubeObject>(client: Client, obj: T, build: (current: T) => Op[] | undefined, signal?: AbortSignal): Promise<T | undefined> {
  const live = client.live();
  let current: T | undefined = obj;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (!current) return undefined;
    const ops = build(current);
    if (!ops) return current; // nothing to do
    try {
      return await live.patch<T>(current, ops, "json", { signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      // A failed `test` op (422) or a conflict: our read was stale. Read again and recompute.
      if (!isInvalid(err) && !isConflict(err)) throw err;
      current = await live.get<T>(current, current.metadata!.name!, current.metadata?.namespace, { signal });
    }
  }
  throw new Error(`could not update the finalizers of ${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name} after 5 attempts; other writers keep changing it — the reconcile will retry`);
}

/** The guarded patch that appends `finalizer` (undefined: present already). */
function addition(finalizer: string): (current: KubeObject) => Op[] | undefined {
  return (cur) => {
    const list = cur.metadata?.finalizers;
    if (list?.includes(finalizer)) return undefined;
    if (!list || list.length === 0) {
      return [
        { op: "test", path: "/metadata/resourceVersion", value: cur.metadata?.resourceVersion },
        { op: "add", path: "/metadata/finalizers", value: [finalizer] },
      ];
    }
    return [
      { op: "test", path: "/metadata/finalizers", value: list },
      { op: "add", path: "/metadata/finalizers/-", value: finalizer },
    ];
  };
}

/** The guarded patch that removes `finalizer` (undefined: absent already). */
function removal(finalizer: string): (current: KubeObject) => Op[] | undefined {
  return (cur) => {
    const i = (cur.metadata?.finalizers ?? []).indexOf(finalizer);
    if (i < 0) return undefined;
    return [
      { op: "test", path: `/metadata/finalizers/${i}`, value: finalizer },
      { op: "remove", path: `/metadata/finalizers/${i}` },
    ];
  };
}

/** Adds `finalizer`; resolves with the updated object (or the same when present; undefined when the object is gone). */
export function addFinalizer<T extends KubeObject>(client: Client, obj: T, finalizer: string, o: { signal?: AbortSignal } = {}): Promise<T | undefined> {
  return guardedPatch(client, obj, addition(finalizer), o.signal);
}

/** Removes `finalizer`; resolves with the updated object (undefined when the object is gone, e.g. it was the last one). */
export function removeFinalizer<T extends KubeObject>(client: Client, obj: T, finalizer: string, o: { signal?: AbortSignal } = {}): Promise<T | undefined> {
  return guardedPatch(client, obj, removal(finalizer), o.signal);
}

export interface FinalizerHandlers<T extends KubeObject> {
  /** Normal reconcile, with the finalizer in place. */
  apply(obj: T): Promise<Result | void>;
  /** Cleanup before deletion; throw to keep the finalizer and retry. */
  cleanup(obj: T): Promise<void>;
}

/**
 * The whole finalizer protocol in one exhaustive match on { has finalizer, being deleted }:
 *   not deleting, no finalizer → add it, then apply (adding a finalizer does not bump the generation, so a
 *                                generationChanged predicate would filter the event it causes: do not wait for it);
 *   not deleting, finalizer    → apply;
 *   deleting, finalizer        → cleanup, then remove the finalizer (only if cleanup succeeded);
 *   deleting, no finalizer     → nothing left to do.
 */
export async function withFinalizer<T extends KubeObject>(client: Client, obj: T, finalizer: string, h: FinalizerHandlers<T>, o: { signal?: AbortSignal } = {}): Promise<Result> {
  const has = hasFinalizer(obj, finalizer);
  const deleting = isDeleting(obj);
  if (!deleting && !has) {
    const updated = await addFinalizer(client, obj, finalizer, o);
    if (!updated) return {}; // deleted meanwhile
    return (await h.apply(updated)) ?? {};
  }
  if (!deleting && has) return (await h.apply(obj)) ?? {};
  if (deleting && has) {
    await h.cleanup(obj);
    await removeFinalizer(client, obj, finalizer, o);
    return {};
  }
  return {};
}
