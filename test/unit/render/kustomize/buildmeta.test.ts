// Kustomize's buildMetadata (src/render/kustomize/buildmeta.ts): the options read and checked, the managed-by label,
// the origin and transformations annotations as YAML, origin paths, and where builtin and plugin transformers come
// from, recorded only when origins are tracked.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Ctx } from "../../../../src/render/kustomize/context.js";
import { addBuildAnnotations, addManagedBy, builtinOrigin, joinOrigin, pluginOrigin, readBuildMetadata, recordTransformer } from "../../../../src/render/kustomize/buildmeta.js";
import { newRes } from "../../../../src/render/kustomize/resource.js";

const F = "app/kustomization.yaml";
const cm = (name = "c") => newRes({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels: { a: "1" } } }, F);
const ctx = (origins: boolean) => ({ origins }) as Ctx;

void describe("kustomize buildMetadata", () => {
  void it("reads the known options and refuses others, naming the file", () => {
    assert.deepEqual(readBuildMetadata({ dir: "app", file: F, k: { buildMetadata: ["managedByLabel", "originAnnotations"] } }), ["managedByLabel", "originAnnotations"]);
    assert.deepEqual(readBuildMetadata({ dir: "app", file: F, k: {} }), []);
    assert.throws(() => readBuildMetadata({ dir: "app", file: F, k: { buildMetadata: ["origins"] } }), {
      message: `${F}: buildMetadata: unknown option "origins" (known: originAnnotations, transformerAnnotations, managedByLabel)`,
    });
  });

  void it("adds kubectl kustomize's managed-by label only when asked, keeping the other labels", () => {
    const r = [cm()];
    addManagedBy(r, []);
    assert.deepEqual(r[0]!.obj.metadata.labels, { a: "1" });
    addManagedBy(r, ["managedByLabel"]);
    assert.deepEqual(r[0]!.obj.metadata.labels, { a: "1", "app.kubernetes.io/managed-by": "kustomize-(devel)" });
  });

  void it("writes the origin and the transformations as YAML annotations, as far as asked", () => {
    const r = cm();
    r.origin = { path: "base/cm.yaml", repo: "https://git.example/r", ref: "v1" };
    r.transformations = [{ configuredIn: "app/kustomization.yaml", configuredBy: { apiVersion: "builtin", kind: "LabelTransformer" } }];
    assert.equal(addBuildAnnotations(cm(), ["originAnnotations"]).metadata.annotations, undefined, "nothing to record");
    const obj = addBuildAnnotations(r, ["originAnnotations", "transformerAnnotations"]);
    assert.deepEqual(obj.metadata.annotations, {
      "config.kubernetes.io/origin": "path: base/cm.yaml\nrepo: https://git.example/r\nref: v1\n",
      "alpha.config.kubernetes.io/transformations": "- configuredIn: app/kustomization.yaml\n  configuredBy:\n    apiVersion: builtin\n    kind: LabelTransformer\n",
    });
    const only = cm();
    only.origin = r.origin;
    only.transformations = r.transformations;
    assert.deepEqual(Object.keys(addBuildAnnotations(only, ["transformerAnnotations"]).metadata.annotations ?? {}), ["alpha.config.kubernetes.io/transformations"]);
  });

  void it("joins origin paths, with the kustomization's own directory as empty", () => {
    assert.deepEqual([joinOrigin("", "a.yaml"), joinOrigin("base", "../x/a.yaml"), joinOrigin("base", "."), joinOrigin("", ".")], ["a.yaml", "x/a.yaml", "base", ""]);
  });

  void it("says where builtin and plugin transformers come from, only when origins are tracked", () => {
    assert.deepEqual(builtinOrigin(ctx(true), "overlays/prod", "apps/x/kustomization.yaml", "ImageTagTransformer"), {
      configuredIn: "overlays/prod/kustomization.yaml",
      configuredBy: { apiVersion: "builtin", kind: "ImageTagTransformer" },
    });
    assert.equal(builtinOrigin(ctx(false), "", F, "X"), undefined);
    const plugin = { apiVersion: "builtin", kind: "PatchTransformer", metadata: { name: "p", namespace: "n" } };
    assert.deepEqual(pluginOrigin(plugin, { path: "prod/patch.yaml" }), { configuredIn: "prod/patch.yaml", configuredBy: { apiVersion: "builtin", kind: "PatchTransformer", name: "p", namespace: "n" } });
    assert.equal(pluginOrigin(plugin, {}), undefined);
  });

  void it("records a transformer as the origin of objects without one and as a transformation of the others", () => {
    const fresh = cm("fresh");
    const known = cm("known");
    known.origin = { path: "base/cm.yaml" };
    const o = { configuredIn: "k.yaml", configuredBy: { apiVersion: "builtin", kind: "ConfigMapGenerator" } };
    recordTransformer(ctx(false), [fresh, known], o);
    assert.deepEqual([fresh.origin, known.transformations], [undefined, undefined], "not tracked");
    recordTransformer(ctx(true), [fresh, known], o);
    recordTransformer(ctx(true), [known], undefined);
    assert.deepEqual([fresh.origin, fresh.transformations, known.origin, known.transformations], [o, undefined, { path: "base/cm.yaml" }, [o]]);
  });
});
