// Deduplication and rate limiting, per Alert, in memory: the same event (kind, object, revision, message) is sent once
// per dedup window, and at most `events` per `interval` are sent at all. Both are pure over a clock, so unit tests
// drive them with a fake one.
import { createHash } from "node:crypto";
import type { Clock } from "../runtime/clock.js";
import { TokenBucket } from "../runtime/ratelimit.js";
import type { NotificationEvent } from "./events.js";

/** What makes two events "the same": not the time, not the Kubernetes Event. */
export function dedupKey(alertKey: string, e: NotificationEvent): string {
  return createHash("sha256").update([alertKey, e.kind, e.object.kind, e.object.namespace, e.object.name, e.revision ?? "", e.message].join("\u0000")).digest("hex");
}

export type Verdict = "send" | "duplicate" | "rateLimited";

interface Limits {
  dedupWindowMs: number;
  events: number;
  intervalMs: number;
}

export class Throttle {
  private seen = new Map<string, number>();
  private buckets = new Map<string, { bucket: TokenBucket; events: number; intervalMs: number }>();
  private checks = 0;

  constructor(private readonly clock: Clock) {}

  /** Whether the Alert `alertKey` should send `e` now; a "send" is counted against the window and the rate. */
  admit(alertKey: string, e: NotificationEvent, limits: Limits): Verdict {
    const now = this.clock.now();
    if (++this.checks % 500 === 0) this.prune(now);
    const key = dedupKey(alertKey, e);
    const last = this.seen.get(key);
    if (last !== undefined && now - last < limits.dedupWindowMs) return "duplicate";
    if (!this.bucketFor(alertKey, limits).tryTake()) return "rateLimited";
    this.seen.set(key, now);
    return "send";
  }

  /** Forgets an Alert (deleted): its window and its bucket. */
  forget(alertKey: string): void {
    this.buckets.delete(alertKey);
  }

  private bucketFor(alertKey: string, l: Limits): TokenBucket {
    const b = this.buckets.get(alertKey);
    if (b && b.events === l.events && b.intervalMs === l.intervalMs) return b.bucket;
    const bucket = new TokenBucket(l.events / (l.intervalMs / 1000), l.events, this.clock);
    this.buckets.set(alertKey, { bucket, events: l.events, intervalMs: l.intervalMs });
    return bucket;
  }

  /** Drops dedup entries older than a day (the longest window), so memory stays bounded. */
  private prune(now: number): void {
    for (const [k, at] of this.seen) if (now - at >= 24 * 3_600_000) this.seen.delete(k);
  }
}
