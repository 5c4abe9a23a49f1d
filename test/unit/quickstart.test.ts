// The quickstart (examples/quickstart/): its manifests are valid Mooring objects, and each Application renders,
// through the same mapping the render controller uses (renderOptionsFor), to exactly the objects the docs promise.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import type { Application } from "../../src/api/application.js";
import { validate } from "../../src/api/validate.js";
import { render, renderOptionsFor, type KubeObject } from "../../src/render/index.js";
import { REPO_ROOT } from "../support/cluster.js";

const DIR = path.join(REPO_ROOT, "examples/quickstart");
const docs = parseAllDocuments(readFileSync(path.join(DIR, "quickstart.yaml"), "utf8")).map((d) => {
  assert.equal(d.errors.length, 0, `quickstart.yaml does not parse: ${d.errors[0]?.message}`);
  return d.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } & Record<string, unknown>;
});
const apps = docs.filter((d) => d.kind === "Application") as unknown as (Application & { metadata: { name: string; namespace: string } })[];

/** Renders an Application of quickstart.yaml as the controller would, with the repository being this directory. */
function renderApp(name: string): KubeObject[] {
  const app = apps.find((a) => a.metadata.name === name);
  assert.ok(app, `quickstart.yaml has no Application ${name}`);
  const { path: p, options } = renderOptionsFor({ namespace: app.metadata.namespace, name }, app.spec);
  return render(DIR, p, options).objects;
}

type Obj = KubeObject & { metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, string> };
const byKind = (objects: KubeObject[]) => Object.fromEntries((objects as Obj[]).map((o) => [`${o.kind}/${o.metadata.name}`, o]));
type Container = { image: string; env?: { name: string; value?: string; valueFrom?: unknown }[]; envFrom?: { configMapRef: { name: string } }[] };
const containerOf = (d: Obj) => (d.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;

void describe("examples/quickstart", () => {
  void it("quickstart.yaml holds a Namespace, a GitRepository and three valid Applications in it", () => {
    assert.deepEqual(
      docs.map((d) => `${d.kind}/${d.metadata.name}`),
      ["Namespace/quickstart", "ServiceAccount/deployer", "RoleBinding/deployer-edit", "GitRepository/quickstart", "Application/hello", "Application/echo", "Application/greeter"],
    );
    for (const a of apps) assert.equal(a.spec.serviceAccountName, "deployer", `${a.metadata.name} is applied as the namespace's deployer, not the operator`);
    for (const d of docs.filter((x) => x.kind !== "Namespace")) assert.equal(d.metadata.namespace, "quickstart");
    for (const d of docs.filter((x) => x.apiVersion.includes("mooring.dev"))) {
      const r = validate(d);
      assert.ok(r.valid, `${d.kind}/${d.metadata.name} is invalid: ${JSON.stringify(r)}`);
    }
    // hack/quickstart.sh replaces this URL; it must stay exactly once in the file.
    assert.equal(readFileSync(path.join(DIR, "quickstart.yaml"), "utf8").split("http://127.0.0.1:19418/quickstart.git").length, 2);
    assert.deepEqual(apps.map((a) => [a.spec.path, a.spec.render?.type]), [["./plain", "plain"], ["./kustomize/overlays/dev", "kustomize"], ["./chart", "helm"]]);
  });

  void it("plain/ renders a Deployment, a Service and a ConfigMap, labelled for the Application", () => {
    const objects = renderApp("hello");
    const o = byKind(objects);
    assert.deepEqual(Object.keys(o).sort(), ["ConfigMap/hello-config", "Deployment/hello", "Service/hello"]);
    for (const x of objects as Obj[]) {
      assert.equal(x.metadata.namespace, "quickstart");
      assert.equal(x.metadata.labels?.["app.kubernetes.io/managed-by"], "mooring");
      assert.equal(x.metadata.labels?.["delivery.mooring.dev/application"], "quickstart.hello");
    }
    assert.equal(o["ConfigMap/hello-config"]!.data?.message, "Hello from Mooring");
    assert.equal(o["Deployment/hello"]!.spec?.replicas, 1);
    assert.deepEqual(containerOf(o["Deployment/hello"]!).env?.[0]?.valueFrom, { configMapKeyRef: { name: "hello-config", key: "message" } });
  });

  void it("the kustomize overlay prefixes names, patches replicas and generates a hashed ConfigMap the Deployment refers to", () => {
    const objects = renderApp("echo");
    const names = (objects as Obj[]).map((x) => `${x.kind}/${x.metadata.name}`);
    assert.equal(objects.length, 3, names.join(", "));
    const cm = (objects as Obj[]).find((x) => x.kind === "ConfigMap");
    assert.ok(cm);
    assert.match(cm.metadata.name, /^dev-echo-config-[a-z0-9]{10}$/);
    assert.deepEqual(cm.data, { PODINFO_UI_MESSAGE: "Hello from the dev overlay", PODINFO_UI_COLOR: "#34577c" });
    const o = byKind(objects);
    const deploy = o["Deployment/dev-echo"];
    assert.ok(deploy, names.join(", "));
    assert.ok(o["Service/dev-echo"], names.join(", "));
    assert.equal(deploy.spec?.replicas, 2);
    assert.equal(deploy.metadata.labels?.["app.kubernetes.io/part-of"], "quickstart");
    assert.equal(containerOf(deploy).envFrom?.[0]?.configMapRef.name, cm.metadata.name);
    for (const x of objects as Obj[]) assert.equal(x.metadata.labels?.["delivery.mooring.dev/application"], "quickstart.echo");
  });

  void it("the Handlebars chart renders its two templates with the Application's values over values.yaml", () => {
    const objects = renderApp("greeter");
    const o = byKind(objects);
    assert.deepEqual(Object.keys(o).sort(), ["Deployment/greeter", "Service/greeter"]);
    const deploy = o["Deployment/greeter"]!;
    assert.equal(deploy.spec?.replicas, 1);
    assert.equal(deploy.metadata.labels?.["app.kubernetes.io/version"], "6.7.0");
    const c = containerOf(deploy);
    assert.equal(c.image, "ghcr.io/stefanprodan/podinfo:6.7.0"); // the chart's appVersion: values.image.tag is empty
    assert.deepEqual(c.env, [{ name: "PODINFO_UI_MESSAGE", value: "Hello from a Handlebars chart, deployed by Mooring" }]);
    assert.deepEqual((o["Service/greeter"]!.spec as { ports: unknown[] }).ports, [{ name: "http", port: 80, targetPort: "http" }]);
    for (const x of objects as Obj[]) {
      assert.equal(x.metadata.namespace, "quickstart");
      assert.equal(x.metadata.labels?.["delivery.mooring.dev/application"], "quickstart.greeter");
    }
  });
});
