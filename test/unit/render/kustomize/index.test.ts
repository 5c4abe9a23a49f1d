import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSelector, splitImage } from "../../../../src/render/kustomize/index.js";

void describe("kustomize building blocks", () => {
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
});
