import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitFor } from "../../support/wait.js";

describe("waitFor", () => {
  it("returns the first truthy value", async () => {
    let n = 0;
    assert.equal(await waitFor("n to reach 3", () => (++n >= 3 ? n : undefined), { intervalMs: 1 }), 3);
  });

  it("fails with what it waited for and the last error seen", async () => {
    await assert.rejects(
      waitFor("the moon", () => { throw new Error("not yet risen"); }, { timeoutMs: 30, intervalMs: 5 }),
      /timed out after 0\.0s waiting for the moon; last seen: error: not yet risen/,
    );
  });
});
