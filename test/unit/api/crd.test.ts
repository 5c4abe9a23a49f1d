import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { KIND_DEFINITIONS, allCrds, generatedCrdFiles } from "../../../src/api/index.js";
import { API_DOC, renderApiDoc } from "../../../src/api/docs.js";
import { REPO_ROOT } from "../../support/cluster.js";

type Schema = Record<string, any>;

/** Calls fn for every schema node with its path (spec.ref.branch, spec.dependsOn[].name). */
function walk(schema: Schema, at: string, fn: (s: Schema, at: string) => void): void {
  fn(schema, at);
  for (const [name, child] of Object.entries<Schema>(schema.properties ?? {})) walk(child, at ? `${at}.${name}` : name, fn);
  if (schema.items) walk(schema.items, `${at}[]`, fn);
  if (schema.additionalProperties && typeof schema.additionalProperties === "object") walk(schema.additionalProperties, `${at}{}`, fn);
}

const openAPI = (crd: Schema): Schema => crd.spec.versions[0].schema.openAPIV3Schema;

void describe("generated CRDs", () => {
  void it("match the committed files in crds/ and charts/mooring/crds/ (run `make generate` when this fails)", () => {
    const files = generatedCrdFiles();
    for (const [rel, text] of files) {
      const file = path.join(REPO_ROOT, rel);
      assert.ok(existsSync(file), `${rel} is missing: run make generate`);
      assert.equal(readFileSync(file, "utf8"), text, `${rel} is stale: run make generate`);
    }
    for (const dir of ["crds", "charts/mooring/crds"]) {
      const extra = readdirSync(path.join(REPO_ROOT, dir)).filter((f) => f.endsWith(".yaml") && !files.has(`${dir}/${f}`));
      assert.deepEqual(extra, [], `${dir} has CRD files no kind produces: run make generate`);
    }
  });

  void it("match the field tables of docs/api.md (run `make generate` when this fails)", () => {
    const doc = readFileSync(path.join(REPO_ROOT, API_DOC), "utf8");
    assert.equal(doc, renderApiDoc(doc), `${API_DOC} is stale: run make generate`);
    for (const def of KIND_DEFINITIONS) {
      for (const part of ["spec", "status"]) assert.ok(doc.includes(`<!-- generated:fields ${def.descriptor.kind} ${part} -->`), `${API_DOC} has no ${def.descriptor.kind} ${part} table`);
    }
  });

  void it("are generated the same way twice (deterministic)", () => {
    assert.deepEqual([...generatedCrdFiles()], [...generatedCrdFiles()]);
  });

  void it("name the kinds, short names and category the issue asks for", () => {
    const names = allCrds().map((c: Schema) => ({ name: c.metadata.name, scope: c.spec.scope, short: c.spec.names.shortNames, categories: c.spec.names.categories }));
    assert.deepEqual(names, [
      { name: "gitrepositories.source.mooring.dev", scope: "Namespaced", short: ["gitrepo"], categories: ["mooring"] },
      { name: "applications.delivery.mooring.dev", scope: "Namespaced", short: ["mapp"], categories: ["mooring"] },
      { name: "syncpolicies.delivery.mooring.dev", scope: "Namespaced", short: ["syncpolicy"], categories: ["mooring"] },
      { name: "helmrepositories.source.mooring.dev", scope: "Namespaced", short: ["helmrepo"], categories: ["mooring"] },
      { name: "helmcharts.source.mooring.dev", scope: "Namespaced", short: ["hc"], categories: ["mooring"] },
      { name: "providers.notification.mooring.dev", scope: "Namespaced", short: undefined, categories: ["mooring"] },
      { name: "alerts.notification.mooring.dev", scope: "Namespaced", short: undefined, categories: ["mooring"] },
    ]);
    for (const c of allCrds() as Schema[]) assert.ok(!(c.spec.names.shortNames ?? []).some((s: string) => ["app", "apps"].includes(s)), "app/apps belong to Argo CD");
  });

  void it("have the printer columns of the issue and a status subresource", () => {
    const columns = allCrds().map((c: Schema) => c.spec.versions[0].additionalPrinterColumns.filter((p: Schema) => !p.priority).map((p: Schema) => p.name));
    assert.deepEqual(columns, [
      ["URL", "Revision", "Ready", "Status", "Age"],
      ["Revision", "Synced", "Health", "Ready", "Status", "Age"],
      ["Automated", "Window", "Age"],
      ["URL", "Ready", "Status", "Age"],
      ["Chart", "Version", "Revision", "Ready", "Status", "Age"],
      ["Type", "Delivered", "Ready", "Status", "Age"],
      ["Provider", "Delivered", "Ready", "Status", "Age"],
    ]);
    for (const c of allCrds() as Schema[]) assert.deepEqual(c.spec.versions[0].subresources, { status: {} });
  });

  for (const def of KIND_DEFINITIONS) {
    const crd = allCrds().find((c: Schema) => c.spec.names.kind === def.descriptor.kind) as Schema;
    void describe(def.descriptor.kind, () => {
      void it("describes every field (kubectl explain prints these)", () => {
        const missing: string[] = [];
        walk(openAPI(crd), "", (s, at) => {
          // metadata is ObjectMeta, documented by the API server itself (a CRD may not describe it).
          if (!s.description && !at.endsWith("{}") && at !== "metadata") missing.push(at || "<root>");
        });
        assert.deepEqual(missing, []);
      });

      void it("is a structural schema: typed nodes, no $ref, const, anyOf or additionalProperties: false", () => {
        const problems: string[] = [];
        walk(openAPI(crd), "", (s, at) => {
          if (!s.type) problems.push(`${at}: no type`);
          for (const k of ["$ref", "const", "anyOf", "oneOf", "allOf", "not", "patternProperties", "$id", "x-mooring-checks"]) if (k in s) problems.push(`${at}: ${k}`);
          if (s.additionalProperties === false) problems.push(`${at}: additionalProperties: false`);
          if (s.properties && s.additionalProperties) problems.push(`${at}: properties and additionalProperties`);
          for (const r of s["x-kubernetes-validations"] ?? []) if (typeof r.rule !== "string" || typeof r.message !== "string") problems.push(`${at}: CEL rule without rule/message`);
        });
        assert.deepEqual(problems, []);
      });

      void it("bounds every string and list, so the API server can estimate CEL cost", () => {
        const unbounded: string[] = [];
        walk(openAPI(crd), "", (s, at) => {
          if (s.type === "string" && s.maxLength === undefined && s.enum === undefined && !["apiVersion", "kind"].includes(at)) unbounded.push(at);
          if (s.type === "array" && s.maxItems === undefined) unbounded.push(at);
        });
        assert.deepEqual(unbounded, []);
      });

      void it("keeps free-form Helm values and uses list-maps for conditions", () => {
        const status = openAPI(crd).properties.status;
        assert.equal(status.properties.conditions["x-kubernetes-list-type"], "map");
        assert.deepEqual(status.properties.conditions["x-kubernetes-list-map-keys"], ["type"]);
        if (def.descriptor.kind === "Application") {
          const values = openAPI(crd).properties.spec.properties.render.properties.helm.properties.values;
          assert.equal(values["x-kubernetes-preserve-unknown-fields"], true);
          assert.equal(values.type, "object");
        }
      });

      void it("parses back from the YAML file to the same object", () => {
        const text = generatedCrdFiles().get(`crds/${def.descriptor.group}_${def.descriptor.plural}.yaml`)!;
        assert.deepEqual(parse(text), crd);
      });
    });
  }

  void it("carries the cross-field CEL rules of the issue", () => {
    const rules = (allCrds() as Schema[]).flatMap((c) => {
      const out: string[] = [];
      walk(openAPI(c), "", (s, at) => {
        for (const r of s["x-kubernetes-validations"] ?? []) out.push(`${c.spec.names.kind} ${at}: ${r.rule}`);
      });
      return out;
    });
    const has = (re: RegExp) => assert.ok(rules.some((r) => re.test(r)), `no rule matches ${re}:\n${rules.join("\n")}`);
    has(/^GitRepository spec\.ref: .*filter\(x, x\)\.size\(\) == 1/);
    has(/^GitRepository spec\.url: .*getScheme\(\) in \['https', 'http'\]/);
    has(/^GitRepository spec\.interval: .*duration\(self\) >= duration\('10s'\)/);
    has(/^Application spec\.render: !has\(self\.helm\)/);
    has(/^SyncPolicy spec\.retry\.backoff: .*duration\(self\.maxDuration\) >= duration\(self\.duration\)/);
  });
});
