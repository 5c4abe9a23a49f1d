import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LabelSelector } from "../../../src/runtime/labels.js";

describe("label selectors", () => {
  it("parses and matches the API server's syntax", () => {
    const s = LabelSelector.parse("a=1, b!=2, c notin (x, y), d, !e, f==3");
    assert.equal(s.matches({ a: "1", d: "", f: "3" }), true);
    assert.equal(s.matches({ a: "1", d: "", f: "3", b: "2" }), false);
    assert.equal(s.matches({ a: "1", d: "", f: "3", c: "x" }), false);
    assert.equal(s.matches({ a: "1", f: "3" }), false);
    assert.equal(s.matches({ a: "1", d: "", f: "3", e: "1" }), false);
    assert.equal(LabelSelector.parse("").matches({}), true);
    assert.throws(() => LabelSelector.parse("a=(b"), /invalid label selector/);
    assert.equal(LabelSelector.fromObject({ matchLabels: { a: "1" }, matchExpressions: [{ key: "b", operator: "In", values: ["x"] }] }).toString(), "a=1,b in (x)");
  });
});
