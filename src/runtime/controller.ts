// A controller: event sources feed a rate-limited work queue; N workers take keys from it and call the reconciler.
// Every result is handled in one place (handleOutcome): queue operation, metric label and log line.
import { randomUUID } from "node:crypto";
import { type Logger, log } from "../log.js";
import { type Clock, realClock, untilAborted } from "./clock.js";
import type { Informer } from "./informer.js";
import type { KubeObject } from "./kinds.js";
import { runtimeMetrics, type RuntimeMetrics } from "./metrics.js";
import { admits, type EventType, type Predicate } from "./predicates.js";
import type { RateLimiter } from "./ratelimit.js";
import { type ReconcileFunc, type Reconciler, type Request, type Result, TerminalError, requestFromKey, requestKey } from "./reconcile.js";
import { WorkQueue } from "./workqueue.js";

export interface ControllerOptions {
  name: string;
  /** Workers reconciling different objects at once (default 1). One object is never reconciled twice at once. */
  maxConcurrentReconciles?: number;
  /** Abort a reconcile's signal after this long, and count it as an error (default: no timeout). */
  reconcileTimeoutMs?: number;
  /** At shutdown, how long in-flight reconciles may take to finish before their signal is aborted (default 30 s). */
  drainTimeoutMs?: number;
  rateLimiter?: RateLimiter;
  metrics?: RuntimeMetrics;
  logger?: Logger;
  clock?: Clock;
}

/** Maps an object to the requests it should trigger. */
export type MapFunc<T extends KubeObject = KubeObject> = (obj: T) => Request[];

/** The work queue priority of an event's requests (workqueue.ts `Priority`; higher first); undefined is normal. */
export type PriorityFunc<T extends KubeObject = KubeObject> = (type: EventType, obj: T, old?: T) => number | undefined;

export interface Source {
  informer: Informer;
  map: MapFunc;
  predicates: Predicate[];
}

type Outcome = { kind: "result"; result: Result } | { kind: "error"; error: unknown };

/** True when err, or an error in its cause chain, is a TerminalError. */
export function isTerminal(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) if (e instanceof TerminalError) return true;
  return false;
}

class ReconcileTimeout extends Error {}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcileFn: ReconcileFunc;
  /** Each source, with what removes its event handler. */
  private readonly sources = new Map<Source, () => void>();
  private readonly workers: number;
  private readonly metrics: RuntimeMetrics;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly inflight = new Set<AbortController>();
  private started = false;

  constructor(
    private readonly opts: ControllerOptions,
    reconciler: Reconciler | ReconcileFunc,
  ) {
    this.name = opts.name;
    this.reconcileFn = typeof reconciler === "function" ? reconciler : (req, ctx) => reconciler.reconcile(req, ctx);
    this.workers = opts.maxConcurrentReconciles ?? 1;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`controller ${opts.name}: maxConcurrentReconciles must be a positive integer, got ${this.workers}`);
    this.metrics = opts.metrics ?? runtimeMetrics();
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? log()).child({ controller: opts.name });
    let queue: WorkQueue | undefined;
    this.queue = queue = new WorkQueue({ name: opts.name, clock: this.clock, rateLimiter: opts.rateLimiter, metrics: this.metrics.forQueue(opts.name, () => queue) });
  }

  /** Enqueues a request (deduplicated with any waiting one; a higher priority moves a waiting one up). */
  enqueue(req: Request, priority?: number): void {
    this.queue.add(requestKey(req), priority);
  }

  enqueueAfter(req: Request, ms: number): void {
    this.queue.addAfter(requestKey(req), ms);
  }

  /**
   * Feeds events of `informer` that pass every predicate into the queue, mapped to requests by `map`. Returns what
   * undoes it: a watch added for some objects only (an informer released when they go) must not outlive them.
   */
  watch(informer: Informer<any>, map: MapFunc<any>, predicates: Predicate<any>[] = [], priority?: PriorityFunc<any>): () => void {
    const src: Source = { informer, map, predicates };
    const pass = (type: EventType, obj: KubeObject, old?: KubeObject) => predicates.every((p) => admits(p, type, obj, old));
    const push = (obj: KubeObject, p: number | undefined) => {
      for (const r of map(obj)) this.enqueue(r, p);
    };
    const off = informer.addEventHandler({
      onAdd: (obj) => pass("create", obj) && push(obj, priority?.("create", obj)),
      onUpdate: (old, obj) => {
        if (!pass("update", obj, old)) return;
        const p = priority?.("update", obj, old);
        push(old, p);
        push(obj, p);
      },
      onDelete: (obj) => pass("delete", obj) && push(obj, priority?.("delete", obj)),
    });
    this.sources.set(src, off);
    return () => {
      if (this.sources.delete(src)) off();
    };
  }

  /** How many event sources feed the queue (watches added and not undone). */
  get sourceCount(): number {
    return this.sources.size;
  }

  /**
   * Waits for the sources' caches to sync, then runs the workers until `signal` aborts; then stops taking new work
   * and lets in-flight reconciles finish (up to drainTimeoutMs) before aborting their signals.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error(`controller ${this.name} was already started; a controller runs once`);
    this.started = true;
    try {
      await Promise.all([...this.sources.keys()].map((s) => s.informer.waitForSync(signal)));
    } catch (err) {
      if (signal.aborted) return this.stop();
      throw err;
    }
    this.metrics.maxConcurrentReconciles.set({ controller: this.name }, this.workers);
    this.metrics.activeWorkers.set({ controller: this.name }, 0);
    this.log.info("starting workers", { workers: this.workers });
    const workers = Array.from({ length: this.workers }, () => this.worker());
    await untilAborted(signal);
    await this.stop();
    await Promise.all(workers);
    this.log.info("all workers finished");
  }

  /** Aborts the signal of every reconcile in flight (e.g. when leadership is lost and nothing may be written). */
  abortInFlight(reason: string): void {
    for (const c of this.inflight) c.abort(new Error(reason));
  }

  private async stop(): Promise<void> {
    for (const off of this.sources.values()) off();
    this.sources.clear();
    const drainMs = this.opts.drainTimeoutMs ?? 30_000;
    const drained = await this.queue.shutDownWithDrain(drainMs);
    if (!drained) {
      this.log.warn("in-flight reconciles did not finish in time; aborting them", { drainTimeoutMs: drainMs, inFlight: this.queue.inFlight() });
      for (const c of this.inflight) c.abort(new Error(`controller ${this.name} is shutting down`));
    }
    this.metrics.untrackQueue(this.name);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const { key, shutdown } = await this.queue.get();
      if (shutdown) return;
      this.metrics.activeWorkers.inc({ controller: this.name });
      try {
        await this.reconcileKey(key);
      } finally {
        this.metrics.activeWorkers.dec({ controller: this.name });
        this.queue.done(key);
      }
    }
  }

  private async reconcileKey(key: string): Promise<void> {
    const req = requestFromKey(key);
    const reconcileID = randomUUID();
    const logger = this.log.child({ object: key, reconcileID });
    const ctl = new AbortController();
    this.inflight.add(ctl);
    const timeoutMs = this.opts.reconcileTimeoutMs;
    const timer = timeoutMs ? this.clock.setTimeout(() => ctl.abort(new ReconcileTimeout(`reconcile of ${key} exceeded its ${timeoutMs} ms timeout`)), timeoutMs) : undefined;
    const start = this.clock.now();
    let outcome: Outcome;
    try {
      const result = (await this.reconcileFn(req, { signal: ctl.signal, log: logger, reconcileID })) ?? {};
      // A reconcile that returned after its timeout fired is not trusted to have finished its work.
      outcome = ctl.signal.reason instanceof ReconcileTimeout ? { kind: "error", error: ctl.signal.reason } : { kind: "result", result };
    } catch (error) {
      // Exceptions of any kind are caught here: one bad object never stops the controller.
      outcome = { kind: "error", error: ctl.signal.reason instanceof ReconcileTimeout ? new Error(ctl.signal.reason.message, { cause: error }) : error };
    } finally {
      if (timer) this.clock.clearTimeout(timer);
      this.inflight.delete(ctl);
    }
    this.metrics.reconcileTime.observe({ controller: this.name }, (this.clock.now() - start) / 1000);
    this.handleOutcome(key, outcome, logger);
  }

  private handleOutcome(key: string, outcome: Outcome, logger: Logger): void {
    const count = (result: string) => this.metrics.reconcileTotal.inc({ controller: this.name, result });
    if (outcome.kind === "error") {
      const error = outcome.error;
      const message = error instanceof Error ? error.message : String(error);
      count("error");
      this.metrics.reconcileErrors.inc({ controller: this.name });
      if (isTerminal(error)) {
        this.metrics.terminalReconcileErrors.inc({ controller: this.name });
        this.queue.forget(key);
        logger.error("reconcile failed with a terminal error; not retrying until the object changes", { error: message });
      } else {
        this.queue.addRateLimited(key);
        logger.error("reconcile failed; retrying with backoff", { error: message, retries: this.queue.numRequeues(key) });
      }
      return;
    }
    const { requeue, requeueAfter } = outcome.result;
    if (requeueAfter && requeueAfter > 0) {
      this.queue.forget(key);
      this.queue.addAfter(key, requeueAfter);
      count("requeue_after");
      logger.debug("reconciled; again later", { requeueAfterMs: requeueAfter });
    } else if (requeue) {
      this.queue.addRateLimited(key);
      count("requeue");
      logger.debug("reconciled; requeued with backoff");
    } else {
      this.queue.forget(key);
      count("success");
      logger.debug("reconciled");
    }
  }
}

/** Maps an object to a request for itself. */
export const requestForObject: MapFunc = (obj) => [{ namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" }];
