// Kustomize's builtin transformer plugins (src/render/kustomize/plugin-transformers.ts): `transformers:` entries with
// apiVersion: builtin, each kind reading its own fields (and files under the kustomization) and writing where its own
// fieldSpecs say. Expected objects are what `kubectl kustomize` (Kustomize v5.5.0) prints for the same plugin
// configurations, before its name-reference pass (which the build runs after the transformers, not the plugins);
// its error for each refusal is quoted beside ours.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { KubeObject } from "../../../../src/render/objects.js";
import type { Ctx, Kust } from "../../../../src/render/kustomize/context.js";
import { META_KEYS, runTransformerPlugin } from "../../../../src/render/kustomize/plugin-transformers.js";
import { newRes, type Res } from "../../../../src/render/kustomize/resource.js";
import { writeTree } from "../tree.js";

const RES = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "nginx:1.0"}]
      volumes: [{name: c, configMap: {name: cfg}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: "1"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects:
- {kind: ServiceAccount, name: default, namespace: default}
- {kind: ServiceAccount, name: other, namespace: elsewhere}
`;
const tree = writeTree({
  "app/kustomization.yaml": "",
  "app/smp.yaml": "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: any}\nspec: {path: projects/y}\n",
  "app/sm2.yaml": "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: thing}\nspec: {sm: true}\n",
  "app/ops.yaml": "- {op: add, path: /spec/extra, value: 1}\n",
  "app/va-targets.yaml": "targets:\n- {selector: {kind: Thing}, fieldPath: spec/path, filePathPosition: 1}\n",
  "outside.yaml": "- {op: add, path: /spec/extra, value: 1}\n",
});
after(() => tree.cleanup());
const ctx = { root: new ArtifactRoot(tree.dir, resolveLimits()), stack: [], schemaSet: false, origins: false, warn: () => {} } as Ctx;
const kust: Kust = { dir: "app", file: "app/kustomization.yaml", k: {} };
const FILE = "app/t.yaml";
const docs = (text: string): KubeObject[] => parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
const resources = (text = RES): Res[] => docs(text).map((o) => newRes(o, "app/res.yaml"));
/** Runs the plugin configurations of `text` (one YAML stream, `apiVersion: builtin` added) in order. */
function run(text: string, res: Res[] = resources()): Res[] {
  for (const obj of docs(text)) res = runTransformerPlugin(ctx, kust, { obj: { ...obj, apiVersion: "builtin" }, file: FILE, kust }, res);
  return res;
}
const objects = (res: Res[]) => res.map((r) => r.obj);

void describe("kustomize builtin transformer plugins", () => {
  void it("run each kind with its own fieldSpecs: labels, annotations, namespace, prefix/suffix, image, replicas", () => {
    const res = run(`kind: LabelTransformer
metadata: {name: labels}
labels: {team: blue}
fieldSpecs: [{path: metadata/labels, create: true}]
---
kind: AnnotationsTransformer
metadata: {name: notes}
annotations: {owner: ops}
fieldSpecs: [{kind: Deployment, path: spec/template/metadata/annotations, create: true}]
---
kind: NamespaceTransformer
metadata: {name: ns, namespace: shop}
setRoleBindingSubjects: allServiceAccounts
fieldSpecs: [{path: metadata/namespace, create: true}]
---
kind: PrefixSuffixTransformer
metadata: {name: ps}
prefix: p-
suffix: -s
fieldSpecs: [{path: metadata/name}]
---
kind: ImageTagTransformer
metadata: {name: img}
imageTag: {name: nginx, newTag: "1.27"}
fieldSpecs: [{path: spec/template/spec/containers/image}]
---
kind: ReplicaCountTransformer
metadata: {name: rc}
replica: {name: web, count: 3}
fieldSpecs: [{path: spec/replicas, create: true}]
`);
    const md = (name: string, extra: object = {}) => ({ name, namespace: "shop", labels: { team: "blue", ...extra } });
    assert.deepEqual(objects(res), [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: md("p-web-s", { app: "web" }),
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" }, annotations: { owner: "ops" } },
            spec: { containers: [{ name: "app", image: "nginx:1.27" }], volumes: [{ name: "c", configMap: { name: "cfg" } }] },
          },
        },
      },
      { apiVersion: "v1", kind: "ConfigMap", metadata: md("p-cfg-s"), data: { a: "1" } },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: md("p-rb-s"),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" },
        subjects: [
          { kind: "ServiceAccount", name: "default", namespace: "shop" },
          { kind: "ServiceAccount", name: "other", namespace: "shop" },
        ],
      },
    ]);
    assert.deepEqual(res[0]!.prefixes, ["p-"], "the build records the affixes for name references");
  });

  void it("run the patch and replacement kinds, inline", () => {
    const res = run(`kind: PatchTransformer
metadata: {name: patch}
target: {kind: ConfigMap}
patch: '[{"op": "add", "path": "/data/b", "value": "2"}]'
---
kind: PatchStrategicMergeTransformer
metadata: {name: smp}
patches: |-
  apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec: {minReadySeconds: 5}
---
kind: PatchJson6902Transformer
metadata: {name: j}
target: {group: apps, version: v1, kind: Deployment, name: web}
jsonOp: '[{"op": "add", "path": "/spec/paused", "value": true}]'
---
kind: ReplacementTransformer
metadata: {name: rep}
replacements:
- source: {kind: ConfigMap, fieldPath: data.a}
  targets: [{select: {kind: Deployment}, fieldPaths: [spec.template.metadata.labels.app]}]
`);
    assert.deepEqual(res[1]!.obj.data, { a: "1", b: "2" });
    const spec = res[0]!.obj.spec as { minReadySeconds: number; paused: boolean; template: { metadata: unknown } };
    assert.deepEqual([spec.minReadySeconds, spec.paused, spec.template.metadata], [5, true, { labels: { app: "1" } }]);
  });

  void it("read patches and ValueAdd targets from files under the kustomization; ValueAdd's value defaults to its directory", () => {
    const res = run(
      `kind: PatchTransformer
metadata: {name: p}
path: smp.yaml
target: {kind: Thing}
---
kind: PatchStrategicMergeTransformer
metadata: {name: p2}
paths: [sm2.yaml]
---
kind: PatchJson6902Transformer
metadata: {name: j}
target: {group: example.com, version: v1, kind: Thing, name: thing}
path: ops.yaml
---
kind: ValueAddTransformer
metadata: {name: va}
targetFilePath: va-targets.yaml
---
kind: ValueAddTransformer
metadata: {name: va2}
value: team-a
targets: [{selector: {kind: Secret}, fieldPath: metadata/namespace}]
---
kind: HashTransformer
metadata: {name: h}
`,
      resources("apiVersion: v1\nkind: Secret\nmetadata: {name: sec}\ndata: {k: dg==}\n---\napiVersion: example.com/v1\nkind: Thing\nmetadata: {name: thing}\nspec: {path: projects/x}\n"),
    );
    assert.deepEqual(objects(res), [
      { apiVersion: "v1", kind: "Secret", metadata: { name: "sec", namespace: "team-a" }, data: { k: "dg==" } },
      { apiVersion: "example.com/v1", kind: "Thing", metadata: { name: "thing" }, spec: { path: "app/projects/y", sm: true, extra: 1 } },
    ]);
  });

  void it("refuses what Kustomize refuses, naming the plugin's file", () => {
    const refusals: [string, string, string][] = [
      ["kind: ConfigMapGenerator\nmetadata: {name: x}\n", "ConfigMapGenerator cannot be used as a transformer", "plugin ConfigMapGenerator.builtin.[noGrp]/x.[noNs] not a transformer"],
      ["kind: NamespaceTransformer\nmetadata: {name: x, namespace: n}\nsetRoleBindingSubjects: some\n", 'invalid value "some" for setRoleBindingSubjects: must be one of "defaultOnly", "none" or "allServiceAccounts"', "the same"],
      ["kind: PrefixTransformer\nmetadata: {name: x}\nprefix: p-\n", "PrefixTransformer: fieldSpecs is not expected to be nil", "fieldSpecs is not expected to be nil"],
      ["kind: ReplicaCountTransformer\nmetadata: {name: x}\nreplica: {name: web, count: 1.5}\nfieldSpecs: [{path: spec/replicas}]\n", "ReplicaCountTransformer: replica.count must be an integer", "cannot unmarshal number 1.5 into Go struct field Replica.replica.count of type int64"],
      ["kind: PatchStrategicMergeTransformer\nmetadata: {name: x}\n", "PatchStrategicMergeTransformer: empty file path and empty patch content", "empty file path and empty patch content"],
      ["kind: PatchJson6902Transformer\nmetadata: {name: x}\njsonOp: '[]'\n", "PatchJson6902Transformer: must specify a target", "(kubectl panics: nil pointer dereference)"],
      ["kind: PatchJson6902Transformer\nmetadata: {name: x}\ntarget: {kind: Deployment, name: web}\npath: a.yaml\njsonOp: '[]'\n", "PatchJson6902Transformer: must specify a file path or jsonOp, not both", "must specify a file path or jsonOp, not both"],
      ["kind: PatchJson6902Transformer\nmetadata: {name: x}\ntarget: {kind: Deployment, name: web}\n", "PatchJson6902Transformer: empty file path and empty jsonOp", "empty file path and empty jsonOp"],
      ["kind: ValueAddTransformer\nmetadata: {name: x}\nvalue: v\n", "ValueAddTransformer: must specify at least one target", "must specify at least one target"],
      ["kind: ValueAddTransformer\nmetadata: {name: x}\nvalue: v\ntargets: [{selector: {kind: Deployment}}]\n", "ValueAddTransformer: fieldPath cannot be empty", "fieldPath cannot be empty"],
      ["kind: ValueAddTransformer\nmetadata: {name: x}\nvalue: v\ntargets: [{fieldPath: spec/x, filePathPosition: -1}]\n", "ValueAddTransformer: value of FilePathPosition (-1) cannot be negative", "value of FilePathPosition (-1) cannot be negative"],
      ["kind: LabelTransformer\nmetadata: {name: x}\nlabels: {a: b}\nfieldSpecs: {path: metadata/labels}\n", "fieldSpecs must be a list of field specs", "cannot unmarshal object into Go struct field LabelTransformerPlugin.fieldSpecs of type []types.FieldSpec"],
      ["kind: ValueAddTransformer\nmetadata: {name: x}\nvalue: v\ntargets: [{fieldPath: spec/x, where: 1}]\n", 'ValueAddTransformer target: unknown field "where" (known: selector, fieldPath, filePathPosition)', "(ignored: Mooring refuses unknown fields, docs/render.md)"],
    ];
    for (const [config, message, kustomize] of refusals) assert.throws(() => run(config), { message: `${FILE}: ${message}` }, `Kustomize: ${kustomize}`);
  });

  void it("refuses fields a kind does not have, which Kustomize would ignore (deliberately stricter, docs/render.md)", () => {
    assert.deepEqual(META_KEYS, ["apiVersion", "kind", "metadata"]);
    assert.throws(() => run("kind: LabelTransformer\nmetadata: {name: x}\nlabels: {a: b}\nlabel: {a: b}\n"), {
      message: `${FILE}: LabelTransformer: unknown field "label" (known: apiVersion, kind, metadata, labels, fieldSpecs)`,
    });
    assert.throws(() => run("kind: HashTransformer\nmetadata: {name: h}\nbehavior: merge\n"), { message: /HashTransformer: unknown field "behavior"/ });
  });

  void it("reads a patch file only under the kustomization's directory", () => {
    // kubectl: security; file '.../outside.yaml' is not in or below '.../app'
    assert.throws(() => run("kind: PatchTransformer\nmetadata: {name: p}\npath: ../outside.yaml\ntarget: {kind: Thing}\n"), {
      message: `app/kustomization.yaml: PatchTransformer path "../outside.yaml" is not in or below app (Kustomize's load restriction); move it there, or put it in a directory with its own kustomization and list that directory`,
    });
  });
});
