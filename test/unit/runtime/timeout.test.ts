// timeoutSignal() must fire inside AbortSignal.any() even when a garbage collection runs first: Node's own
// AbortSignal.timeout() does not (nodejs/node#57736), which left a reconcile waiting forever for a watch cache.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { timeoutSignal } from "../../../src/runtime/timeout.js";
import { collectGarbage } from "../../support/gc.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("timeoutSignal", () => {
  it("fires inside AbortSignal.any() after garbage collections, with a TimeoutError reason", async () => {
    const parent = new AbortController();
    const composites = Array.from({ length: 20 }, () => AbortSignal.any([parent.signal, timeoutSignal(200)]));
    const fired: unknown[] = [];
    for (const s of composites) s.addEventListener("abort", () => fired.push(s.reason), { once: true });
    for (let i = 0; i < 5; i++) {
      await sleep(10);
      collectGarbage();
    }
    await sleep(600);
    assert.equal(fired.length, 20, "every bounded wait ends");
    assert.ok(fired.every((r) => r instanceof DOMException && r.name === "TimeoutError"), "the reason says it timed out");
  });

  it("leaves the parent's abort to win when it comes first, and keeps no process alive", async () => {
    const parent = new AbortController();
    const s = AbortSignal.any([parent.signal, timeoutSignal(60_000)]);
    parent.abort(new Error("stopping"));
    assert.equal(s.aborted, true);
    assert.equal((s.reason as Error).message, "stopping");
    // The 60 s timer is unref'd: this test file ends without waiting for it (node:test would otherwise hang here).
  });
});
