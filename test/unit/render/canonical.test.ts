// The canonical form of a render (src/render/canonical.ts): equal objects give byte-identical output and one digest.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { artifactBytes, cacheKey, canonicalJson, compareStrings, digestObjects, serialize, sha256Hex, sortKeys } from "../../../src/render/canonical.js";

const cm = { kind: "ConfigMap", apiVersion: "v1", metadata: { name: "a", labels: { z: "1", a: "2" } }, data: { b: "2", a: "1" } };

describe("canonical form", () => {
  it("sorts map keys at every depth in code-point order, keeps array order, drops undefined", () => {
    assert.equal(JSON.stringify(sortKeys({ b: 1, a: [{ d: 1, c: 2 }], e: undefined, B: 0 })), '{"B":0,"a":[{"c":2,"d":1}],"b":1}');
    assert.equal(canonicalJson({ y: 1, x: { b: 2, a: 1 } }), '{"x":{"a":1,"b":2},"y":1}');
    assert.deepEqual(["b", "B", "a"].sort(compareStrings), ["B", "a", "b"]);
  });

  it("digests exactly the artifact's bytes, whatever the key order", () => {
    const other = { metadata: { labels: { a: "2", z: "1" }, name: "a" }, data: { a: "1", b: "2" }, apiVersion: "v1", kind: "ConfigMap" };
    assert.equal(digestObjects([cm, cm]), `sha256:${createHash("sha256").update(artifactBytes([cm, cm])).digest("hex")}`);
    assert.equal(digestObjects([cm]), digestObjects([other]));
    assert.notEqual(digestObjects([cm, other]), digestObjects([cm]));
    assert.equal(digestObjects([]), `sha256:${sha256Hex("[]")}`);
  });

  it("serialises YAML as sorted documents and JSON as a sorted, indented array", () => {
    assert.equal(serialize([{ b: 1, a: 2 }, { c: 3 }]), "---\na: 2\nb: 1\n---\nc: 3\n");
    assert.equal(serialize([{ b: 1, a: 2 }], "json"), '[\n  {\n    "a": 2,\n    "b": 1\n  }\n]\n');
  });

  it("keys caches by content: key order does not matter, values do", () => {
    assert.equal(cacheKey({ path: "p", digest: "d" }), cacheKey({ digest: "d", path: "p" }));
    assert.notEqual(cacheKey({ path: "p", digest: "d" }), cacheKey({ path: "p", digest: "e" }));
    assert.match(cacheKey({}), /^sha256:[0-9a-f]{64}$/);
  });
});
