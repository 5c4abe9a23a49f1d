import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/runtime/clock.js";
import { BucketRateLimiter, ExponentialFailureRateLimiter, MaxOfRateLimiter, TokenBucket, defaultControllerRateLimiter } from "../../../src/runtime/ratelimit.js";
import { Priority, WorkQueue } from "../../../src/runtime/workqueue.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("WorkQueue", () => {
  it("holds a waiting key once however often it is added", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add("a");
    q.add("b");
    q.add("a");
    q.add("a");
    assert.equal(q.len(), 2);
    assert.equal((await q.get()).key, "a");
    assert.equal((await q.get()).key, "b");
    assert.equal(q.len(), 0);
  });

  it("hands out a higher priority first, the same priority first in first out, and moves a waiting key up, never down", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add("low-1", Priority.low);
    q.add("normal-1");
    q.add("low-2", Priority.low);
    q.add("normal-2", Priority.normal);
    q.add("low-3", Priority.low);
    q.add("low-3", Priority.high); // moved up: handed out first, once
    q.add("normal-1", Priority.low); // never moved down
    assert.equal(q.len(), 5, "a promoted key is counted once");
    const order: string[] = [];
    while (q.len() > 0) {
      const { key } = await q.get();
      order.push(key);
      q.done(key);
    }
    assert.deepEqual(order, ["low-3", "normal-1", "normal-2", "low-1", "low-2"]);
    assert.equal(q.len(), 0);
  });

  it("queues a key added while in flight again with the highest priority it was added with", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add("a");
    const first = await q.get();
    q.add("a", Priority.low);
    q.add("a", Priority.high);
    q.add("b");
    q.done(first.key);
    assert.equal((await q.get()).key, "a", "re-queued at high, ahead of b at normal");
    q.done("a");
    q.add("a", Priority.low);
    assert.equal((await q.get()).key, "b");
    assert.equal((await q.get()).key, "a");
  });

  it("never hands out a key that is being processed; re-added while processing means once more afterwards", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add("a");
    const first = await q.get();
    assert.equal(first.key, "a");
    q.add("a");
    q.add("a");
    assert.equal(q.len(), 0, "a key in flight is not queued again");
    let second: string | undefined;
    void q.get().then((i) => (second = i.key));
    await tick();
    assert.equal(second, undefined, "a second worker does not get the in-flight key");
    q.done("a");
    await tick();
    assert.equal(second, "a", "processed once more after done()");
    q.done("a");
    assert.equal(q.len(), 0);
    assert.equal(q.inFlight(), 0);
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const p = q.get();
    q.add("x");
    assert.deepEqual(await p, { key: "x", shutdown: false });
  });

  it("addAfter delivers at the deadline and keeps the earliest of two deadlines", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter("a", 1000);
    q.addAfter("a", 500);
    q.addAfter("a", 2000);
    assert.equal(q.delayed(), 1);
    clock.advance(499);
    assert.equal(q.len(), 0);
    clock.advance(1);
    assert.equal(q.len(), 1);
    clock.advance(5000);
    assert.equal(q.len(), 1, "the later deadlines were dropped");
  });

  it("backs off per item 5ms, 10ms, 20ms... and forget resets it", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, rateLimiter: new ExponentialFailureRateLimiter() });
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      q.addRateLimited("a");
      const before = clock.now();
      for (let guard = 0; q.len() === 0 && guard < 10_000; guard++) clock.advance(1);
      seen.push(clock.now() - before);
      q.done((await q.get()).key);
    }
    assert.deepEqual(seen, [5, 10, 20, 40, 80]);
    assert.equal(q.numRequeues("a"), 5);
    q.forget("a");
    assert.equal(q.numRequeues("a"), 0);
  });

  it("shutDown resolves waiting workers and refuses new keys", async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const p = q.get();
    q.shutDown();
    assert.deepEqual(await p, { key: "", shutdown: true });
    q.add("a");
    assert.equal(q.len(), 0);
    assert.equal((await q.get()).shutdown, true);
  });

  it("shutDownWithDrain waits for in-flight work, and gives up at the deadline", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.add("a");
    q.add("b");
    await q.get();
    let drained: boolean | undefined;
    void q.shutDownWithDrain(10_000).then((d) => (drained = d));
    await tick();
    assert.equal(drained, undefined);
    q.done("a");
    await tick();
    assert.equal(drained, true);

    const q2 = new WorkQueue({ clock });
    q2.add("a");
    await q2.get();
    let drained2: boolean | undefined;
    void q2.shutDownWithDrain(1000).then((d) => (drained2 = d));
    clock.advance(1000);
    await tick();
    assert.equal(drained2, false);
  });

  it("reports in-flight ages for the stuck-worker metrics", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.add("a");
    await q.get();
    clock.advance(2000);
    q.add("b");
    await q.get();
    clock.advance(1000);
    assert.deepEqual(q.processingAges(), { total: 4, longest: 3 });
  });
});

describe("rate limiters", () => {
  it("exponential backoff doubles from the base and caps at the maximum (defaults 5ms..1000s)", () => {
    const l = new ExponentialFailureRateLimiter();
    const delays = Array.from({ length: 30 }, () => l.when("k"));
    assert.equal(delays[0], 5);
    assert.equal(delays[1], 10);
    assert.equal(delays[17], 5 * 2 ** 17);
    assert.equal(delays[29], 1_000_000);
    assert.equal(l.when("other"), 5, "items back off independently");
  });

  it("the token bucket lets a burst through then spaces requests at 1/qps", () => {
    const clock = new FakeClock();
    const b = new TokenBucket(10, 3, clock);
    assert.deepEqual([b.reserve(), b.reserve(), b.reserve()], [0, 0, 0]);
    assert.equal(Math.round(b.reserve()), 100);
    assert.equal(Math.round(b.reserve()), 200);
    clock.advance(1000);
    // 10 tokens refilled, capped at burst 3, minus the 2 reserved ahead
    assert.equal(b.reserve(), 0);
  });

  it("the default controller limiter is the max of per-item backoff and the overall bucket (10 qps, burst 100)", () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter({ clock });
    const first = Array.from({ length: 100 }, (_, i) => l.when(`k${i}`));
    assert.ok(first.every((d) => d === 5), "within the burst, per-item backoff decides");
    assert.equal(Math.round(l.when("k100")), 100, "past the burst, the bucket decides");
    const m = new MaxOfRateLimiter(new ExponentialFailureRateLimiter(1, 1000), new BucketRateLimiter(1, 1, clock));
    m.when("a");
    assert.equal(m.numRequeues("a"), 1);
    m.forget("a");
    assert.equal(m.numRequeues("a"), 0);
  });

  it("TokenBucket.take waits for a token on the clock", async () => {
    const clock = new FakeClock();
    const b = new TokenBucket(1, 1, clock);
    await b.take();
    let done = false;
    void b.take().then(() => (done = true));
    await tick();
    assert.equal(done, false);
    clock.advance(1000);
    await tick();
    assert.equal(done, true);
  });
});
