// Splitting on a separator outside brackets (src/split.ts), as label selectors and Kustomize field paths need.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { splitOutside } from "../../src/split.js";

describe("splitOutside", () => {
  it("splits only where the separator stands outside the brackets, nesting counted, parts untrimmed", () => {
    assert.deepEqual(splitOutside("a in (x,y),b", ",", "(", ")"), ["a in (x,y)", "b"]);
    assert.deepEqual(splitOutside("a/[b/[c/d]]/e", "/", "[", "]"), ["a", "[b/[c/d]]", "e"]);
    assert.deepEqual(splitOutside(" a , b ", ",", "(", ")"), [" a ", " b "]);
    assert.deepEqual(splitOutside("", ",", "(", ")"), [""]);
    assert.deepEqual(splitOutside("a,", ",", "(", ")"), ["a", ""]);
  });
});
