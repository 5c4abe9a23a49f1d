// Every bad input the issue lists fails with a RenderError that names the file (and line where there is one).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import * as os from "node:os";
import { render, RenderError, type RenderOptions } from "../../../src/render/index.js";
import { writeTree, type Tree } from "./tree.js";

const cm = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
const trees: Tree[] = [];
function tree(files: Parameters<typeof writeTree>[0]): string {
  const t = writeTree(files);
  trees.push(t);
  return t.dir;
}

function fails(dir: string, p: string, opts: RenderOptions, expect: { file?: string; line?: number; template?: string; message: RegExp }): void {
  assert.throws(
    () => render(dir, p, opts),
    (err: unknown) => {
      assert.ok(err instanceof RenderError, `expected a RenderError, got ${String(err)}`);
      assert.match(err.message, expect.message);
      if (expect.file !== undefined) assert.equal(err.file, expect.file, `file in ${err.message}`);
      if (expect.line !== undefined) assert.equal(err.line, expect.line, `line in ${err.message}`);
      if (expect.template !== undefined) assert.equal(err.template, expect.template);
      return true;
    },
  );
}

void describe("bad inputs", () => {
  after(() => trees.forEach((t) => t.cleanup()));

  void it("invalid YAML names file and line", () => {
    const dir = tree({ "ok.yaml": cm("a"), "bad.yaml": `${cm("b")}data:\n  k: [unclosed\n  j: 1\n` });
    fails(dir, "", {}, { file: "bad.yaml", message: /invalid YAML/ });
    assert.throws(() => render(dir, ""), (e: unknown) => e instanceof RenderError && typeof e.line === "number" && e.line >= 5);
  });

  void it("a YAML alias bomb (billion laughs) is refused", () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill("*" + String.fromCharCode(96 + i)).join(", ")}]`);
    const dir = tree({ "bomb.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  ${lines.join("\n  ")}\n` });
    fails(dir, "", {}, { file: "bomb.yaml", message: /alias/i });
  });

  void it("very deep nesting is refused", () => {
    const deep = "x: " + "[".repeat(500) + "]".repeat(500);
    const dir = tree({ "deep.yaml": `${cm("deep")}${deep}\n` });
    fails(dir, "", {}, { file: "deep.yaml", message: /nest/ });
    const deeper = "x: " + "[".repeat(50_000) + "]".repeat(50_000);
    fails(tree({ "deeper.yaml": `${cm("deeper")}${deeper}\n` }), "", {}, { file: "deeper.yaml", message: /nests too deeply to parse/ });
    const deepMap = Array.from({ length: 150 }, (_, i) => "  ".repeat(i) + `k${i}:`).join("\n") + " end\n";
    const dir2 = tree({ "deep.yaml": `${cm("deep")}${deepMap}` });
    fails(dir2, "", {}, { file: "deep.yaml", line: 1, message: /deeper than 100 levels/ });
  });

  void it("a file over the size limit is refused before parsing", () => {
    const dir = tree({ "big.yaml": cm("big") + "data:\n  k: " + "x".repeat(5000) + "\n", "small.yaml": cm("small") });
    fails(dir, "", { limits: { maxFileBytes: 1024 } }, { file: "big.yaml", message: /over the 1024-byte limit/ });
    fails(dir, "", { limits: { maxTotalBytes: 2048 } }, { message: /limit per render/ });
  });

  void it("paths escaping the artifact are refused: ../, absolute, symlinks", () => {
    const outside = tree({ "secret.yaml": cm("outside") });
    const dir = tree({
      "up/kustomization.yaml": "resources:\n- ../../escape.yaml\n",
      "abs/kustomization.yaml": `resources:\n- ${path.join(outside, "secret.yaml")}\n`,
      "link/kustomization.yaml": "resources:\n- evil.yaml\n",
      "link/evil.yaml": { symlink: path.join(outside, "secret.yaml") },
      "plainlink/evil.yaml": { symlink: path.join(outside, "secret.yaml") },
      "plaindirlink/d": { symlink: outside },
      "gen/kustomization.yaml": "configMapGenerator:\n- name: x\n  files:\n  - ../../../etc/passwd\n",
    });
    fails(dir, "up", {}, { file: "up/kustomization.yaml", message: /escapes the artifact root/ });
    fails(dir, "abs", {}, { file: "abs/kustomization.yaml", message: /is absolute/ });
    fails(dir, "link", {}, { file: "link/kustomization.yaml", message: /symlink pointing outside/ });
    fails(dir, "plainlink", {}, { file: "plainlink", message: /symlink pointing outside/ });
    fails(dir, "plaindirlink", {}, { message: /symlink pointing outside/ });
    fails(dir, "gen", {}, { file: "gen/kustomization.yaml", message: /escapes the artifact root/ });
    fails(dir, "../..", {}, { message: /escapes the artifact root/ });
    fails(dir, os.tmpdir(), {}, { message: /is absolute/ });
  });

  void it("a kustomization may not read files outside its directory (Kustomize's load restriction)", () => {
    const dir = tree({
      "common/cm.yaml": cm("c"),
      "res/kustomization.yaml": "resources:\n- ../common/cm.yaml\n",
      "gen/kustomization.yaml": "configMapGenerator:\n- name: g\n  files:\n  - ../common/cm.yaml\n",
      "patch/kustomization.yaml": "resources: []\npatches:\n- path: ../common/cm.yaml\n",
      "ok/kustomization.yaml": "resources:\n- ../common\n",
      "common/kustomization.yaml": "resources:\n- cm.yaml\n",
    });
    for (const k of ["res", "gen", "patch"]) fails(dir, k, {}, { file: `${k}/kustomization.yaml`, message: /is not in or below/ });
    assert.equal(render(dir, "ok").objects[0]!.metadata.name, "c");
  });

  void it("a kustomization cycle is reported with the chain", () => {
    const dir = tree({ "a/kustomization.yaml": "resources:\n- ../b\n", "b/kustomization.yaml": "resources:\n- ../a\n", "self/kustomization.yaml": "resources:\n- .\n" });
    fails(dir, "a", {}, { message: /kustomization cycle: a -> b -> a/ });
    fails(dir, "self", {}, { message: /kustomization cycle: self -> self/ });
  });

  void it("a missing resource names the kustomization", () => {
    const dir = tree({ "kustomization.yaml": "resources:\n- nope.yaml\n" });
    fails(dir, "", {}, { file: "kustomization.yaml", message: /resource "nope.yaml" does not exist/ });
  });

  void it("a remote base is refused with a clear message", () => {
    const dir = tree({ "kustomization.yaml": "resources:\n- https://github.com/org/repo//base?ref=v1\n" });
    fails(dir, "", {}, { file: "kustomization.yaml", message: /remote base .* is not supported/ });
    const dir2 = tree({ "kustomization.yaml": "resources:\n- github.com/org/repo/base\n" });
    fails(dir2, "", {}, { message: /remote base/ });
  });

  const chart = { "Chart.yaml": "name: c\nversion: 1.0.0\n", "values.yaml": "name: x\n" };

  void it("a template calling an unknown helper names the template and line", () => {
    const dir = tree({ ...chart, "templates/cm.yaml": `${cm("a")}data:\n  k: {{frobnicate values.name}}\n` });
    fails(dir, "", {}, { file: "templates/cm.yaml", template: "templates/cm.yaml", line: 6, message: /"frobnicate" is not defined/ });
  });

  void it("a template syntax error names the template and line", () => {
    const dir = tree({ ...chart, "templates/cm.yaml": `${cm("a")}data:\n  k: {{values.name}}}\n` });
    fails(dir, "", {}, { template: "templates/cm.yaml", line: 6, message: /template syntax error/ });
  });

  void it("a missing value (strict mode) names the template and line", () => {
    const dir = tree({ ...chart, "templates/cm.yaml": `${cm("a")}data:\n  k: {{values.nope}}\n` });
    fails(dir, "", {}, { template: "templates/cm.yaml", line: 6, message: /"nope" is not defined/ });
  });

  void it("a missing `required` value fails with its message", () => {
    const dir = tree({ ...chart, "templates/cm.yaml": `${cm("a")}data:\n  k: {{required "set values.password" values.password}}\n` });
    fails(dir, "", {}, { template: "templates/cm.yaml", line: 6, message: /required value missing: set values.password/ });
    assert.equal(render(dir, "", { helm: { values: { password: "pw" } } }).objects[0]!.data!.constructor, Object);
  });

  void it("including an undefined partial names the template and line", () => {
    const dir = tree({ ...chart, "templates/cm.yaml": `${cm("a")}  labels: {{include "nope" this}}\n` });
    fails(dir, "", {}, { template: "templates/cm.yaml", line: 5, message: /no partial named "nope"/ });
  });

  void it("values.schema.json violations name the value path", () => {
    const dir = tree({ ...chart, "values.schema.json": '{"type":"object","properties":{"name":{"type":"integer"}}}', "templates/cm.yaml": cm("a") });
    fails(dir, "", {}, { file: "values.schema.json", message: /values\.name must be integer/ });
  });

  void it("a template whose output is not YAML names the template", () => {
    const dir = tree({ ...chart, "templates/cm.yaml": `${cm("a")}data: {{values.name}}: [\n` });
    fails(dir, "", {}, { template: "templates/cm.yaml", message: /rendered output is not valid/ });
  });

  void it("a duplicate object names both files", () => {
    const dir = tree({ "a.yaml": cm("same"), "b/c.yaml": `${cm("other")}---\n${cm("same")}` });
    fails(dir, "", {}, { file: "b/c.yaml", line: 6, message: /duplicate object ConfigMap same \(in a.yaml:1 and b\/c.yaml:6\)/ });
    const k = tree({ "kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n", "a.yaml": cm("same"), "b.yaml": cm("same") });
    fails(k, "", {}, { file: "kustomization.yaml", message: /already added from a.yaml/ });
  });

  void it("a non-object YAML document is refused", () => {
    fails(tree({ "s.yaml": `${cm("a")}---\njust a string\n` }), "", {}, { file: "s.yaml", line: 6, message: /document is a string, not a Kubernetes object/ });
    fails(tree({ "l.yaml": "- a\n- b\n" }), "", {}, { file: "l.yaml", line: 1, message: /document is a list/ });
  });

  void it("an object without apiVersion, kind or name is refused", () => {
    fails(tree({ "x.yaml": "kind: ConfigMap\nmetadata: {}\n" }), "", {}, { file: "x.yaml", message: /has no apiVersion, metadata.name/ });
  });

  void it("binary files are refused", () => {
    fails(tree({ "bin.yaml": Buffer.from([0x61, 0x3a, 0x00, 0xff, 0xfe]) }), "", {}, { file: "bin.yaml", message: /binary file/ });
  });

  void it("a variable without default and without value is an error", () => {
    const dir = tree({ "a.yaml": `${cm("a")}data:\n  k: \${MISSING}\n  d: \${WITH:=default}\n` });
    fails(dir, "", { substitute: {} }, { file: "a.yaml", message: /undefined variable\(s\) \$\{MISSING\}/ });
  });

  void it("an unknown kustomization field or unsupported feature is refused", () => {
    fails(tree({ "kustomization.yaml": "resourcez: []\n" }), "", {}, { file: "kustomization.yaml", message: /unknown kustomization field "resourcez"/ });
    fails(tree({ "kustomization.yaml": "helmCharts: []\n" }), "", {}, { message: /"helmCharts" is not supported/ });
  });

  void it("a catastrophic-backtracking target pattern is refused", () => {
    const dir = tree({
      "kustomization.yaml": "resources:\n- a.yaml\npatches:\n- target:\n    name: (a+)+$\n  patch: '[]'\n",
      "a.yaml": cm("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"),
    });
    fails(dir, "", {}, { message: /too complex/ });
  });

  void it("a replacement whose source selects nothing, or whose target lacks the field, is refused", () => {
    const base = "resources:\n- a.yaml\nreplacements:\n- source: {kind: ConfigMap, name: SRC}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [FIELD]\n";
    const files = (src: string, field: string) => ({ "kustomization.yaml": base.replace("SRC", src).replace("FIELD", field), "a.yaml": cm("a") });
    fails(tree(files("nope", "data.x")), "", {}, { file: "kustomization.yaml", message: /replacement source ConfigMap nope selects nothing/ });
    fails(tree(files("a", "data.x")), "", {}, { file: "kustomization.yaml", message: /has no field data.x \(set options.create to add it\)/ });
  });

  void it("a patch whose target does not exist is refused", () => {
    const dir = tree({
      "kustomization.yaml": "resources:\n- a.yaml\npatches:\n- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: nope\n    data: {a: b}\n",
      "a.yaml": cm("a"),
    });
    fails(dir, "", {}, { message: /patch targets ConfigMap nope, which is not among the resources/ });
  });
});
