// The sharing of one scalar node between fields, as Kustomize's SetEntry does (src/render/kustomize/shared.ts), in
// isolation: a write in place reaches every live location of the cell, a location written around the cell leaves it,
// non-scalars are never shared, and carryShared moves registrations to a copy. (The behaviour against
// `kubectl kustomize` is in shared-values.test.ts.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JsonMap } from "../../../../src/render/objects.js";
import { carryShared, newCell, share, writeInPlace, writeShared } from "../../../../src/render/kustomize/shared.js";

function three(): { a: JsonMap; b: JsonMap; c: JsonMap } {
  const cell = newCell("web");
  const a: JsonMap = {};
  const b: JsonMap = { other: "x" };
  const c: JsonMap = {};
  for (const m of [a, b, c]) share(m, "app", cell);
  return { a, b, c };
}

void describe("kustomize shared values", () => {
  void it("share puts the cell's value in each field; a write in place reaches them all", () => {
    const { a, b, c } = three();
    assert.deepEqual([a.app, b.app, c.app], ["web", "web", "web"]);
    writeInPlace(b, "app", "api");
    assert.deepEqual([a.app, b.app, c.app], ["api", "api", "api"]);
    writeInPlace(c, "app", "db");
    assert.deepEqual([a.app, b.app, c.app], ["db", "db", "db"], "the cell keeps the new value: later writes still reach all");
  });

  void it("a field not shared is written alone; writeShared says false and does nothing", () => {
    const { a, b } = three();
    assert.equal(writeShared(b, "other", "y"), false);
    assert.equal(b.other, "x");
    writeInPlace(b, "other", "y");
    assert.equal(b.other, "y");
    assert.equal(a.app, "web");
  });

  void it("a location written around the cell leaves it, and stays out after a later shared write", () => {
    const { a, b, c } = three();
    b.app = "manual"; // a write that bypassed the cell (a JSON 6902 patch rebuilds the object)
    writeInPlace(a, "app", "api");
    assert.deepEqual([a.app, b.app, c.app], ["api", "manual", "api"]);
    assert.equal(writeShared(b, "app", "z"), false, "b's field no longer belongs to the cell");
    writeInPlace(b, "app", "z");
    assert.deepEqual([a.app, b.app, c.app], ["api", "z", "api"]);
    writeInPlace(c, "app", "w");
    assert.deepEqual([a.app, b.app, c.app], ["w", "z", "w"]);
  });

  void it("only scalars are written through the cell", () => {
    const { a, b } = three();
    assert.equal(writeShared(a, "app", { nested: 1 }), false);
    assert.equal(writeShared(a, "app", null), false);
    writeInPlace(a, "app", ["list"]);
    assert.deepEqual([a.app, b.app], [["list"], "web"]);
    assert.equal(writeShared(a, "app", 3), false, "a detached location stays detached");
  });

  void it("carryShared moves the registrations of unchanged keys to the copy that replaces a map", () => {
    const { a, b } = three();
    const extra = newCell("v1");
    share(a, "version", extra);
    const copy: JsonMap = { ...a, version: "v2" }; // the copy keeps app's value, not version's
    carryShared(a, copy);
    writeInPlace(b, "app", "api");
    assert.deepEqual([copy.app, b.app], ["api", "api"], "the copy shares app");
    assert.equal(a.app, "web", "the replaced map is no longer registered");
    assert.equal(writeShared(copy, "version", "v3"), false, "a key whose value changed in the copy is not carried");
    carryShared(copy, copy);
    assert.equal(writeShared(copy, "app", "x"), true, "carrying onto itself keeps it");
  });
});
