// How the apply controller sees the cluster: one label-selected informer per applied kind (shared by every
// Application; its events wake the Application that owns the object) and one informer per health check, all read
// from the shared cache. A kind the operator may not list is reported (WatchNotReadyError), never waited on forever.
//
// The informers are held, not pinned: each reconcile reads through a view scoped to its Application (scoped()), which
// acquires what it reads with the Application as holder. At the end of a complete reconcile releaseUnused() gives back
// what that reconcile did not read (a health check removed from the spec, a kind no longer applied), and forget()
// gives back everything when the Application is gone, so the cache stops an informer once no Application needs it.
// The controller's watch of an applied-kind informer (its Feed) is undone with the last Application holding it, so
// neither outlives the Applications that needed them.
import type { Application } from "../api/application.js";
import { Labels } from "../api/constants.js";
import { ownerOf } from "../api/ownership.js";
import type { OperatorConfig } from "../config.js";
import type { Client } from "../runtime/client.js";
import type { Controller } from "../runtime/controller.js";
import type { Selection } from "../runtime/cache.js";
import type { Informer } from "../runtime/informer.js";
import type { KindDescriptor, KubeObject } from "../runtime/kinds.js";
import type { Manager } from "../runtime/manager.js";
import type { Request } from "../runtime/reconcile.js";
import { NoKindMatchError, type RestMapper } from "../runtime/restmapper.js";
import { HealthRules } from "./health-cel.js";
import { type InventoryEntry, type ObjectRef, refOfEntry } from "./inventory.js";
import type { Memory } from "./memory.js";
import { timeoutSignal } from "../runtime/timeout.js";

/** Every object Mooring applies carries this label; one label-selected informer per kind serves every Application. */
const APPLIED_SELECTOR = Labels.application;

/** An informer the apply controller needs did not sync in time (often: the operator may not list the kind). */
export class WatchNotReadyError extends Error {}

/** Request for the Application that owns an applied object (its annotation, or the label of older objects). */
function requestForLabel(obj: KubeObject): Request[] {
  const owner = ownerOf(obj);
  return owner ? [owner] : [];
}

/** An informer an Application holds, and the handler that wakes it (health checks only). */
interface Held {
  kind: KindDescriptor;
  sel: Selection;
  informer: Informer;
  unsubscribe?: () => void;
}

/** An applied-kind informer feeding the controller, and the Applications that need it to. */
interface Feed {
  /** Undoes the controller's watch of the informer. */
  dispose: () => void;
  holders: Set<string>;
  /** Fed for an unscoped view: pinned, never undone. */
  pinned: boolean;
}

/** What every scoped view of one controller shares. */
class Holdings {
  controller!: Controller;
  /** Applied-kind informers feeding the controller (a released and re-acquired kind is a new informer). */
  readonly feeds = new Map<Informer, Feed>();
  /** By holder ("namespace/name" of the Application), by cache key. */
  readonly byHolder = new Map<string, Map<string, Held>>();

  /** `holder` no longer needs `inf`: the last holder of an applied-kind informer undoes the controller's watch of it. */
  unfeed(inf: Informer, holder: string): void {
    const feed = this.feeds.get(inf);
    if (!feed?.holders.delete(holder) || feed.holders.size > 0 || feed.pinned) return;
    feed.dispose();
    this.feeds.delete(inf);
  }
}

/** The cluster a view reads and writes: the manager's own, or a remote cluster's (./clusters.ts). */
export type ViewTarget = Pick<Manager, "cache" | "mapper" | "client">;

export class ClusterView {
  /** Cache keys this view (one reconcile) read. */
  private readonly touched = new Set<string>();

  constructor(
    private readonly target: ViewTarget,
    private readonly config: Partial<Pick<OperatorConfig, "watchNamespace">> & {
      healthRules?: HealthRules;
      /** Which owners an applied object's events may wake (a remote cluster's objects may belong to another hub's Applications). */
      admit?: (req: Request) => boolean;
    },
    private readonly cacheSyncTimeoutMs: number,
    private readonly holdings = new Holdings(),
    /** The Application this view reads for; unscoped views pin what they read. */
    private readonly holder?: string,
  ) {}

  attach(controller: Controller): void {
    this.holdings.controller = controller;
  }

  /** The client of the cluster this view reads (the Application's objects are written through it). */
  get client(): Client {
    return this.target.client;
  }

  /** Discovery of the cluster this view reads. */
  get mapper(): RestMapper {
    return this.target.mapper;
  }

  /** The operator's default health rules (--health-rules-file). */
  get healthRules(): HealthRules {
    return this.config.healthRules ?? HealthRules.EMPTY;
  }

  /** A view for one reconcile of one Application ("namespace/name"): what it reads is held for that Application. */
  scoped(holder: string): ClusterView {
    return new ClusterView(this.target, this.config, this.cacheSyncTimeoutMs, this.holdings, holder);
  }

  /** The informer for kind and selection, held by this view's Application (pinned when unscoped). */
  private hold(kind: KindDescriptor, sel: Selection, wake?: Request): Informer {
    const cache = this.target.cache;
    if (!this.holder) return cache.informerFor(kind, sel);
    const inf = cache.acquire(kind, sel, this.holder);
    const key = `${kind.group}|${kind.version}|${kind.kind}|${sel.namespace ?? ""}|${sel.labelSelector ?? ""}|${sel.fieldSelector ?? ""}`;
    this.touched.add(key);
    let mine = this.holdings.byHolder.get(this.holder);
    if (!mine) this.holdings.byHolder.set(this.holder, (mine = new Map()));
    const held = mine.get(key);
    if (held?.informer === inf) return inf;
    held?.unsubscribe?.();
    if (held) this.holdings.unfeed(held.informer, this.holder);
    // A health check's events wake its Application only; removed with the hold.
    const unsubscribe = wake ? inf.addEventHandler({ onAdd: () => this.holdings.controller.enqueue(wake), onUpdate: () => this.holdings.controller.enqueue(wake), onDelete: () => this.holdings.controller.enqueue(wake) }) : undefined;
    mine.set(key, { kind, sel, informer: inf, unsubscribe });
    return inf;
  }

  /** Gives back `holder`'s informers, all of them or those not in `keep`; the cache stops those nobody else holds. */
  private releaseHeld(holder: string, keep?: ReadonlySet<string>): void {
    const mine = this.holdings.byHolder.get(holder);
    if (!mine) return;
    for (const [key, held] of mine) {
      if (keep?.has(key)) continue;
      held.unsubscribe?.();
      this.holdings.unfeed(held.informer, holder);
      this.target.cache.release(held.kind, held.sel, holder);
      mine.delete(key);
    }
    if (mine.size === 0) this.holdings.byHolder.delete(holder);
  }

  /**
   * Holds the applied-kind informers of `inventory` (what is applied must wake the Application when it drifts, also
   * when this reconcile read the fresh apply answers instead of the cache) and releases what this view's Application
   * held but neither read in this reconcile nor applied. Call only at the end of a complete reconcile (one that read
   * drift and health), never after one that stopped early.
   */
  async releaseUnused(inventory: readonly InventoryEntry[]): Promise<void> {
    if (!this.holder) return;
    const seen = new Set<string>();
    for (const e of inventory) {
      const ref = refOfEntry(e);
      if (seen.has(`${ref.apiVersion}/${ref.kind}`)) continue;
      seen.add(`${ref.apiVersion}/${ref.kind}`);
      const kind = await this.kindOf(ref);
      if (kind && this.visible(kind, ref.namespace)) this.watchApplied(kind);
    }
    this.releaseHeld(this.holder, this.touched);
  }

  /** Releases every informer an Application held (it is gone, or no longer this controller's). */
  forget(holder: string): void {
    this.releaseHeld(holder);
  }

  /** Number of informers an Application holds (tests and debugging). */
  heldBy(holder: string): number {
    return this.holdings.byHolder.get(holder)?.size ?? 0;
  }

  /** The shared label-selected informer of a kind, watched by this controller (registered once per informer). */
  async appliedInformer(kind: KindDescriptor, signal: AbortSignal): Promise<Informer> {
    const inf = this.watchApplied(kind);
    await this.waitSynced(inf, kind, signal);
    return inf;
  }

  /** The applied-kind informer, held, feeding the controller for as long as an Application holds it. */
  private watchApplied(kind: KindDescriptor): Informer {
    const inf = this.hold(kind, { labelSelector: APPLIED_SELECTOR });
    let feed = this.holdings.feeds.get(inf);
    const admit = this.config.admit;
    const map = admit ? (obj: KubeObject) => requestForLabel(obj).filter(admit) : requestForLabel;
    if (!feed) this.holdings.feeds.set(inf, (feed = { dispose: this.holdings.controller.watch(inf, map), holders: new Set(), pinned: false }));
    if (this.holder) feed.holders.add(this.holder);
    else feed.pinned = true;
    return inf;
  }

  /** The informer of one health check's object (its events wake the Application), synced. */
  async healthCheckInformer(app: Application, _mem: Memory, kind: KindDescriptor, namespace: string, name: string, signal: AbortSignal): Promise<Informer> {
    const req = { namespace: app.metadata!.namespace!, name: app.metadata!.name! };
    const inf = this.hold(kind, { namespace: kind.namespaced ? namespace : undefined, fieldSelector: `metadata.name=${name}` }, req);
    await this.waitSynced(inf, kind, signal);
    return inf;
  }

  /**
   * Waits for an informer's first list, but not forever: an informer the operator's identity may not list retries
   * its 403 indefinitely, and waiting on it would hold a worker and leave the Application without a word.
   */
  private async waitSynced(inf: Informer, kind: KindDescriptor, signal: AbortSignal): Promise<void> {
    if (inf.hasSynced()) return;
    const bound = AbortSignal.any([signal, timeoutSignal(this.cacheSyncTimeoutMs)]);
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
      return await this.target.mapper.kindFor(ref.apiVersion, ref.kind);
    } catch (err) {
      if (err instanceof NoKindMatchError) return undefined;
      throw err;
    }
  }
}
