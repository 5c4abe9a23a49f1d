// Sizes in messages are written as their flag or Helm value is (src/units.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatSize } from "../../src/units.js";

describe("formatSize", () => {
  it("uses the largest binary unit, one decimal (rounded down) when not whole, bytes below 1Ki", () => {
    assert.equal(formatSize(512 * 1024 ** 2), "512Mi");
    assert.equal(formatSize(1024 ** 3), "1Gi");
    assert.equal(formatSize(1536), "1.5Ki");
    assert.equal(formatSize(1024 + 1023), "1.9Ki");
    assert.equal(formatSize(1023), "1023 bytes");
    assert.equal(formatSize(0), "0 bytes");
  });
});
