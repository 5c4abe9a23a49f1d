// YAML reading and writing for untrusted repositories (src/render/yaml.ts): Go YAML's scalars (0644 is octal, yes/on
// booleans only for kustomization files), documents with their lines, empty ones dropped, the final block scalar of a
// text without a newline, errors with file and line, the alias and depth caps; and output that quotes ambiguous strings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RenderError } from "../../../src/render/errors.js";
import { checkDepth, parseYamlDocs, toYamlText } from "../../../src/render/yaml.js";

const LIMITS = { maxAliasCount: 10, maxDepth: 5 };
const parse = (text: string, y11 = false) => parseYamlDocs(text, "app/deploy.yaml", LIMITS, { yaml11Booleans: y11 });
const failsAt = (message: RegExp, line?: number) => (e: unknown) => {
  assert.ok(e instanceof RenderError, String(e));
  assert.match(e.message, message);
  assert.equal(e.file, "app/deploy.yaml");
  assert.equal(e.line, line);
  return true;
};

void describe("render yaml", () => {
  void it("reads scalars as Go YAML does: 0644 is octal, 0o17 too; yes/on are booleans only when asked", () => {
    const text = "mode: 0644\nneg: -017\noct: 0o17\nnum: 0x1F\nflag: yes\nsw: on\nt: true\nn: ~\nf: 1.5\ns: 09\n";
    assert.deepEqual(parse(text)[0]!.value, { mode: 420, neg: -15, oct: 15, num: 31, flag: "yes", sw: "on", t: true, n: null, f: 1.5, s: 9 });
    assert.deepEqual(parse("a: yes\nb: Off\nc: n\nd: 0644\n", true)[0]!.value, { a: true, b: false, c: false, d: 420 });
  });

  void it("gives each document with the line of its first content and drops empty ones", () => {
    const docs = parse("# header\n---\na: 1\n---\n---\n# only a comment\n---\n\n\nb: 2\n...\n---\nnull\n");
    assert.deepEqual(
      docs.map((d) => [d.value, d.line]),
      [
        [{ a: 1 }, 3],
        [{ b: 2 }, 10],
      ],
    );
  });

  void it("drops the final line break of a block scalar that ends a text without a newline, and only then", () => {
    assert.deepEqual(parse("data:\n  k: |\n    one\n    two")[0]!.value, { data: { k: "one\ntwo" } });
    assert.deepEqual(parse("data:\n  k: |\n    one\n    two\n")[0]!.value, { data: { k: "one\ntwo\n" } });
    assert.deepEqual(parse("k: >\n  a\n  b")[0]!.value, { k: "a b" });
    assert.deepEqual(parse("k: |\n  a\nz: x")[0]!.value, { k: "a\n", z: "x" }, "a block scalar that is not last keeps it");
  });

  void it("refuses duplicate keys and tab indentation with the file and the line", () => {
    assert.throws(() => parse("a: 1\nb: 2\na: 3\n"), failsAt(/^app\/deploy\.yaml:3: invalid YAML: Map keys must be unique/, 3));
    assert.throws(() => parse("a:\n\tb: 1\n"), failsAt(/invalid YAML/, 2));
  });

  void it("refuses an alias bomb and a document nested deeper than the cap", () => {
    const bomb = ["a: &a [x, x]", "b: &b [*a, *a, *a, *a]", "c: &c [*b, *b, *b, *b]", "d: [*c, *c, *c, *c]", ""].join("\n");
    assert.throws(() => parse(`---\n${bomb}`), failsAt(/too many aliases \(possible alias bomb\)/, 2));
    assert.deepEqual(parse("a: {b: {c: {d: 1}}}\n")[0]!.value, { a: { b: { c: { d: 1 } } } }, "depth 4 is within 5");
    assert.throws(() => parse("x: 1\n---\na: {b: {c: {d: {e: [1]}}}}\n"), failsAt(/nests deeper than 5 levels/, 3));
  });

  void it("checkDepth counts maps and lists, not scalars", () => {
    assert.doesNotThrow(() => checkDepth([[["s"]]], 3, "f"));
    assert.throws(() => checkDepth([[[[]]]], 3, "f", 7), { message: "f:7: document nests deeper than 3 levels" });
  });

  void it("writes block YAML that quotes every string a 1.1 or 1.2 reader could take for something else", () => {
    const text = toYamlText({ a: "yes", b: "0644", c: "0o17", d: "on", e: "plain", f: 420, g: ["x"], h: "a long line ".repeat(20).trim() });
    assert.equal(text.split("\n").length, 10, `one line per key, two for g, no folding:\n${text}`);
    const back = parse(text)[0]!.value as Record<string, unknown>;
    assert.deepEqual(back, { a: "yes", b: "0644", c: "0o17", d: "on", e: "plain", f: 420, g: ["x"], h: "a long line ".repeat(20).trim() });
    assert.deepEqual(parse(text, true)[0]!.value, back, "a YAML 1.1 reader reads the same");
    assert.match(text, /^g:\n- x$/m, "sequences are not indented under their key");
  });
});
