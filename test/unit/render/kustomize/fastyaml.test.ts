// The kustomize renderer's fast YAML reader must give exactly what the full reader (parseYamlDocs) gives whenever it
// does not give up: checked on every YAML file of the render fixtures and of the real-world corpus (when it is there),
// and on tricky texts written here; and it must not give up on ordinary manifests, or it would be pointless.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fastParseDocs, resolvePlain } from "../../../../src/render/kustomize/fastyaml.js";
import { parseYamlDocs } from "../../../../src/render/yaml.js";
import { resolveLimits } from "../../../../src/render/limits.js";

const limits = resolveLimits();

function full(text: string, y11 = false): { value: unknown; line: number }[] | "error" {
  try {
    return parseYamlDocs(text, "t.yaml", limits, { yaml11Booleans: y11 });
  } catch {
    return "error";
  }
}

/** Asserts the fast reader either gives up or agrees with the full one; returns whether it took the text. */
function agrees(text: string, where: string, y11 = false): boolean {
  const fast = fastParseDocs(text, y11);
  if (fast === undefined) return false;
  const expected = full(text, y11);
  assert.notEqual(expected, "error", `${where}: the fast reader accepted a text the full reader refuses`);
  assert.deepEqual(fast, expected, `${where}: the fast reader disagrees with the full reader`);
  return true;
}

function yamlFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ya?ml)$/.test(e.name) || e.name === "Kustomization") out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

void describe("fast YAML reader", () => {
  void it("agrees with the full reader on every YAML file of the render fixtures and takes most of them", () => {
    const files = yamlFiles(path.resolve(import.meta.dirname, "../../../fixtures/render"));
    let taken = 0;
    for (const f of files) {
      const text = fs.readFileSync(f, "utf8");
      const y11 = /kustomization\.ya?ml$|Kustomization$/.test(f);
      if (agrees(text, f, y11)) taken++;
    }
    assert.ok(files.length > 100, `only ${files.length} files`);
    assert.ok(taken / files.length > 0.6, `fast path took only ${taken} of ${files.length} files`);
  });

  void it("agrees with the full reader on every YAML file of the real-world kustomize corpus (when present)", () => {
    const corpus = process.env.KUSTOMIZE_CORPUS ?? path.resolve(import.meta.dirname, "../../../../../shared/corpora/kustomize-real/cases");
    const files = yamlFiles(corpus);
    let taken = 0;
    for (const f of files) {
      const text = fs.readFileSync(f, "utf8");
      if (agrees(text, f, /kustomization\.ya?ml$/.test(f))) taken++;
    }
    if (files.length > 0) assert.ok(taken / files.length > 0.6, `fast path took only ${taken} of ${files.length} files`);
  });

  void it("agrees (or gives up) on tricky texts", () => {
    const texts = [
      "a: 1\nb: 0644\nc: 0o17\nd: 0x1F\ne: 1e3\nf: .5\ng: -.inf\nh: .nan\ni: ~\nj: Null\nk:\nl: yes\nm: True\nn: '012'\no: \"\\t\\u00e9\\x41\"\np: 'it''s'\nq: a#b\nr: a # c\ns: +7\nt: 09\nu: 1_000\nv: 1.\n",
      "list:\n- a\n-   b\n- - nested\n  - again\n- key: v\n  other: w\n-\n- # comment\n  x: 1\n",
      "top:\n- same-indent\n- list\nnext: [a, \"b, c\", 'd', 1, true, null]\nm: {a: 1, b: two, 'c': \"3\"}\ne1: {}\ne2: []\n",
      "lit: |\n  a\n    b\n\n  c\nstrip: |-\n  x\n\nkeep: |+\n  y\n\n\nafter: 1\n",
      "lit: |\n  no final newline",
      "keep: |+\n  a\n\n  ",
      "s: |\n\n  leading blank\n",
      "---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n",
      "a: b: c\n",
      "a:\n  b\n",
      "a: 1\na: 2\n",
      "a: &x 1\nb: *x\n",
      "a: >\n  folded\n",
      "a: \"multi\n  line\"\n",
      "a: plain\n  continued\n",
      "\"quoted key\": 1\n'k2': [x]\n",
      "1: one\n",
      "a:\n\t- b\n",
      "a: |2\n    x\n",
      "- top\n- level\n",
      "k: v\r\nl: |\r\n  x\r\n  y\r\n",
      "a: [b, [c]]\n",
      "a: {b: {c: d}}\n",
      "a: - b\n",
      "a: 'x' y\n",
      "a: \"x\"  # fine\nb: 'y'\t\n",
      "a: http://x:80/y\nb: x:y\n",
      "<<: {a: 1}\n",
      "a:\n  - x\n  y: 1\n",
      "a: |\n  x\n y\n",
      "a: |\n    x\n  y\n",
      "b: |\n  x\n      \n  y\n",
      "ports: [{containerPort: 8080, name: http}, {port: 80}]\nlabels: {app: web, tier: \"a b\", n: 1, e: [], m: {}}\n",
      "a: [x, y,]\nb: {k: v,}\nc: [ ]\nd: { }\ne: {k: }\nf: {k:, l: 1}\ng: [a b, 'c d']\n",
      "a: [x, , y]\n",
      "a: {k: v, k: w}\n",
      "a: [x: 1]\n",
      "a: {k: v} trailing\n",
      "a: [x, [y, [z]], {p: [q]}]\n",
      "a: {\"quoted key\": 1, 'other': [2]}\n",
      "a: [http://x]\n",
      "a: [1, 0644, true, null, ~, .5, \"0644\"]\n",
      "a: x\u00a0\nb: \u00a0y\n\u00a0c: 1\nd: |\n  e\u00a0\n",
      "a: |\n  x\n\t\n  y\n",
    ];
    texts.forEach((t, i) => agrees(t, `text ${i}: ${JSON.stringify(t)}`));
    assert.ok(agrees(texts[0]!, "scalars"), "the scalar sampler should take the fast path");
    assert.ok(agrees(texts[1]!, "lists"), "lists should take the fast path");
    assert.ok(agrees(texts[3]!, "literals"), "literal block scalars should take the fast path");
    assert.ok(agrees(texts[4]!, "literal at EOF"), "a literal at the end of the text should take the fast path");
    assert.ok(agrees(texts.find((t) => t.startsWith("ports: [{"))!, "flows"), "one-line flow collections should take the fast path");
  });

  void it("resolves plain scalars as the full reader does, YAML 1.1 booleans included", () => {
    const samples = ["", "~", "null", "NULL", "nUll", "true", "TRUE", "tRue", "y", "Yes", "on", "OFF", "n", "0", "-0", "+12", "0644", "-017", "08", "0o7", "0x1f", "0X1F", "1.5", "-1.", ".5", "1e5", "1E-5", "-.INF", ".NaN", "1_0", "0b101", "12:30", "2001-12-14", "inf", "x"];
    for (const y11 of [false, true]) {
      for (const s of samples) {
        const expected = full(`v: ${s}\n`, y11);
        assert.notEqual(expected, "error");
        assert.deepEqual(resolvePlain(s, y11), (expected as { value: { v: unknown } }[])[0]!.value.v, `${JSON.stringify(s)} (yaml11 ${y11})`);
      }
    }
  });
});
