// The arguments of Kustomize's transformers (src/render/kustomize/transformer-args.ts): a patch's text inline or from
// a file (trimmed only inline), its options and target, an images entry, legacy strategic merge entries, and
// replacements inline or from files; unknown keys and contradictions refused naming the kustomization.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { Ctx, Kust } from "../../../../src/render/kustomize/context.js";
import { expandReplacements, patchEnv, patchSource, readImage, readPatchOptions, readTarget, strategicMergeSources } from "../../../../src/render/kustomize/transformer-args.js";
import { writeTree } from "../tree.js";

const tree = writeTree({
  "app/kustomization.yaml": "",
  "app/patch.yaml": "spec:\n  replicas: 2\n",
  "app/reps.yaml": "- source: {kind: ConfigMap, name: a}\n  targets: []\n- source: {kind: ConfigMap, name: b}\n  targets: []\n",
});
after(() => tree.cleanup());
const root = new ArtifactRoot(tree.dir, resolveLimits());
const ctx = { root, stack: [], schemaSet: false, origins: false, warn: () => {} } as Ctx;
const K: Kust = { dir: "app", file: "app/kustomization.yaml", k: {} };
const F = K.file;

void describe("kustomize transformer arguments", () => {
  void it("take a patch inline (trimmed) or from a file (as is), and refuse both or neither", () => {
    assert.deepEqual(patchSource(ctx, K, { patch: "\n  spec: {}\n" }, "patches[0]"), { text: "spec: {}", where: F });
    assert.deepEqual(patchSource(ctx, K, { path: "patch.yaml" }, "patches[0]"), { text: "spec:\n  replicas: 2\n", where: "app/patch.yaml" });
    assert.throws(() => patchSource(ctx, K, { patch: "a: 1", path: "patch.yaml" }, "patches[1]"), { message: `${F}: patches[1]: patch and path can't be set at the same time` });
    assert.throws(() => patchSource(ctx, K, { patch: "   " }, "patches[2]"), { message: `${F}: patches[2]: must specify one of patch and path` });
    assert.equal(patchEnv(ctx).limits, root.limits);
  });

  void it("read patch options and targets, refusing unknown keys and wrong types", () => {
    assert.deepEqual(readPatchOptions(undefined, F), {});
    assert.deepEqual(readPatchOptions({ allowNameChange: true }, F), { allowNameChange: true, allowKindChange: false });
    assert.throws(() => readPatchOptions([], F), { message: `${F}: "patches[].options" must be a map` });
    assert.throws(() => readPatchOptions({ allowAll: true }, F), { message: /patch options: unknown field "allowAll"/ });
    assert.equal(readTarget(null, F, "patches[0]"), undefined);
    assert.deepEqual(readTarget({ kind: "Deployment", labelSelector: "app=web" }, F, "patches[0]"), { kind: "Deployment", labelSelector: "app=web" });
    assert.throws(() => readTarget("Deployment", F, "patches[0]"), { message: `${F}: patches[0].target must be a map` });
    assert.throws(() => readTarget({ kinds: "x" }, F, "patches[0]"), { message: /patches\[0\]\.target: unknown field "kinds"/ });
  });

  void it("read an images entry, which needs a name and string values", () => {
    assert.deepEqual(readImage({ name: "nginx", newTag: "1.27" }, F), { name: "nginx", newName: "", newTag: "1.27", digest: "", tagSuffix: "" });
    assert.throws(() => readImage({ newTag: "1" }, F), { message: `${F}: an images entry needs a name` });
    assert.throws(() => readImage({ name: "nginx", newTag: 1.27 }, F), { message: /images\[\]\.newTag \(quote it\)/ });
    assert.throws(() => readImage({ name: "nginx", tag: "1" }, F), { message: /images entry: unknown field "tag"/ });
  });

  void it("take a legacy strategic merge entry that looks like YAML as the patch, else as a file", () => {
    const got = strategicMergeSources(ctx, K, ["patch.yaml", "kind: Deployment", "a: 1\nb: 2"], F, "patchesStrategicMerge");
    assert.deepEqual(got, [
      { text: "spec:\n  replicas: 2\n", where: "app/patch.yaml" },
      { text: "kind: Deployment", where: F },
      { text: "a: 1\nb: 2", where: F },
    ]);
  });

  void it("expand replacements from files and inline, and refuse a path beside an inline one", () => {
    const inline = { source: { kind: "Secret", name: "s" }, targets: [] };
    const got = expandReplacements(ctx, K, [{ path: "reps.yaml" }, inline]);
    assert.deepEqual(
      got.map((g) => [(g.rep.source as { name: string }).name, g.where]),
      [
        ["a", "app/reps.yaml"],
        ["b", "app/reps.yaml"],
        ["s", F],
      ],
    );
    assert.throws(() => expandReplacements(ctx, K, [{ path: "reps.yaml", targets: [] }]), { message: `${F}: cannot specify both path and inline replacement` });
    assert.throws(() => expandReplacements(ctx, K, [{ source: {}, target: [] }]), { message: /replacements entry: unknown field "target"/ });
  });
});
