// An event recorder writing events.k8s.io/v1 Events. A hot loop cannot flood the API:
//  - the same event (object, type, reason, action, note) within the series window becomes one Event whose
//    series.count is updated at most every flushIntervalMs;
//  - new distinct events are limited per object by a token bucket (burst 25, one more every 5 minutes, like client-go).
// Writes happen in the background, each promise is tracked, and flush() awaits them; failures are logged, never thrown
// into the reconciler (events are best effort by design).
import { randomBytes } from "node:crypto";
import { type Logger, log } from "../log.js";
import type { Client } from "./client.js";
import { type Clock, type TimerHandle, realClock } from "./clock.js";
import { type KubeObject, Kinds, apiVersionOf } from "./kinds.js";
import { microTime } from "./leaderelection.js";
import { TokenBucket } from "./ratelimit.js";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  reportingController: string;
  reportingInstance?: string;
  seriesWindowMs?: number;
  flushIntervalMs?: number;
  burst?: number;
  refillPerSecond?: number;
  clock?: Clock;
  logger?: Logger;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  firstAt: number;
  lastAt: number;
  written: number;
  created: Promise<boolean>;
}

export class EventRecorder {
  private series = new Map<string, Series>();
  private buckets = new Map<string, TokenBucket>();
  private pending = new Set<Promise<unknown>>();
  private timer: TimerHandle | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly o: Required<Omit<EventRecorderOptions, "clock" | "logger">>;
  private calls = 0;
  /** Events dropped by the rate limit (for tests and debugging). */
  dropped = 0;

  constructor(
    private readonly client: Client,
    opts: EventRecorderOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? log()).child({ component: "events" });
    this.o = {
      reportingController: opts.reportingController,
      reportingInstance: opts.reportingInstance ?? `${opts.reportingController}-${process.env.HOSTNAME ?? "local"}`,
      seriesWindowMs: opts.seriesWindowMs ?? 6 * 60_000,
      flushIntervalMs: opts.flushIntervalMs ?? 30_000,
      burst: opts.burst ?? 25,
      refillPerSecond: opts.refillPerSecond ?? 1 / 300,
    };
  }

  /** Records an event about `regarding` (non-blocking). `action` is what was done (e.g. "Reconcile"), `note` is for humans. */
  event(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): void {
    if (++this.calls % 1000 === 0) this.prune();
    const m = regarding.metadata ?? {};
    const key = [m.uid ?? `${m.namespace}/${m.name}`, type, reason, action, note].join("\u0000");
    const now = this.clock.now();
    const s = this.series.get(key);
    if (s && now - s.lastAt < this.o.seriesWindowMs) {
      s.count++;
      s.lastAt = now;
      this.scheduleFlush();
      return;
    }
    const objKey = m.uid ?? `${m.namespace}/${m.name}`;
    let bucket = this.buckets.get(objKey);
    if (!bucket) this.buckets.set(objKey, (bucket = new TokenBucket(this.o.refillPerSecond, this.o.burst, this.clock)));
    if (!bucket.tryTake()) {
      this.dropped++;
      return;
    }
    const namespace = m.namespace || "default";
    const name = `${m.name}.${randomBytes(8).toString("hex")}`;
    const body = {
      apiVersion: apiVersionOf(Kinds.EventV1),
      kind: "Event",
      metadata: { name, namespace },
      eventTime: microTime(now),
      reportingController: this.o.reportingController,
      reportingInstance: this.o.reportingInstance,
      action,
      reason,
      note: note.length > 1024 ? note.slice(0, 1021) + "..." : note,
      type,
      regarding: { apiVersion: regarding.apiVersion, kind: regarding.kind, name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion },
    };
    const created = this.track(
      this.client.create(body).then(
        () => true,
        (err: Error) => {
          this.log.warn("could not record event", { reason, object: `${m.namespace ?? ""}/${m.name}`, error: err.message });
          return false;
        },
      ),
    );
    this.series.set(key, { name, namespace, count: 1, firstAt: now, lastAt: now, written: 1, created });
  }

  /** Forgets series past their window and per-object buckets, so a long-running process does not grow without bound. */
  private prune(): void {
    const now = this.clock.now();
    for (const [key, s] of this.series) if (s.count === s.written && now - s.lastAt >= this.o.seriesWindowMs) this.series.delete(key);
    // A bucket left alone for burst/refill seconds is full again: dropping it changes nothing but memory.
    if (this.buckets.size > 10_000) this.buckets.clear();
  }

  normal(regarding: KubeObject, reason: string, action: string, note: string): void {
    this.event(regarding, "Normal", reason, action, note);
  }

  warning(regarding: KubeObject, reason: string, action: string, note: string): void {
    this.event(regarding, "Warning", reason, action, note);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private scheduleFlush(): void {
    if (this.timer) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.writeSeries();
    }, this.o.flushIntervalMs);
  }

  private writeSeries(): void {
    const now = this.clock.now();
    for (const [key, s] of this.series) {
      if (s.count > s.written) {
        const count = s.count;
        const lastAt = s.lastAt;
        s.written = count;
        void this.track(
          s.created.then(async (ok) => {
            if (!ok) return;
            try {
              await this.client.patch({ apiVersion: apiVersionOf(Kinds.EventV1), kind: "Event", metadata: { name: s.name, namespace: s.namespace } }, { series: { count, lastObservedTime: microTime(lastAt) } }, "merge");
            } catch (err) {
              this.log.warn("could not update event series", { event: `${s.namespace}/${s.name}`, error: (err as Error).message });
            }
          }),
        );
      }
      if (now - s.lastAt >= this.o.seriesWindowMs) this.series.delete(key);
    }
  }

  /** Writes pending series updates and waits for every write in flight. */
  async flush(): Promise<void> {
    if (this.timer) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writeSeries();
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Cancels the flush timer (call after flush at shutdown). */
  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
