// How the apply controller sees the cluster: one label-selected informer per applied kind (shared by every
// Application; its events wake the Application that owns the object) and one informer per health check, all read
// from the shared cache. A kind the operator may not list is reported (WatchNotReadyError), never waited on forever.
import type { Application } from "../api/application.js";
import { Labels } from "../api/constants.js";
import { ownerOf } from "../api/ownership.js";
import type { OperatorConfig } from "../config.js";
import type { Controller } from "../runtime/controller.js";
import type { Informer } from "../runtime/informer.js";
import type { KindDescriptor, KubeObject } from "../runtime/kinds.js";
import type { Manager } from "../runtime/manager.js";
import type { Request } from "../runtime/reconcile.js";
import { NoKindMatchError } from "../runtime/restmapper.js";
import type { ObjectRef } from "./inventory.js";
import type { Memory } from "./memory.js";

/** Every object Mooring applies carries this label; one label-selected informer per kind serves every Application. */
const APPLIED_SELECTOR = Labels.application;

/** An informer the apply controller needs did not sync in time (often: the operator may not list the kind). */
export class WatchNotReadyError extends Error {}

/** Request for the Application that owns an applied object (its annotation, or the label of older objects). */
function requestForLabel(obj: KubeObject): Request[] {
  const owner = ownerOf(obj);
  return owner ? [owner] : [];
}

export class ClusterView {
  private controller!: Controller;
  private readonly watched = new Set<string>();

  constructor(
    private readonly mgr: Manager,
    private readonly config: Partial<Pick<OperatorConfig, "watchNamespace">>,
    private readonly cacheSyncTimeoutMs: number,
  ) {}

  attach(controller: Controller): void {
    this.controller = controller;
  }

  /** The shared label-selected informer of a kind, watched by this controller (registered once). */
  async appliedInformer(kind: KindDescriptor, signal: AbortSignal): Promise<Informer> {
    const inf = this.mgr.cache.informerFor(kind, { labelSelector: APPLIED_SELECTOR });
    const key = `${kind.group}/${kind.version}/${kind.kind}`;
    if (!this.watched.has(key)) {
      this.watched.add(key);
      this.controller.watch(inf, requestForLabel);
    }
    await this.waitSynced(inf, kind, signal);
    return inf;
  }

  /**
   * The informer of one health check's object (registered once per Application and object: its events wake the
   * Application), synced.
   */
  async healthCheckInformer(app: Application, mem: Memory, kind: KindDescriptor, namespace: string, name: string, signal: AbortSignal): Promise<Informer> {
    const inf = this.mgr.cache.informerFor(kind, { namespace: kind.namespaced ? namespace : undefined, fieldSelector: `metadata.name=${name}` });
    const hk = `${kind.group}/${kind.kind}/${namespace}/${name}`;
    if (!mem.healthChecks.has(hk)) {
      mem.healthChecks.add(hk);
      const req = { namespace: app.metadata!.namespace!, name: app.metadata!.name! };
      this.controller.watch(inf, () => [req]);
    }
    await this.waitSynced(inf, kind, signal);
    return inf;
  }

  /**
   * Waits for an informer's first list, but not forever: an informer the operator's identity may not list retries
   * its 403 indefinitely, and waiting on it would hold a worker and leave the Application without a word.
   */
  private async waitSynced(inf: Informer, kind: KindDescriptor, signal: AbortSignal): Promise<void> {
    if (inf.hasSynced()) return;
    const bound = AbortSignal.any([signal, AbortSignal.timeout(this.cacheSyncTimeoutMs)]);
    try {
      // Already failing (a 403 keeps failing): say so now rather than hold a worker for the whole bound.
      if (inf.lastError) throw inf.lastError;
      await inf.waitForSync(bound);
    } catch (err) {
      if (signal.aborted) throw err;
      const resource = kind.group ? `${kind.plural}.${kind.group}` : kind.plural;
      const why = inf.lastError ? `the operator cannot list ${resource}: ${inf.lastError.message}` : `the ${kind.kind} cache has not synced yet`;
      throw new WatchNotReadyError(`${why}; health and drift of ${kind.kind} objects are read from a watch with the operator's own identity, which needs get/list/watch on ${resource} (Helm values rbac.apply.clusterRead or rbac.apply.extraRules)`);
    }
  }

  /** Whether the cache can see objects of this kind in this namespace (--watch-namespace restricts namespaced kinds). */
  visible(kind: KindDescriptor, namespace: string | undefined): boolean {
    const watched = this.config.watchNamespace;
    return !kind.namespaced || !watched || namespace === watched;
  }

  /** An applied object as the cache shows it (undefined: not there). */
  async cached(kind: KindDescriptor, name: string, namespace: string | undefined, signal: AbortSignal): Promise<KubeObject | undefined> {
    const inf = await this.appliedInformer(kind, signal);
    return inf.store.get(kind.namespaced ? `${namespace}/${name}` : name);
  }

  /** Kind of an inventory entry, or undefined when the API no longer serves it. */
  async kindOf(ref: ObjectRef): Promise<KindDescriptor | undefined> {
    try {
      return await this.mgr.mapper.kindFor(ref.apiVersion, ref.kind);
    } catch (err) {
      if (err instanceof NoKindMatchError) return undefined;
      throw err;
    }
  }
}
