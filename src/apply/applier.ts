// The applier: server-side apply of a rendered object set in dependency order, under the field manager `mooring`,
// acting as the Application's identity (an impersonating Client). It never takes over an object another
// Application claims, reports conflicts with the other field manager and field, and — only when the policy says
// force — takes over conflicting fields and re-creates objects whose immutable fields changed.
// Prune, release and waitGone, with the same safety rules, are in ./prune.ts (re-exported here).
import { Labels, MANAGED_BY_VALUE } from "../api/constants.js";
import type { Client } from "../runtime/client.js";
import { type KindDescriptor, type KubeObject, Kinds, parseApiVersion } from "../runtime/kinds.js";
import { isForbidden } from "../runtime/rest.js";
import { NoKindMatchError } from "../runtime/restmapper.js";
import { type ObjectRef, describeRef, duplicateIds, entryOf, refOf, refOfEntry } from "./inventory.js";
import { type ApplyFailure, failure, isImmutableError, sleep } from "./failures.js";
import { orderObjects, runsOf } from "./order.js";
import { otherOwner } from "./policy.js";

export type ApplyAction = "created" | "configured" | "unchanged" | "recreated";

export interface AppliedObject {
  ref: ObjectRef;
  action: ApplyAction;
  /** What the API server answered (with status): feeds drift detection. */
  live: KubeObject;
  /** The rendered object with its namespace resolved, before `transform`: what drift is measured against. */
  rendered: KubeObject;
  /** resourceVersion of the object as looked up before the apply (undefined: it did not exist). */
  beforeRv?: string;
}

export interface ApplyResult {
  applied: AppliedObject[];
  failures: ApplyFailure[];
  /** Whether the target namespace was created. */
  createdNamespace?: string;
}

/** Reads the live object (from a cache or the API); undefined when it does not exist. */
export type Lookup = (kind: KindDescriptor, name: string, namespace: string | undefined) => Promise<KubeObject | undefined>;

export interface ApplyOptions {
  /** The identity writes are made as (impersonating when the Application names a ServiceAccount). */
  client: Client;
  /** Where ownership is checked (default: a GET through `client`). */
  lookup?: Lookup;
  /** The application label value `<namespace>.<name>` of the Application applying. */
  owner: string;
  /** Namespace for namespaced objects that have none. */
  defaultNamespace: string;
  /** Create this namespace first when it does not exist (options.createNamespace). */
  createNamespace?: string;
  /** Take over conflicting fields and re-create objects with changed immutable fields (options.force). */
  force: boolean;
  /**
   * Take over fields other managers changed (server-side apply force) without the re-create that `force` also
   * means. Self-heal uses it: reverting a `kubectl edit` is exactly taking those fields back.
   */
  forceConflicts?: boolean;
  fieldManager: string;
  /** How long to wait for CRDs to be Established and for re-created objects to be gone (default 30 s). */
  waitMs?: number;
  /**
   * Rewrites the body just before it is applied, given the live object (undefined when it does not exist yet):
   * used to keep ignoreDifferences fields at their live values.
   */
  transform?: (body: KubeObject, live: KubeObject | undefined) => KubeObject;
  /**
   * options.applyOutOfSyncOnly: true when the live object (ours) already holds everything the body sets, so the
   * object is reported "unchanged" without a request.
   */
  inSync?: (body: KubeObject, live: KubeObject) => boolean;
  /** Objects applied at once within a run of independent objects (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Descriptors of the kinds the render's own CRDs define, for objects applied before discovery knows them. */
function crdKinds(objects: readonly KubeObject[]): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const o of objects) {
    if (o.kind !== "CustomResourceDefinition" || parseApiVersion(String(o.apiVersion)).group !== "apiextensions.k8s.io") continue;
    const spec = o.spec as { group?: string; names?: { kind?: string }; scope?: string; versions?: { name: string }[] } | undefined;
    if (!spec?.group || !spec.names?.kind) continue;
    for (const v of spec.versions ?? []) m.set(`${spec.group}/${v.name}|${spec.names.kind}`, spec.scope === "Namespaced");
  }
  return m;
}

function isEstablished(crd: KubeObject | undefined): boolean {
  const conds = ((crd?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []);
  return conds.some((c) => c.type === "Established" && c.status === "True");
}

export class Applier {
  private readonly lookup: Lookup;
  private readonly waitMs: number;
  /** Kinds the render's own CRDs define ("apiVersion|Kind"): only these are worth waiting for in discovery. */
  private fromCrds = new Map<string, boolean>();

  constructor(private readonly o: ApplyOptions) {
    const live = o.client.live();
    this.lookup = o.lookup ?? ((kind, name, namespace) => live.get(kind, name, namespace, { signal: o.signal }));
    this.waitMs = o.waitMs ?? 30_000;
  }

  /**
   * Applies every object, phase by phase; a phase with a failure stops the sync before the next phase (objects
   * of later phases depend on it). Objects already applied stay applied; nothing is deleted here.
   */
  async apply(objects: readonly KubeObject[]): Promise<ApplyResult> {
    const result: ApplyResult = { applied: [], failures: [] };
    const dups = duplicateIds(objects.map((o) => refOf(o)));
    if (dups.length) {
      for (const id of dups) result.failures.push({ ref: refOfEntry({ id, v: objects.find((o) => entryOf(refOf(o)).id === id)!.apiVersion as string }), kind: "invalid", message: `object ${id} is rendered more than once; keep one copy` });
      return result;
    }
    if (this.o.createNamespace) {
      try {
        if (await this.ensureNamespace(this.o.createNamespace)) result.createdNamespace = this.o.createNamespace;
      } catch (err) {
        result.failures.push(failure({ apiVersion: "v1", kind: "Namespace", name: this.o.createNamespace, namespace: "" }, err, this.o.force));
        return result;
      }
    }
    const fromCrds = crdKinds(objects);
    this.fromCrds = fromCrds;
    const scopes = new Map<KubeObject, boolean | undefined>();
    for (const obj of objects) scopes.set(obj, await this.scopeOf(obj, fromCrds));
    const phases = orderObjects(objects, (obj) => scopes.get(obj));
    for (const [i, phase] of phases.entries()) {
      for (const run of runsOf(phase)) {
        await pool(run, this.o.concurrency ?? 8, async (obj) => {
          const r = await this.applyOne(obj);
          if ("action" in r) result.applied.push(r);
          else result.failures.push(r);
        });
      }
      if (result.failures.length) break;
      if (i === 0) {
        const crds = result.applied.filter((a) => a.ref.kind === "CustomResourceDefinition");
        for (const c of crds) {
          const err = await this.waitForCrd(c.ref.name, c.live);
          if (err) result.failures.push({ ref: c.ref, kind: "other", message: err });
        }
        if (result.failures.length) break;
      }
    }
    return result;
  }

  /**
   * The references `apply` would give these objects (namespaces resolved), without writing anything: recorded
   * before a sync so that objects applied by a sync killed halfway are still known to prune and finalize. Objects
   * of a kind neither the API nor the render's CRDs define are left out (they cannot be created).
   */
  async plan(objects: readonly KubeObject[], all: readonly KubeObject[] = objects): Promise<ObjectRef[]> {
    // The scope of a kind whose CRD is in the same render (maybe in an earlier wave) comes from that CRD.
    const fromCrds = crdKinds(all);
    const refs: ObjectRef[] = [];
    for (const obj of objects) {
      const namespaced = await this.scopeOf(obj, fromCrds);
      if (namespaced === undefined) continue;
      const name = obj.metadata?.name;
      if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string" || typeof name !== "string") continue;
      refs.push({ apiVersion: obj.apiVersion, kind: obj.kind, name, namespace: namespaced ? (obj.metadata?.namespace || this.o.defaultNamespace) : "" });
    }
    return refs;
  }

  private async scopeOf(obj: KubeObject, fromCrds: Map<string, boolean>): Promise<boolean | undefined> {
    try {
      return (await this.o.client.mapper.kindForObject(obj)).namespaced;
    } catch (err) {
      if (err instanceof NoKindMatchError) return fromCrds.get(`${obj.apiVersion}|${obj.kind}`);
      throw err;
    }
  }

  private async ensureNamespace(name: string): Promise<boolean> {
    const live = await this.o.client.live().get(Kinds.Namespace, name, undefined, { signal: this.o.signal });
    if (live) return false;
    await this.o.client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { [Labels.managedBy]: MANAGED_BY_VALUE } } }, { force: false, fieldManager: this.o.fieldManager, signal: this.o.signal });
    return true;
  }

  /** Resolves the kind (retrying briefly: discovery may lag a just-established CRD) and the namespace. */
  private async prepare(obj: KubeObject): Promise<{ kind: KindDescriptor; body: KubeObject; ref: ObjectRef }> {
    let kind: KindDescriptor | undefined;
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      try {
        kind = await this.o.client.mapper.kindForObject(obj);
        break;
      } catch (err) {
        if (!(err instanceof NoKindMatchError) || !this.fromCrds.has(`${obj.apiVersion}|${obj.kind}`) || Date.now() > deadline) throw err;
        await sleep(250, this.o.signal);
      }
    }
    const meta = { ...(obj.metadata ?? {}) };
    if (kind.namespaced && !meta.namespace) meta.namespace = this.o.defaultNamespace;
    if (!kind.namespaced) delete meta.namespace;
    const body = { ...obj, metadata: meta };
    return { kind, body, ref: refOf(body) };
  }

  private async applyOne(obj: KubeObject): Promise<AppliedObject | ApplyFailure> {
    let ref = refOf(obj);
    try {
      const { kind, body, ref: r } = await this.prepare(obj);
      ref = r;
      const before = await this.lookup(kind, ref.name, ref.namespace || undefined);
      const other = otherOwner(before, this.o.owner);
      if (other) {
        // The lookup may read with the controller's own identity (its cache sees every namespace): naming the other
        // Application to an identity that may not even write the object would tell one tenant what another has
        // (which objects exist, and which Application manages them). The same apply, dry-run, as this identity
        // first: one it may not write is refused exactly as any other such object is, by the API server.
        try {
          await this.o.client.apply(body, { force: false, fieldManager: this.o.fieldManager, signal: this.o.signal, dryRun: true });
        } catch (err) {
          if (isForbidden(err)) throw err;
        }
        return { ref, kind: "ownership", message: `${describeRef(ref)} is managed by Application ${other}; it was left untouched (remove it from one of the two Applications)` };
      }
      if (before && !this.o.force && this.o.inSync?.(body, before)) return { ref, action: "unchanged", live: before, rendered: body };
      const sent = this.o.transform ? this.o.transform(body, before) : body;
      try {
        const live = await this.o.client.apply(sent, { force: this.o.force || !!this.o.forceConflicts, fieldManager: this.o.fieldManager, signal: this.o.signal });
        const action: ApplyAction = !before ? "created" : before.metadata?.resourceVersion === live.metadata?.resourceVersion ? "unchanged" : "configured";
        return { ref, action, live, rendered: body, beforeRv: before?.metadata?.resourceVersion };
      } catch (err) {
        if (!(this.o.force && isImmutableError(err))) throw err;
        await this.recreateWait(kind, ref);
        const live = await this.o.client.apply(this.o.transform ? this.o.transform(body, undefined) : body, { force: true, fieldManager: this.o.fieldManager, signal: this.o.signal });
        return { ref, action: "recreated", live, rendered: body };
      }
    } catch (err) {
      if (this.o.signal?.aborted) throw err;
      return failure(ref, err, this.o.force);
    }
  }

  /** Deletes the object and waits (bounded) until it is gone, so the re-create does not meet the old one. */
  private async recreateWait(kind: KindDescriptor, ref: ObjectRef): Promise<void> {
    const target = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace || undefined } };
    await this.o.client.delete(target, { propagationPolicy: "Background", signal: this.o.signal });
    const live = this.o.client.live();
    const deadline = Date.now() + this.waitMs;
    while (await live.get(kind, ref.name, ref.namespace || undefined, { signal: this.o.signal })) {
      if (Date.now() > deadline) throw new Error(`${describeRef(ref)} was deleted to be re-created but is still there after ${this.waitMs} ms (finalizers?)`);
      await sleep(200, this.o.signal);
    }
  }

  /** Waits until the CRD is Established and discovery serves its kind; returns an error message on timeout. */
  private async waitForCrd(name: string, applied: KubeObject): Promise<string | undefined> {
    const live = this.o.client.live();
    const deadline = Date.now() + this.waitMs;
    let crd: KubeObject | undefined = applied;
    while (!isEstablished(crd)) {
      if (Date.now() > deadline) return `CustomResourceDefinition ${name} is not Established after ${this.waitMs} ms`;
      await sleep(200, this.o.signal);
      crd = await live.get(Kinds.CustomResourceDefinition, name, undefined, { signal: this.o.signal });
    }
    const spec = crd?.spec as { group: string; names: { kind: string }; versions: { name: string; served?: boolean }[] };
    for (const v of spec.versions.filter((v) => v.served !== false)) {
      for (;;) {
        try {
          await this.o.client.mapper.kindFor(`${spec.group}/${v.name}`, spec.names.kind);
          break;
        } catch (err) {
          if (!(err instanceof NoKindMatchError)) throw err;
          if (Date.now() > deadline) return `the API server does not serve ${spec.names.kind} in ${spec.group}/${v.name} ${this.waitMs} ms after its CRD was Established`;
          await sleep(200, this.o.signal);
        }
      }
    }
    return undefined;
  }
}

export { type ApplyFailure, type FailureKind, conflictsOf, isImmutableError } from "./failures.js";
export { type PruneOptions, type PruneResult, prune, release, waitGone } from "./prune.js";
