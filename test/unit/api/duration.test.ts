import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatDuration, parseDuration, tryParseDuration } from "../../../src/api/duration.js";

void describe("durations", () => {
  void it("parses Go-style durations", () => {
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("5m"), 300_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("1.5h"), 5_400_000);
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("1m30s500ms"), 90_500);
  });

  void it("rejects what is not a duration, saying how to write one", () => {
    for (const bad of ["", "10", "1 m", "1d", "-5s", "5S", "m"]) {
      assert.throws(() => parseDuration(bad), /is not a duration: .*30s, 5m or 1h30m/, bad);
      assert.equal(tryParseDuration(bad), undefined, bad);
    }
    assert.equal(tryParseDuration(42), undefined);
  });

  void it("formats milliseconds as the shortest duration", () => {
    assert.equal(formatDuration(90_000), "1m30s");
    assert.equal(formatDuration(3_600_000), "1h");
    assert.equal(formatDuration(500), "500ms");
    assert.equal(formatDuration(0), "0s");
    assert.equal(parseDuration(formatDuration(5_400_250)), 5_400_250);
    assert.throws(() => formatDuration(-1), /non-negative/);
  });
});
