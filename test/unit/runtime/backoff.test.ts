import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Backoff, PollingBackoff, jittered } from "../../../src/runtime/backoff.js";
import { FakeClock } from "../../../src/runtime/clock.js";

describe("backoff", () => {
  it("jittered backoff doubles to its cap and resets after a quiet period", () => {
    const clock = new FakeClock();
    const b = new Backoff({ initialMs: 800, maxMs: 30_000, jitter: 1, clock, random: () => 0.5 });
    const d = Array.from({ length: 8 }, () => b.next());
    assert.deepEqual(d, [1200, 2400, 4800, 9600, 19200, 38400, 45000, 45000]);
    clock.advance(120_001);
    assert.equal(b.next(), 1200);
  });

  it("PollingBackoff: the jittered interval after a success; after failures from firstRetryMs, doubled up to the interval", () => {
    const b = new PollingBackoff({ firstRetryMs: 1_000, jitter: 0.1, random: () => 0.5 });
    assert.equal(b.success("ns/a", 60_000), 63_000);
    assert.deepEqual(Array.from({ length: 8 }, () => b.failure("ns/a", 60_000)), [1_050, 2_100, 4_200, 8_400, 16_800, 33_600, 63_000, 63_000]);
    assert.equal(b.failure("ns/b", 60_000), 1_050, "counted per key");
    assert.equal(b.success("ns/a", 60_000), 63_000);
    assert.equal(b.failure("ns/a", 60_000), 1_050, "a success resets the count");
    b.failure("ns/a", 60_000);
    b.forget("ns/a");
    assert.equal(b.failure("ns/a", 60_000), 1_050, "forget() resets it too");
    assert.equal(jittered(1_000, 0.1, () => 0), 1_000);
    assert.equal(jittered(1_000, 0.1, () => 0.999), 1_100);
  });
});

describe("documented defaults", () => {
  it("reflector backoff defaults to 800 ms doubling to 30 s", () => {
    const b = new Backoff({ clock: new FakeClock(), random: () => 0 });
    const d = Array.from({ length: 8 }, () => b.next());
    assert.deepEqual(d, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  });
});
