// Rate limiters with client-go's semantics. `when(item)` says how long to wait before the item may be processed;
// each call counts as one more failure for per-item limiters, and `forget` resets the item after a success.
import { type Clock, realClock, sleep } from "./clock.js";

export interface RateLimiter {
  /** Delay in ms before `item` may be retried; counts one more retry. */
  when(item: string): number;
  /** Clears the retry history of `item` (call after it succeeded). */
  forget(item: string): void;
  /** Retries counted for `item` since it was last forgotten. */
  numRequeues(item: string): number;
}

/** Exponential per-item backoff: base·2^failures, capped at max (client-go: 5 ms → 1000 s). */
export class ExponentialFailureRateLimiter implements RateLimiter {
  private failures = new Map<string, number>();
  constructor(
    readonly baseMs = 5,
    readonly maxMs = 1_000_000,
  ) {
    if (baseMs <= 0 || maxMs < baseMs) throw new Error(`exponential backoff needs 0 < base (${baseMs}) <= max (${maxMs})`);
  }
  when(item: string): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity long before it matters; min() caps it.
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }
  forget(item: string): void {
    this.failures.delete(item);
  }
  numRequeues(item: string): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * A token bucket: `burst` tokens, refilled at `qps` per second. `reserve()` takes a token now, or reserves the
 * next one and returns how long to wait for it (like golang.org/x/time/rate's Reserve).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly clock: Clock = realClock,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`a token bucket needs qps > 0 and burst >= 1 (got qps=${qps}, burst=${burst})`);
    this.tokens = burst;
    this.last = clock.now();
  }
  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }
  /** Takes a token and returns the delay (ms) until it is actually available (0 when one was in the bucket). */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
  /** Takes a token if one is available now. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
  /** Waits for a token (the client-side QPS limit). */
  async take(signal?: AbortSignal): Promise<void> {
    const delay = this.reserve();
    if (delay > 0) await sleep(this.clock, delay, signal);
  }
}

/** An overall limit shared by all items (client-go BucketRateLimiter: 10 qps, burst 100). */
export class BucketRateLimiter implements RateLimiter {
  private readonly bucket: TokenBucket;
  constructor(qps = 10, burst = 100, clock: Clock = realClock) {
    this.bucket = new TokenBucket(qps, burst, clock);
  }
  when(): number {
    return this.bucket.reserve();
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
}

/** The longest delay of several limiters (each still counts the retry). */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }
  when(item: string): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }
  forget(item: string): void {
    for (const l of this.limiters) l.forget(item);
  }
  numRequeues(item: string): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

export interface DefaultRateLimiterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
  clock?: Clock;
}

/** client-go's DefaultControllerRateLimiter: max(per-item 5 ms→1000 s, overall 10 qps burst 100). */
export function defaultControllerRateLimiter(o: DefaultRateLimiterOptions = {}): RateLimiter {
  return new MaxOfRateLimiter(
    new ExponentialFailureRateLimiter(o.baseDelayMs ?? 5, o.maxDelayMs ?? 1_000_000),
    new BucketRateLimiter(o.qps ?? 10, o.burst ?? 100, o.clock ?? realClock),
  );
}
