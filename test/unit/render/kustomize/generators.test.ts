// Kustomize's ConfigMap and Secret generators (src/render/kustomize/generators.ts): options read and merged with
// generatorOptions as MergeGlobalOptionsIntoLocal merges them, the arguments read strictly, and the object made from
// literals (quotes removed), files (`path` or `key=path`, binary content as binaryData) and env files, with every
// malformed source refused naming the kustomization. Expected objects are what `kubectl kustomize` (v5.5) prints.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import type { Kust } from "../../../../src/render/kustomize/context.js";
import { generate, mergeGenOptions, readGenArgs, readGenOptions, type GenArgs } from "../../../../src/render/kustomize/generators.js";
import { writeTree } from "../tree.js";

const tree = writeTree({
  "app/kustomization.yaml": "",
  "app/a.txt": "a.txt content\n",
  "app/conf/b.txt": "b\n",
  "app/bin.dat": Buffer.from([0xff, 0xfe, 0x00, 0x62, 0x69, 0x6e]),
  // A BOM, a comment, a blank line, leading blanks, an empty value, quotes (kept), a second '=', CRLF.
  "app/app.env": '\uFEFF# comment\n\n  SPACED=1\nEMPTY=\nQ="quoted"\nW=a=b\r\n',
  "app/noeq.env": "OK=1\nFROM_ENVIRONMENT\n",
  "app/space.env": "A B=1\n",
  "app/dup.env": "x=2\n",
  "outside.txt": "not below the kustomization\n",
});
after(() => tree.cleanup());
const root = new ArtifactRoot(tree.dir, resolveLimits());
const K: Kust = { dir: "app", file: "app/kustomization.yaml", k: {} };
const F = K.file;

const args = (over: Partial<GenArgs>): GenArgs => ({ kind: "ConfigMap", name: "cm", namespace: "", behavior: "", literals: [], files: [], envs: [], type: "", ...over });
const gen = (over: Partial<GenArgs>) => generate(root, K, args(over), "configMapGenerator");
const opts = (o: Partial<NonNullable<GenArgs["options"]>>) => ({ labels: {}, annotations: {}, disableNameSuffixHash: false, immutable: false, ...o });

void describe("kustomize generators", () => {
  void it("read options strictly: absent is none, wrong types and unknown keys refused", () => {
    assert.equal(readGenOptions(undefined, F, "generatorOptions"), undefined);
    assert.equal(readGenOptions(null, F, "generatorOptions"), undefined);
    assert.deepEqual(readGenOptions({ labels: { a: "1" }, immutable: true }, F, "generatorOptions"), opts({ labels: { a: "1" }, immutable: true }));
    assert.throws(() => readGenOptions([], F, "generatorOptions"), { message: `${F}: "generatorOptions" must be a map` });
    assert.throws(() => readGenOptions({ label: {} }, F, "generatorOptions"), { message: /^app\/kustomization\.yaml: generatorOptions: unknown field "label"/ });
    assert.throws(() => readGenOptions({ labels: { a: 1 } }, F, "x.options"), { message: `${F}: "x.options.labels.a" must be a string; quote the value (1)` });
    assert.throws(() => readGenOptions({ disableNameSuffixHash: "yes" }, F, "generatorOptions"), { message: `${F}: "generatorOptions.disableNameSuffixHash" must be true or false` });
  });

  void it("merge generatorOptions into a generator's own: its labels and annotations win, either one disables the hash", () => {
    const global = opts({ labels: { a: "global", g: "g" }, annotations: { n: "global" }, disableNameSuffixHash: true });
    const local = opts({ labels: { a: "local" }, immutable: true });
    assert.deepEqual(mergeGenOptions(local, global), opts({ labels: { a: "local", g: "g" }, annotations: { n: "global" }, disableNameSuffixHash: true, immutable: true }));
    assert.deepEqual(mergeGenOptions(undefined, global), global);
    assert.equal(mergeGenOptions(local, undefined), local);
    assert.equal(mergeGenOptions(undefined, undefined), undefined);
  });

  void it("read a generator's arguments: `env` after `envs`, `type` only for a Secret, unknown keys refused", () => {
    const g = readGenArgs({ name: "s", namespace: "ns", envs: ["a.env"], env: "b.env", type: "kubernetes.io/tls", options: { labels: { l: "v" } } }, "Secret", F, "secretGenerator");
    assert.deepEqual(g, { kind: "Secret", name: "s", namespace: "ns", behavior: "", literals: [], files: [], envs: ["a.env", "b.env"], options: opts({ labels: { l: "v" } }), type: "kubernetes.io/tls" });
    assert.equal(readGenArgs({ name: "c" }, "ConfigMap", F, "configMapGenerator").options, undefined);
    assert.throws(() => readGenArgs({ name: "c", type: "x" }, "ConfigMap", F, "configMapGenerator"), { message: /^app\/kustomization\.yaml: configMapGenerator: unknown field "type"/ });
    assert.throws(() => readGenArgs({ name: "c", literal: [] }, "ConfigMap", F, "configMapGenerator"), { message: /configMapGenerator: unknown field "literal"/ });
    assert.deepEqual(readGenArgs({ name: "c", extra: 1 }, "ConfigMap", F, "ConfigMapGenerator", ["extra"]).name, "c", "a plugin's extra keys are allowed");
    assert.throws(() => readGenArgs({ name: "s", type: 3 }, "Secret", F, "secretGenerator"), { message: `${F}: "secretGenerator.type" must be a string` });
    assert.throws(() => readGenArgs({ name: "c", literals: "a=1" }, "ConfigMap", F, "configMapGenerator"), { message: `${F}: "configMapGenerator.literals" must be a list of strings` });
    assert.throws(() => readGenArgs({ name: 5 }, "ConfigMap", F, "configMapGenerator"), { message: `${F}: "configMapGenerator.name" must be a string` });
  });

  void it("make a ConfigMap from literals, files and env files, as kubectl kustomize does", () => {
    const r = gen({
      namespace: "shop",
      literals: ['x="y z"', "e=", "s='single'"],
      files: ["a.txt", "other=a.txt", "conf/b.txt", "bin.dat"],
      envs: ["app.env"],
      options: opts({ labels: { l: "v" }, annotations: { an: "v" }, immutable: true }),
    });
    assert.deepEqual(r.obj, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm", namespace: "shop", labels: { l: "v" }, annotations: { an: "v" } },
      data: { x: "y z", e: "", s: "single", "a.txt": "a.txt content\n", other: "a.txt content\n", "b.txt": "b\n", SPACED: "1", EMPTY: "", Q: '"quoted"', W: "a=b" },
      binaryData: { "bin.dat": "//4AYmlu" },
      immutable: true,
    });
    assert.deepEqual([r.needsHash, r.behavior, r.file], [true, "create", F]);
  });

  void it("make an empty ConfigMap without data, and honour disableNameSuffixHash and behavior", () => {
    const r = gen({ behavior: "merge", options: opts({ disableNameSuffixHash: true }) });
    assert.deepEqual(r.obj, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" } });
    assert.deepEqual([r.needsHash, r.behavior], [false, "merge"]);
    assert.equal(gen({ behavior: "replace" }).behavior, "replace");
  });

  void it("make a Secret: values base64, wrapped into 70-character lines past 70, type Opaque unless given", () => {
    const r = gen({ kind: "Secret", literals: [`k68=${"a".repeat(51)}`, `k72=${"a".repeat(54)}`, "short=ab"], files: ["bin.dat"] });
    assert.deepEqual(r.obj, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "cm" },
      data: {
        k68: "YWFh".repeat(17),
        k72: `${"YWFh".repeat(17)}YW\nFh\n`,
        short: "YWI=",
        "bin.dat": "//4AYmlu",
      },
      type: "Opaque",
    });
    const tls = gen({ kind: "Secret", type: "kubernetes.io/tls" });
    assert.deepEqual([tls.obj.type, tls.obj.data], ["kubernetes.io/tls", undefined]);
  });

  void it("refuse a generator without a name, and (stricter than Kustomize, which takes it as create) an unknown behavior", () => {
    assert.throws(() => gen({ name: "" }), { message: `${F}: a ConfigMap generator has no name` });
    assert.throws(() => gen({ behavior: "upsert", literals: ["a=1"] }), { message: `${F}: configMapGenerator "cm": unknown behavior "upsert" (use create, merge or replace)` });
  });

  void it("refuse a key given twice, by literals, files or env files", () => {
    assert.throws(() => gen({ literals: ["a=1", "a=2"] }), { message: `${F}: configmap cm illegally repeats the key \`a\` (literals)` });
    assert.throws(() => gen({ kind: "Secret", literals: ["x=1"], envs: ["dup.env"] }), { message: `${F}: secret cm illegally repeats the key \`x\` (app/dup.env)` });
    assert.throws(() => gen({ literals: ["a.txt=1"], files: ["a.txt"] }), { message: /configmap cm illegally repeats the key `a\.txt` \(app\/a\.txt\)/ });
  });

  void it("refuse literals that are not key=value and keys the API server would refuse", () => {
    assert.throws(() => gen({ literals: ["=1"] }), { message: `${F}: ConfigMap generator "cm": literal "=1" is not key=value` });
    assert.throws(() => gen({ literals: ["novalue"] }), { message: `${F}: ConfigMap generator "cm": literal "novalue" is not key=value` });
    assert.throws(() => gen({ literals: ["a b=1"] }), { message: `${F}: ConfigMap generator "cm": "a b" is not a valid key name (letters, digits, "-", "_", ".")` });
    // A Secret's literal may be the secret itself (a password missing its key): named by its place, never quoted.
    assert.throws(() => gen({ kind: "Secret", literals: ["a=1", "hunter2-s3cret"] }), { message: `${F}: Secret generator "cm": literal #2 is not key=value` });
  });

  void it("refuse malformed file sources, as Kustomize's parseFileSource does, and files it could not load", () => {
    assert.throws(() => gen({ files: ["k=a.txt=x"] }), { message: `${F}: ConfigMap generator "cm": source "k=a.txt=x" key name or file path contains '='` });
    assert.throws(() => gen({ files: ["=a.txt"] }), { message: `${F}: ConfigMap generator "cm": missing key name for file path in source "=a.txt"` });
    assert.throws(() => gen({ files: ["k="] }), { message: `${F}: ConfigMap generator "cm": missing file path in source "k="` });
    assert.throws(() => gen({ files: ["missing.txt"] }), { message: /^app\/kustomization\.yaml: configMapGenerator "cm" file "missing\.txt" / });
    assert.throws(() => gen({ files: ["../outside.txt"] }), { message: /configMapGenerator "cm" file "\.\.\/outside\.txt" is not in or below app \(Kustomize's load restriction\)/ });
    assert.throws(() => gen({ files: ["conf"] }), { message: /configMapGenerator "cm" file "conf" is a directory, not a file/ });
  });

  void it("refuse env lines without '=' (no reading the environment) and keys with blanks, at their line", () => {
    assert.throws(() => gen({ envs: ["noeq.env"] }), {
      message: 'app/noeq.env:2: env line "FROM_ENVIRONMENT" is not KEY=VALUE (reading variables from the environment is not supported)',
    });
    assert.throws(() => gen({ kind: "Secret", envs: ["noeq.env"] }), {
      message: "app/noeq.env:2: env line is not KEY=VALUE (reading variables from the environment is not supported)",
    });
    assert.throws(() => gen({ envs: ["space.env"] }), { message: 'app/space.env:1: env key "A B" contains whitespace' });
    assert.throws(() => gen({ envs: ["none.env"] }), { message: /^app\/kustomization\.yaml: configMapGenerator "cm" env file "none\.env" / });
  });
});
