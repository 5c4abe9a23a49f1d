// Dedup and the rate limit: pure, with a fake clock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Throttle } from "../../../src/notify/throttle.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { event } from "./fixtures.js";

void describe("Throttle", () => {
  const limits = { dedupWindowMs: 300_000, events: 3, intervalMs: 60_000 };
  void it("sends the same event once per window, and again after it", () => {
    const clock = new FakeClock();
    const t = new Throttle(clock);
    assert.equal(t.admit("demo/a", event(), limits), "send");
    assert.equal(t.admit("demo/a", event({ id: "2", time: "later" }), limits), "duplicate", "a new Event with the same facts is the same event");
    assert.equal(t.admit("demo/b", event(), limits), "send", "another Alert has its own window");
    assert.equal(t.admit("demo/a", event({ message: "other" }), limits), "send");
    assert.equal(t.admit("demo/a", event({ revision: "main@sha1:" + "f".repeat(40) }), limits), "send");
    clock.advance(300_000);
    assert.equal(t.admit("demo/a", event(), { ...limits, events: 100 }), "send");
  });

  void it("rate limits per Alert: at most `events` per interval, refilled over it", () => {
    const clock = new FakeClock();
    const t = new Throttle(clock);
    const verdicts = [0, 1, 2, 3, 4].map((i) => t.admit("demo/a", event({ message: `m${i}` }), limits));
    assert.deepEqual(verdicts, ["send", "send", "send", "rateLimited", "rateLimited"]);
    assert.equal(t.admit("demo/b", event({ message: "m9" }), limits), "send");
    clock.advance(20_000); // one token back (3 per minute)
    assert.equal(t.admit("demo/a", event({ message: "m5" }), limits), "send");
    assert.equal(t.admit("demo/a", event({ message: "m6" }), limits), "rateLimited");
    // A rate-limited event was not counted as sent: it is not a duplicate later.
    clock.advance(60_000);
    assert.equal(t.admit("demo/a", event({ message: "m4" }), limits), "send");
  });
});
