import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { kustomizeHash, goJson } from "../../../../src/render/kustomize/hash.js";

void describe("kustomize building blocks", () => {
  void it("computes Kustomize's name-suffix hash (values checked against kubectl kustomize v5.5)", () => {
    assert.equal(kustomizeHash({ kind: "ConfigMap", metadata: { name: "cm" }, data: { a: "b" } }), "4h2mbtbbt6");
    assert.equal(kustomizeHash({ kind: "ConfigMap", metadata: { name: "empty" } }), "6ct58987ht");
    assert.equal(kustomizeHash({ kind: "ConfigMap", data: { a: "b", c: "<&>", q: "quoted" } }), "mgchh9cm44");
    assert.equal(kustomizeHash({ kind: "Secret", type: "Opaque", data: { x: "eQ==" } }), "t86b282gdf");
  });

  void it("encodes JSON like Go: sorted keys, HTML characters escaped", () => {
    assert.equal(goJson({ b: 1, a: "<&>\u2028" }), '{"a":"\\u003c\\u0026\\u003e\\u2028","b":1}');
  });
});
