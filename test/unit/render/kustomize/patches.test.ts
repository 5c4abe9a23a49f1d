// Kustomize's patch transformers (src/render/kustomize/patches.ts): a `patches` entry as strategic merge objects (by
// id, or one object applied to every resource a target selects) or JSON 6902 operations (target required), the legacy
// patchesStrategicMerge and patchesJson6902, and the refusals. Expected objects are what `kubectl kustomize`
// (Kustomize v5.5.0) prints for the same kustomization; its error for each refused case is quoted beside ours.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { KubeObject } from "../../../../src/render/objects.js";
import { applyJson6902, applyJson6902Patch, applyPatch, applySmPatch, applyStrategicMergePatches, parsePatch, type PatchEnv } from "../../../../src/render/kustomize/patches.js";
import { newRes, type Res } from "../../../../src/render/kustomize/resource.js";

const F = "app/kustomization.yaml";
const env: PatchEnv = { limits: resolveLimits() };
const RES = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - {name: app, image: nginx, ports: [{containerPort: 80}]}
      - {name: side, image: busybox}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, labels: {app: api}}
spec: {replicas: 1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {a: "1", b: "2"}
`;
const resources = (): Res[] => parseAllDocuments(RES).map((d, i) => newRes(d.toJS() as KubeObject, "app/res.yaml", i));
const get = (res: Res[], kind: string, name: string): KubeObject | undefined => res.find((r) => r.obj.kind === kind && r.obj.metadata.name === name)?.obj;

void describe("kustomize patches", () => {
  void it("applies strategic merge patches by id: containers merged by name, null deletes a key", () => {
    const patch = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  template:
    spec:
      containers:
      - {name: app, image: "nginx:1.27"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {b: null, c: "3"}`;
    const res = applyPatch(resources(), patch, F, undefined, {}, env);
    assert.deepEqual(get(res, "Deployment", "web")!.spec, {
      replicas: 3,
      template: {
        spec: {
          containers: [
            { name: "app", image: "nginx:1.27", ports: [{ containerPort: 80 }] },
            { name: "side", image: "busybox" },
          ],
        },
      },
    });
    assert.deepEqual(get(res, "ConfigMap", "cfg")!.data, { a: "1", c: "3" });
  });

  void it("applies one strategic merge patch to every resource a target selects, keeping their names", () => {
    const patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: anything, labels: {patched: \"yes\"}}\n";
    const res = applyPatch(resources(), patch, F, { kind: "Deployment", labelSelector: "app in (web,api)" }, {}, env);
    assert.deepEqual(get(res, "Deployment", "web")!.metadata.labels, { app: "web", patched: "yes" });
    assert.deepEqual(get(res, "Deployment", "api")!.metadata.labels, { app: "api", patched: "yes" });
    assert.equal(get(res, "Deployment", "anything"), undefined);
  });

  void it("changes name and kind only when the options allow it, keeping the previous id", () => {
    const res = applyPatch(resources(), "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web2}\n", F, { kind: "Deployment", name: "web" }, { allowNameChange: true, allowKindChange: true }, env);
    const r = res.find((x) => x.obj.metadata.name === "web2")!;
    assert.equal(r.obj.kind, "StatefulSet");
    assert.deepEqual(r.obj.metadata.labels, { app: "web" });
    assert.deepEqual(r.prev, [{ kind: "Deployment", name: "web", ns: "default" }]);
    const kept = applyPatch(resources(), "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web2, namespace: x}\n", F, { name: "web" }, {}, env);
    assert.deepEqual(get(kept, "Deployment", "web")!.metadata, { name: "web", labels: { app: "web" } }, "kind, name and namespace of the target stay");
  });

  void it("deletes the resource a `$patch: delete` patch names", () => {
    const res = applyPatch(resources(), "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\n$patch: delete\n", F, undefined, {}, env);
    assert.deepEqual(
      res.map((r) => r.obj.metadata.name),
      ["web", "cfg"],
    );
  });

  void it("applies JSON 6902 operations to the targets as Kustomize's json-patch does", () => {
    const ops = "- {op: replace, path: /spec/paused, value: true}\n- {op: add, path: /metadata/annotations/note, value: json}\n- {op: copy, from: /spec/missing, path: /spec/copied}\n";
    const res = applyPatch(resources(), ops, F, { kind: "Deployment", name: "a.*" }, {}, env);
    const api = get(res, "Deployment", "api")!;
    assert.deepEqual(api.spec, { replicas: 1, paused: true, copied: null }, "replace of a missing key adds it; copy of a missing key copies null");
    assert.deepEqual(api.metadata.annotations, { note: "json" }, "after a `patches` entry the object has build annotations");
    assert.equal(get(res, "Deployment", "web")!.metadata.annotations, undefined);
    const web = get(res, "Deployment", "web")!;
    const added = [{ op: "add", path: "/metadata/annotations/n", value: "x" }, { op: "remove", path: "/metadata/annotations/n" }] as const;
    assert.deepEqual(applyJson6902(web, [...added]).metadata, { name: "web", labels: { app: "web" } }, "an annotations map the patch made and left empty goes");
  });

  void it("applies patchesStrategicMerge by id, in any namespace spelling", () => {
    const res = applyStrategicMergePatches(
      resources(),
      [
        { text: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\nspec: {replicas: 4}\n", where: F },
        { text: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {z: \"1\"}\n", where: "app/p.yaml" },
      ],
      env,
    );
    assert.equal((get(res, "Deployment", "web")!.spec as { replicas: number }).replicas, 4);
    assert.deepEqual(get(res, "ConfigMap", "cfg")!.data, { a: "1", b: "2", z: "1" });
  });

  void it("applies patchesJson6902, adding under annotations only when an earlier step made build annotations", () => {
    const target = { group: "apps", version: "v1", kind: "Deployment", name: "web" };
    const res = resources();
    applyJson6902Patch(res, "- {op: remove, path: /spec/template/spec/containers/1}\n", F, target, env);
    assert.deepEqual(
      (get(res, "Deployment", "web")!.spec as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers.map((c) => c.name),
      ["app"],
    );
    const add = "- {op: add, path: /metadata/annotations/note, value: x}\n";
    // kubectl: add operation does not apply: doc is missing path: "/metadata/annotations/note": missing value
    assert.throws(() => applyJson6902Patch(resources(), add, F, target, env), { message: /^app\/kustomization\.yaml: JSON 6902 patch failed on Deployment web: / });
    const renamed = resources();
    renamed[0]!.prev.push({ kind: "Deployment", name: "web", ns: "default" });
    applyJson6902Patch(renamed, add, F, target, env);
    assert.deepEqual(renamed[0]!.obj.metadata.annotations, { note: "x" });
  });

  void it("finds Mooring's override targets by kind and name, group and namespace only when the patch gives them", () => {
    const lenient: PatchEnv = { ...env, lenientTargets: true };
    const res = applyPatch(resources(), "kind: ConfigMap\nmetadata: {name: cfg}\ndata: {l: \"1\"}\n", "overrides", undefined, {}, lenient);
    assert.deepEqual(get(res, "ConfigMap", "cfg")!.data, { a: "1", b: "2", l: "1" });
    assert.throws(() => applyPatch(resources(), "apiVersion: other/v1\nkind: ConfigMap\nmetadata: {name: cfg}\n", "overrides", undefined, {}, lenient), { message: /which is not among the resources/ });
    assert.throws(() => applyPatch(resources(), "kind: ConfigMap\nmetadata: {name: cfg, namespace: other}\n", "overrides", undefined, {}, lenient), { message: /which is not among the resources/ });
  });

  void it("reads a patch as strategic merge objects or JSON 6902 operations", () => {
    assert.equal(parsePatch("- {op: add, path: /a, value: 1}\n", F, env).kind, "json");
    const sm = parsePatch("kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}\n", F, env);
    assert.deepEqual(sm.kind === "sm" ? sm.docs.map((d) => d.line) : [], [1, 4]);
    const r = resources()[1]!;
    assert.equal(applySmPatch(r, { kind: "Deployment", metadata: { name: "api" }, $patch: "delete" }, {}, env), false);
  });

  void it("refuses what Kustomize refuses, naming the file", () => {
    const refusals: [() => unknown, string | RegExp, string][] = [
      [() => applyPatch(resources(), "kind: Deployment\nspec: {replicas: 2}\n", F, undefined, {}, env), `${F}:1: unable to parse the patch: a strategic merge patch needs kind and metadata.name (even with a target)`, "unable to parse SM or JSON patch"],
      [() => applyPatch(resources(), "", F, undefined, {}, env), `${F}: patch is empty`, "must specify a target for JSON patch (a 0-byte patch file without a target)"],
      [() => applyPatch(resources(), "- {op: add, value: 1}\n", F, { kind: "Deployment" }, {}, env), `${F}:1: a JSON 6902 patch must be a list of operations, each with op and path`, "add operation failed to decode path: missing value"],
      [() => applyPatch(resources(), "just text\n", F, undefined, {}, env), /^app\/kustomization\.yaml:1: unable to parse the patch as strategic merge or JSON 6902/, "unable to parse SM or JSON patch"],
      [() => applyPatch(resources(), "kind: Deployment\nmetadata: {name: x}\n---\nkind: Deployment\nmetadata: {name: y}\n", F, { kind: "Deployment" }, {}, env), `${F}: a \`patches\` entry with a target may hold only one strategic merge patch`, "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field"],
      [() => applyPatch(resources(), "- {op: replace, path: /spec/replicas, value: 2}\n", F, undefined, {}, env), `${F}: a JSON 6902 patch needs a \`target\``, "must specify a target for JSON patch"],
      [() => applyPatch(resources(), "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nope}\n", F, undefined, {}, env), `${F}:1: patch targets Deployment nope, which is not among the resources (no Deployment with apiVersion apps/v1 in that namespace has that name)`, "no resource matches strategic merge patch \"Deployment.v1.apps/nope.[noNs]\""],
      [() => applyPatch(resources(), "kind: Deployment\nmetadata: {name: web}\n", F, undefined, {}, env), /^app\/kustomization\.yaml:1: patch targets Deployment web, which is not among the resources \(no Deployment \(the patch has no apiVersion\)/, "no matches for Id Deployment.[noVer].[noGrp]/web.[noNs]"],
      [() => applyPatch(resources(), "- {op: test, path: /spec/replicas, value: 5}\n", F, { kind: "Deployment", name: "web" }, {}, env), /^app\/kustomization\.yaml: JSON 6902 patch failed on Deployment web: /, "testing value /spec/replicas failed: test failed"],
      [() => applyStrategicMergePatches(resources(), [{ text: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n", where: "app/p.yaml" }], env), /^app\/p\.yaml:1: patch targets ConfigMap cfg, which is not among/, "no matches for Id ConfigMap.v1.[noGrp]/cfg.[noNs]"],
      [() => applyStrategicMergePatches(resources(), [{ text: "# nothing\n", where: "app/p.yaml" }], env), "app/p.yaml: patch appears to be empty", "patch appears to be empty"],
      [() => applyStrategicMergePatches(resources(), [{ text: "- a\n", where: "app/p.yaml" }], env), "app/p.yaml:1: a strategic merge patch must be a map", "(a list is not a patch)"],
      [() => applyStrategicMergePatches(resources(), [{ text: "kind: ConfigMap\n", where: "app/p.yaml" }], env), "app/p.yaml:1: a strategic merge patch needs kind and metadata.name", "(missing metadata.name)"],
      [() => applyJson6902Patch(resources(), "- {op: remove, path: /spec}\n", F, { kind: "Deployment" }, env), `${F}: a patchesJson6902 target must name its target (target.name)`, "must specify the target name"],
      [() => applyJson6902Patch(resources(), "[]\n", F, { kind: "Deployment", name: "web" }, env), `${F}: patch appears to be empty`, "patch appears to be empty; file=, JsonOp=[]"],
      [() => applyJson6902Patch(resources(), "op: add\n", F, { kind: "Deployment", name: "web" }, env), `${F}: a JSON 6902 patch must be a list of operations`, "(not a list)"],
    ];
    for (const [run, message, kustomize] of refusals) assert.throws(run, { message }, `Kustomize: ${kustomize}`);
  });

  void it("refuses a strategic merge patch that matches two resources with one name", () => {
    const two = [...resources(), newRes({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "other" } }, "x.yaml")];
    assert.throws(() => applyPatch(two, "kind: ConfigMap\nmetadata: {name: cfg}\n", "overrides", undefined, {}, { ...env, lenientTargets: true }), {
      message: "overrides:1: patch matches 2 resources named cfg; add a namespace",
    });
  });
});
