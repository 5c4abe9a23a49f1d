import { describe, it } from "node:test";
import assert from "node:assert/strict";

describe("documented defaults", () => {
  it("leader election defaults to 15 s / 10 s / 2 s and refuses inconsistent durations", async () => {
    const { LeaderElector } = await import("../../../src/runtime/leaderelection.js");
    const le = new LeaderElector({} as never, { namespace: "ns", name: "lease", identity: "me" });
    const fields = le as unknown as { leaseDuration: number; renewDeadline: number; retryPeriod: number };
    assert.deepEqual([fields.leaseDuration, fields.renewDeadline, fields.retryPeriod], [15_000, 10_000, 2_000]);
    assert.throws(() => new LeaderElector({} as never, { namespace: "ns", name: "l", leaseDurationMs: 5000, renewDeadlineMs: 6000 }), /leaseDuration > renewDeadline/);
  });
});
