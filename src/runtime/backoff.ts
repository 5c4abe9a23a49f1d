// Jittered exponential backoff for reconnecting watches and lists (client-go's reflector: 800 ms doubling to 30 s,
// reset after 2 minutes without failures). Jitter spreads reconnects of many processes after an API server restart.
// PollingBackoff: the requeue of a reconciler that polls something outside (a source fetched every interval).
import { type Clock, realClock } from "./clock.js";

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Adds up to jitter·delay at random (1.0: up to twice the delay). */
  jitter?: number;
  /** A failure after this long without one starts again from initialMs. */
  resetAfterMs?: number;
  clock?: Clock;
  random?: () => number;
}

export class Backoff {
  private current: number;
  private lastFailure = -Infinity;
  private readonly o: Required<BackoffOptions>;

  constructor(opts: BackoffOptions = {}) {
    this.o = {
      initialMs: opts.initialMs ?? 800,
      maxMs: opts.maxMs ?? 30_000,
      factor: opts.factor ?? 2,
      jitter: opts.jitter ?? 1.0,
      resetAfterMs: opts.resetAfterMs ?? 120_000,
      clock: opts.clock ?? realClock,
      random: opts.random ?? Math.random,
    };
    this.current = this.o.initialMs;
  }

  /** The delay before the next attempt after a failure. */
  next(): number {
    const now = this.o.clock.now();
    if (now - this.lastFailure > this.o.resetAfterMs) this.current = this.o.initialMs;
    this.lastFailure = now;
    const base = this.current;
    this.current = Math.min(this.current * this.o.factor, this.o.maxMs);
    return base + base * this.o.jitter * this.o.random();
  }

  reset(): void {
    this.current = this.o.initialMs;
    this.lastFailure = -Infinity;
  }
}

/** `ms` plus up to `jitter`·`ms` at random (rounded), so objects created together do not poll together. */
export function jittered(ms: number, jitter = 0.1, random: () => number = Math.random): number {
  return Math.round(ms * (1 + jitter * random()));
}

export interface PollingBackoffOptions {
  /** First retry after a failure, doubled on each further consecutive failure up to the interval (default 5 s). */
  firstRetryMs?: number;
  /** Fraction of each delay added at random (default 0.1). */
  jitter?: number;
  random?: () => number;
}

/**
 * The requeue of a reconciler that polls every interval, per object key: the interval after a success; after a
 * retryable failure firstRetryMs, doubled per consecutive failure up to the interval — a network blip is retried in
 * seconds, a server that stays down is asked less and less often, never less than once per interval. Jittered.
 */
export class PollingBackoff {
  private readonly failures = new Map<string, number>();

  constructor(private readonly o: PollingBackoffOptions = {}) {}

  /** The delay after a success (or a failure no retry can fix): the interval; the failure count is reset. */
  success(key: string, intervalMs: number): number {
    this.failures.delete(key);
    return jittered(intervalMs, this.o.jitter, this.o.random);
  }

  /** The delay after a retryable failure. */
  failure(key: string, intervalMs: number): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return jittered(Math.min(intervalMs, (this.o.firstRetryMs ?? 5_000) * 2 ** Math.min(n - 1, 30)), this.o.jitter, this.o.random);
  }

  /** Drops the failure count of an object that is gone. */
  forget(key: string): void {
    this.failures.delete(key);
  }
}
