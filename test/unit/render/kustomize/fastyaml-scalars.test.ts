// The fast YAML reader's scalars and keys (src/render/kustomize/fastyaml-scalars.ts): plain scalars resolved as the
// full reader resolves them, one-line quoted scalars with their escapes, `key:` split off a line; anything outside
// the subset gives up (GiveUp) so the full reader decides.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkPlain, GiveUp, keyString, readQuoted, resolvePlain, scalarOnLine, splitKey, splitKeySafe, trimWs } from "../../../../src/render/kustomize/fastyaml-scalars.js";

const givesUp = (f: () => unknown, what: string) => assert.throws(f, GiveUp, what);

void describe("fast YAML scalars", () => {
  void it("resolve plain scalars under Mooring's schema", () => {
    const cases: [string, unknown][] = [
      ["", null],
      ["~", null],
      ["Null", null],
      ["nULL", "nULL"],
      ["true", true],
      ["FALSE", false],
      ["tRue", "tRue"],
      ["0644", 420],
      ["-017", -15],
      ["0o17", 15],
      ["09", 9],
      ["+12", 12],
      ["0x1F", 31],
      ["1.5", 1.5],
      [".5", 0.5],
      ["1e3", 1000],
      ["-.inf", -Infinity],
      [".Inf", Infinity],
      ["nginx", "nginx"],
      ["1.2.3", "1.2.3"],
      ["yes", "yes"],
    ];
    for (const [s, v] of cases) assert.deepEqual(resolvePlain(s, false), v, JSON.stringify(s));
    assert.ok(Number.isNaN(resolvePlain(".nan", false)));
    assert.deepEqual(["y", "Yes", "ON", "n", "off", "NO"].map((s) => resolvePlain(s, true)), [true, true, true, false, false, false]);
    assert.equal(resolvePlain("0644", true), 420, "legacy octal wins over YAML 1.1 booleans");
  });

  void it("read one-line quoted scalars with their escapes and the rest of the line", () => {
    assert.deepEqual(readQuoted("'it''s' # c"), ["it's", " # c"]);
    assert.deepEqual(readQuoted('"a\\tb\\n\\x41\\u00e9\\U0001F600\\"" x'), ["a\tb\nAé😀\"", " x"]);
    assert.deepEqual(readQuoted("'a\\n'"), ["a\\n", ""], "single quotes take backslashes literally");
    givesUp(() => readQuoted('"no end'), "a multi-line quoted scalar");
    givesUp(() => readQuoted('"\\q"'), "an unknown escape");
    givesUp(() => readQuoted('"\\x4"'), "a short hex escape");
    givesUp(() => readQuoted('"\\U00110000"'), "a code point beyond Unicode");
  });

  void it("take a scalar on a line with a trailing comment, and give up on what the subset does not cover", () => {
    assert.equal(scalarOnLine("value # note", false), "value");
    assert.equal(scalarOnLine("a#b", false), "a#b", "# without a space before it is not a comment");
    assert.equal(scalarOnLine("'q' # note", false), "q");
    assert.equal(scalarOnLine("on", true), true);
    givesUp(() => scalarOnLine("'q' tail", false), "text after a quoted scalar");
    for (const s of ["&anchor", "*alias", "!tag", "|", ">", "[a]", "{a: 1}", "- x", "a: b", "ends:", "a\tb", "---", "...", "?", "@x", "`x"]) {
      givesUp(() => checkPlain(s), s);
    }
    for (const s of ["", "-x", ":x", "a:b", "http://x"]) assert.doesNotThrow(() => checkPlain(s), s);
  });

  void it("split a key off a line", () => {
    assert.deepEqual(splitKey("name: web"), ["name", " web"]);
    assert.deepEqual(splitKey("url: http://x:80"), ["url", " http://x:80"], "the first colon followed by a space");
    assert.deepEqual(splitKey("a:b: c"), ["a:b", " c"]);
    assert.deepEqual(splitKey("spec:"), ["spec", ""]);
    assert.deepEqual(splitKey("'my key' : v"), ["my key", " v"]);
    assert.equal(splitKey("just text"), undefined);
    assert.equal(splitKey("x # a: comment"), undefined, "a colon inside a comment");
    assert.equal(splitKey("'quoted' text"), undefined);
    givesUp(() => splitKey("'k':v"), "a quoted key glued to its value");
    for (const k of ["<<: *base", "__proto__: x", "&a k: v"]) givesUp(() => splitKey(k), k);
    assert.equal(splitKeySafe("<<: *base"), false);
    assert.equal(splitKeySafe("k: v"), true);
  });

  void it("keep keys that are strings; give up on keys that resolve to numbers, booleans or null", () => {
    assert.equal(keyString("app", false, false), "app");
    assert.equal(keyString("true", true, false), "true", "a quoted key is a string");
    for (const k of ["1", "true", "null", "~"]) givesUp(() => keyString(k, false, false), k);
    givesUp(() => keyString("on", false, true), "on under YAML 1.1");
    assert.equal(keyString("on", false, false), "on");
  });

  void it("trim only YAML white space", () => {
    assert.equal(trimWs(" \t a \t"), "a");
    assert.equal(trimWs("\u00a0a\u00a0"), "\u00a0a\u00a0");
  });
});
