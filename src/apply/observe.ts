// What the apply controller reads before it decides and after it acts, without a request to the API server: drift
// and health from the shared cache, the applied render from memory (or the artifact server after a restart), and
// the dependencies' state from the Application informer.
import type { Application } from "../api/application.js";
import { ApplicationKind } from "../api/kinds.js";
import type { KubeObject } from "../runtime/kinds.js";
import type { Manager } from "../runtime/manager.js";
import type { ReconcileContext } from "../runtime/reconcile.js";
import { NoKindMatchError } from "../runtime/restmapper.js";
import { dependenciesOf, dependencyKey, findCycle, notReadyReason } from "./depends.js";
import { type IgnoreRule, objectDrift } from "./drift.js";
import { type Health, type NamedHealth, aggregateHealth, assessHealth, healthCheckNamespace } from "./health.js";
import { applicationRules } from "./health-cel.js";
import { type InventoryEntry, type ObjectRef, describeRef, idOf, refOf, refOfEntry } from "./inventory.js";
import { type Memory, desiredObjects } from "./memory.js";
import type { AppObject, DriftItem } from "./owned.js";
import { type ClusterView, WatchNotReadyError } from "./watches.js";

/** How long after its own apply a managed object missing from the cache is taken for the cache lagging (a create not seen yet). */
const OWN_WRITE_GRACE_MS = 3_000;
/** How long a failed download of the applied render is not retried. */
const DESIRED_RETRY_MS = 30_000;

export type FetchRendered = (url: string, digest: string, signal: AbortSignal) => Promise<KubeObject[]>;

/**
 * The rendered objects of the digest last applied successfully, by inventory id. Kept from the sync in memory;
 * after a restart downloaded again from the artifact server (no API request), so unchanged objects are compared,
 * never re-applied. Undefined while a different digest is still to be applied (that sync settles everything).
 */
export async function desiredFor(
  d: { view: ClusterView; fetch: FetchRendered; now: () => number },
  app: AppObject,
  mem: Memory,
  artifact: { url: string; digest: string },
  appliedDigest: string | undefined,
  ctx: ReconcileContext,
): Promise<Map<string, KubeObject> | undefined> {
  if (!appliedDigest || artifact.digest !== appliedDigest) return undefined;
  if (mem.desired?.digest === appliedDigest) return desiredObjects(mem.desired.json);
  if (mem.desiredFailedAt !== undefined && d.now() - mem.desiredFailedAt < DESIRED_RETRY_MS) return undefined;
  try {
    const objects = await d.fetch(artifact.url, artifact.digest, ctx.signal);
    const targetNamespace = app.spec.targetNamespace ?? app.metadata!.namespace!;
    const map = new Map<string, KubeObject>();
    for (const obj of objects) {
      let namespaced: boolean;
      try {
        namespaced = (await d.view.mapper.kindForObject(obj)).namespaced;
      } catch (err) {
        if (err instanceof NoKindMatchError) continue;
        throw err;
      }
      const meta = { ...(obj.metadata ?? {}) };
      if (namespaced && !meta.namespace) meta.namespace = targetNamespace;
      if (!namespaced) delete meta.namespace;
      const body = { ...obj, metadata: meta };
      map.set(idOf(refOf(body)), body);
    }
    mem.desired = { digest: appliedDigest, json: JSON.stringify([...map]) };
    return map;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    mem.desiredFailedAt = d.now();
    ctx.log.warn("cannot load the applied render for drift detection; only deleted objects are detected until it loads", { error: (err as Error).message });
    return undefined;
  }
}

/**
 * Managed objects whose live state (the shared cache, fed by watch events) no longer holds the applied fields.
 * Reads only the cache: zero API requests. Without `desired`, only deleted objects are found.
 */
export async function detectDrift(
  view: ClusterView,
  now: number,
  app: Application,
  inventory: readonly InventoryEntry[],
  mem: Memory,
  desired: Map<string, KubeObject> | undefined,
  signal: AbortSignal,
): Promise<{ items: DriftItem[]; recheckAt?: number }> {
  const items: DriftItem[] = [];
  let recheckAt: number | undefined;
  const rules = app.spec.ignoreDifferences as IgnoreRule[] | undefined;
  const recheck = (t: number) => (recheckAt = Math.min(recheckAt ?? Infinity, t));
  for (const e of inventory) {
    const want = desired?.get(e.id);
    // Not in the applied render: an entry kept for a later prune (pruneLast, failed prune), not managed any more.
    if (desired && !want) continue;
    const ref = refOfEntry(e);
    const kind = await view.kindOf(ref);
    if (!kind || !view.visible(kind, ref.namespace)) continue;
    const live = await view.cached(kind, ref.name, ref.namespace || undefined, signal);
    const known = mem.applied.get(e.id);
    // Right after this process created it, the cache may not show the object yet: wait for the event.
    const young = known !== undefined && now - known.at < OWN_WRITE_GRACE_MS;
    if (!live) {
      if (young) recheck(known.at + OWN_WRITE_GRACE_MS);
      else if (!desired && !known) continue; // unknown and never seen: a restart's first look, the sync will tell
      else items.push({ id: e.id, ref, missing: true, fields: [] });
      continue;
    }
    if (!want) continue;
    const rv = live.metadata?.resourceVersion;
    if (known?.rv !== undefined && known.rv === rv) continue;
    // The cache still shows the version this process overwrote: the event of its own write is on its way.
    if (known?.staleRv !== undefined && known.staleRv === rv) continue;
    const fields = objectDrift(want, live, rules);
    if (!fields.length) {
      if (known) known.rv = rv;
      else mem.applied.set(e.id, { uid: live.metadata?.uid, generation: live.metadata?.generation, rv, at: 0 });
      continue;
    }
    items.push({ id: e.id, ref, missing: false, fields, liveRv: rv });
  }
  return { items, recheckAt };
}

/** Health of the inventory's objects (from `fresh` apply answers, else the cache) and of spec.healthChecks. */
export async function assess(view: ClusterView, app: Application, mem: Memory, inventory: readonly InventoryEntry[], fresh: Map<string, KubeObject> | undefined, signal: AbortSignal): Promise<Health> {
  const items: NamedHealth[] = [];
  // The Application's rules over the operator's defaults (a rule that does not compile stopped the reconcile earlier).
  const rules = view.healthRules.overlay(applicationRules(app.spec.healthCheckExprs).rules);
  for (const e of inventory) {
    const ref = refOfEntry(e);
    const kind = await view.kindOf(ref);
    // Objects outside the watched namespace are not in the cache: they are not assessed (docs/apply.md).
    if (kind && !view.visible(kind, ref.namespace) && !fresh?.has(e.id)) continue;
    let live: KubeObject | undefined;
    try {
      live = fresh?.get(e.id) ?? (kind ? await view.cached(kind, ref.name, ref.namespace || undefined, signal) : undefined);
    } catch (err) {
      // After a sync, an unwatchable kind must not lose the sync's status: it is Unknown health, saying why.
      if (!(err instanceof WatchNotReadyError)) throw err;
      items.push({ object: describeRef(ref), status: "Unknown", message: err.message });
      continue;
    }
    items.push({ object: describeRef(ref), ...assessHealth(live, rules) });
  }
  for (const hc of app.spec.healthChecks ?? []) {
    const namespace = healthCheckNamespace(app, hc);
    const ref: ObjectRef = { apiVersion: hc.apiVersion, kind: hc.kind, name: hc.name, namespace };
    const kind = await view.kindOf(ref);
    if (!kind) {
      items.push({ object: describeRef(ref), status: "Missing", message: `the API server does not serve ${hc.kind} in ${hc.apiVersion}` });
      continue;
    }
    const object = describeRef(kind.namespaced ? ref : { ...ref, namespace: "" });
    try {
      const inf = await view.healthCheckInformer(app, mem, kind, namespace, hc.name, signal);
      items.push({ object, ...assessHealth(inf.store.get(kind.namespaced ? `${namespace}/${hc.name}` : hc.name), rules) });
    } catch (err) {
      if (!(err instanceof WatchNotReadyError)) throw err;
      items.push({ object, status: "Unknown", message: err.message });
    }
  }
  return aggregateHealth(items);
}

/** Why the dependencies hold this Application back (a cycle is marked), or undefined when all are Ready. */
export function dependencyProblem(mgr: Manager, app: AppObject): { message: string; cycle?: boolean } | undefined {
  const store = mgr.cache.informerFor<AppObject>(ApplicationKind).store;
  const self = `${app.metadata!.namespace}/${app.metadata!.name}`;
  const cycle = findCycle(self, (k) => (k === self ? dependenciesOf(app) : (() => {
    const a = store.get(k);
    return a ? dependenciesOf(a) : undefined;
  })()));
  if (cycle) return { message: `dependency cycle: ${cycle.join(" → ")}; remove one of these dependsOn entries`, cycle: true };
  const reasons = (app.spec.dependsOn ?? []).map((dep) => {
    const k = dependencyKey(dep, app.metadata!.namespace!);
    return notReadyReason(k, store.get(k));
  }).filter((r): r is string => !!r);
  return reasons.length ? { message: `waiting for dependencies: ${reasons.join("; ")}` } : undefined;
}
