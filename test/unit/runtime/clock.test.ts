// Timers past Node's 2^31-1 ms limit (which Node fires after 1 ms) would turn a month-long requeue into a hot loop.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { realClock } from "../../../src/runtime/clock.js";

describe("realClock.setTimeout", () => {
  it("caps a delay beyond Node's timer limit instead of firing at once", async () => {
    let fired = false;
    const t = realClock.setTimeout(() => (fired = true), 30 * 86_400_000); // 30 days
    await new Promise((r) => setTimeout(r, 50));
    realClock.clearTimeout(t);
    assert.equal(fired, false);
  });
});
