// The generated field reference of docs/api.md (src/api/docs.ts): one row per field, nested fields by path, types as
// Go-ish names, defaults or "required", rules from the schema, markdown-safe cells; only the generated blocks are
// rewritten. (That the committed page is up to date is checked by test/unit/api/crd.test.ts.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fieldTable, renderApiDoc } from "../../../src/api/docs.js";

const row = (table: string, field: string): string[] => {
  const line = table.split("\n").find((l) => l.startsWith(`| \`${field}\` |`));
  assert.ok(line, `no row for ${field}`);
  return line.slice(2, -2).split(" | ");
};

void describe("api docs", () => {
  void it("give a header and one row per field, nested fields and list items by path", () => {
    const t = fieldTable("Application", "spec");
    assert.deepEqual(t.split("\n").slice(0, 2), ["| field | type | default | description |", "|---|---|---|---|"]);
    assert.deepEqual(row(t, "spec.sourceRef").slice(0, 3), ["`spec.sourceRef`", "object", "required"]);
    assert.deepEqual(row(t, "spec.path").slice(0, 3), ["`spec.path`", "string", "`./`"], "a default is shown as code");
    assert.equal(row(t, "spec.ignoreDifferences")[1], "[]object");
    assert.ok(t.includes("| `spec.ignoreDifferences[].jsonPointers` |"), "list items' fields under []");
    assert.equal(row(t, "spec.render.substitute")[1], "map[string]string");
    assert.equal(row(t, "spec.render.helm.values")[1], "object (free-form)");
    assert.equal(row(fieldTable("GitRepository", "status"), "status.conditions[].lastTransitionTime")[1], "time");
  });

  void it("list the rules the API server enforces after the description", () => {
    const t = fieldTable("Application", "spec");
    assert.match(row(t, "spec.historyLimit")[3]!, / Rules: ≥ 1; ≤ 50\.$/);
    assert.match(row(t, "spec.render.type")[3]!, /Rules: one of `auto`, `plain`, `kustomize`, `helm`\.$/);
    assert.match(row(t, "spec.ignoreDifferences")[3]!, /Rules: at most 64 items\.$/);
  });

  void it("escape what would break a markdown table or its HTML", () => {
    const semver = row(fieldTable("GitRepository", "spec"), "spec.ref.semver")[3]!;
    assert.match(semver, /'&gt;=1\.2\.0 &lt;2\.0\.0'/);
    assert.ok(!/[<>]/.test(fieldTable("GitRepository", "spec")), "no raw angle brackets");
    for (const l of fieldTable("Application", "spec").split("\n").slice(2)) assert.equal(l.split(/(?<!\\)\|/).length, 6, l);
  });

  void it("refuse a kind or a part that does not exist", () => {
    assert.throws(() => fieldTable("Widget", "spec"), { message: "docs/api.md asks for fields of Widget, which is not a Mooring kind" });
    assert.throws(() => fieldTable("Alert", "nothing" as "spec"), { message: "Alert has no nothing" });
  });

  void it("rewrite only the generated blocks, keeping the prose around them", () => {
    const md = ["# API", "prose stays", "<!-- generated:fields Application spec -->", "stale table", "<!-- /generated -->", "more prose", "<!-- generated:fields GitRepository status -->", "<!-- /generated -->", ""].join("\n");
    const out = renderApiDoc(md);
    assert.ok(out.startsWith("# API\nprose stays\n<!-- generated:fields Application spec -->\n| field | type |"));
    assert.ok(!out.includes("stale table"));
    assert.ok(out.includes(`${fieldTable("Application", "spec")}\n<!-- /generated -->\nmore prose\n`));
    assert.ok(out.endsWith(`<!-- generated:fields GitRepository status -->\n${fieldTable("GitRepository", "status")}\n<!-- /generated -->\n`));
    assert.equal(renderApiDoc("no blocks here"), "no blocks here");
  });
});
