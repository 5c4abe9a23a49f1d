// The controller builder. Each call says what it expands to:
//   for(kind)            → watch kind; each event enqueues the object itself
//   owns(kind)           → watch kind; each event enqueues the object's controller owner, if it is of the `for` kind
//   watches(kind, map)   → watch kind; each event enqueues what map(obj) returns
//   withEventFilter(p…)  → predicates applied to every source (per-source ones are given in each call)
// build(reconciler) checks the whole description and fails with a message saying how to fix it.
import type { Logger } from "../log.js";
import type { Cache, Selection } from "./cache.js";
import type { Clock } from "./clock.js";
import { Controller, type ControllerOptions, type MapFunc, type PriorityFunc, requestForObject } from "./controller.js";
import { type KindDescriptor, type KubeObject, parseApiVersion } from "./kinds.js";
import type { RuntimeMetrics } from "./metrics.js";
import type { Predicate } from "./predicates.js";
import type { ReconcileFunc, Reconciler } from "./reconcile.js";

/** What a builder needs from its manager. */
export interface ControllerHost {
  readonly cache: Cache;
  readonly metrics: RuntimeMetrics;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Label selector restricting the `for` kind of every controller (sharding). */
  readonly shardLabelSelector?: string;
  add(controller: Controller): void;
}

export interface SourceOptions<T extends KubeObject = KubeObject> {
  predicates?: Predicate<T>[];
  /** Watch a subset (namespace, selectors) instead of the cache's default for this kind. */
  selection?: Selection;
  /** The work queue priority of an event's requests (workqueue.ts `Priority`); default normal. */
  priority?: PriorityFunc<T>;
}

export interface OwnsOptions<T extends KubeObject = KubeObject> extends SourceOptions<T> {
  /** Only follow the ownerReference marked controller: true (default true, like controller-runtime). */
  onlyController?: boolean;
}

/** The controller's own options a builder may set (the name, metrics, logger and clock come from the manager). */
export type BuilderOptions = Pick<ControllerOptions, "maxConcurrentReconciles" | "reconcileTimeoutMs" | "drainTimeoutMs" | "rateLimiter">;

interface PendingSource {
  kind: KindDescriptor;
  map: MapFunc | "owner";
  opts: OwnsOptions;
}

/** The requests for the controller-owners of `obj` that are of kind `owner`. */
export function ownerRequests(owner: KindDescriptor, onlyController = true): MapFunc {
  return (obj) =>
    (obj.metadata?.ownerReferences ?? [])
      .filter((r) => (!onlyController || r.controller === true) && r.kind === owner.kind && parseApiVersion(r.apiVersion).group === owner.group)
      .map((r) => ({ namespace: owner.namespaced ? (obj.metadata?.namespace ?? "") : "", name: r.name }));
}

export class ControllerBuilder {
  private name: string | undefined;
  private forKind: PendingSource | undefined;
  private sources: PendingSource[] = [];
  private filters: Predicate[] = [];
  private options: BuilderOptions = {};
  private errors: string[] = [];

  constructor(private readonly host: ControllerHost) {}

  /** Names the controller (metrics label, logs); default: the `for` kind in lower case. */
  named(name: string): this {
    this.name = name;
    return this;
  }

  /** The kind this controller reconciles: its events enqueue the object itself. */
  for<T extends KubeObject = KubeObject>(kind: KindDescriptor, opts: SourceOptions<T> = {}): this {
    if (this.forKind) this.errors.push(`for() was called twice (${this.forKind.kind.kind}, then ${kind.kind}); a controller reconciles one kind — use watches() for the other`);
    this.forKind = { kind, map: requestForObject, opts: opts as SourceOptions };
    return this;
  }

  /** A kind this controller creates: its events enqueue the owner named in its controller ownerReference. */
  owns<T extends KubeObject = KubeObject>(kind: KindDescriptor, opts: OwnsOptions<T> = {}): this {
    this.sources.push({ kind, map: "owner", opts: opts as OwnsOptions });
    return this;
  }

  /** Any other kind: its events enqueue what `map` returns (e.g. every object referring to it). */
  watches<T extends KubeObject = KubeObject>(kind: KindDescriptor, map: MapFunc<T>, opts: SourceOptions<T> = {}): this {
    this.sources.push({ kind, map: map as MapFunc, opts: opts as SourceOptions });
    return this;
  }

  /** Predicates applied to the events of every source. */
  withEventFilter(...predicates: Predicate[]): this {
    this.filters.push(...predicates);
    return this;
  }

  withOptions(o: BuilderOptions): this {
    this.options = { ...this.options, ...o };
    return this;
  }

  /** Creates the controller, registers it with the manager and returns it. */
  build(reconciler: Reconciler | ReconcileFunc): Controller {
    const errors = [...this.errors];
    if (!this.forKind) errors.push("call for(kind) to say which kind the controller reconciles");
    if (this.options.maxConcurrentReconciles !== undefined && !(Number.isInteger(this.options.maxConcurrentReconciles) && this.options.maxConcurrentReconciles > 0)) {
      errors.push(`maxConcurrentReconciles must be a positive integer (got ${this.options.maxConcurrentReconciles})`);
    }
    if (this.options.reconcileTimeoutMs !== undefined && !(this.options.reconcileTimeoutMs > 0)) errors.push(`reconcileTimeoutMs must be > 0 (got ${this.options.reconcileTimeoutMs})`);
    const forKind = this.forKind;
    if (errors.length || !forKind) throw new Error(`controller ${this.name ?? "(unnamed)"} cannot be built: ${errors.join("; ")}`);
    const name = this.name ?? forKind.kind.kind.toLowerCase();
    const h = this.host;
    if (h.shardLabelSelector && !forKind.opts.selection) h.cache.setDefaultSelection(forKind.kind, { labelSelector: h.shardLabelSelector });
    const c = new Controller({ name, ...this.options, metrics: h.metrics, logger: h.logger, clock: h.clock }, reconciler);
    for (const s of [forKind, ...this.sources]) {
      const informer = h.cache.informerFor(s.kind, s.opts.selection);
      const map = s.map === "owner" ? ownerRequests(forKind.kind, s.opts.onlyController ?? true) : s.map;
      c.watch(informer, map, [...this.filters, ...(s.opts.predicates ?? [])], s.opts.priority);
    }
    h.add(c);
    return c;
  }
}

