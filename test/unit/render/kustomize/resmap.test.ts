// Kustomize's ResMap (src/render/kustomize/resmap.ts): a resource file read into resources with Lists inlined after
// the file's other documents, AppendAll refusing an id already there, and AbsorbAll adding a generated resource or
// merging into / replacing the one with its id as its behavior says.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { Ctx } from "../../../../src/render/kustomize/context.js";
import { absorb, appendAll, resourcesFromText } from "../../../../src/render/kustomize/resmap.js";
import { newRes, type Res } from "../../../../src/render/kustomize/resource.js";
import type { KubeObject } from "../../../../src/render/objects.js";

const ctx = { root: { limits: resolveLimits() }, stack: [], schemaSet: false, origins: false, warn: () => {} } as unknown as Ctx;
const names = (res: Res[]) => res.map((r) => `${r.obj.kind}/${r.obj.metadata.name}`);
const cm = (name: string, data: Record<string, string>, extra: Partial<KubeObject["metadata"]> = {}, file = "k.yaml", behavior: Res["behavior"] = ""): Res => {
  const r = newRes({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...extra }, data }, file);
  r.behavior = behavior;
  return r;
};

void describe("kustomize resmap", () => {
  void it("reads documents, inlines Lists after the file's other documents, skips empty ones", () => {
    const text = [
      "kind: ConfigMapList",
      "items:",
      "- {kind: ConfigMap, metadata: {name: b}}",
      "- {}",
      "- null",
      "---",
      "kind: ConfigMap",
      "metadata: {name: a}",
      "---",
      "{}",
      "---",
      "kind: SecretList",
      "items: null",
      "",
    ].join("\n");
    const res = resourcesFromText(text, "r.yaml", ctx);
    assert.deepEqual(names(res), ["ConfigMap/a", "ConfigMap/b"]);
    assert.deepEqual([res[0]!.file, res[0]!.line, res[1]!.line], ["r.yaml", 7, 1]);
    assert.deepEqual(names(resourcesFromText("kind: PodList\n", "r.yaml", ctx)), ["PodList/"], "a List without items is a resource, named \"\" if it has no metadata");
  });

  void it("refuses what is not an object, a kind-less one, and List items that are not a list", () => {
    assert.throws(() => resourcesFromText("- a\n", "r.yaml", ctx), { message: "r.yaml:1: document is a list, not a Kubernetes object" });
    assert.throws(() => resourcesFromText("---\njust text\n", "r.yaml", ctx), { message: /document is a string, not a Kubernetes object/ });
    assert.throws(() => resourcesFromText("metadata: {name: x}\n", "r.yaml", ctx), { message: /missing kind in object/ });
    assert.throws(() => resourcesFromText("kind: FooList\nitems: {a: 1}\n", "r.yaml", ctx), { message: /expected array in FooList\/items/ });
    assert.throws(() => resourcesFromText("kind: ConfigMap\n", "r.yaml", ctx), { message: /missing metadata\.name in ConfigMap object/ });
  });

  void it("appends, refusing an id already registered and naming both files", () => {
    const res = [cm("a", {}, {}, "base.yaml")];
    appendAll(res, [cm("b", {})], "k.yaml", ctx);
    assert.deepEqual(names(res), ["ConfigMap/a", "ConfigMap/b"]);
    assert.throws(() => appendAll(res, [cm("a", {}, { namespace: "default" }, "dup.yaml")], "k.yaml", ctx), {
      message: "k.yaml: may not add resource with an already registered id: ConfigMap.v1.[noGrp]/a.default (from dup.yaml; already added from base.yaml)",
    });
  });

  void it("absorbs a generated resource: added when new, merged or replaced as its behavior says", () => {
    const old = cm("cfg", { a: "1", b: "2" }, { labels: { l: "old", keep: "y" }, namespace: "shop" });
    old.prefixes.push("p-");
    const res = [old];
    absorb(res, cm("new", { x: "1" }), "k.yaml", ctx);
    assert.deepEqual(names(res), ["ConfigMap/cfg", "ConfigMap/new"]);
    absorb(res, cm("cfg", { b: "3", c: "4" }, { labels: { l: "gen" }, namespace: "shop" }, "k.yaml", "merge"), "k.yaml", ctx);
    assert.deepEqual(res[0]!.obj.data, { a: "1", b: "3", c: "4" });
    assert.deepEqual(res[0]!.obj.metadata.labels, { l: "gen", keep: "y" });
    assert.deepEqual([res[0]!.prefixes, res[0]!.behavior], [["p-"], ""], "build state is the old resource's");
    absorb(res, cm("cfg", { z: "9" }, { namespace: "shop" }, "k.yaml", "replace"), "k.yaml", ctx);
    assert.deepEqual(res[0]!.obj.data, { z: "9" });
    assert.equal(res[0]!.obj.metadata.namespace, "shop");
  });

  void it("refuses a merge with nothing to merge into, and a create over an existing id", () => {
    const res = [cm("cfg", {})];
    assert.throws(() => absorb(res, cm("none", {}, {}, "k.yaml", "merge"), "k.yaml", ctx), { message: /ConfigMap "none" has behavior merge, but there is no ConfigMap ConfigMap\.v1\.\[noGrp\]\/none\.\[noNs\] to merge/ });
    assert.throws(() => absorb(res, cm("cfg", {}), "k.yaml", ctx), { message: /already exists; a generator for it needs behavior: merge or replace \(it has none\)/ });
  });
});
