import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { kustomizeHash, goJson } from "../../../src/render/kustomize/hash.js";
import { parseSelector, splitImage } from "../../../src/render/kustomize/index.js";
import { strategicMerge } from "../../../src/render/kustomize/smp.js";

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

  void it("splits image references like Kustomize", () => {
    assert.deepEqual(splitImage("nginx"), { name: "nginx", tag: "", digest: "" });
    assert.deepEqual(splitImage("reg:5000/a/b:1.0"), { name: "reg:5000/a/b", tag: "1.0", digest: "" });
    assert.deepEqual(splitImage("a@sha256:x"), { name: "a", tag: "", digest: "sha256:x" });
    assert.deepEqual(splitImage("a:1@sha256:x"), { name: "a", tag: "1", digest: "sha256:x" });
  });

  void it("parses label selectors", () => {
    const s = parseSelector("app=web,tier!=db,env in (a,b),!legacy,team");
    assert.equal(s({ app: "web", tier: "front", env: "a", team: "x" }), true);
    assert.equal(s({ app: "web", tier: "db", env: "a", team: "x" }), false);
    assert.equal(s({ app: "web", env: "c", team: "x" }), false);
    assert.equal(s({ app: "web", env: "a", team: "x", legacy: "1" }), false);
    assert.equal(s({ app: "web", env: "a" }), false);
  });

  void it("merges lists by merge key for built-in kinds and replaces them for custom resources", () => {
    const target = { spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "1" }] } };
    const patch = { spec: { containers: [{ name: "b", image: "2" }, { name: "c", image: "3" }] } };
    assert.deepEqual(strategicMerge(target, patch, { apiVersion: "v1", kind: "Pod" }), {
      spec: { containers: [{ name: "b", image: "2" }, { name: "c", image: "3" }, { name: "a", image: "1" }] },
    });
    assert.deepEqual(strategicMerge(target, patch, { apiVersion: "x.io/v1", kind: "Thing" }), patch);
  });
});
