// A chart deployed from a Helm repository and from an OCI registry, end to end: the operator as `make run` starts it
// (every controller, --helm-binary set), a real Helm repository and the CNCF distribution registry on loopback, and
// the local cluster. The chart's ConfigMap appears in the cluster, and a new chart version in the range is rolled
// out (rendered as an upgrade).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Annotations, ApplicationKind, HelmChartKind, HelmRepositoryKind, installCrds } from "../../../src/api/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { helmBinary } from "../../support/helm.js";
import { OciRegistry, REGISTRY_PASSWORD, REGISTRY_USER } from "../../support/helm-registry.js";
import { HelmRepoServer, configMapChart } from "../../support/helm-repo.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

const R = { group: HelmRepositoryKind.group, version: HelmRepositoryKind.version, plural: HelmRepositoryKind.plural, kind: "HelmRepository" };
const C = { group: HelmChartKind.group, version: HelmChartKind.version, plural: HelmChartKind.plural, kind: "HelmChart" };
const A = { group: ApplicationKind.group, version: ApplicationKind.version, plural: ApplicationKind.plural, kind: "Application" };

let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;
let repo: HelmRepoServer;
let reg: OciRegistry;
let op: RunningOperator | undefined;

async function create(r: typeof R, name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns.name, body: { apiVersion: `${r.group}/${r.version}`, kind: r.kind, metadata: { name }, spec } });
}

async function configMap(name: string): Promise<Record<string, string> | undefined> {
  try {
    return (await c.core.readNamespacedConfigMap({ name, namespace: ns.name })).data ?? {};
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "helme2e");
  repo = await HelmRepoServer.start();
  repo.addChart(configMapChart("demo", "1.0.0"));
  reg = await OciRegistry.start();
  reg.push(configMapChart("ocidemo", "0.1.0"));
  await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "oci-auth" }, stringData: { username: REGISTRY_USER, password: REGISTRY_PASSWORD, "ca.crt": reg.ca } } });
  // Applied with the operator's own identity (the single-tenant opt-out): this test is about chart sources, not tenancy.
  op = await startOperator({ kubeconfigPath: c.kubeconfigPath, watchNamespace: ns.name, args: ["--default-service-account=", `--helm-binary=${helmBinary()}`] });
});

after(async () => {
  for (const r of [A, C, R]) {
    const list = (await custom.listNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns.name }).catch(() => ({ items: [] }))) as { items: { metadata: { name: string } }[] };
    for (const o of list.items) await custom.deleteNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns.name, name: o.metadata.name }).catch(() => {});
  }
  await waitFor("Applications gone", async () => ((await custom.listNamespacedCustomObject({ group: A.group, version: A.version, plural: A.plural, namespace: ns.name })) as { items: unknown[] }).items.length === 0, { timeoutMs: 60_000 }).catch(() => {});
  await op?.stop();
  await ns?.cleanup();
  await repo?.close();
  await reg?.close();
});

void describe("charts from a Helm repository and an OCI registry, deployed by the operator", () => {
  void it("deploys both charts, then rolls out a new version from the repository as an upgrade", async () => {
    await create(R, "http", { url: repo.url, interval: "10m" });
    await create(C, "demo", { sourceRef: { kind: "HelmRepository", name: "http" }, chart: "demo", version: "^1", interval: "10m" });
    await create(A, "web", { sourceRef: { kind: "HelmChart", name: "demo" }, render: { helm: { values: { greeting: "from-a-repository" } } }, interval: "10m" });
    await create(R, "oci", { type: "oci", url: reg.url, secretRef: { name: "oci-auth" }, interval: "10m" });
    await create(C, "ocidemo", { sourceRef: { kind: "HelmRepository", name: "oci" }, chart: "ocidemo", interval: "10m" });
    await create(A, "ociweb", { sourceRef: { kind: "HelmChart", name: "ocidemo" }, interval: "10m" });

    const web = await waitFor("ConfigMap web-demo applied", () => configMap("web-demo"), { timeoutMs: 120_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\noperator log:\n${op?.logs().slice(-4000)}`);
    });
    assert.deepEqual({ version: web.version, greeting: web.greeting, upgrade: web.upgrade }, { version: "1.0.0", greeting: "from-a-repository", upgrade: "false" });
    const oci = await waitFor("ConfigMap ociweb-ocidemo applied", () => configMap("ociweb-ocidemo"), { timeoutMs: 120_000 });
    assert.equal(oci.version, "0.1.0");

    repo.addChart(configMapChart("demo", "1.1.0"));
    await custom.patchNamespacedCustomObject(
      { group: C.group, version: C.version, plural: C.plural, namespace: ns.name, name: "demo", body: { metadata: { annotations: { [Annotations.reconcileRequestedAt]: new Date().toISOString() } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    const next = await waitFor("ConfigMap web-demo at 1.1.0", async () => {
      const d = await configMap("web-demo");
      return d?.version === "1.1.0" ? d : undefined;
    }, { timeoutMs: 120_000 });
    assert.equal(next.upgrade, "true", "the second render of an applied Application is an upgrade");
  });
});
