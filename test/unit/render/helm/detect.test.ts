// Which engine a chart gets (src/render/helm/detect.ts): Handlebars or Go templates.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { render } from "../../../../src/render/index.js";
import { ArtifactRoot } from "../../../../src/render/fs.js";
import { resolveLimits } from "../../../../src/render/limits.js";
import { detectEngine } from "../../../../src/render/helm/detect.js";
import { ChartFiles } from "../../../../src/render/helm/stage.js";
import { writeTree } from "../tree.js";

function engineOf(files: Record<string, string>, choice?: "auto" | "go" | "handlebars") {
  const t = writeTree(files);
  try {
    return detectEngine(new ChartFiles(new ArtifactRoot(t.dir, resolveLimits())), "", choice);
  } finally {
    t.cleanup();
  }
}

void describe("engine detection", () => {
  void it("a Chart.yaml without apiVersion is a Handlebars chart (Mooring's own; Helm refuses such charts)", () => {
    assert.deepEqual(engineOf({ "Chart.yaml": "name: a\nversion: 1.0.0\n", "templates/cm.yaml": "x: {{ .Values.y }}" }), { engine: "handlebars", reason: "Chart.yaml has no apiVersion" });
  });

  void it("with an apiVersion, Go-template syntax means go, Handlebars syntax handlebars, neither go", () => {
    const chart = "apiVersion: v2\nname: a\nversion: 1.0.0\n";
    for (const t of ["a: {{ .Values.x }}", "a: {{- include \"x\" . }}", "{{/* c */}}", "{{ $x := 1 }}", "{{ toYaml .Values.a }}", 'a: {{ include "x" . }}', "{{ end }}"]) {
      assert.equal(engineOf({ "Chart.yaml": chart, "templates/cm.yaml": t }).engine, "go", t);
    }
    for (const t of ["a: {{values.x}}", "a: {{quote values.greeting}}", "{{#if values.a}}x{{/if}}", "name: {{release.name}}", "{{> labels}}", "{{!-- c --}}"]) {
      assert.equal(engineOf({ "Chart.yaml": chart, "templates/cm.yaml": t }).engine, "handlebars", t);
    }
    assert.equal(engineOf({ "Chart.yaml": chart, "templates/_labels.hbs": "app: x", "templates/cm.yaml": "a: b" }).engine, "handlebars");
    assert.equal(engineOf({ "Chart.yaml": chart, "templates/cm.yaml": "a: b" }).engine, "go");
    assert.equal(engineOf({ "Chart.yaml": chart }).engine, "go");
  });

  void it("spec.render.helm.engine decides when set", () => {
    const files = { "Chart.yaml": "name: a\nversion: 1.0.0\n", "templates/cm.yaml": "x: y" };
    assert.equal(engineOf(files, "go").engine, "go");
    assert.equal(engineOf({ ...files, "Chart.yaml": "apiVersion: v2\nname: a\nversion: 1.0.0\n" }, "handlebars").engine, "handlebars");
  });

  void it("a Handlebars chart with an apiVersion still renders with Handlebars", () => {
    const t = writeTree({ "c/Chart.yaml": "apiVersion: v2\nname: hello\nversion: 0.1.0\n", "c/values.yaml": "greeting: hi\n", "c/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{release.name}}\ndata:\n  g: {{quote values.greeting}}\n" });
    after(() => t.cleanup());
    assert.deepEqual(render(t.dir, "c", { helm: { releaseName: "r" } }).objects[0]?.data, { g: "hi" });
  });
});
