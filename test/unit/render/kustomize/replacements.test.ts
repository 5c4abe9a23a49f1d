// Kustomize's replacements (src/render/kustomize/replacements.ts): a value read from one source object (or given as
// sourceValue) written into fields of the selected targets, with the source's and the target's options (delimiter,
// index, create), field paths with `[k=v]`, `[a.b/c]`, `*` and indexes, and the refusals. Expected objects are what
// `kubectl kustomize` (Kustomize v5.5.0) prints for the same replacements; its error for each refusal is quoted beside
// ours. sourceValue is newer than v5.5 (kustomize#5630), so its cases follow the documentation of that field.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { JsonMap, KubeObject } from "../../../../src/render/objects.js";
import { applyReplacement, parseFieldPath, reach, replacementsFromFile } from "../../../../src/render/kustomize/replacements.js";
import { newRes, type Res } from "../../../../src/render/kustomize/resource.js";

const F = "app/kustomization.yaml";
const RES = `apiVersion: v1
kind: ConfigMap
metadata: {name: src, labels: {role: src}}
data: {image: "registry.example/app:1.2.3", port: "8080", flag: "true", host: api.example.com}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {tier: front}, annotations: {example.com/ver: x}}
spec:
  replicas: 1
  paused: false
  template:
    spec:
      containers:
      - {name: app, image: "nginx:1.0", args: ["--a", "--b"], ports: [{containerPort: 80}]}
      - {name: side, image: "busybox:1.0"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, labels: {tier: back}}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - {name: app, image: "nginx:1.0"}
`;
const resources = (): Res[] => parseAllDocuments(RES).map((d) => newRes(d.toJS() as KubeObject, "app/res.yaml"));
const obj = (res: Res[], name: string): KubeObject => res.find((r) => r.obj.metadata.name === name)!.obj;
type Pod = { template: { metadata?: JsonMap; spec: { containers: JsonMap[]; hostNetwork?: boolean } } };
const pod = (res: Res[], name: string): Pod => obj(res, name).spec as unknown as Pod;
const src = (fieldPath: string, options?: JsonMap): JsonMap => ({ kind: "ConfigMap", name: "src", fieldPath, ...(options ? { options } : {}) });
const run = (res: Res[], reps: JsonMap[]): Res[] => {
  for (const rep of reps) applyReplacement(res, rep, F);
  return res;
};

void describe("kustomize replacements", () => {
  void it("copies a part of the source (delimiter, index) into a part of each target, rejecting by id", () => {
    const res = run(resources(), [
      {
        source: src("data.image", { delimiter: ":", index: 1 }),
        targets: [{ select: { kind: "Deployment" }, reject: [{ name: "api" }], fieldPaths: ["spec.template.spec.containers.*.image"], options: { delimiter: ":", index: 1 } }],
      },
      { source: src("data.host"), targets: [{ select: { kind: "Deployment", name: "web" }, fieldPaths: ["spec.template.spec.containers.0.args.0"], options: { delimiter: "=", index: 5 } }] },
    ]);
    assert.deepEqual(
      pod(res, "web").template.spec.containers.map((c) => c.image),
      ["nginx:1.2.3", "busybox:1.2.3"],
    );
    assert.deepEqual(pod(res, "web").template.spec.containers[0]!.args, ["--a=api.example.com", "--b"], "an index past the parts appends");
    assert.equal(pod(res, "api").template.spec.containers[0]!.image, "nginx:1.0");
  });

  void it("keeps an existing target's type: a number stays a number, a boolean a boolean", () => {
    const res = run(resources(), [
      { source: src("data.port"), targets: [{ select: { kind: "Deployment", name: "web" }, fieldPaths: ["spec.replicas", "spec.template.spec.containers.[name=app].ports.0.containerPort"] }] },
      { source: src("data.flag"), targets: [{ select: { kind: "Deployment", name: "web" }, fieldPaths: ["spec.paused"] }] },
    ]);
    const spec = obj(res, "web").spec as JsonMap;
    assert.deepEqual([spec.replicas, spec.paused], [8080, true]);
    assert.deepEqual(pod(res, "web").template.spec.containers[0]!.ports, [{ containerPort: 8080 }]);
  });

  void it("selects targets by label and rejects by label; the default paths are metadata.name", () => {
    const res = run(resources(), [
      { source: src("metadata.labels.role"), targets: [{ select: { kind: "Deployment" }, reject: [{ labelSelector: "tier=back" }], fieldPaths: ["metadata.annotations.[example.com/ver]"] }] },
      { source: { kind: "ConfigMap", name: "src" }, targets: [{ select: { labelSelector: "tier=back" } }] },
    ]);
    assert.deepEqual(obj(res, "web").metadata.annotations, { "example.com/ver": "src" });
    assert.deepEqual(
      res.map((r) => r.obj.metadata.name),
      ["src", "web", "src"],
      "the api Deployment took the source's name",
    );
  });

  void it("creates missing fields with create: maps, `[k=v]` items, and the value's own YAML type", () => {
    const res = run(resources(), [
      {
        source: src("data.port"),
        targets: [
          {
            select: { kind: "Deployment", name: "api" },
            fieldPaths: ["spec.template.spec.containers.[name=init].env.[name=PORT].value", "spec.template.metadata.labels.port"],
            options: { create: true },
          },
          { select: { kind: "Deployment", name: "api" }, fieldPaths: ["spec.strategy.type"], options: { create: true, delimiter: "-", index: -1 } },
        ],
      },
      { source: src("data.flag"), targets: [{ select: { kind: "Deployment", name: "api" }, fieldPaths: ["spec.template.spec.hostNetwork"], options: { create: true } }] },
    ]);
    const p = pod(res, "api");
    assert.deepEqual(p.template.spec.containers, [
      { name: "app", image: "nginx:1.0" },
      { name: "init", env: [{ name: "PORT", value: 8080 }] },
    ]);
    assert.deepEqual(p.template.metadata, { labels: { port: 8080 } }, "Kustomize writes the created field as YAML (kustomize#5482)");
    assert.equal(p.template.spec.hostNetwork, true);
    assert.deepEqual((obj(res, "api").spec as JsonMap).strategy, { type: "8080-" }, "a negative index prepends to the empty created value");
  });

  void it("copies maps and list items whole, and writes every item with *", () => {
    const res = run(resources(), [
      { source: { kind: "Deployment", name: "web", fieldPath: "metadata.labels" }, targets: [{ select: { kind: "Deployment", name: "api" }, fieldPaths: ["spec.selector.matchLabels"], options: { create: true } }] },
      { source: { kind: "Deployment", name: "web", fieldPath: "spec.template.spec.containers.1" }, targets: [{ select: { name: "api" }, fieldPaths: ["spec.template.spec.containers.1"], options: { create: true } }] },
      { source: { kind: "ConfigMap", name: "src" }, targets: [{ select: { kind: "Deployment" }, fieldPaths: ["spec.template.spec.containers.*.name"] }] },
    ]);
    assert.deepEqual((obj(res, "api").spec as JsonMap).selector, { matchLabels: { tier: "front" } });
    assert.deepEqual(pod(res, "api").template.spec.containers, [
      { name: "src", image: "nginx:1.0" },
      { name: "src", image: "busybox:1.0" },
    ]);
    assert.deepEqual(obj(res, "web").metadata.labels, { tier: "front" }, "the copy is not shared with the source");
  });

  void it("takes sourceValue as the value (a string)", () => {
    const res = run(resources(), [{ sourceValue: "3", targets: [{ select: { name: "web" }, fieldPaths: ["spec.replicas", "metadata.labels.tier"] }] }]);
    assert.deepEqual([(obj(res, "web").spec as JsonMap).replicas, obj(res, "web").metadata.labels], [3, { tier: "3" }]);
  });

  void it("reads a replacements file holding one replacement or a list", () => {
    const limits = resolveLimits();
    assert.deepEqual(replacementsFromFile("source: {kind: A}\ntargets: []\n", "r.yaml", limits), [{ source: { kind: "A" }, targets: [] }]);
    assert.equal(replacementsFromFile("- {source: {kind: A}}\n- {source: {kind: B}}\n---\nsource: {kind: C}\n", "r.yaml", limits).length, 3);
    assert.throws(() => replacementsFromFile("- a\n", "r.yaml", limits), { message: "r.yaml:1: a replacement must be a map with source and targets" });
  });

  void it("parses field paths: dots outside brackets, [k=v], [a.b/c], *, indexes; reach finds or makes their fields", () => {
    assert.deepEqual(parseFieldPath("a.[x.y/z].[name=n.1].*.0", F), [
      { kind: "key", key: "a" },
      { kind: "key", key: "x.y/z" },
      { kind: "match", key: "name", value: "n.1" },
      { kind: "all" },
      { kind: "key", key: "0" },
    ]);
    const doc = { a: [{ name: "x", v: 1 }, { name: "y" }] };
    assert.deepEqual(reach(doc, parseFieldPath("a.[name=x].v", F), false), [{ parent: doc.a[0], key: "v" }]);
    assert.deepEqual(reach(doc, parseFieldPath("a.[name=y].v", F), false), [], "a missing key is not reached without create");
    assert.deepEqual(reach(doc, parseFieldPath("a.5", F), true), [], "create appends only at the list's end");
    const made: JsonMap = {};
    reach(made, parseFieldPath("b.0.c", F), true);
    assert.deepEqual(made, { b: [{}] }, "a numeric next segment makes a list, and its item (kubectl: volumes.0.name makes volumes: [{name: ...}])");
  });

  void it("refuses what Kustomize refuses, naming the file", () => {
    const refusals: [JsonMap, string, string][] = [
      [{ source: { kind: "ConfigMap", name: "nope" }, targets: [] }, "replacements must specify a source and at least one target", "replacements must specify a source and at least one target (an empty list, checked first)"],
      [{ source: { kind: "ConfigMap", name: "nope" }, targets: [{ select: { kind: "Deployment" } }] }, "replacement source ConfigMap nope selects nothing", "nothing selected by ConfigMap.[noVer].[noGrp]/nope.[noNs]"],
      [{ source: { kind: "Deployment" }, targets: [{ select: { name: "web" } }] }, "replacement source Deployment ?: multiple matches for the selector; narrow it", "multiple matches for selector Deployment.[noVer].[noGrp]/[noName].[noNs]"],
      [{ source: src("data.nope"), targets: [{ select: { name: "web" } }] }, "fieldPath `data.nope` is missing for replacement source ConfigMap src", "fieldPath `data.nope` is missing for replacement source ConfigMap.[noVer].[noGrp]/src.[noNs]"],
      [{ source: src("data.image", { delimiter: ":", index: 2 }), targets: [{ select: { name: "web" } }] }, "replacement source ConfigMap src data.image: options.index 2 is out of bounds for value registry.example/app:1.2.3", "options.index 2 is out of bounds for value registry.example/app:1.2.3"],
      [{ source: src("data", { delimiter: ":" }), targets: [{ select: { name: "web" } }] }, "delimiter option can only be used with scalar nodes", "delimiter option can only be used with scalar nodes"],
      [{ source: src("data.port"), targets: [{ select: { kind: "Deployment" }, fieldPaths: ["spec.nope"] }] }, 'unable to find field "spec.nope": replacement target Deployment web has no field spec.nope (set options.create to add it)', 'unable to find field "spec.nope" in replacement target'],
      [{ source: src("data.host"), targets: [{ select: { kind: "Deployment" }, fieldPaths: ["spec.replicas"] }] }, 'replacement: Deployment web spec.replicas is a number and cannot take "api.example.com"', "cannot decode !!str `api.example.com` as a !!int"],
      [{ source: src("data.host"), targets: [{ select: { name: "web" }, fieldPaths: ["spec.paused"] }] }, 'replacement: Deployment web spec.paused is a boolean and cannot take "api.example.com"', "cannot decode !!str `api.example.com` as a !!bool"],
      [{ source: src("data.host"), targets: [{ select: { name: "web" }, fieldPaths: ["spec.template.spec.containers.0.args"], options: { delimiter: "," } }] }, "replacement: Deployment web spec.template.spec.containers.0.args: delimiter option can only be used with scalar nodes", "delimiter option can only be used with scalar nodes"],
      [{ source: src("metadata.name") }, "replacements must specify a source and at least one target", "replacements must specify a source and at least one target"],
      [{ targets: [{ select: { name: "web" } }] }, "replacements must specify a source and at least one target", "replacements must specify a source and at least one target"],
      [{ source: src("metadata.name"), targets: [{ fieldPaths: ["spec.replicas"] }] }, "target must specify resources to select", "target must specify resources to select"],
      [{ source: src("metadata.name"), targets: [{ select: { kind: "Deployment" }, fieldPaths: ["spec..replicas"] }] }, 'field path "spec..replicas" has an empty segment', 'unable to find field "spec..replicas" in replacement target: wrong node kind'],
      [{ source: src("metadata.name"), sourceValue: "x", targets: [{ select: { name: "web" } }] }, "a replacement may have a source or a sourceValue, not both", "(newer than v5.5)"],
    ];
    for (const [rep, message, kustomize] of refusals) assert.throws(() => applyReplacement(resources(), rep, F), { message: `${F}: ${message}` }, `Kustomize: ${kustomize}`);
  });
});
