// Deleting what Mooring applied, only from an Application's own inventory and only objects it still claims (never
// one opted out with mooring.dev/prune: disabled): prune of objects that left the render, waiting for deletions to
// finish, and release (the claim given up, nothing deleted) when an Application is deleted with prune off.
import { Labels } from "../api/constants.js";
import type { Client } from "../runtime/client.js";
import type { KindDescriptor } from "../runtime/kinds.js";
import { isNotFound } from "../runtime/rest.js";
import { NoKindMatchError } from "../runtime/restmapper.js";
import { type ApplyFailure, failure, sleep } from "./failures.js";
import { type InventoryEntry, type ObjectRef, refOfEntry } from "./inventory.js";
import { orderObjects } from "./order.js";
import { pruneDecision } from "./policy.js";

export interface PruneResult {
  pruned: ObjectRef[];
  /** Left alone on purpose (opted out, claimed by another Application): dropped from the inventory. */
  skipped: { ref: ObjectRef; reason: string }[];
  /** Deletions that failed: kept in the inventory to be retried. */
  failures: ApplyFailure[];
}

export interface PruneOptions {
  client: Client;
  owner: string;
  propagationPolicy: "Foreground" | "Background" | "Orphan";
  signal?: AbortSignal;
}

/** Deletes the stale inventory entries that pass the prune rules (never anything outside `stale`). */
export async function prune(stale: readonly InventoryEntry[], o: PruneOptions): Promise<PruneResult> {
  const out: PruneResult = { pruned: [], skipped: [], failures: [] };
  const live = o.client.live();
  // Namespaces and CRDs last, in reverse apply order: their contents go first.
  const refs = stale.map(refOfEntry);
  const order = orderObjects(
    refs.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, namespace: r.namespace }, r })),
    (x) => x.metadata.namespace !== "",
  )
    .flat()
    .reverse();
  for (const { r: ref } of order) {
    try {
      let kind: KindDescriptor;
      try {
        kind = await live.mapper.kindFor(ref.apiVersion, ref.kind);
      } catch (err) {
        if (err instanceof NoKindMatchError) {
          out.skipped.push({ ref, reason: "its kind is no longer served (CRD removed)" });
          continue;
        }
        throw err;
      }
      const obj = await live.get(kind, ref.name, ref.namespace || undefined, { signal: o.signal });
      const d = pruneDecision(obj, o.owner);
      if (!d.prune) {
        out.skipped.push({ ref, reason: d.reason });
        continue;
      }
      const deleted = await o.client.delete(
        { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace || undefined } },
        { propagationPolicy: o.propagationPolicy, preconditions: { uid: obj!.metadata?.uid }, signal: o.signal },
      );
      if (deleted) out.pruned.push(ref);
      else out.skipped.push({ ref, reason: "already gone" });
    } catch (err) {
      if (o.signal?.aborted) throw err;
      if (isNotFound(err)) out.skipped.push({ ref, reason: "already gone" });
      else out.failures.push(failure(ref, err, false));
    }
  }
  return out;
}

/** Waits until none of `refs` exists any more, up to `timeoutMs`; returns those still present. */
export async function waitGone(client: Client, refs: readonly ObjectRef[], timeoutMs: number, signal?: AbortSignal): Promise<ObjectRef[]> {
  const live = client.live();
  const deadline = Date.now() + timeoutMs;
  let left = [...refs];
  for (;;) {
    const still: ObjectRef[] = [];
    for (const r of left) {
      try {
        if (await live.get({ apiVersion: r.apiVersion, kind: r.kind }, r.name, r.namespace || undefined, { signal })) still.push(r);
      } catch (err) {
        if (!(err instanceof NoKindMatchError)) throw err;
      }
    }
    left = still;
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(250, signal);
  }
}

/**
 * Gives up an Application's claim without deleting anything (Application deleted with prune off): removes the
 * application label from each object still claimed by `owner`, so another Application may adopt it.
 */
export async function release(entries: readonly InventoryEntry[], o: { client: Client; owner: string; fieldManager: string; signal?: AbortSignal }): Promise<ApplyFailure[]> {
  const failures: ApplyFailure[] = [];
  const live = o.client.live();
  for (const e of entries) {
    const ref = refOfEntry(e);
    try {
      const obj = await live.get({ apiVersion: ref.apiVersion, kind: ref.kind }, ref.name, ref.namespace || undefined, { signal: o.signal });
      if (!obj || obj.metadata?.labels?.[Labels.application] !== o.owner) continue;
      await o.client.patch(obj, { metadata: { labels: { [Labels.application]: null } } }, "merge", { fieldManager: o.fieldManager, signal: o.signal });
    } catch (err) {
      if (o.signal?.aborted) throw err;
      if (isNotFound(err) || err instanceof NoKindMatchError) continue;
      failures.push(failure(ref, err, false));
    }
  }
  return failures;
}
