// Go-template charts beside Handlebars ones (which engine a chart gets: helm/detect.test.ts): how Helm hooks become sync waves for an
// Application, values.schema.json of any draft for Handlebars charts too, and the Application fields that reach
// the renderer.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { render, renderOptionsFor, RenderError, type KubeObject } from "../../../src/render/index.js";
import { applyHooks, SYNC_WAVE_ANNOTATION } from "../../../src/render/helm/hooks.js";
import { REPO_ROOT } from "../../support/cluster.js";
import { writeTree } from "./tree.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures/render/helm-go");

function obj(kind: string, name: string, annotations: Record<string, string> = {}, apiVersion = kind === "Job" ? "batch/v1" : "v1"): KubeObject {
  return { apiVersion, kind, metadata: { name, annotations }, spec: { x: name } } as KubeObject;
}
const names = (os: KubeObject[]) => os.map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.annotations?.[SYNC_WAVE_ANNOTATION] ?? "-"}`);

void describe("hooks", () => {
  const objects = [
    obj("ConfigMap", "plain"),
    obj("ServiceAccount", "pre-sa", { "helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "-10" }),
    obj("ConfigMap", "pre-cm", { "helm.sh/hook": "pre-install", "helm.sh/hook-weight": "5" }),
    obj("ConfigMap", "post-cm", { "helm.sh/hook": "post-install,post-upgrade" }),
    obj("ConfigMap", "upgrade-only", { "helm.sh/hook": "pre-upgrade" }),
    obj("ConfigMap", "delete", { "helm.sh/hook": "pre-delete" }),
    obj("ConfigMap", "rollback", { "helm.sh/hook": "post-rollback" }),
    obj("Pod", "test", { "helm.sh/hook": "test" }),
    obj("Pod", "test-success", { "helm.sh/hook": "test-success, post-install" }),
    obj("ConfigMap", "crd-install", { "helm.sh/hook": "crd-install" }),
    obj("ConfigMap", "own-wave", { "helm.sh/hook": "post-install", [SYNC_WAVE_ANNOTATION]: "7" }),
  ];

  void it("without an Application only test hooks are dropped; every other object is as helm printed it", () => {
    const out = applyHooks(objects, { waves: false });
    assert.deepEqual(out, objects.filter((o) => !/test/.test(o.metadata.name)));
  });

  void it("an install render: pre-install hooks in earlier waves by weight, post-install later, upgrade, delete and rollback hooks dropped", () => {
    assert.deepEqual(names(applyHooks(objects, { waves: true })), [
      "ConfigMap/plain@-",
      "ServiceAccount/pre-sa@-2",
      "ConfigMap/pre-cm@-1",
      "ConfigMap/post-cm@1",
      "ConfigMap/crd-install@-",
      "ConfigMap/own-wave@7",
    ]);
  });

  void it("an upgrade render: pre-upgrade hooks run, install-only hooks stay as they are", () => {
    // Three pre-phase weights now (-10, 0 for the upgrade-only hook, 5): three waves before the ordinary objects.
    assert.deepEqual(names(applyHooks(objects, { waves: true, isUpgrade: true })), [
      "ConfigMap/plain@-",
      "ServiceAccount/pre-sa@-3",
      "ConfigMap/pre-cm@-1",
      "ConfigMap/post-cm@1",
      "ConfigMap/upgrade-only@-2",
      "ConfigMap/crd-install@-",
      "ConfigMap/own-wave@7",
    ]);
  });

  void it("hook waves go around the chart's own waves", () => {
    const out = applyHooks([obj("ConfigMap", "a", { [SYNC_WAVE_ANNOTATION]: "-3" }), obj("ConfigMap", "b", { [SYNC_WAVE_ANNOTATION]: "4" }), obj("ConfigMap", "pre", { "helm.sh/hook": "pre-install" }), obj("ConfigMap", "post", { "helm.sh/hook": "post-install" })], { waves: true });
    assert.deepEqual(names(out), ["ConfigMap/a@-3", "ConfigMap/b@4", "ConfigMap/pre@-4", "ConfigMap/post@5"]);
  });

  void it("Jobs and Pods get a content-hashed name, so a changed hook is a new object (before-hook-creation)", () => {
    const job = (image: string) => ({ ...obj("Job", "migrate-with-a-rather-long-name-that-goes-on-and-on-and-on", { "helm.sh/hook": "pre-install" }), spec: { image } }) as KubeObject;
    const [a] = applyHooks([job("v1")], { waves: true });
    const [b] = applyHooks([job("v1")], { waves: true });
    const [c] = applyHooks([job("v2")], { waves: true });
    assert.equal(a!.metadata.name, b!.metadata.name);
    assert.notEqual(a!.metadata.name, c!.metadata.name);
    assert.match(a!.metadata.name, /^migrate-with-a-rather-long-name-that-goes-on-and-on-[0-9a-f]{10}$/);
    assert.ok(a!.metadata.name.length <= 63);
  });

  void it("for an Application the shop chart's hooks become waves (mooring render --application shows the same)", () => {
    const out = render(FIXTURES, "shop", { helm: { releaseName: "rel", namespace: "apps" }, application: { namespace: "apps", name: "shop" } });
    const hooks = out.objects.filter((o) => o.metadata.annotations?.["helm.sh/hook"]);
    assert.deepEqual(
      hooks.map((o) => [o.kind, o.metadata.name.replace(/-[0-9a-f]{10}$/, "-<hash>"), o.metadata.annotations?.[SYNC_WAVE_ANNOTATION]]),
      [
        ["ServiceAccount", "rel-shop-migrate", "-2"],
        ["Job", "rel-shop-migrate-<hash>", "-1"],
        ["Job", "rel-shop-warm-cache-<hash>", "1"],
      ],
    );
    assert.ok(!out.objects.some((o) => o.kind === "Pod"), "the test Pod is dropped");
  });
});

void describe("values.schema.json of any draft (Handlebars charts too)", () => {
  const chart = (schema: object) => ({
    "c/Chart.yaml": "name: c\nversion: 1.0.0\n",
    "c/values.yaml": "replicas: 1\n",
    "c/values.schema.json": JSON.stringify(schema),
    "c/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  r: {{quote values.replicas}}\n",
  });
  for (const [draft, uri] of [
    ["draft-07 (https, as helm create writes it)", "https://json-schema.org/draft-07/schema#"],
    ["draft-07 (http)", "http://json-schema.org/draft-07/schema#"],
    ["draft 2019-09", "https://json-schema.org/draft/2019-09/schema"],
    ["draft 2020-12", "https://json-schema.org/draft/2020-12/schema"],
  ] as const) {
    void it(`${draft} is accepted, and enforced`, () => {
      const t = writeTree(chart({ $schema: uri, type: "object", properties: { replicas: { type: "integer", minimum: 1 } } }));
      after(() => t.cleanup());
      assert.equal(render(t.dir, "c").objects.length, 1);
      assert.throws(
        () => render(t.dir, "c", { helm: { values: { replicas: 0 } } }),
        (e: unknown) => e instanceof RenderError && e.file === "c/values.schema.json" && /values\.replicas must be >= 1/.test(e.message),
      );
    });
  }

  void it("a 2020-12 schema's own keywords work (prefixItems, $defs)", () => {
    const t = writeTree(chart({ $schema: "https://json-schema.org/draft/2020-12/schema", $defs: { n: { type: "integer" } }, properties: { replicas: { $ref: "#/$defs/n" }, pair: { prefixItems: [{ type: "string" }], items: false } } }));
    after(() => t.cleanup());
    assert.throws(() => render(t.dir, "c", { helm: { values: { pair: ["a", "b"] } } }), (e: unknown) => e instanceof RenderError && /values\.pair/.test(e.message));
  });
});

void describe("Application fields for Go-template charts", () => {
  void it("renderOptionsFor maps engine, kubeVersion, apiVersions and skipCrds, with the cluster's capabilities and isUpgrade", () => {
    const app = { namespace: "apps", name: "shop" };
    const spec = { render: { helm: { engine: "go" as const, apiVersions: ["a.example.com/v1"], skipCrds: true } } };
    const { options } = renderOptionsFor(app, spec, { capabilities: { kubeVersion: "v1.31.2", apiVersions: ["b.example.com/v1", "a.example.com/v1"] }, isUpgrade: true });
    assert.equal(options.helm?.engine, "go");
    assert.equal(options.helm?.kubeVersion, "v1.31.2");
    assert.deepEqual(options.helm?.apiVersions, ["a.example.com/v1", "b.example.com/v1"]);
    assert.equal(options.helm?.skipCrds, true);
    assert.equal(options.helm?.isUpgrade, true);
    const own = renderOptionsFor(app, { render: { helm: { kubeVersion: "v1.29.0" } } }, { capabilities: { kubeVersion: "v1.31.2" } });
    assert.equal(own.options.helm?.kubeVersion, "v1.29.0", "the spec wins over the cluster");
    const none = renderOptionsFor(app, {});
    assert.deepEqual(Object.keys(none.options.helm ?? {}).sort(), ["namespace", "releaseName", "valuesFiles", "valuesFrom", "values"].sort());
  });
});
