import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { parseValues, render, RenderError } from "../../../src/render/index.js";
import { writeTree } from "./tree.js";

const chart = {
  "Chart.yaml": "name: demo\nversion: 0.1.0\nappVersion: '1.2.3'\n",
  "values.yaml": "replicas: 2\nimage:\n  repository: nginx\n  tag: ''\nlabels:\n  team: blue\nsub:\n  message: from-parent\nglobal:\n  env: prod\nfeature:\n  enabled: false\n",
  "templates/_labels.hbs": "app: {{chart.name}}\nrelease: {{release.name}}",
  "templates/deploy.yaml": [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: {{trunc 10 release.name}}-web",
    "  namespace: {{release.namespace}}",
    "  labels: {{nindent 4 (include \"labels\" this)}}",
    "    {{#each values.labels}}",
    "    {{@key}}: {{quote this}}",
    "    {{/each}}",
    "  annotations:",
    "    kube: {{quote capabilities.kubeVersion.version}}",
    "    sum: {{sha256sum \"x\"}}",
    "    b64: {{b64enc \"hi\"}}",
    "    upper: {{upper \"a\"}}{{lower \"B\"}}",
    "    html: {{values.html}}",
    "    logic: '{{and true values.replicas}} {{or false \"x\"}} {{not values.feature.enabled}} {{eq values.replicas 2}} {{ne 1 2}}'",
    "spec:",
    "  replicas: {{values.replicas}}",
    "  template:",
    "    spec:",
    "      containers:",
    "      - name: web",
    "        image: {{values.image.repository}}:{{default chart.appVersion values.image.tag}}",
    "        env: {{nindent 8 (toYaml values.env)}}",
    "        args: {{toJson values.args}}",
    "{{#if values.feature.enabled}}",
    "---",
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    "  name: feature",
    "{{/if}}",
  ].join("\n"),
  "templates/NOTES.txt": "ignored {{nothing}}",
  "charts/sub/Chart.yaml": "name: sub\nversion: 1.0.0\n",
  "charts/sub/values.yaml": "message: default\nother: kept\n",
  "charts/sub/templates/cm.yaml":
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{release.name}}-sub\ndata:\n  message: {{values.message}}\n  other: {{values.other}}\n  env: {{values.global.env}}\n",
  "values-prod.yaml": "replicas: 3\nenv:\n- name: A\n  value: a\n",
};

void describe("helm-style renderer", () => {
  const t = writeTree(chart);
  after(() => t.cleanup());

  const base = { values: { html: "<a & b>", args: ["--x"] } };

  void it("renders templates with values, release, chart, capabilities, partials and every helper", () => {
    const out = render(t.dir, "", { targetNamespace: "apps", helm: { releaseName: "my-release-name", ...base } });
    assert.equal(out.type, "helm");
    const d = out.objects.find((o) => o.kind === "Deployment")!;
    assert.equal(d.metadata.name, "my-release-web");
    assert.equal(d.metadata.namespace, "apps");
    assert.deepEqual(d.metadata.labels, { app: "demo", release: "my-release-name", team: "blue" });
    const a = d.metadata.annotations!;
    assert.equal(a.kube, "v1.32.0");
    assert.equal(a.sum, createHash("sha256").update("x").digest("hex"));
    assert.equal(a.b64, "aGk=");
    assert.equal(a.upper, "Ab");
    assert.equal(a.html, "<a & b>", "no HTML escaping");
    assert.equal(a.logic, "true x true true true");
    const spec = d.spec as { replicas: number; template: { spec: { containers: { image: string; args: string[] }[] } } };
    assert.equal(spec.replicas, 2);
    assert.equal(spec.template.spec.containers[0]!.image, "nginx:1.2.3", "default falls back when the tag is empty");
    assert.deepEqual(spec.template.spec.containers[0]!.args, ["--x"]);
    assert.equal(out.objects.filter((o) => o.metadata.name === "feature").length, 0);
  });

  void it("merges values: chart < valuesFiles < valuesFrom < inline", () => {
    const out = render(t.dir, "", {
      helm: {
        valuesFiles: ["values-prod.yaml"],
        valuesFrom: [{ replicas: 4, feature: { enabled: true } }],
        values: { ...base.values, replicas: 5 },
      },
    });
    const d = out.objects.find((o) => o.kind === "Deployment")!;
    assert.equal((d.spec as { replicas: number }).replicas, 5);
    assert.ok(out.objects.some((o) => o.metadata.name === "feature"), "valuesFrom enabled the feature");
    const env = (d.spec as { template: { spec: { containers: { env: unknown }[] } } }).template.spec.containers[0]!.env;
    assert.deepEqual(env, [{ name: "A", value: "a" }], "values file applied");
  });

  void it("renders subcharts with their own values scope plus global", () => {
    const out = render(t.dir, "", { helm: base });
    const sub = out.objects.find((o) => o.metadata.name === "demo-sub")!;
    assert.deepEqual(sub.data, { message: "from-parent", other: "kept", env: "prod" });
  });

  void it("validates values against values.schema.json, naming the value path", () => {
    const t2 = writeTree({
      ...chart,
      "values.schema.json": JSON.stringify({
        type: "object",
        properties: { replicas: { type: "integer", minimum: 1 }, image: { type: "object", properties: { repository: { type: "string" } } } },
        required: ["replicas"],
      }),
    });
    try {
      assert.equal(render(t2.dir, "", { helm: base }).objects.length > 0, true);
      assert.throws(
        () => render(t2.dir, "", { helm: { values: { ...base.values, replicas: 0, image: { repository: 5 } } } }),
        (err: unknown) =>
          err instanceof RenderError &&
          err.file === "values.schema.json" &&
          /values\.replicas must be >= 1/.test(err.message) &&
          /values\.image\.repository must be string/.test(err.message),
      );
    } finally {
      t2.cleanup();
    }
  });

  void it("does not expose prototype properties to templates", () => {
    const t2 = writeTree({
      "Chart.yaml": "name: p\nversion: 1.0.0\n",
      "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  ctor: '{{values.constructor}}'\n  proto: '{{values.__proto__}}'\n",
    });
    const origError = console.error;
    console.error = () => {}; // Handlebars logs the denied access once
    try {
      const cm = render(t2.dir, "", {}).objects[0]!;
      assert.deepEqual(cm.data, { ctor: "", proto: "" });
    } finally {
      console.error = origError;
      t2.cleanup();
    }
  });

  void it("renders the webapp chart fixture (partials, subchart, schema, required)", () => {
    const dir = path.resolve(import.meta.dirname, "../../fixtures/render/helm/webapp");
    const out = render(dir, "", { helm: { releaseName: "shop" } });
    assert.deepEqual(out.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      "ConfigMap/shop-webapp",
      "Deployment/shop-webapp",
      "Service/shop-webapp",
      "StatefulSet/shop-cache",
    ]);
    const d = out.objects.find((o) => o.kind === "Deployment")!;
    const volumes = (d.spec as { template: { spec: { volumes: { configMap: { defaultMode: number } }[] } } }).template.spec.volumes;
    assert.equal(volumes[0]!.configMap.defaultMode, 0o644);
    assert.throws(
      () => render(dir, "", { helm: { releaseName: "shop", values: { ingress: { enabled: true } } } }),
      (e: unknown) => e instanceof RenderError && e.template === "templates/ingress.yaml" && e.line === 8 && /ingress.host is required/.test(e.message),
    );
    assert.throws(
      () => render(dir, "", { helm: { values: { replicas: 100, env: { A: 1 } } } }),
      (e: unknown) => e instanceof RenderError && /values\.replicas must be <= 50/.test(e.message) && /values\.env\.A must be string/.test(e.message),
    );
  });

  void it("parses valuesFrom text with the same protections, naming the source", () => {
    assert.deepEqual(parseValues("a: 1\nb: {c: 0644}\n", "ConfigMap apps/v key values.yaml"), { a: 1, b: { c: 420 } });
    assert.deepEqual(parseValues("", "x"), {});
    assert.throws(() => parseValues("- 1\n", "ConfigMap apps/v key values.yaml"), /ConfigMap apps\/v key values.yaml: values must be one YAML map/);
    assert.throws(() => parseValues("a: &a [1]\nb: [*a, *a, *a]\n", "Secret s", { maxAliasCount: 2, maxDepth: 10 }), /alias/i);
  });

  void it("resolves valuesFiles relative to the chart directory (spec.path), never outside the artifact", () => {
    const t2 = writeTree({
      "deploy/app/Chart.yaml": "name: app\nversion: 1.0.0\n",
      "deploy/app/values.yaml": "a: chart\nb: chart\n",
      "deploy/app/values-prod.yaml": "a: prod\n",
      "deploy/shared.yaml": "b: shared\n",
      "deploy/app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: {{values.a}}\n  b: {{values.b}}\n",
    });
    try {
      const out = render(t2.dir, "deploy/app", { helm: { valuesFiles: ["values-prod.yaml", "../shared.yaml"] } });
      assert.deepEqual(out.objects[0]!.data, { a: "prod", b: "shared" });
      assert.throws(() => render(t2.dir, "deploy/app", { helm: { valuesFiles: ["../../../x.yaml"] } }), /escapes the artifact root/);
    } finally {
      t2.cleanup();
    }
  });

  void it("has trim, replace, join, contains, hasKey and len, and honours Chart.yaml dependency conditions", () => {
    const t2 = writeTree({
      "Chart.yaml": "name: p\nversion: 1.0.0\ndependencies:\n- name: db\n  condition: db.enabled,global.db\n",
      "values.yaml": "list: [a, b]\nmap: {k: v}\ns: '  x-y  '\ndb:\n  enabled: false\n",
      "templates/cm.yaml":
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\ndata:\n  trim: '{{trim values.s}}'\n  replace: '{{replace \"-\" \"_\" (trim values.s)}}'\n  join: '{{join \",\" values.list}}'\n  contains: '{{contains \"b\" values.list}}'\n  hasKey: '{{hasKey values.map \"k\"}} {{hasKey values.map \"constructor\"}}'\n  len: '{{len values.list}} {{len values.map}}'\n",
      "charts/db/Chart.yaml": "name: db\nversion: 1.0.0\n",
      "charts/db/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\n",
    });
    try {
      const out = render(t2.dir, "", {});
      assert.deepEqual(out.objects.map((o) => o.metadata.name), ["p"], "condition db.enabled=false skips the subchart");
      assert.deepEqual(out.objects[0]!.data, { trim: "x-y", replace: "x_y", join: "a,b", contains: "true", hasKey: "true false", len: "2 1" });
      assert.deepEqual(
        render(t2.dir, "", { helm: { values: { db: { enabled: true } } } }).objects.map((o) => o.metadata.name),
        ["p", "db"],
      );
    } finally {
      t2.cleanup();
    }
  });
});
