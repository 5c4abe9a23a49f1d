// The renderers' object model (src/render/objects.ts): apiVersion parts, identity, scope and origins.
import assert from "node:assert/strict";
import { describe as suite, it } from "node:test";
import { clone, describe, groupOf, isClusterScoped, isMap, objectKey, originOf, setOrigin, versionOf } from "../../../src/render/objects.js";

suite("render objects", () => {
  it("splits apiVersion into group (empty for core) and version", () => {
    assert.deepEqual([groupOf("apps/v1"), versionOf("apps/v1")], ["apps", "v1"]);
    assert.deepEqual([groupOf("v1"), versionOf("v1")], ["", "v1"]);
  });

  it("identifies an object by group, kind, namespace and name, whatever its version", () => {
    const a = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop" } };
    assert.equal(objectKey(a), "apps|Deployment|shop|web");
    assert.equal(objectKey({ ...a, apiVersion: "apps/v1beta1" }), objectKey(a));
    assert.equal(objectKey({ kind: "X" }), "|X||");
    assert.equal(describe(a), "Deployment shop/web");
    assert.equal(describe({ metadata: "junk" }), "? ?");
  });

  it("knows built-in cluster-scoped kinds, and lets a resolver decide first", () => {
    assert.equal(isClusterScoped("v1", "Namespace"), true);
    assert.equal(isClusterScoped("rbac.authorization.k8s.io/v1", "ClusterRole"), true);
    assert.equal(isClusterScoped("v1", "ConfigMap"), false);
    assert.equal(isClusterScoped("example.com/v1", "Widget"), false);
    assert.equal(isClusterScoped("example.com/v1", "Widget", (g, k) => (g === "example.com" && k === "Widget" ? true : undefined)), true);
    assert.equal(isClusterScoped("v1", "Namespace", () => false), false);
    assert.equal(isClusterScoped("v1", "Namespace", () => undefined), true);
  });

  it("keeps an object's origin beside it, not in it, and copies deeply", () => {
    const o = { a: { b: 1 } };
    setOrigin(o, { file: "x.yaml", line: 3 });
    assert.deepEqual(originOf(o), { file: "x.yaml", line: 3 });
    assert.equal(JSON.stringify(o), '{"a":{"b":1}}');
    const c = clone(o);
    assert.deepEqual(c, o);
    assert.notEqual(c.a, o.a);
    assert.equal(originOf(c), undefined);
    assert.deepEqual([isMap({}), isMap([]), isMap(null), isMap("x")], [true, false, false, false]);
  });
});
