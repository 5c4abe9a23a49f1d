// The renderer's entry point (src/render/index.ts): which renderer `auto` picks, that an explicit type is obeyed,
// the refusals of a type that does not fit, what the result says besides the objects (type, engine, reads), and
// what it hands a chart render (the target namespace as the release's, hook waves only for an Application).
// The renderers themselves are tested in their own files (plain, kustomize/, helm*, post).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ArtifactRoot, detectType, render, resolveLimits, RenderError } from "../../../src/render/index.js";
import { SYNC_WAVE_ANNOTATION } from "../../../src/render/helm/hooks.js";
import { helmBinary } from "../../support/helm.js";
import { writeTree, type Tree } from "./tree.js";

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

/** The RenderError `fn` throws. */
function refusal(fn: () => unknown): RenderError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RenderError, `a RenderError, not ${String(err)}`);
    return err;
  }
  assert.fail("it did not throw");
}

void describe("render's entry point", () => {
  let t: Tree;
  before(() => {
    t = writeTree({
      "plain/a.yaml": cm("a"),
      "kust/kustomization.yaml": "resources: [cm.yaml]\nnamePrefix: k-\n",
      "kust/cm.yaml": cm("a"),
      "kust-yml/kustomization.yml": "resources: [cm.yaml]\n",
      "kust-yml/cm.yaml": cm("b"),
      "kust-capital/Kustomization": "resources: [cm.yaml]\n",
      "kust-capital/cm.yaml": cm("c"),
      "chart/Chart.yaml": "name: hb\nversion: 1.0.0\n",
      "chart/templates/cm.yaml": cm("{{release.name}}"),
      // A chart directory that also has a kustomization: helm wins.
      "both/Chart.yaml": "name: both\nversion: 1.0.0\n",
      "both/kustomization.yaml": "resources: []\n",
      "both/templates/cm.yaml": cm("from-chart"),
      "two/kustomization.yaml": "resources: []\n",
      "two/Kustomization": "resources: []\n",
      // A Go-template chart (apiVersion v2, Go templates) with an install hook.
      "go/Chart.yaml": "apiVersion: v2\nname: go\nversion: 0.1.0\n",
      "go/templates/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  ns: {{ .Release.Namespace | quote }}\n',
      "go/templates/hook.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pre\n  annotations:\n    "helm.sh/hook": pre-install\n',
    });
  });
  after(() => t.cleanup());

  void it("auto picks helm for a Chart.yaml (before a kustomization), kustomize for any kustomization file name, otherwise plain", () => {
    const root = new ArtifactRoot(t.dir, resolveLimits({}));
    const picks = Object.fromEntries(["plain", "kust", "kust-yml", "kust-capital", "chart", "both", "plain/a.yaml", "missing", ""].map((d) => [d, detectType(root, d)]));
    assert.deepEqual(picks, {
      plain: "plain",
      kust: "kustomize",
      "kust-yml": "kustomize",
      "kust-capital": "kustomize",
      chart: "helm",
      both: "helm",
      "plain/a.yaml": "plain",
      missing: "plain",
      "": "plain",
    });
    assert.match(refusal(() => detectType(root, "two")).message, /found more than one kustomization file \(two\/kustomization.yaml, two\/Kustomization\)/);
  });

  void it("renders with the renderer auto picked, and says which; an explicit type is obeyed", () => {
    const k = render(t.dir, "kust");
    assert.equal(k.type, "kustomize");
    assert.deepEqual(k.objects.map((o) => o.metadata.name), ["k-a"]);
    assert.equal(render(t.dir, "kust", { type: "auto" }).type, "kustomize");
    assert.equal(render(t.dir, "plain/a.yaml").type, "plain");
    // Told plain, the kustomization file is read as a manifest (and is not one).
    const asPlain = refusal(() => render(t.dir, "kust", { type: "plain" }));
    assert.equal(asPlain.file, "kust/kustomization.yaml");
    assert.match(asPlain.message, /has no apiVersion, kind, metadata.name/);
    const both = render(t.dir, "both");
    assert.equal(both.type, "helm");
    assert.deepEqual(both.objects.map((o) => o.metadata.name), ["from-chart"]);
  });

  void it("reads the path as relative to the artifact: '' and '.' are its root", () => {
    const a = render(`${t.dir}/plain`, "");
    const b = render(`${t.dir}/plain`, ".");
    assert.equal(a.digest, b.digest);
    assert.deepEqual(a.objects.map((o) => o.metadata.name), ["a"]);
  });

  void it("refuses helm for a directory without a Chart.yaml, and a type it does not know", () => {
    const notChart = refusal(() => render(t.dir, "kust", { type: "helm" }));
    assert.equal(notChart.file, "kust");
    assert.equal(notChart.message, "kust: is not a chart: Chart.yaml is missing");
    const unknown = refusal(() => render(t.dir, "plain", { type: "jsonnet" as "plain" }));
    assert.equal(unknown.message, 'unknown render type "jsonnet" (use auto, plain, kustomize or helm)');
    assert.equal(unknown.file, undefined);
  });

  void it("returns an engine only for a chart, and what the render read only when asked", () => {
    const plain = render(t.dir, "plain");
    assert.ok(!("engine" in plain), "no engine for plain manifests");
    assert.ok(!("reads" in plain), "no reads unless traced");
    const traced = render(t.dir, "kust", { traceReads: true });
    assert.ok(traced.reads);
    const read = Object.keys(traced.reads);
    assert.ok(["kust/kustomization.yaml", "kust/cm.yaml"].every((f) => read.some((k) => k.includes(f))), `both files among the reads: ${read.join(", ")}`);
    assert.ok(!read.some((k) => k.includes("plain/")), "nothing outside the rendered path");
    const chart = render(t.dir, "chart", { helm: { releaseName: "rel" } });
    assert.equal(chart.engine, "handlebars");
    assert.deepEqual(chart.objects.map((o) => o.metadata.name), ["rel"]);
  });

  void it("a chart renders into the target namespace, and maps hooks onto sync waves only for an Application", () => {
    helmBinary(); // the pinned helm: fails loudly when 'make tools' has not built it
    const standalone = render(t.dir, "go", { targetNamespace: "apps", helm: { releaseName: "r" } });
    assert.equal(standalone.engine, "go");
    const byName = (objs: typeof standalone.objects) => Object.fromEntries(objs.map((o) => [o.metadata.name, o]));
    assert.deepEqual(byName(standalone.objects).r?.data, { ns: "apps" });
    assert.equal(byName(standalone.objects).pre?.metadata.annotations?.[SYNC_WAVE_ANNOTATION], undefined, "no Application: the hook as helm printed it");
    const forApp = render(t.dir, "go", { targetNamespace: "apps", application: { namespace: "apps", name: "shop" }, helm: { releaseName: "r" } });
    assert.equal(byName(forApp.objects).pre?.metadata.annotations?.[SYNC_WAVE_ANNOTATION], "-1", "the pre-install hook goes before the chart's objects");
    // The chart's own helm options win over what render derives.
    const explicit = render(t.dir, "go", { targetNamespace: "apps", application: { namespace: "apps", name: "shop" }, helm: { releaseName: "r", namespace: "other", hookWaves: false } });
    assert.deepEqual(byName(explicit.objects).r?.data, { ns: "other" });
    assert.equal(byName(explicit.objects).pre?.metadata.annotations?.[SYNC_WAVE_ANNOTATION], undefined);
  });
});
