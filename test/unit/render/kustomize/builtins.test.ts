// The builtin transformers a kustomization's own fields configure (src/render/kustomize/builtins.ts), run in
// Kustomize's order (kusttarget.go runTransformers) and each recorded as buildMetadata's transformerAnnotations record
// it. Expected objects and transformation lists are what `kubectl kustomize` (v5.5) prints for the same kustomization;
// malformed fields are refused naming the kustomization (kubectl refuses them too, or panics: patchesJson6902
// without a target).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import { runBuiltinTransformers } from "../../../../src/render/kustomize/builtins.js";
import type { Acc, Ctx, Kust } from "../../../../src/render/kustomize/context.js";
import { makeDefaultConfig } from "../../../../src/render/kustomize/fieldspecs.js";
import { resourcesFromText } from "../../../../src/render/kustomize/resmap.js";
import type { JsonMap } from "../../../../src/render/objects.js";
import { writeTree } from "../tree.js";

const APP = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: placeholder
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  host: example.com
`;
const tree = writeTree({ "kustomization.yaml": "", "smp.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 7}\n" });
after(() => tree.cleanup());
const root = new ArtifactRoot(tree.dir, resolveLimits());
const F = "kustomization.yaml";

function build(k: JsonMap, origins = false): Acc {
  const ctx: Ctx = { root, stack: [], schemaSet: false, origins, warn: () => {} };
  const res = resourcesFromText(APP, "app.yaml", ctx);
  if (origins) for (const r of res) r.origin = { path: "app.yaml" };
  const acc: Acc = { res, config: makeDefaultConfig(), vars: new Map() };
  runBuiltinTransformers(ctx, acc, { dir: "", file: F, k } satisfies Kust, "");
  return acc;
}
const objs = (acc: Acc) => Object.fromEntries(acc.res.map((r) => [r.obj.kind, r.obj]));
const deploy = (acc: Acc) => objs(acc).Deployment!;
const jsonPatch = (op: string, path: string, value: unknown) => JSON.stringify([{ op, path, value }]);

const EVERY_FIELD: JsonMap = {
  patches: [{ target: { kind: "Deployment" }, patch: jsonPatch("replace", "/spec/template/spec/containers/0/image", "nginx") }],
  namespace: "shop",
  namePrefix: "p-",
  nameSuffix: "-s",
  labels: [{ pairs: { team: "a" }, includeSelectors: false }],
  commonAnnotations: { note: "x" },
  patchesJson6902: [{ target: { kind: "Deployment", name: "web" }, patch: jsonPatch("add", "/spec/paused", true) }],
  replicas: [{ name: "web", count: 3 }],
  images: [{ name: "nginx", newTag: "1.27" }],
  replacements: [
    {
      source: { kind: "ConfigMap", name: "cfg", fieldPath: "metadata.name" },
      targets: [{ select: { kind: "Deployment" }, fieldPaths: ["spec.template.metadata.annotations.cfg"], options: { create: true } }],
    },
  ],
};

void describe("kustomize builtin transformers", () => {
  void it("run every field in Kustomize's order: the image set by a patch retagged, the replacement seeing the final name", () => {
    assert.deepEqual(objs(build(EVERY_FIELD)), {
      Deployment: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "p-web-s", namespace: "shop", labels: { team: "a" }, annotations: { note: "x" } },
        spec: {
          replicas: 3,
          paused: true,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" }, annotations: { note: "x", cfg: "p-cfg-s" } },
            spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
          },
        },
      },
      ConfigMap: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "p-cfg-s", namespace: "shop", labels: { team: "a" }, annotations: { note: "x" } }, data: { host: "example.com" } },
    });
  });

  void it("record each transformer that ran, in order, on every resource (one LabelTransformer per labels entry, one for commonLabels)", () => {
    const acc = build(EVERY_FIELD, true);
    const kinds = [
      "PatchTransformer",
      "NamespaceTransformer",
      "PrefixTransformer",
      "SuffixTransformer",
      "LabelTransformer",
      "LabelTransformer",
      "AnnotationsTransformer",
      "PatchJson6902Transformer",
      "ReplicaCountTransformer",
      "ImageTagTransformer",
      "ReplacementTransformer",
    ];
    for (const r of acc.res) {
      assert.deepEqual(r.origin, { path: "app.yaml" });
      assert.deepEqual(r.transformations?.map((t) => t.configuredBy?.kind), kinds, r.obj.kind);
      assert.deepEqual(r.transformations?.[0], { configuredIn: "kustomization.yaml", configuredBy: { apiVersion: "builtin", kind: "PatchTransformer" } });
    }
  });

  void it("run and record nothing for a kustomization without transformer fields", () => {
    const acc = build({ resources: ["app.yaml"], namespace: "", namePrefix: null, labels: [], commonLabels: {} }, true);
    assert.deepEqual(acc.res.map((r) => r.transformations), [undefined, undefined]);
    assert.deepEqual(deploy(acc).metadata, { name: "web" });
  });

  void it("put labels where each entry asks: metadata only, templates too, selectors too, or its own fields", () => {
    const labelsOf = (acc: Acc) => {
      const d = deploy(acc) as unknown as { metadata: JsonMap; spec: { selector: { matchLabels: JsonMap }; template: { metadata: JsonMap } } };
      return [d.metadata.labels, d.spec.selector.matchLabels, d.spec.template.metadata.labels, d.spec.template.metadata.annotations];
    };
    const meta = { team: "a" };
    const both = { app: "web", team: "a" };
    assert.deepEqual(labelsOf(build({ labels: [{ pairs: meta }] })), [meta, { app: "web" }, { app: "web" }, undefined]);
    assert.deepEqual(labelsOf(build({ labels: [{ pairs: meta, includeTemplates: true }] })), [meta, { app: "web" }, both, undefined]);
    assert.deepEqual(labelsOf(build({ labels: [{ pairs: meta, includeSelectors: true, includeTemplates: false }] })), [meta, both, both, undefined]);
    assert.deepEqual(labelsOf(build({ commonLabels: meta })), [meta, both, both, undefined]);
    const fields = [{ path: "spec/template/metadata/annotations", kind: "Deployment", create: true }];
    assert.deepEqual(labelsOf(build({ labels: [{ pairs: meta, fields }] })), [meta, { app: "web" }, { app: "web" }, meta]);
  });

  void it("apply strategic merge patches from a file or inline, before the patches", () => {
    const acc = build({
      patchesStrategicMerge: ["smp.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {port: '80'}"],
      patches: [{ target: { kind: "Deployment" }, patch: jsonPatch("replace", "/spec/replicas", 8) }],
    });
    assert.equal((deploy(acc).spec as JsonMap).replicas, 8);
    assert.deepEqual(objs(acc).ConfigMap!.data, { host: "example.com", port: "80" });
    assert.equal((deploy(build({ patchesStrategicMerge: ["smp.yaml"] })).spec as JsonMap).replicas, 7);
  });

  void it("set replicas to 0 when an entry has no count, and retag images listed under the legacy imageTags", () => {
    assert.equal((deploy(build({ replicas: [{ name: "web" }] })).spec as JsonMap).replicas, 0);
    const acc = build({ imageTags: [{ name: "placeholder", newName: "registry.example/web", newTag: "2" }] });
    assert.equal(JSON.stringify(deploy(acc).spec).includes('"image":"registry.example/web:2"'), true);
  });

  void it("refuse malformed entries, naming the kustomization", () => {
    const refuse = (k: JsonMap, message: string | RegExp) => assert.throws(() => build(k), { message });
    refuse({ patchesStrategicMerge: "smp.yaml" }, `${F}: "patchesStrategicMerge" must be a list of strings`);
    refuse({ patches: [{ patch: "[]", targets: {} }] }, /^kustomization\.yaml: patches entry: unknown field "targets"/);
    refuse({ patches: {} }, `${F}: "patches" must be a list of maps`);
    refuse({ namespace: 5 }, `${F}: "namespace" must be a string`);
    refuse({ namePrefix: ["p-"] }, `${F}: "namePrefix" must be a string`);
    refuse({ commonLabels: { on: true } }, `${F}: "commonLabels.on" must be a string; quote the value (true)`);
    refuse({ labels: [{ pairs: { a: "1" }, includeSelector: true }] }, /^kustomization\.yaml: labels entry: unknown field "includeSelector"/);
    refuse({ labels: [{ pairs: { a: "1" }, includeSelectors: "yes" }] }, `${F}: "labels.includeSelectors" must be true or false`);
    refuse({ commonAnnotations: ["a"] }, `${F}: "commonAnnotations" must be a map`);
  });

  void it("refuse patchesJson6902 entries without a target (kubectl panics) or with unknown keys, and bad replicas", () => {
    const refuse = (k: JsonMap, message: string | RegExp) => assert.throws(() => build(k), { message });
    refuse({ patchesJson6902: [{ patch: "[]" }] }, `${F}: a patchesJson6902 entry needs a target`);
    refuse({ patchesJson6902: [{ patch: "[]", target: { kind: "Deployment" }, options: {} }] }, /^kustomization\.yaml: patchesJson6902 entry: unknown field "options"/);
    refuse({ replicas: [{ name: "web", count: "3" }] }, `${F}: "replicas[].count" must be an integer`);
    refuse({ replicas: [{ name: "web", count: 1.5 }] }, `${F}: "replicas[].count" must be an integer`);
    refuse({ replicas: [{ name: "web", replicas: 2 }] }, /^kustomization\.yaml: replicas entry: unknown field "replicas"/);
    refuse({ replicas: [{ name: "nothing", count: 2 }] }, /resource with name nothing does not match a config with the following GVK/);
    refuse({ images: [{ newTag: "1" }] }, `${F}: an images entry needs a name`);
  });
});
