// The render's limits (src/render/limits.ts): the defaults, overridden one by one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LIMITS, resolveLimits } from "../../../src/render/limits.js";

describe("render limits", () => {
  it("default to the documented values and take any override", () => {
    assert.deepEqual(resolveLimits(), DEFAULT_LIMITS);
    assert.equal(DEFAULT_LIMITS.maxObjectBytes, 1_500_000);
    assert.equal(DEFAULT_LIMITS.maxOutputBytes, 128 * 1024 * 1024);
    assert.deepEqual(resolveLimits({ maxObjects: 5 }), { ...DEFAULT_LIMITS, maxObjects: 5 });
    assert.ok(Object.isFrozen(DEFAULT_LIMITS));
    assert.notEqual(resolveLimits(), DEFAULT_LIMITS, "a copy the caller may change");
  });
});
