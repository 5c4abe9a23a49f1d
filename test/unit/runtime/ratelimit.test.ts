// The work queue's rate limiters (src/runtime/ratelimit.ts) with client-go's semantics, on a fake clock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock } from "../../../src/runtime/clock.js";
import { BucketRateLimiter, ExponentialFailureRateLimiter, MaxOfRateLimiter, TokenBucket, defaultControllerRateLimiter } from "../../../src/runtime/ratelimit.js";

describe("rate limiters", () => {
  it("per item: base·2^failures up to the cap, counted per item, reset by forget", () => {
    const r = new ExponentialFailureRateLimiter(5, 40);
    assert.deepEqual(Array.from({ length: 5 }, () => r.when("a")), [5, 10, 20, 40, 40]);
    assert.equal(r.when("b"), 5);
    assert.equal(r.numRequeues("a"), 5);
    r.forget("a");
    assert.deepEqual([r.numRequeues("a"), r.when("a")], [0, 5]);
    assert.throws(() => new ExponentialFailureRateLimiter(0, 10), /0 < base/);
    assert.throws(() => new ExponentialFailureRateLimiter(10, 5), /<= max/);
  });

  it("a token bucket gives its burst at once, then one token per 1/qps s, refilled as time passes", () => {
    const clock = new FakeClock();
    const b = new TokenBucket(10, 2, clock);
    assert.deepEqual([b.reserve(), b.reserve(), b.reserve(), b.reserve()], [0, 0, 100, 200]);
    assert.equal(b.tryTake(), false);
    clock.advance(1_000);
    assert.equal(b.tryTake(), true, "refilled (never past the burst)");
    assert.throws(() => new TokenBucket(0, 1), /qps > 0/);
    assert.throws(() => new TokenBucket(1, 0), /burst >= 1/);
  });

  it("the overall bucket counts no retries; the max-of takes the longest delay and the most retries", () => {
    const clock = new FakeClock();
    const bucket = new BucketRateLimiter(1, 1, clock);
    assert.deepEqual([bucket.when(), bucket.when(), bucket.numRequeues()], [0, 1_000, 0]);
    const m = new MaxOfRateLimiter(new ExponentialFailureRateLimiter(5, 1_000), new BucketRateLimiter(1, 1, clock));
    assert.deepEqual([m.when("a"), m.when("a"), m.numRequeues("a")], [5, 1_000, 2]);
    m.forget("a");
    assert.equal(m.numRequeues("a"), 0);
  });

  it("the default is client-go's: 5 ms doubling per item, and 10 qps with a burst of 100 overall", () => {
    const r = defaultControllerRateLimiter({ clock: new FakeClock() });
    assert.deepEqual([r.when("a"), r.when("a"), r.when("a")], [5, 10, 20]);
    for (let i = 0; i < 97; i++) r.when(`x${i}`);
    assert.equal(r.when("y"), 100, "the 101st request waits for the bucket");
  });
});
