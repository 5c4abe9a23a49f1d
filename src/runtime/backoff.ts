// Jittered exponential backoff for reconnecting watches and lists (client-go's reflector: 800 ms doubling to 30 s,
// reset after 2 minutes without failures). Jitter spreads reconnects of many processes after an API server restart.
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
