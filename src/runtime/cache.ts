// The shared informer cache: one informer (one list+watch) per kind, namespace and selector in a process, shared by
// every controller and by the client's reads. Informers asked for after start() are started at once.
//
// Two kinds of use: informerFor() pins an informer for the life of the process (a controller's own kinds, the
// client's reads: what the Pod must serve, and all that hasSynced()/waitForSync() and so /readyz count), and
// acquire(kind, sel, holder) holds one for a holder (e.g. one Application's health check) until release(): the last
// release of an informer nobody pinned stops its watch and drops it from the cache.
import type { Logger } from "../log.js";
import type { Clock } from "./clock.js";
import { Informer, type InformerOptions, type Transform } from "./informer.js";
import { type KindDescriptor, type KubeObject, groupKindOf } from "./kinds.js";
import { LabelSelector } from "./labels.js";
import type { RestClient } from "./rest.js";

export interface Selection {
  /** Namespace to watch (namespaced kinds only); default: the cache's namespace, else all. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * A named reshaping of the objects, applied after the cache's own transform: an informer of its own (the name is
   * part of its identity). E.g. Secrets held without their data. Reads through the client never see a view.
   */
  view?: { name: string; transform: Transform };
}

export interface CacheOptions {
  /** Restrict every namespaced kind to this namespace (the operator's --watch-namespace). */
  namespace?: string;
  /** Applied to every object entering the cache; default none. Manager defaults to dropManagedFields. */
  transform?: Transform;
  /** Other informer settings (watchdog, backoff, page size) for every informer. */
  informer?: Omit<InformerOptions, "namespace" | "labelSelector" | "fieldSelector" | "transform">;
  clock?: Clock;
  logger?: Logger;
}

/** One informer of the cache and who uses it (see Cache.entries()). */
export interface CacheEntry {
  informer: Informer;
  kind: KindDescriptor;
  namespace: string;
  labelSelector: string;
  fieldSelector: string;
  view?: string;
  /** Asked for with informerFor(): kept for the life of the process and counted by hasSynced()/readyz. */
  pinned: boolean;
  /** Holders that acquired it and have not released it yet. */
  holders: string[];
  synced: boolean;
}

interface Slot {
  informer: Informer;
  pinned: boolean;
  holders: Set<string>;
  view?: string;
  /** Stops this informer alone (linked to the cache's signal once started). */
  stop: AbortController;
  run?: Promise<void>;
}

export class Cache {
  private slots = new Map<string, Slot>();
  /** The informers by key, as `slots` (kept because tests read this private field to inspect what the cache holds). */
  private informers = new Map<string, Informer>();
  private defaults = new Map<string, Selection>();
  private signal: AbortSignal | undefined;
  private runs = new Set<Promise<void>>();

  constructor(
    private readonly rest: RestClient,
    private readonly opts: CacheOptions = {},
  ) {}

  /** Sets the selection used for `kind` when none is given (e.g. a shard's label selector); call before start. */
  setDefaultSelection(kind: KindDescriptor, sel: Selection): void {
    this.defaults.set(groupKindOf(kind), sel);
  }

  private resolve(kind: KindDescriptor, sel?: Selection): Required<Pick<Selection, "namespace" | "labelSelector" | "fieldSelector">> & Pick<Selection, "view"> {
    const s = sel ?? this.defaults.get(groupKindOf(kind)) ?? {};
    return {
      namespace: kind.namespaced ? (s.namespace ?? this.opts.namespace ?? "") : "",
      labelSelector: s.labelSelector ?? "",
      fieldSelector: s.fieldSelector ?? "",
      view: s.view,
    };
  }

  private keyOf(kind: KindDescriptor, s: ReturnType<Cache["resolve"]>): string {
    return [kind.group, kind.version, kind.kind, s.namespace, s.labelSelector, s.fieldSelector, s.view?.name ?? ""].join("|");
  }

  private slotFor(kind: KindDescriptor, sel?: Selection): Slot {
    const s = this.resolve(kind, sel);
    const key = this.keyOf(kind, s);
    let slot = this.slots.get(key);
    if (!slot) {
      const base = this.opts.transform;
      const view = s.view?.transform;
      const transform = view ? (base ? (o: KubeObject) => view(base(o)) : view) : base;
      const informer = new Informer(this.rest, kind, {
        ...this.opts.informer,
        namespace: s.namespace || undefined,
        labelSelector: s.labelSelector || undefined,
        fieldSelector: s.fieldSelector || undefined,
        transform,
        clock: this.opts.clock,
        logger: this.opts.logger,
      });
      slot = { informer, pinned: false, holders: new Set(), view: s.view?.name, stop: new AbortController() };
      this.slots.set(key, slot);
      this.informers.set(key, informer);
      if (this.signal) this.runSlot(slot, this.signal);
    }
    return slot;
  }

  private runSlot(slot: Slot, signal: AbortSignal): void {
    const run = slot.informer.run(AbortSignal.any([signal, slot.stop.signal]));
    slot.run = run;
    this.runs.add(run);
    // A released informer's run is forgotten once it ends (the cache may start and stop many over its life).
    const forget = () => {
      if (slot.stop.signal.aborted) this.runs.delete(run);
    };
    void run.then(forget, forget);
  }

  /**
   * The shared informer for `kind` and selection, created (and started, if the cache runs) on first use, and pinned:
   * it runs as long as the cache does, and counts for hasSynced() (so for /readyz).
   */
  informerFor<T extends KubeObject = KubeObject>(kind: KindDescriptor, sel?: Selection): Informer<T> {
    const slot = this.slotFor(kind, sel);
    slot.pinned = true;
    return slot.informer as unknown as Informer<T>;
  }

  /**
   * The shared informer for `kind` and selection, held by `holder` (any string naming a user, e.g. "apply/ns/app")
   * until `release(kind, sel, holder)`. Acquiring twice with the same holder holds it once. A held informer does not
   * count for hasSynced(): its users wait for it and report its failures themselves.
   */
  acquire<T extends KubeObject = KubeObject>(kind: KindDescriptor, sel: Selection | undefined, holder: string): Informer<T> {
    const slot = this.slotFor(kind, sel);
    slot.holders.add(holder);
    return slot.informer as unknown as Informer<T>;
  }

  /**
   * Gives up `holder`'s hold on an informer. When no holder is left and nobody pinned it, its watch stops, its store
   * is emptied and the cache forgets it (a later acquire starts a new one). Returns whether it was stopped.
   */
  release(kind: KindDescriptor, sel: Selection | undefined, holder: string): boolean {
    const key = this.keyOf(kind, this.resolve(kind, sel));
    const slot = this.slots.get(key);
    if (!slot || !slot.holders.delete(holder) || slot.holders.size > 0 || slot.pinned) return false;
    this.slots.delete(key);
    this.informers.delete(key);
    slot.stop.abort(new Error(`released by ${holder}`));
    const drop = () => void slot.informer.store.replace([]);
    if (slot.run) void slot.run.then(drop, drop);
    else drop();
    return true;
  }

  /** Whether the cache holds an informer for `kind` and selection (pinned or held). */
  has(kind: KindDescriptor, sel?: Selection): boolean {
    return this.slots.has(this.keyOf(kind, this.resolve(kind, sel)));
  }

  /** Every informer the cache holds, with who uses it. */
  entries(): CacheEntry[] {
    return [...this.slots.values()].map(({ informer: i, pinned, holders, view }) => ({
      informer: i,
      kind: i.kind,
      namespace: i.namespace,
      labelSelector: i.labelSelector,
      fieldSelector: i.fieldSelector,
      view,
      pinned,
      holders: [...holders],
      synced: i.hasSynced(),
    }));
  }

  /** Number of informers (= watches) this cache holds. */
  get size(): number {
    return this.slots.size;
  }

  /** Starts every informer, now and later ones, until `signal` aborts. */
  start(signal: AbortSignal): void {
    if (this.signal) return;
    this.signal = signal;
    for (const slot of this.slots.values()) this.runSlot(slot, signal);
  }

  get started(): boolean {
    return this.signal !== undefined;
  }

  /** The pinned informers: what the process must serve (held ones come and go with their holders). */
  private pinned(): Informer[] {
    return [...this.slots.values()].filter((s) => s.pinned).map((s) => s.informer);
  }

  /** Whether every pinned informer has listed once. */
  hasSynced(): boolean {
    return this.pinned().every((i) => i.hasSynced());
  }

  /** Kinds (with namespace) whose pinned informer has not synced yet. */
  unsynced(): string[] {
    return this.pinned().filter((i) => !i.hasSynced()).map((i) => `${i.kind.kind}${i.namespace ? ` in ${i.namespace}` : ""}`);
  }

  /** Waits until every pinned informer has listed once. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.pinned().map((i) => i.waitForSync(signal)));
  }

  /** Resolves when every informer has stopped (after the start signal aborted). */
  async stopped(): Promise<void> {
    await Promise.all([...this.runs]);
  }

  private async synced(kind: KindDescriptor, sel?: Selection, namespace?: string): Promise<Informer> {
    if (!this.signal) throw new Error(`the cache is not started; start the manager (or cache) before reading ${kind.kind} objects from it`);
    const scope = this.opts.namespace;
    if (kind.namespaced && scope && namespace && namespace !== scope) {
      throw new Error(`the cache only holds namespace "${scope}"; ${kind.kind} objects in "${namespace}" are not in it — read them with client.live()`);
    }
    const inf = this.informerFor(kind, sel);
    await inf.waitForSync(this.signal);
    return inf;
  }

  /** An object from the cache, or undefined. Starts (and waits for) the kind's informer on first use. */
  async get<T extends KubeObject = KubeObject>(kind: KindDescriptor, name: string, namespace?: string): Promise<T | undefined> {
    const inf = await this.synced(kind, undefined, namespace);
    return inf.store.get(kind.namespaced ? `${namespace}/${name}` : name) as T | undefined;
  }

  /** Objects from the cache, optionally in one namespace and matching a label selector. */
  async list<T extends KubeObject = KubeObject>(kind: KindDescriptor, o: { namespace?: string; labelSelector?: string } = {}): Promise<T[]> {
    const inf = await this.synced(kind, undefined, o.namespace);
    let items = o.namespace ? inf.store.byIndex("namespace", o.namespace) : inf.store.list();
    if (o.labelSelector) {
      const sel = LabelSelector.parse(o.labelSelector);
      items = items.filter((i) => sel.matches(i.metadata?.labels));
    }
    return items as T[];
  }
}
