// The shared informer cache: one informer (one list+watch) per kind, namespace and selector in a process, shared by
// every controller and by the client's reads. Informers asked for after start() are started at once.
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

export class Cache {
  private informers = new Map<string, Informer>();
  private defaults = new Map<string, Selection>();
  private signal: AbortSignal | undefined;
  private runs: Promise<void>[] = [];

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

  /** The shared informer for `kind` and selection, created (and started, if the cache runs) on first use. */
  informerFor<T extends KubeObject = KubeObject>(kind: KindDescriptor, sel?: Selection): Informer<T> {
    const s = this.resolve(kind, sel);
    const key = [kind.group, kind.version, kind.kind, s.namespace, s.labelSelector, s.fieldSelector, s.view?.name ?? ""].join("|");
    let inf = this.informers.get(key);
    if (!inf) {
      const base = this.opts.transform;
      const view = s.view?.transform;
      const transform = view ? (base ? (o: KubeObject) => view(base(o)) : view) : base;
      inf = new Informer(this.rest, kind, {
        ...this.opts.informer,
        namespace: s.namespace || undefined,
        labelSelector: s.labelSelector || undefined,
        fieldSelector: s.fieldSelector || undefined,
        transform,
        clock: this.opts.clock,
        logger: this.opts.logger,
      });
      this.informers.set(key, inf);
      if (this.signal) this.runs.push(inf.run(this.signal));
    }
    return inf as unknown as Informer<T>;
  }

  /** Number of informers (= watches) this cache holds. */
  get size(): number {
    return this.informers.size;
  }

  /** Starts every informer, now and later ones, until `signal` aborts. */
  start(signal: AbortSignal): void {
    if (this.signal) return;
    this.signal = signal;
    for (const inf of this.informers.values()) this.runs.push(inf.run(signal));
  }

  get started(): boolean {
    return this.signal !== undefined;
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  /** Kinds (with namespace) whose informer has not synced yet. */
  unsynced(): string[] {
    return [...this.informers.values()].filter((i) => !i.hasSynced()).map((i) => `${i.kind.kind}${i.namespace ? ` in ${i.namespace}` : ""}`);
  }

  /** Waits until every informer has listed once. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
  }

  /** Resolves when every informer has stopped (after the start signal aborted). */
  async stopped(): Promise<void> {
    await Promise.all(this.runs);
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
