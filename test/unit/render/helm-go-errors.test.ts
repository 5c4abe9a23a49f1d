// Bad input to Go-template charts gets a RenderError that says where: a template error names the file (relative to
// the artifact) and line, a missing required value names the value, a schema violation names the field, a render
// past its deadline or its memory is killed with a message saying so; and the chart is read only through the
// artifact root (links out of it refused, nothing outside it copied for helm).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { render, RenderError } from "../../../src/render/index.js";
import { writeTree } from "./tree.js";

const CHART = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n${data}\n`;

/** Renders `files` (a chart under app/) and returns the RenderError it must fail with. */
function failure(files: Record<string, string | { symlink: string }>, helm: Record<string, unknown> = {}, limits = {}): RenderError {
  const t = writeTree({ "app/Chart.yaml": CHART, ...files });
  try {
    render(t.dir, "app", { type: "helm", helm: { releaseName: "r", namespace: "ns", ...helm }, limits });
  } catch (err) {
    assert.ok(err instanceof RenderError, `a RenderError, not ${String(err)}`);
    return err;
  } finally {
    t.cleanup();
  }
  assert.fail("the render succeeded");
}

void describe("Go-template charts: bad input", () => {
  void it("a template error names the template and the line (nil pointer in a nested value)", () => {
    const err = failure({ "app/templates/cm.yaml": cm("  a: b\n\n  c: {{ .Values.missing.deeper.still }}") });
    assert.equal(err.file, "app/templates/cm.yaml");
    assert.equal(err.line, 8);
    assert.match(err.message, /^app\/templates\/cm\.yaml:8: template failed at <\.Values\.missing\.deeper\.still>: nil pointer/);
  });

  void it("an error inside an included helper names the helper's file and line", () => {
    const err = failure({
      "app/templates/_helpers.tpl": '{{- define "demo.name" -}}\n{{ .Values.name }}-{{ .Values.nested.key.value }}\n{{- end -}}\n',
      "app/templates/cm.yaml": cm('  name: {{ include "demo.name" . }}'),
    });
    assert.equal(err.file, "app/templates/_helpers.tpl");
    assert.equal(err.line, 2);
    assert.match(err.message, /nil pointer/);
  });

  void it("a syntax error names the template and the line", () => {
    const err = failure({ "app/templates/cm.yaml": cm("  a: {{ .Values.x }\n") });
    assert.equal(err.file, "app/templates/cm.yaml");
    assert.equal(err.line, 6);
    assert.match(err.message, /template syntax error: unexpected "}"/);
  });

  void it("an unknown function is a syntax error naming it", () => {
    const err = failure({ "app/templates/cm.yaml": cm("  a: {{ .Values.x | frobnicate }}") });
    assert.match(err.message, /^app\/templates\/cm\.yaml:6: template syntax error: function "frobnicate" not defined/);
  });

  void it("a missing required value names the value and the chart's message", () => {
    const err = failure({ "app/values.yaml": "db: {}\n", "app/templates/cm.yaml": cm('  host: {{ required "db.host is required: set it to the database\'s address" .Values.db.host }}') });
    assert.equal(err.file, "app/templates/cm.yaml");
    assert.equal(err.line, 6);
    assert.match(err.message, /required value \.Values\.db\.host is missing: db\.host is required: set it to the database's address/);
  });

  void it("fail says the chart failed the render, with its message", () => {
    const err = failure({ "app/templates/cm.yaml": '{{- if not .Values.accept }}{{ fail "set accept: true to accept the licence" }}{{ end }}\n' });
    assert.match(err.message, /^app\/templates\/cm\.yaml:1: the chart failed the render: set accept: true to accept the licence$/);
  });

  void it("a schema violation (draft-07, https $schema) names each field", () => {
    const schema = {
      $schema: "https://json-schema.org/draft-07/schema#",
      type: "object",
      required: ["image"],
      properties: { replicas: { type: "integer" }, image: { type: "object", required: ["tag"], properties: { tag: { type: "string" } } } },
    };
    const err = failure({ "app/values.yaml": "replicas: 1\nimage:\n  tag: v1\n", "app/values.schema.json": JSON.stringify(schema), "app/templates/cm.yaml": cm("  a: b") }, { values: { replicas: "three", image: { tag: null } } });
    assert.equal(err.file, "app/values.schema.json");
    assert.match(err.message, /values do not match the chart's schema: /);
    assert.match(err.message, /values\.replicas: got string, want integer/);
    assert.match(err.message, /values\.image: missing property 'tag'/);
  });

  void it("a schema violation in a subchart (draft 2020-12) names the subchart and the field", () => {
    const schema = { $schema: "https://json-schema.org/draft/2020-12/schema", type: "object", properties: { port: { type: "integer", maximum: 65535 } } };
    const err = failure(
      {
        "app/Chart.yaml": CHART + "dependencies:\n  - name: sub\n    version: 1.0.0\n",
        "app/templates/cm.yaml": cm("  a: b"),
        "app/charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
        "app/charts/sub/values.schema.json": JSON.stringify(schema),
        "app/charts/sub/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\n",
      },
      { values: { sub: { port: 70000 } } },
    );
    assert.equal(err.file, "app/charts/sub/values.schema.json");
    assert.match(err.message, /sub: values\.port: /);
  });

  void it("output that is not valid YAML names the template", () => {
    const err = failure({ "app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: {{ .Values.x | default \"oops\" }}\n" });
    assert.equal(err.file, "app/templates/cm.yaml");
    assert.match(err.message, /the template's output is not valid YAML: line \d+ of the rendered output/);
  });

  void it("a document that is a list, not an object, names the template", () => {
    const err = failure({ "app/templates/list.yaml": "- a\n- b\n" });
    assert.match(err.message, /app\/templates\/list\.yaml: the template rendered a document that is a list, not a Kubernetes object/);
  });

  void it("a dependency that is not vendored names Chart.yaml and says what to do", () => {
    const err = failure({ "app/Chart.yaml": CHART + "dependencies:\n  - name: redis\n    version: 18.x\n    repository: https://charts.example.com\n", "app/templates/cm.yaml": cm("  a: b") });
    assert.equal(err.file, "app/Chart.yaml");
    assert.match(err.message, /missing in charts\/ directory: redis; Mooring renders offline, so vendor the dependencies into charts\/ .*, or render the chart through a HelmChart with sourceRef GitRepository/);
  });

  void it("a chart whose kubeVersion the cluster does not meet names Chart.yaml", () => {
    const err = failure({ "app/Chart.yaml": CHART + 'kubeVersion: ">=1.40.0"\n', "app/templates/cm.yaml": cm("  a: b") });
    assert.equal(err.file, "app/Chart.yaml");
    assert.match(err.message, /chart requires kubeVersion: >=1\.40\.0 which is incompatible with Kubernetes v1\.36\.3/);
  });

  void it("a bad values file (valuesFiles) is named by its path in the artifact", () => {
    const err = failure({ "app/templates/cm.yaml": cm("  a: b"), "env/prod.yaml": "a: [unclosed\n" }, { valuesFiles: ["../env/prod.yaml"] });
    assert.match(err.message, /env\/prod\.yaml/);
    assert.doesNotMatch(err.message, /mooring-helm-|\/tmp\//);
  });

  // 10^10 iterations over one small list: no allocation, so only the deadline stops it (two `until 100000000`
  // lists would need 800 MB each and hit the memory limit first).
  void it("a render past its deadline is killed with a clear error", () => {
    const started = Date.now();
    const err = failure({ "app/templates/cm.yaml": "{{- $l := until 100000 }}{{- range $l }}{{- range $l }}{{ end }}{{ end }}\n" }, { timeoutMs: 1500 });
    assert.match(err.message, /^app: helm template of app took longer than 1500 ms and was killed; simplify the templates or split the Application$/);
    assert.ok(Date.now() - started < 15_000, `stopped after ${Date.now() - started} ms`);
  });

  void it("a render past its memory limit is stopped with a clear error", () => {
    const bomb = '{{- $s := "0123456789abcdef0123456789abcdef" }}{{- range $i := until 40 }}{{- $s = printf "%s%s" $s $s }}{{- end }}x: {{ len $s }}\n';
    const err = failure({ "app/templates/cm.yaml": bomb }, { maxMemoryMb: 96, timeoutMs: 30_000 });
    assert.match(err.message, /needed more than 96 MiB of memory and was stopped/);
  });

  void it("output over the render's limit is refused", () => {
    const err = failure({ "app/templates/cm.yaml": cm('  a: {{ repeat 20000 "x" | quote }}') }, {}, { maxOutputBytes: 4096 });
    assert.match(err.message, /more than the 4096-byte output limit/);
  });

  void it("a missing helm binary is a clear error naming what to do", () => {
    const err = failure({ "app/templates/cm.yaml": cm("  a: b") }, { helmBinary: "/nonexistent/helm" });
    assert.match(err.message, /the helm binary \/nonexistent\/helm \(--helm-binary\) does not exist or is not executable/);
  });

  void it("a symlink in the chart that leaves the artifact is refused before helm runs", () => {
    const err = failure({ "app/templates/cm.yaml": cm("  a: b"), "app/files/passwd": { symlink: "/etc/passwd" } });
    assert.match(err.message, /symlink pointing outside/);
  });

  void it("a FIFO in the chart is refused, not read (it would block)", () => {
    const t = writeTree({ "app/Chart.yaml": CHART, "app/templates/cm.yaml": cm("  a: b") });
    after(() => t.cleanup());
    execFileSync("mkfifo", [path.join(t.dir, "app/files.fifo")]);
    assert.throws(() => render(t.dir, "app", { type: "helm" }), (e: unknown) => e instanceof RenderError && /FIFO/.test(e.message));
  });

  void it("helm sees a copy of the chart: .Files cannot read files outside it, nor the artifact's other files", () => {
    const t = writeTree({
      "app/Chart.yaml": CHART,
      "app/templates/cm.yaml": cm('  up: {{ .Files.Get "../secret.txt" | quote }}\n  abs: {{ .Files.Get "/etc/hostname" | quote }}\n  inside: {{ .Files.Get "data.txt" | quote }}'),
      "app/data.txt": "in the chart",
      "secret.txt": "not in the chart",
    });
    after(() => t.cleanup());
    const out = render(t.dir, "app", { type: "helm" });
    assert.deepEqual(out.objects[0]?.data, { up: "", abs: "", inside: "in the chart" });
  });

  void it("leaves no temporary directory behind, after a success or a failure", () => {
    const tmp = fs.realpathSync(process.env.TMPDIR ?? "/tmp");
    const before = new Set(fs.readdirSync(tmp).filter((n) => n.startsWith("mooring-helm-")));
    failure({ "app/templates/cm.yaml": cm("  a: {{ .Values.x.y }}") });
    const t = writeTree({ "app/Chart.yaml": CHART, "app/templates/cm.yaml": cm("  a: b") });
    render(t.dir, "app", { type: "helm" });
    t.cleanup();
    const left = fs.readdirSync(tmp).filter((n) => n.startsWith("mooring-helm-") && !before.has(n));
    assert.deepEqual(left, []);
  });
});
