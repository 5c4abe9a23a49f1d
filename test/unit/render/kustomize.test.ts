import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { kustomizeHash, goJson } from "../../../src/render/kustomize/hash.js";
import { parseSelector, splitImage } from "../../../src/render/kustomize/index.js";
import { strategicMerge } from "../../../src/render/kustomize/smp.js";
import { makeDefaultConfig, mergeConfig, readConfig, splitPath } from "../../../src/render/kustomize/fieldspecs.js";
import { loadCustomSchema } from "../../../src/render/kustomize/openapi.js";
import { insertPathPart } from "../../../src/render/kustomize/transformers.js";
import { doReplacements } from "../../../src/render/kustomize/vars.js";

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

void describe("kustomize building blocks added for real-world kustomizations", () => {
  void it("expands $(VAR) as Kubernetes does: $$ escapes, unknown vars stay, a whole-field var keeps its type", () => {
    const vals: Record<string, unknown> = { A: "a", N: 8 };
    const map = (k: string): unknown => (k in vals ? vals[k] : `$(${k})`);
    assert.equal(doReplacements("x-$(A)-$(B)", map), "x-a-$(B)");
    assert.equal(doReplacements("$$(A)_$(A)", map), "$(A)_a");
    assert.equal(doReplacements("$(N)", map), 8);
    assert.equal(doReplacements("port-$(N)", map), "port-8");
    assert.equal(doReplacements("$(A", map), "$(A");
    assert.equal(doReplacements("$A)", map), "$A)");
  });

  void it("inserts a path part like Kustomize's ValueAddTransformer", () => {
    assert.equal(insertPathPart("projects", 1, "cat-111"), "projects/cat-111");
    assert.equal(insertPathPart("a/b/c", 0, "X"), "X/a/b/c");
    assert.equal(insertPathPart("/a/b", 0, "X"), "/X/a/b");
    assert.equal(insertPathPart("a/b", 99, "X"), "a/b/X");
    assert.equal(insertPathPart("", 0, "X"), "X");
  });

  void it("splits field-spec paths on / with \\/ kept inside a key", () => {
    assert.deepEqual(splitPath("metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret"), ["metadata", "annotations", "nginx.ingress.kubernetes.io/auth-secret"]);
    assert.deepEqual(splitPath("/spec/containers[]/image"), ["spec", "containers[]", "image"]);
  });

  void it("merges transformer configurations like Kustomize: duplicates collapse, a create conflict is an error", () => {
    const base = makeDefaultConfig();
    const extra = readConfig({ commonLabels: [{ path: "spec/selector/labels", kind: "Widget", create: true }, { path: "metadata/labels", create: true }] }, "c.yaml");
    const merged = mergeConfig(base, extra);
    assert.equal(merged.commonLabels.length, base.commonLabels.length + 1);
    assert.throws(() => mergeConfig(base, readConfig({ commonLabels: [{ path: "metadata/labels" }] }, "c.yaml")), /conflicting fieldspecs/);
    assert.throws(() => readConfig({ commonlabels: [] }, "c.yaml"), /unknown field "commonlabels"/);
  });

  void it("reads list strategies from a custom OpenAPI schema, following $ref and array items", () => {
    const schema = loadCustomSchema(
      {
        definitions: {
          T: { "x-kubernetes-group-version-kind": [{ group: "g.io", version: "v1", kind: "T" }], properties: { spec: { $ref: "#/definitions/S" } } },
          S: {
            properties: {
              items: { type: "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "id", items: { $ref: "#/definitions/I" } },
              tags: { type: "array", "x-kubernetes-patch-strategy": "merge" },
              plain: { type: "array" },
            },
          },
          I: { properties: { ports: { type: "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-map-keys": ["port", "protocol"] } } },
        },
      },
      "schema.json",
    );
    assert.deepEqual(schema.listStrategy("g.io/v1", "T", ["spec", "items"]), { strategy: "merge", keys: ["id"] });
    assert.deepEqual(schema.listStrategy("g.io/v1", "T", ["spec", "items", "ports"]), { strategy: "merge", keys: ["port", "protocol"] });
    assert.deepEqual(schema.listStrategy("g.io/v1", "T", ["spec", "tags"]), { strategy: "merge", keys: [] });
    assert.deepEqual(schema.listStrategy("g.io/v1", "T", ["spec", "plain"]), { strategy: "replace", keys: [] });
    assert.deepEqual(schema.listStrategy("apps/v1", "Deployment", ["spec", "template", "spec", "containers"]), { strategy: "replace", keys: [] });
  });
});
