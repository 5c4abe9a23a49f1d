// Kustomize's shared label and annotation values (reliability bug 11, src/render/kustomize/shared.ts), each case
// rendered by `kubectl kustomize` (the oracle) and by Mooring. A label or annotation transformer puts one YAML node
// per resource and key in every field it creates; a later in-place write to one of them changes them all. Each test
// also asserts what kubectl printed, so a case that stopped showing the sharing would be noticed.
import * as fs from "node:fs";
import * as os from "node:os";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { expectSameAsKubectl, writeCase, type Obj } from "./oracle.js";

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx}
`;
const SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: web}\n  ports:\n  - {port: 80}\n";
const CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: src}\ndata: {t: e}\n";

type Json = Record<string, unknown>;
const at = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v as Json | undefined)?.[k], o);
const find = (objs: Obj[], kind: string): Obj => {
  const o = objs.find((x) => x.kind === kind);
  assert.ok(o, `no ${kind} in kubectl's output`);
  return o;
};

/** The Deployment's value of `key` in its labels, selector and template labels (or annotations, with `annotations`). */
function deploymentValues(objs: Obj[], key: string, field: "labels" | "annotations" = "labels"): unknown[] {
  const d = find(objs, "Deployment");
  if (field === "annotations") return [at(d, "metadata", "annotations", key), at(d, "spec", "template", "metadata", "annotations", key)];
  return [at(d, "metadata", "labels", key), at(d, "spec", "selector", "matchLabels", key), at(d, "spec", "template", "metadata", "labels", key)];
}

const base = { "base/deploy.yaml": DEPLOYMENT, "base/svc.yaml": SERVICE, "base/kustomization.yaml": "resources: [deploy.yaml, svc.yaml]\n" };
const o1 = { ...base, "o1/kustomization.yaml": "resources: [../base]\ncommonLabels: {tier: a}\n" };
const labelsB = "labels:\n- pairs: {tier: b}\n";

void describe("kustomize: values a label or annotation transformer shares between fields, as kubectl kustomize", () => {
  const work = fs.mkdtempSync(`${os.tmpdir()}/mooring-kustomize-shared-`);
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  void it("a later labels entry without selectors, in an overlay, changes the selector and template commonLabels created", async () => {
    const dir = writeCase(work, { ...o1, "o2/kustomization.yaml": `resources: [../o1]\n${labelsB}` });
    assert.deepEqual(deploymentValues(await expectSameAsKubectl(dir, "o2"), "tier"), ["b", "b", "b"]);
  });

  void it("so does a second labels entry of the same kustomization", async () => {
    const dir = writeCase(work, { ...base, "k/kustomization.yaml": "resources: [../base]\nlabels:\n- pairs: {tier: a}\n  includeSelectors: true\n- pairs: {tier: b}\n" });
    assert.deepEqual(deploymentValues(await expectSameAsKubectl(dir, "k"), "tier"), ["b", "b", "b"]);
  });

  void it("the node is one per resource: a transformer writing only the Service leaves the Deployment's value", async () => {
    const transformer = "transformers:\n- |\n  apiVersion: builtin\n  kind: LabelTransformer\n  metadata: {name: x}\n  labels: {tier: b}\n  fieldSpecs:\n  - {path: metadata/labels, kind: Service, create: true}\n";
    const dir = writeCase(work, { ...o1, "o2/kustomization.yaml": `resources: [../o1]\n${transformer}` });
    const objs = await expectSameAsKubectl(dir, "o2");
    assert.deepEqual(deploymentValues(objs, "tier"), ["a", "a", "a"]);
    assert.deepEqual([at(find(objs, "Service"), "metadata", "labels", "tier"), at(find(objs, "Service"), "spec", "selector", "tier")], ["b", "b"]);
  });

  void it("a value that came from the file is not shared; the fields created together still are", async () => {
    const files = {
      ...base,
      "base/deploy.yaml": DEPLOYMENT.replace("labels: {app: web}}", "labels: {app: web, tier: x}}"),
      "o1/kustomization.yaml": "resources: [../base]\ncommonLabels: {tier: a}\n",
      "o2/kustomization.yaml": `resources: [../o1]\n${labelsB}`,
      "o3/kustomization.yaml": "resources: [../o1]\nlabels:\n- pairs: {tier: b}\n  includeTemplates: true\n",
    };
    const dir = writeCase(work, files);
    assert.deepEqual(deploymentValues(await expectSameAsKubectl(dir, "o2"), "tier"), ["b", "a", "a"]);
    assert.deepEqual(deploymentValues(await expectSameAsKubectl(dir, "o3"), "tier"), ["b", "b", "b"]);
  });

  void it("a strategic merge patch writes the shared value in place, and keeps the sharing for later overlays", async () => {
    const patch = (body: string): string => `patches:\n- patch: |\n    {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, ${body}}\n`;
    const dir = writeCase(work, {
      ...o1,
      "p/kustomization.yaml": `resources: [../o1]\n${patch("spec: {template: {metadata: {labels: {tier: c}}}}")}`,
      "q/kustomization.yaml": `resources: [../o1]\n${patch("spec: {replicas: 3}")}`,
      "q2/kustomization.yaml": `resources: [../q]\n${labelsB}`,
    });
    assert.deepEqual(deploymentValues(await expectSameAsKubectl(dir, "p"), "tier"), ["c", "c", "c"]);
    assert.deepEqual(deploymentValues(await expectSameAsKubectl(dir, "q2"), "tier"), ["b", "b", "b"]);
  });

  void it("a JSON 6902 patch ends the sharing for its object (kustomize round-trips it through JSON)", async () => {
    const dir = writeCase(work, {
      ...o1,
      "j/kustomization.yaml": "resources: [../o1]\npatches:\n- target: {kind: Deployment}\n  patch: |\n    - {op: add, path: /spec/replicas, value: 3}\n",
      "j2/kustomization.yaml": `resources: [../j]\n${labelsB}`,
    });
    const objs = await expectSameAsKubectl(dir, "j2");
    assert.deepEqual(deploymentValues(objs, "tier"), ["b", "a", "a"]);
    assert.equal(at(find(objs, "Service"), "spec", "selector", "tier"), "b", "the Service was not patched: its values stay shared");
  });

  void it("a replacement writes the shared value in place", async () => {
    const dir = writeCase(work, {
      ...o1,
      "r/cm.yaml": CONFIGMAP,
      "r/kustomization.yaml": "resources: [../o1, cm.yaml]\nreplacements:\n- source: {kind: ConfigMap, name: src, fieldPath: data.t}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [metadata.labels.tier]\n",
    });
    assert.deepEqual(deploymentValues(await expectSameAsKubectl(dir, "r"), "tier"), ["e", "e", "e"]);
  });

  void it("name prefix, suffix and namespace in between keep the sharing", async () => {
    const dir = writeCase(work, {
      ...o1,
      "m/kustomization.yaml": "resources: [../o1]\nnamePrefix: p-\nnameSuffix: -s\nnamespace: ns\nimages: [{name: nginx, newTag: '2'}]\n",
      "m2/kustomization.yaml": `resources: [../m]\n${labelsB}`,
    });
    assert.deepEqual(deploymentValues(await expectSameAsKubectl(dir, "m2"), "tier"), ["b", "b", "b"]);
  });

  void it("annotations: commonAnnotations' value is shared with the template's, and a metadata-only transformer changes both", async () => {
    const transformer = "transformers:\n- |\n  apiVersion: builtin\n  kind: AnnotationsTransformer\n  metadata: {name: x}\n  annotations: {note: b}\n  fieldSpecs:\n  - {path: metadata/annotations, create: true}\n";
    const dir = writeCase(work, {
      ...base,
      "a1/kustomization.yaml": "resources: [../base]\ncommonAnnotations: {note: a}\n",
      "a2/kustomization.yaml": `resources: [../a1]\n${transformer}`,
    });
    assert.deepEqual(deploymentValues(await expectSameAsKubectl(dir, "a2"), "note", "annotations"), ["b", "b"]);
  });
});
