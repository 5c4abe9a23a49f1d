// The reflector and informer: list, then watch from the list's resourceVersion, keeping a Store current and telling
// handlers what changed. An explicit state machine decides what follows every way a watch can end:
//   Listing ──ok──▶ Watching(rv) ──stream ended by the server──▶ Watching(rv)          (resume, no delay)
//                      │  └─broken connection / error──▶ backoff ▶ Watching(rv)           (resume where we were)
//                      │  └─quiet for too long (watchdog)──▶ Watching(rv)                 (silent stalls restart)
//                      └─resourceVersion too old (410 Gone / Expired) or too large (504 ResourceVersionTooLarge),
//                        as an HTTP answer or an ERROR event──▶ jittered backoff ▶ Listing  (relist, diffed against the store)
// Errors while listing back off (jittered) and list again. Retrying a watch from an RV the server refuses would
// fail forever; a fresh list (a consistent read) gives an RV it accepts. The relist waits a jittered, growing delay
// (client-go's reflector does the same) so that the informers of many processes, all told "too old" when an API
// server restarts or compacts, do not relist in lockstep.
import { type Logger, log } from "../log.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { type Clock, realClock, sleep } from "./clock.js";
import { type KindDescriptor, type KubeObject, apiVersionOf, objectKey, resourcePath } from "./kinds.js";
import { ApiError, isResourceExpired, isTooLargeResourceVersion, type ApiStatus, type RawWatchEvent, type RestClient } from "./rest.js";
import { type IndexFunc, Store, type StoreChange } from "./store.js";

export type Transform = (obj: KubeObject) => KubeObject;

/** Drops metadata.managedFields (often half of an object's size) before the object enters the cache. */
export const dropManagedFields: Transform = (obj) => {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
};

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Applied to every object before it is stored (e.g. dropManagedFields). */
  transform?: Transform;
  indexers?: Record<string, IndexFunc<KubeObject>>;
  /** List page size (default 500). */
  pageSize?: number;
  /** Server-side watch timeout, chosen at random in [min, max] seconds per watch (default 300–600, like client-go). */
  watchTimeoutSeconds?: [number, number];
  /** Restart a watch that has delivered nothing, not even a bookmark, for this long (default 3 min). */
  quietTimeoutMs?: number;
  backoff?: BackoffOptions;
  clock?: Clock;
  logger?: Logger;
}

export interface EventHandler<T extends KubeObject = KubeObject> {
  onAdd?(obj: T, isInInitialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export type WatchState = { phase: "Listing" } | { phase: "Watching"; resourceVersion: string };

/** Counters that show what the reflector did (tests and debugging). */
export interface InformerStats {
  lists: number;
  /** Lists after the first one (the server refused the watch's resourceVersion: too old or too large). */
  relists: number;
  watches: number;
  events: number;
  bookmarks: number;
  /** Watches restarted because they went quiet. */
  watchdogRestarts: number;
  errors: number;
}

class WatchdogFired extends Error {}
class ConnectionDropped extends Error {}

/** Why a watch (or list) error means "list again" rather than "retry the same request", or undefined. */
function relistReason(err: unknown): string | undefined {
  if (isResourceExpired(err)) return "expired (too old)";
  if (isTooLargeResourceVersion(err)) return "too large (newer than the server has)";
  return undefined;
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly store: Store<T>;
  readonly stats: InformerStats = { lists: 0, relists: 0, watches: 0, events: 0, bookmarks: 0, watchdogRestarts: 0, errors: 0 };
  private handlers = new Set<EventHandler<T>>();
  private synced = false;
  private syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private state: WatchState = { phase: "Listing" };
  private failure: Error | undefined;
  private streamAbort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private resumeOverride: string | undefined;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly relistBackoff: Backoff;
  private readonly log: Logger;
  private readonly path: string;

  constructor(
    private readonly rest: RestClient,
    readonly kind: KindDescriptor,
    private readonly opts: InformerOptions = {},
  ) {
    this.store = new Store<T>((opts.indexers ?? {}) as Record<string, IndexFunc<T>>);
    this.clock = opts.clock ?? realClock;
    this.backoff = new Backoff({ clock: this.clock, ...opts.backoff });
    this.relistBackoff = new Backoff({ clock: this.clock, ...opts.backoff });
    this.log = (opts.logger ?? log()).child({ component: "informer", kind: kind.kind, namespace: opts.namespace ?? "*" });
    this.path = resourcePath(kind, kind.namespaced ? opts.namespace : undefined);
  }

  /** The namespace watched ("" for all namespaces or a cluster-scoped kind). */
  get namespace(): string {
    return this.opts.namespace ?? "";
  }

  /** The label selector watched ("" for none). */
  get labelSelector(): string {
    return this.opts.labelSelector ?? "";
  }

  /** The field selector watched ("" for none). */
  get fieldSelector(): string {
    return this.opts.fieldSelector ?? "";
  }

  /** Why the last list or watch failed, until a list succeeds again (e.g. a 403: the identity may not list the kind). */
  get lastError(): Error | undefined {
    return this.failure;
  }

  get watchState(): WatchState {
    return this.state;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the store; rejects if the informer stops first or `signal` aborts. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error(`the ${this.kind.kind} informer stopped before it synced`));
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      this.syncWaiters.push(w);
      signal?.addEventListener(
        "abort",
        () => {
          // Forget the waiter: callers that wait with a bound, again and again, must not pile up.
          const i = this.syncWaiters.indexOf(w);
          if (i >= 0) this.syncWaiters.splice(i, 1);
          reject(new Error(`gave up waiting for the ${this.kind.kind} cache to sync`, { cause: signal.reason }));
        },
        { once: true },
      );
    });
  }

  /**
   * Registers handlers; returns a function that removes them. A handler added after the first sync is first told
   * about every object already held (as adds), like client-go.
   */
  addEventHandler(h: EventHandler<T>): () => void {
    this.handlers.add(h);
    if (this.synced) for (const obj of this.store.list()) this.call(h, { type: "add", obj }, true);
    return () => this.handlers.delete(h);
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    this.store.addIndexers(indexers);
  }

  /** Runs until `signal` aborts (the returned promise then resolves). Calling it twice returns the same run. */
  run(signal: AbortSignal): Promise<void> {
    this.running ??= this.loop(signal).finally(() => {
      this.stopped = true;
      for (const w of this.syncWaiters.splice(0)) w.reject(new Error(`the ${this.kind.kind} informer stopped before it synced`));
    });
    return this.running;
  }

  /** Breaks the current watch connection, as a network failure would (tests and chaos drills). */
  dropConnection(): void {
    this.streamAbort?.abort(new ConnectionDropped("connection dropped on request"));
  }

  /** Makes the next watch resume from `rv` (tests use an expired one to force 410 Gone). */
  resumeFrom(rv: string): void {
    this.resumeOverride = rv;
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.resumeOverride !== undefined && this.state.phase === "Watching") {
        this.state = { phase: "Watching", resourceVersion: this.resumeOverride };
        this.resumeOverride = undefined;
      }
      try {
        this.state = this.state.phase === "Listing" ? await this.list(signal) : await this.watch(this.state.resourceVersion, signal);
      } catch (err) {
        if (signal.aborted) break;
        const why = relistReason(err);
        if (why) {
          const delay = this.relistBackoff.next();
          this.log.info(`resourceVersion ${why}; relisting`, { error: (err as Error).message, resourceVersion: this.state.phase === "Watching" ? this.state.resourceVersion : undefined, relistInMs: Math.round(delay) });
          this.state = { phase: "Listing" };
          if (!(await this.pause(delay, signal))) break;
          continue;
        }
        this.stats.errors++;
        this.failure = err as Error;
        const delay = this.backoff.next();
        this.log.warn(`${this.state.phase === "Listing" ? "list" : "watch"} failed; retrying`, { error: (err as Error).message, retryInMs: Math.round(delay) });
        if (!(await this.pause(delay, signal))) break;
      }
    }
  }

  /** Waits `delay` before the next list or watch; false when the informer was stopped meanwhile. */
  private async pause(delay: number, signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(this.clock, delay, signal);
      return true;
    } catch {
      return false;
    }
  }

  private prepare(raw: KubeObject): T {
    raw.apiVersion ??= apiVersionOf(this.kind);
    raw.kind ??= this.kind.kind;
    return (this.opts.transform ? this.opts.transform(raw) : raw) as T;
  }

  private selectors() {
    return { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
  }

  private async list(signal: AbortSignal): Promise<WatchState> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = "";
    for (;;) {
      const page: { items?: KubeObject[]; metadata?: { continue?: string; resourceVersion?: string } } = await this.rest.request("GET", this.path, {
        query: { ...this.selectors(), limit: this.opts.pageSize ?? 500, continue: cont },
        signal,
      });
      for (const raw of page.items ?? []) {
        raw.apiVersion = apiVersionOf(this.kind);
        raw.kind = this.kind.kind;
        items.push(this.prepare(raw));
      }
      cont = page.metadata?.continue;
      rv = page.metadata?.resourceVersion ?? rv;
      if (!cont) break;
    }
    if (this.stats.lists++ > 0) this.stats.relists++;
    const initial = !this.synced;
    this.failure = undefined;
    const changes = this.store.replace(items);
    for (const c of changes) this.dispatch(c, initial);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w.resolve();
    }
    this.log.debug("listed", { objects: items.length, changes: changes.length, resourceVersion: rv });
    return { phase: "Watching", resourceVersion: rv };
  }

  private async watch(fromRv: string, signal: AbortSignal): Promise<WatchState> {
    const ctl = new AbortController();
    this.streamAbort = ctl;
    const onAbort = () => ctl.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const quietMs = this.opts.quietTimeoutMs ?? 180_000;
    let timer = this.clock.setTimeout(() => ctl.abort(new WatchdogFired()), quietMs);
    const [minT, maxT] = this.opts.watchTimeoutSeconds ?? [300, 600];
    let rv = fromRv;
    const startedAt = this.clock.now();
    let seen = 0;
    this.stats.watches++;
    try {
      const stream = this.rest.watch(this.path, {
        query: { ...this.selectors(), resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: Math.floor(minT + Math.random() * (maxT - minT)) },
        signal: ctl.signal,
      });
      for await (const ev of stream) {
        this.clock.clearTimeout(timer);
        timer = this.clock.setTimeout(() => ctl.abort(new WatchdogFired()), quietMs);
        seen++;
        rv = this.receive(ev, rv);
      }
      if (ctl.signal.aborted) throw ctl.signal.reason;
      // The server ended the watch (its timeout): resume from where we are. A watch that ends at once with nothing
      // in it is treated as an error, so that a misbehaving server cannot make us spin.
      if (seen === 0 && this.clock.now() - startedAt < 1000) throw new Error("the watch ended immediately without events");
      this.backoff.reset();
      return { phase: "Watching", resourceVersion: rv };
    } catch (err) {
      if (signal.aborted) throw err;
      const reason = ctl.signal.aborted ? ctl.signal.reason : undefined;
      if (reason instanceof WatchdogFired) {
        this.stats.watchdogRestarts++;
        this.log.warn("watch was quiet for too long; restarting it", { quietMs, resourceVersion: rv });
        return { phase: "Watching", resourceVersion: rv };
      }
      if (reason instanceof ConnectionDropped) return { phase: "Watching", resourceVersion: rv };
      this.state = { phase: "Watching", resourceVersion: rv };
      throw err;
    } finally {
      this.clock.clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (!ctl.signal.aborted) ctl.abort();
      this.streamAbort = undefined;
    }
  }

  /** One watch event into the store (and to the handlers); returns the resourceVersion to resume from after it. */
  private receive(ev: RawWatchEvent, rv: string): string {
    if (ev.type === "ERROR") {
      const status = (ev.object ?? {}) as ApiStatus;
      throw new ApiError(status.code ?? 500, status, "WATCH", this.path);
    }
    const obj = ev.object as KubeObject;
    const next = obj?.metadata?.resourceVersion || rv;
    if (ev.type === "BOOKMARK") {
      this.stats.bookmarks++;
      this.state = { phase: "Watching", resourceVersion: next };
      return next;
    }
    this.stats.events++;
    const prepared = this.prepare(obj);
    const change = ev.type === "DELETED" ? this.store.delete(prepared) : this.store.upsert(prepared);
    this.state = { phase: "Watching", resourceVersion: next };
    if (change) this.dispatch(change, false);
    return next;
  }

  private dispatch(change: StoreChange<T>, initial: boolean): void {
    for (const h of this.handlers) this.call(h, change, initial);
  }

  private call(h: EventHandler<T>, c: StoreChange<T>, initial: boolean): void {
    try {
      if (c.type === "add") h.onAdd?.(c.obj, initial);
      else if (c.type === "update") h.onUpdate?.(c.old, c.obj);
      else h.onDelete?.(c.obj);
    } catch (err) {
      // A failing handler must not stop the watch for every other controller sharing it.
      this.log.error("event handler threw; the event is skipped for that handler", { object: objectKey(c.obj), error: (err as Error).message });
    }
  }
}
