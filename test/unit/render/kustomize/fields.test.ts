// Typed readers of a kustomization's fields (src/render/kustomize/fields.ts): absent or null reads as empty, a wrong
// type is refused naming the field and the file.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bool, checkKeys, mapList, str, stringList, stringMap } from "../../../../src/render/kustomize/fields.js";

const F = "base/kustomization.yaml";

void describe("kustomization fields", () => {
  void it("read absent and null fields as empty", () => {
    for (const v of [undefined, null]) {
      assert.deepEqual([stringList(v, F, "a"), mapList(v, F, "a"), str(v, F, "a"), stringMap(v, F, "a"), bool(v, F, "a")], [[], [], "", {}, false]);
    }
  });

  void it("give the typed value", () => {
    assert.deepEqual(stringList(["a", "b"], F, "resources"), ["a", "b"]);
    assert.deepEqual(mapList([{ path: "p" }], F, "patches"), [{ path: "p" }]);
    assert.equal(str("x", F, "namespace"), "x");
    assert.deepEqual(stringMap({ a: "1" }, F, "commonLabels"), { a: "1" });
    assert.equal(bool(true, F, "b"), true);
    assert.deepEqual(stringMap({ n: 1, b: false, z: null }, F, "commonLabels", true), { n: "1", b: "false", z: "" }, "lenient: scalars as Kustomize writes them");
  });

  void it("refuse a wrong type naming the field and the file", () => {
    const named = (re: RegExp) => (e: unknown) => e instanceof Error && re.test(e.message) && e.message.startsWith(`${F}: `);
    assert.throws(() => stringList(["a", 1], F, "resources"), named(/"resources" must be a list of strings/));
    assert.throws(() => mapList(["x"], F, "patches"), named(/"patches" must be a list of maps/));
    assert.throws(() => str(1, F, "namespace"), named(/"namespace" must be a string/));
    assert.throws(() => stringMap([], F, "commonLabels"), named(/"commonLabels" must be a map/));
    assert.throws(() => stringMap({ n: 1 }, F, "commonLabels"), named(/"commonLabels\.n" must be a string; quote the value \(1\)/));
    assert.throws(() => bool("yes", F, "b"), named(/"b" must be true or false/));
    assert.throws(() => checkKeys({ order: "x", nope: 1 }, ["order"], F, "sortOptions"), named(/sortOptions: unknown field "nope" \(known: order\)/));
    checkKeys({ order: "x" }, ["order"], F, "sortOptions");
  });
});
