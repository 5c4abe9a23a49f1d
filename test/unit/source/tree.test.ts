// What of a commit's tree goes into the artifact (src/source/tree.ts): the ignore rules and the raw tree format.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ignoreMatcher, parseTree } from "../../../src/source/tree.js";

void describe("ignoreMatcher", () => {
  void it("ignores VCS and CI folders by default and adds spec.ignore in gitignore format", () => {
    const ig = ignoreMatcher("docs/\n*.md\n!keep.md\n");
    for (const p of [".git/config", ".github/workflows/x.yml", ".gitlab-ci.yml", "docs/", "README.md"]) assert.ok(ig.ignores(p), p);
    for (const p of ["deploy/app.yaml", "keep.md", "sub/.githubx"]) assert.equal(ig.ignores(p), false, p);
  });
  void it("lets spec.ignore re-include a default", () => {
    assert.equal(ignoreMatcher("!.github/\n").ignores(".github/"), false);
  });
});

void describe("parseTree", () => {
  const entry = (mode: string, name: string, oid: string) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, "hex")]);
  const a = "a".repeat(40);
  const b = "b".repeat(40);

  void it("reads <mode> <name>\\0<20-byte oid> entries, names in UTF-8", () => {
    assert.deepEqual(parseTree(Buffer.concat([entry("100644", "README.md", a), entry("40000", "déploiement", b)]), "t"), [
      { mode: "100644", name: "README.md", oid: a },
      { mode: "40000", name: "déploiement", oid: b },
    ]);
    assert.deepEqual(parseTree(Buffer.alloc(0), "t"), []);
  });

  void it("refuses a truncated or malformed tree, naming it", () => {
    const whole = entry("100644", "a", a);
    assert.throws(() => parseTree(whole.subarray(0, whole.length - 1), "abc123"), /tree abc123 is malformed/);
    assert.throws(() => parseTree(Buffer.from("100644"), "abc123"), /tree abc123 is malformed/);
  });
});
