// A rate-limited work queue with client-go's semantics:
//  - dedup: a key waiting in the queue is held once, however often it is added;
//  - exclusivity: a key handed out by get() is not handed out again until done(key); if it is added meanwhile,
//    it is queued once more when done() is called, so the latest state is always processed afterwards;
//  - addAfter: delayed adds, keeping the earliest deadline when a key is delayed twice;
//  - addRateLimited/forget/numRequeues: per-item backoff through a RateLimiter;
//  - priority (controller-runtime's priority queue): a higher priority is handed out first, the same one first in,
//    first out; a waiting key added again with a higher priority moves up, never down.
// Shutdown stops accepting keys; keys queued but not started are dropped (the level-triggered design means the next
// start reconciles everything again), and shutDownWithDrain waits for in-flight keys up to a deadline.
import { type Clock, type TimerHandle, realClock } from "./clock.js";
import { type RateLimiter, defaultControllerRateLimiter } from "./ratelimit.js";

/** Hooks the queue calls so that metrics stay out of its logic; see metrics.ts for the Prometheus implementation. */
export interface WorkQueueMetrics {
  add(): void;
  depth(n: number): void;
  retry(): void;
  /** Seconds the key waited between being queued and get(). */
  queueDuration(seconds: number): void;
  /** Seconds between get() and done(). */
  workDuration(seconds: number): void;
}

export interface WorkQueueOptions {
  name?: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
}

/**
 * Priorities of the queue: `low` for work that only keeps bookkeeping current (a new revision that changes nothing
 * an object renders, an object's own status write), so that what a change did affect is not queued behind it.
 */
export const Priority = { high: 10, normal: 0, low: -10 } as const;

interface Lane {
  priority: number;
  entries: { key: string; seq: number }[];
  head: number;
}

export interface QueueItem {
  key: string;
  /** True once the queue has shut down; `key` is then empty and the worker should exit. */
  shutdown: boolean;
}

export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  readonly rateLimiter: RateLimiter;
  private readonly metrics: WorkQueueMetrics | undefined;
  /** One first-in-first-out lane per priority, highest first. */
  private lanes: Lane[] = [];
  /** Keys waiting in a lane: the priority and sequence of their live entry (a promoted key leaves a stale one). */
  private queued = new Map<string, { priority: number; seq: number }>();
  private seq = 0;
  /** The highest priority a key was added with while it was in flight: it is queued with it by done(). */
  private requeuePriority = new Map<string, number>();
  private dirty = new Set<string>();
  private processing = new Map<string, number>(); // key -> start time
  private queuedAt = new Map<string, number>();
  private waiting = new Map<string, { at: number; timer: TimerHandle }>();
  private getters: ((item: QueueItem) => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.name = opts.name ?? "queue";
    this.clock = opts.clock ?? realClock;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter({ clock: this.clock });
    this.metrics = opts.metrics;
  }

  /** Keys waiting to be handed out (not counting in-flight or delayed ones). */
  len(): number {
    return this.queued.size;
  }

  /** Keys currently handed out and not yet done. */
  inFlight(): number {
    return this.processing.size;
  }

  /** Keys waiting for an addAfter deadline. */
  delayed(): number {
    return this.waiting.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Seconds the in-flight keys have been processing in total, and the longest (for the stuck-worker metrics). */
  processingAges(): { total: number; longest: number } {
    const now = this.clock.now();
    let total = 0;
    let longest = 0;
    for (const start of this.processing.values()) {
      const age = (now - start) / 1000;
      total += age;
      longest = Math.max(longest, age);
    }
    return { total, longest };
  }

  add(key: string, priority: number = Priority.normal): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) {
      const waiting = this.queued.get(key);
      if (waiting && priority > waiting.priority) this.enqueue(key, priority);
      else if (!waiting && this.processing.has(key)) this.raiseRequeue(key, priority);
      return;
    }
    this.metrics?.add();
    this.dirty.add(key);
    if (!this.queuedAt.has(key)) this.queuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return this.raiseRequeue(key, priority); // queued again by done()
    this.push(key, priority);
  }

  private raiseRequeue(key: string, priority: number): void {
    this.requeuePriority.set(key, Math.max(priority, this.requeuePriority.get(key) ?? -Infinity));
  }

  private push(key: string, priority: number): void {
    const getter = this.getters.shift();
    if (getter) {
      this.handOut(key, getter);
      return;
    }
    this.enqueue(key, priority);
  }

  /** Puts `key` in the lane of `priority`; an entry it had in a lower lane becomes stale (skipped by get()). */
  private enqueue(key: string, priority: number): void {
    let lane = this.lanes.find((l) => l.priority === priority);
    if (!lane) {
      lane = { priority, entries: [], head: 0 };
      this.lanes.push(lane);
      this.lanes.sort((a, b) => b.priority - a.priority);
    }
    const seq = ++this.seq;
    lane.entries.push({ key, seq });
    this.queued.set(key, { priority, seq });
    this.metrics?.depth(this.len());
  }

  /** The next live key of the highest non-empty lane, removed from the queue. */
  private pop(): string | undefined {
    for (const lane of this.lanes) {
      while (lane.head < lane.entries.length) {
        const { key, seq } = lane.entries[lane.head++]!;
        if (lane.head > 1024 && lane.head * 2 > lane.entries.length) {
          lane.entries = lane.entries.slice(lane.head);
          lane.head = 0;
        }
        if (this.queued.get(key)?.seq !== seq) continue; // stale: the key moved up to another lane
        this.queued.delete(key);
        return key;
      }
    }
    return undefined;
  }

  private handOut(key: string, deliver: (item: QueueItem) => void): void {
    const now = this.clock.now();
    this.dirty.delete(key);
    this.processing.set(key, now);
    const since = this.queuedAt.get(key);
    this.queuedAt.delete(key);
    if (since !== undefined) this.metrics?.queueDuration((now - since) / 1000);
    deliver({ key, shutdown: false });
  }

  /** Resolves with the next key (the caller must call done(key)), or `{ shutdown: true }` once shut down. */
  get(): Promise<QueueItem> {
    if (this.shuttingDown) return Promise.resolve({ key: "", shutdown: true });
    const key = this.pop();
    if (key !== undefined) {
      this.metrics?.depth(this.len());
      return new Promise((resolve) => this.handOut(key, resolve));
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks `key` finished; if it was added while in flight, it is queued again now. */
  done(key: string): void {
    const start = this.processing.get(key);
    if (start === undefined) return;
    this.processing.delete(key);
    this.metrics?.workDuration((this.clock.now() - start) / 1000);
    const priority = this.requeuePriority.get(key) ?? Priority.normal;
    this.requeuePriority.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key, priority);
    if (this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Adds `key` after `ms`; a key already waiting keeps the earlier of the two deadlines. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing) {
      if (existing.at <= at) return;
      this.clock.clearTimeout(existing.timer);
    }
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** Adds `key` after the rate limiter's delay (per-item backoff combined with the overall bucket). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.retry();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the backoff history of `key` (call after it was processed successfully). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Stops the queue: no more adds, delayed keys dropped, waiting get() calls resolve with shutdown. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) this.clock.clearTimeout(timer);
    this.waiting.clear();
    this.lanes = [];
    this.queued.clear();
    this.requeuePriority.clear();
    this.dirty.clear();
    this.queuedAt.clear();
    this.metrics?.depth(0);
    for (const g of this.getters.splice(0)) g({ key: "", shutdown: true });
  }

  /**
   * Shuts down, then waits until every in-flight key is done or `deadlineMs` passes.
   * Resolves true when drained, false when the deadline came first.
   */
  shutDownWithDrain(deadlineMs: number): Promise<boolean> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== onIdle);
        resolve(false);
      }, deadlineMs);
      const onIdle = () => {
        this.clock.clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(onIdle);
    });
  }
}
