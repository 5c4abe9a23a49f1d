// Reading a kustomization (src/render/kustomize/load.ts): found under one of Kustomize's three names (two are an
// error), read with YAML 1.1 booleans, its fields, kind and apiVersion checked with kubectl kustomize's messages,
// helm fields refused, the `openapi` schema put in force (the first one set wins, as Kustomize's global schema does),
// and remote bases refused. Messages Kustomize has ("kustomization.yaml is empty", "apiVersion for Component should
// be …", "builtin version and custom schema provided, cannot use both") are kubectl kustomize v5.5's.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { Ctx } from "../../../../src/render/kustomize/context.js";
import { findKustomization, KUSTOMIZATION_FILES, loadKustomization, refuseRemote, setSchema } from "../../../../src/render/kustomize/load.js";
import { writeTree } from "../tree.js";

const SCHEMA = JSON.stringify({
  definitions: { T: { "x-kubernetes-group-version-kind": [{ group: "g.io", version: "v1", kind: "T" }], properties: { items: { type: "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "id" } } } },
});
const tree = writeTree({
  "kustomization.yaml": "resources: [a.yaml]\n",
  "yml/kustomization.yml": "namespace: n\n",
  "bare/Kustomization": "kind: Component\napiVersion: kustomize.config.k8s.io/v1alpha1\nnamePrefix: p-\n",
  "both/kustomization.yaml": "namespace: a\n",
  "both/Kustomization": "namespace: b\n",
  "none/a.yaml": "kind: ConfigMap\n",
  "empty/kustomization.yaml": "# nothing but a comment\n",
  "header/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
  "kind/kustomization.yaml": "kind: Foo\nnamespace: a\n",
  "compver/kustomization.yaml": "kind: Component\napiVersion: kustomize.config.k8s.io/v1beta1\nnamespace: a\n",
  "kustver/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nnamespace: a\n",
  "unknown/kustomization.yaml": "namespace: a\nfoo: 1\n",
  "helm/kustomization.yaml": "helmCharts:\n- name: x\n",
  "globals/kustomization.yaml": "helmGlobals: {}\n",
  "twodocs/kustomization.yaml": "namespace: a\n---\nnamespace: b\n",
  "list/kustomization.yaml": "- a\n",
  "yaml11/kustomization.yaml": "commonLabels: {a: on, b: 'on'}\n",
  "oa/kustomization.yaml": "openapi: {path: schema.json}\n",
  "oa/schema.json": SCHEMA,
  "oa/two.json": `${SCHEMA}\n---\n${SCHEMA}\n`,
});
after(() => tree.cleanup());
const root = new ArtifactRoot(tree.dir, resolveLimits());
const newCtx = (): Ctx => ({ root, stack: [], schemaSet: false, origins: false, warn: () => {} });
const load = (dir: string) => loadKustomization(newCtx(), dir);
const kust = (dir: string, k: Record<string, unknown>) => ({ dir, file: `${dir}/kustomization.yaml`, k });

void describe("kustomize load", () => {
  void it("finds a kustomization under each of Kustomize's three names, and none where there is none", () => {
    assert.deepEqual(KUSTOMIZATION_FILES, ["kustomization.yaml", "kustomization.yml", "Kustomization"]);
    assert.equal(findKustomization(root, ""), "kustomization.yaml");
    assert.equal(findKustomization(root, "yml"), "yml/kustomization.yml");
    assert.equal(findKustomization(root, "bare"), "bare/Kustomization");
    assert.equal(findKustomization(root, "none"), undefined);
  });

  void it("refuses a directory with two kustomization files, and loading one that has none", () => {
    assert.throws(() => findKustomization(root, "both"), { message: "both: found more than one kustomization file (both/kustomization.yaml, both/Kustomization); keep one" });
    assert.throws(() => load("none"), { message: "none: directory has no kustomization.yaml (looked for kustomization.yaml, kustomization.yml, Kustomization)" });
  });

  void it("loads a kustomization or a component as its map, with YAML 1.1 booleans as Kustomize reads them", () => {
    assert.deepEqual(load(""), { dir: "", file: "kustomization.yaml", k: { resources: ["a.yaml"] } });
    assert.deepEqual(load("bare").k, { kind: "Component", apiVersion: "kustomize.config.k8s.io/v1alpha1", namePrefix: "p-" });
    assert.deepEqual(load("yaml11").k, { commonLabels: { a: true, b: "on" } }, "an unquoted `on` is a boolean (then refused as a label by the transformer)");
  });

  void it("refuses an empty kustomization, also one with nothing but apiVersion and kind", () => {
    assert.throws(() => load("empty"), { message: "empty/kustomization.yaml: kustomization.yaml is empty" });
    assert.throws(() => load("header"), { message: "header/kustomization.yaml: kustomization.yaml is empty" });
  });

  void it("refuses a wrong kind, and an apiVersion that is not the kind's", () => {
    assert.throws(() => load("kind"), { message: "kind/kustomization.yaml: kind should be Kustomization or Component" });
    assert.throws(() => load("compver"), { message: "compver/kustomization.yaml: apiVersion for Component should be kustomize.config.k8s.io/v1alpha1" });
    assert.throws(() => load("kustver"), { message: "kustver/kustomization.yaml: apiVersion for Kustomization should be kustomize.config.k8s.io/v1beta1" });
  });

  void it("refuses unknown fields, the helm fields (naming why), and what is not one YAML map", () => {
    assert.throws(() => load("unknown"), { message: 'unknown/kustomization.yaml: unknown kustomization field "foo"' });
    assert.throws(() => load("helm"), { message: /^helm\/kustomization\.yaml: kustomization field "helmCharts" is not supported by Mooring: it runs the helm binary and downloads charts/ });
    assert.throws(() => load("globals"), { message: /^globals\/kustomization\.yaml: kustomization field "helmGlobals" is not supported by Mooring/ });
    // Stricter than Kustomize, which reads the first document and ignores the others.
    assert.throws(() => load("twodocs"), { message: "twodocs/kustomization.yaml: a kustomization must be exactly one YAML map" });
    assert.throws(() => load("list"), { message: "list/kustomization.yaml: a kustomization must be exactly one YAML map" });
  });

  void it("puts a custom openapi schema in force; the first one set wins unless reset, and reset without one clears it", () => {
    const ctx = newCtx();
    setSchema(ctx, load("oa"), true);
    assert.equal(ctx.schemaSet, true);
    assert.deepEqual(ctx.schema?.listStrategy("g.io/v1", "T", ["items"]), { strategy: "merge", keys: ["id"] });
    const first = ctx.schema;
    setSchema(ctx, kust("oa", { openapi: { version: "v1.21.2" } }), false);
    assert.equal(ctx.schema, first, "a later kustomization's schema does not replace the first");
    setSchema(ctx, kust("oa", { namespace: "x" }), false);
    assert.equal(ctx.schema, first, "a kustomization without openapi keeps it");
    setSchema(ctx, kust("oa", {}), true);
    assert.deepEqual([ctx.schema, ctx.schemaSet], [undefined, false]);
  });

  void it("takes Kustomize's built-in version v1.21.2 (or an empty one) as the built-in schema", () => {
    const ctx = newCtx();
    setSchema(ctx, kust("oa", { openapi: { version: "" } }), true);
    assert.deepEqual([ctx.schema, ctx.schemaSet], [undefined, false], "an empty version sets nothing");
    setSchema(ctx, kust("oa", { openapi: { version: "v1.21.2" } }), true);
    assert.deepEqual([ctx.schema, ctx.schemaSet], [undefined, true]);
    setSchema(ctx, kust("oa", { openapi: { path: "schema.json" } }), false);
    assert.equal(ctx.schema, undefined, "the built-in one, set first, wins");
  });

  void it("refuses a malformed openapi field, another version, both path and version, and a schema file of several documents", () => {
    const F = "oa/kustomization.yaml";
    const refuse = (openapi: unknown, message: string | RegExp) => assert.throws(() => setSchema(newCtx(), kust("oa", { openapi }), true), { message });
    refuse("v1.21.2", `${F}: "openapi" must be a map with path (a schema file) or version`);
    refuse({ foo: 1 }, `${F}: openapi: unknown field "foo" (use path or version)`);
    refuse({ version: "v1.20.0" }, `${F}: openapi: the specified OpenAPI version "v1.20.0" is not built in (Kustomize has v1.21.2)`);
    refuse({ version: "v1.21.2", path: "schema.json" }, `${F}: openapi: builtin version and custom schema provided, cannot use both`);
    refuse({ path: "two.json" }, "oa/two.json: an openapi schema file must hold one JSON or YAML document");
    refuse({ path: "missing.json" }, /^oa\/kustomization\.yaml: openapi path "missing\.json" /);
    refuse({ path: "../kustomization.yaml" }, /openapi path "\.\.\/kustomization\.yaml" is not in or below oa \(Kustomize's load restriction\)/);
  });

  void it("refuses remote bases, naming the entry, and lets local paths through", () => {
    for (const rel of ["base", "../base", "overlays/prod.gitignore", "github.company.internal", "a.github.com/x"]) assert.doesNotThrow(() => refuseRemote(rel, "k.yaml"), rel);
    for (const rel of [
      "https://github.com/org/repo//base?ref=v1",
      "http://example.com/base",
      "git@github.com:org/repo.git",
      "ssh://git@host/org/repo",
      "git::https://host/repo",
      "github.com/org/repo/base",
      "gitlab.com/org/repo",
      "bitbucket.org/org/repo",
      "base?ref=main",
      "repo.git//base",
      "repo.git",
    ]) {
      assert.throws(() => refuseRemote(rel, "k.yaml"), { message: `k.yaml: remote base ${JSON.stringify(rel)} is not supported: Mooring renders only what is in the source artifact; vendor the base into the repository or add it as its own source` }, rel);
    }
  });
});
