// The fast YAML reader's one-line flow collections (src/render/kustomize/fastyaml-flow.ts): what it takes it reads as
// the full reader does (checked against parseYamlDocs); what is outside the subset gives up (GiveUp).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { flowOnLine } from "../../../../src/render/kustomize/fastyaml-flow.js";
import { GiveUp } from "../../../../src/render/kustomize/fastyaml-scalars.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import { parseYamlDocs } from "../../../../src/render/yaml.js";

const GIVES_UP = Symbol("gives up");
const full = (t: string, y11: boolean) => parseYamlDocs(`v: ${t}\n`, "t.yaml", resolveLimits(), { yaml11Booleans: y11 })[0]!.value as { v: unknown };

void describe("fast YAML flow collections", () => {
  void it("read lists and maps on one line as the full reader does", () => {
    const cases: [string, unknown][] = [
      ["[]", []],
      ["{}", {}],
      ["[a, b, c]", ["a", "b", "c"]],
      ["[1, 0644, true, null, ~, 1.5]", [1, 420, true, null, null, 1.5]],
      ['["x, y", \'it\'\'s\', "\\t"]', ["x, y", "it's", "\t"]],
      ["{a: 1, b: [x, y], c: {d: e}}", { a: 1, b: ["x", "y"], c: { d: "e" } }],
      ["{a: , b}", GIVES_UP], // a flow key without a value
      ["[a, b, ]", ["a", "b"]],
      ["{a: 1,}", { a: 1 }],
      ['{"k:1": v, \'q\': w}', { "k:1": "v", q: "w" }],
      ["[a/b, http://x]", GIVES_UP], // a `:` in a flow plain scalar
      ["{a:}", { a: null }],
      ["[x] # a comment", ["x"]],
      ["[[[]]]", [[[]]]],
    ];
    let taken = 0;
    for (const [t, expected] of cases) {
      let got: unknown;
      try {
        got = flowOnLine(t, false);
      } catch (err) {
        assert.ok(err instanceof GiveUp, `${t}: ${String(err)}`);
        assert.equal(expected, GIVES_UP, `${t} gave up`);
        continue;
      }
      taken++;
      assert.deepEqual(got, expected, t);
      assert.deepEqual(got, full(t, false).v, `${t}: disagrees with the full reader`);
    }
    assert.equal(taken, cases.length - 2);
  });

  void it("read YAML 1.1 booleans only when asked, in values and not as keys", () => {
    assert.deepEqual(flowOnLine("[yes, off]", true), [true, false]);
    assert.deepEqual(flowOnLine("[yes, off]", false), ["yes", "off"]);
    assert.throws(() => flowOnLine("{on: 1}", true), GiveUp, "a key that is a boolean");
    assert.deepEqual(flowOnLine("{on: 1}", false), { on: 1 });
  });

  void it("give up on what is outside the subset", () => {
    const outside = ["[a", "{a: 1", "[a] b", "[a b: c]", "{a: 1, a: 2}", "{<<: x}", "{__proto__: x}", "{a 1}", "[a#b]", "[&x a]", "[*x]", "[,]", "{a:b}", "[a]]", "[1: 2]"];
    for (const t of outside) assert.throws(() => flowOnLine(t, false), GiveUp, t);
    assert.throws(() => flowOnLine(`${"[".repeat(60)}${"]".repeat(60)}`, false), GiveUp, "deeper than 50");
    assert.deepEqual(flowOnLine(`${"[".repeat(40)}${"]".repeat(40)}`, false) !== undefined, true);
  });
});
