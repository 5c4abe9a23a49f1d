// Charts deployed end to end: the operator as `make run` starts it (every controller, --helm-binary set) on the local
// cluster, with a real Helm repository, the CNCF distribution registry and the test git server on loopback.
//   - From a Helm repository and from an OCI registry: the chart's ConfigMap appears in the cluster, and a new chart
//     version in the range is rolled out (rendered as an upgrade).
//   - From a Git path: our unmodified Helm v3 test chart (test/fixtures/render/helm-go/shop: CRDs, subcharts, a
//     library chart, hooks) is applied, and what is in the cluster is what the pinned `helm template` prints, hooks
//     mapped onto waves as docs/render.md says; a valuesFrom ConfigMap or Secret change reaches the applied objects;
//     a template error says where, leaves the last good render applied, and no Secret value reaches status or events.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Annotations, ApplicationKind, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, installCrds } from "../../../src/api/index.js";
import { DEFAULT_LIMITS } from "../../../src/render/limits.js";
import { parseYamlDocs } from "../../../src/render/yaml.js";
import { REPO_ROOT, testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type CommitFiles, type TestRepo } from "../../support/git-server.js";
import { helmBinary, helmOk, type K8sObject } from "../../support/helm.js";
import { OciRegistry, REGISTRY_PASSWORD, REGISTRY_USER } from "../../support/helm-registry.js";
import { HelmRepoServer, configMapChart } from "../../support/helm-repo.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

const R = { group: HelmRepositoryKind.group, version: HelmRepositoryKind.version, plural: HelmRepositoryKind.plural, kind: "HelmRepository" };
const C = { group: HelmChartKind.group, version: HelmChartKind.version, plural: HelmChartKind.plural, kind: "HelmChart" };
const A = { group: ApplicationKind.group, version: ApplicationKind.version, plural: ApplicationKind.plural, kind: "Application" };
const G = { group: GitRepositoryKind.group, version: GitRepositoryKind.version, plural: GitRepositoryKind.plural, kind: "GitRepository" };

let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;
let repo: HelmRepoServer;
let reg: OciRegistry;
let op: RunningOperator | undefined;
let gitServer: GitServer;
let charts: TestRepo;
const tmp = mkdtempSync(path.join(os.tmpdir(), "mooring-helm-e2e-"));

const SHOP = path.join(REPO_ROOT, "test/fixtures/render/helm-go/shop");
/** Values a valuesFrom Secret holds: they must never show in status or events. */
const SECRET_ONE = "s3cr3t-token-one";
const SECRET_TWO = "s3cr3t-token-two";

/** Every file of a directory, as repository paths under `prefix`. */
function filesOf(dir: string, prefix: string): CommitFiles {
  const out: CommitFiles = {};
  for (const rel of readdirSync(dir, { recursive: true, withFileTypes: false }) as string[]) {
    const abs = path.join(dir, rel);
    try {
      out[`${prefix}/${rel}`] = readFileSync(abs);
    } catch {
      // a directory
    }
  }
  return out;
}

// A small Go chart whose values come from a ConfigMap and a Secret (valuesFrom).
const CFG_CONFIGMAP = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: {{ .Release.Name }}-settings", "data:", "  greeting: {{ .Values.greeting | quote }}", ""].join("\n");
const CFG_SECRET = ["apiVersion: v1", "kind: Secret", "metadata:", "  name: {{ .Release.Name }}-token", "type: Opaque", "data:", "  token: {{ .Values.token | b64enc | quote }}", ""].join("\n");
// The same with a template error on line 7: a field of a string.
const CFG_SECRET_BROKEN = CFG_SECRET.replace("{{ .Values.token | b64enc | quote }}", "{{ .Values.token.value | b64enc | quote }}");

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
  gitServer = await GitServer.start();
  charts = await gitServer.createRepo("charts", {
    files: {
      ...filesOf(SHOP, "charts/shop"),
      "charts/cfg/Chart.yaml": "apiVersion: v2\nname: cfg\nversion: 0.1.0\n",
      "charts/cfg/values.yaml": "greeting: from-the-chart\ntoken: none\n",
      "charts/cfg/templates/configmap.yaml": CFG_CONFIGMAP,
      "charts/cfg/templates/secret.yaml": CFG_SECRET,
    },
  });
  await c.core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "cfg-values" }, data: { "values.yaml": "greeting: from-a-configmap\n" } } });
  await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "cfg-secret" }, stringData: { "values.yaml": `token: ${SECRET_ONE}\n` } } });
  // Applied with the operator's own identity (the single-tenant opt-out): this test is about chart sources, not tenancy.
  op = await startOperator({ kubeconfigPath: c.kubeconfigPath, watchNamespace: ns.name, args: ["--default-service-account=", `--helm-binary=${helmBinary()}`] });
});

after(async () => {
  for (const r of [A, C, R, G]) {
    const list = (await custom.listNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns.name }).catch(() => ({ items: [] }))) as { items: { metadata: { name: string } }[] };
    for (const o of list.items) await custom.deleteNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns.name, name: o.metadata.name }).catch(() => {});
  }
  await waitFor("Applications gone", async () => ((await custom.listNamespacedCustomObject({ group: A.group, version: A.version, plural: A.plural, namespace: ns.name })) as { items: unknown[] }).items.length === 0, { timeoutMs: 60_000 }).catch(() => {});
  await waitFor("GitRepositories gone", async () => ((await custom.listNamespacedCustomObject({ group: G.group, version: G.version, plural: G.plural, namespace: ns.name })) as { items: unknown[] }).items.length === 0, { timeoutMs: 60_000 }).catch(() => {});
  await op?.stop();
  // The shop chart's CRD is cluster-scoped: the namespace going does not take it.
  await c?.kc.makeApiClient(k8s.ApiextensionsV1Api).deleteCustomResourceDefinition({ name: "widgets.shop.example.com" }).catch(() => {});
  await ns?.cleanup();
  await repo?.close();
  await reg?.close();
  await gitServer?.close();
  rmSync(tmp, { recursive: true, force: true });
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

interface AppView {
  status?: {
    conditions?: { type: string; status: string; reason: string; message: string }[];
    render?: { artifact?: { url: string; digest: string; revision: string }; engine?: string };
    sync?: { revision?: string; inventory?: { id: string; v: string }[] };
  };
}

async function getApp(name: string): Promise<AppView | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ group: A.group, version: A.version, plural: A.plural, namespace: ns.name, name })) as AppView;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

const condOf = (a: AppView | undefined, type: string) => a?.status?.conditions?.find((x) => x.type === type);

async function waitApp(name: string, what: string, ok: (a: AppView) => boolean, timeoutMs = 120_000): Promise<AppView> {
  return waitFor(`Application ${name}: ${what}`, async () => {
    const a = await getApp(name);
    return a && ok(a) ? a : undefined;
  }, { timeoutMs }).catch(async (err: Error) => {
    throw new Error(`${err.message}\nstatus: ${JSON.stringify((await getApp(name))?.status)}\noperator log:\n${op?.tail(60)}`);
  });
}

async function requestReconcile(r: typeof R, name: string): Promise<void> {
  await custom.patchNamespacedCustomObject(
    { group: r.group, version: r.version, plural: r.plural, namespace: ns.name, name, body: { metadata: { annotations: { [Annotations.reconcileRequestedAt]: `${Date.now()}-${Math.random()}` } } } },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );
}

/** An object as helm prints it or the cluster holds it. */
type Obj = K8sObject & { metadata: { annotations?: Record<string, string>; resourceVersion?: string } };

/**
 * An object as the API server serves it, JSON as it is (client-node's typed models would rename fields such as
 * x-kubernetes-preserve-unknown-fields): kubectl, a prerequisite of the local cluster.
 */
async function live(apiVersion: string, kind: string, name: string): Promise<Obj | undefined> {
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const r = spawnSync("kubectl", ["--kubeconfig", c.kubeconfigPath, "get", group ? `${kind}.${group}` : kind, name, "-n", ns.name, "-o", "json", "--ignore-not-found"], { encoding: "utf8", timeout: 30_000 });
  if (r.error || r.status !== 0) throw new Error(`kubectl get ${kind} ${name} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as Obj) : undefined;
}

const decoded = (o: Obj | undefined, key: string) => {
  const v = (o as { data?: Record<string, string> } | undefined)?.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, "base64").toString("utf8");
};

/**
 * Where `got` (a live object) differs from `want` (what helm printed): every field helm printed must be there with
 * its value; the API server's additions (defaults, status, uid…) are not differences. An empty map or null helm
 * printed may be absent.
 */
function differences(want: unknown, got: unknown, at: string, out: string[]): void {
  // What the API server leaves out of its answer (Go's omitempty): a null, an empty string or an empty map.
  if (got === undefined && (want === null || want === "" || (isMap(want) && Object.keys(want).length === 0))) return;
  if (want === null && got === null) return;
  if (want !== null && typeof want === "object") {
    if (Array.isArray(want)) {
      if (!Array.isArray(got) || got.length !== want.length) out.push(`${at}: helm printed ${JSON.stringify(want)}, the cluster has ${JSON.stringify(got)}`);
      else want.forEach((w, i) => differences(w, got[i], `${at}[${i}]`, out));
      return;
    }
    if (got === null || typeof got !== "object" || Array.isArray(got)) {
      out.push(`${at}: helm printed ${JSON.stringify(want)}, the cluster has ${JSON.stringify(got)}`);
      return;
    }
    for (const [k, v] of Object.entries(want)) differences(v, (got as Record<string, unknown>)[k], `${at}.${k}`, out);
    return;
  }
  if (want !== got) out.push(`${at}: helm printed ${JSON.stringify(want)}, the cluster has ${JSON.stringify(got)}`);
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** No Secret value (as written, or base64) in the Application's status, the namespace's events or the operator's log. */
async function assertNoSecretShown(app: string): Promise<void> {
  const status = JSON.stringify((await getApp(app))?.status ?? {});
  const events = JSON.stringify((await c.core.listNamespacedEvent({ namespace: ns.name })).items.map((e) => [e.reason, e.message]));
  const log = op?.logs() ?? "";
  for (const secret of [SECRET_ONE, SECRET_TWO]) {
    for (const form of [secret, Buffer.from(secret).toString("base64")]) {
      assert.ok(!status.includes(form), `Application ${app}'s status shows a Secret value: ${status}`);
      assert.ok(!events.includes(form), `an event shows a Secret value: ${events}`);
      assert.ok(!log.includes(form), "the operator's log shows a Secret value");
    }
  }
}

void describe("a chart from a Git path (Go templates), deployed by the operator", () => {
  void it("applies the unmodified shop chart: the cluster holds what the pinned helm template prints, hooks mapped onto waves", async () => {
    await create(G, "charts", { url: charts.url, ref: { branch: "main" }, interval: "10m", timeout: "20s" });
    // The db subchart off: its StatefulSet's volume claim would never bind on the fake nodes, and the post-install
    // hook waits for every object before it to be healthy.
    const values = { db: { enabled: false } };
    await create(A, "shop", { sourceRef: { kind: "GitRepository", name: "charts" }, path: "charts/shop", render: { helm: { values } } });

    // The oracle: helm template of the same chart with the same release (the Application's name), namespace,
    // values and Kubernetes version (the cluster's, which the render controller reads from discovery).
    const { gitVersion } = await c.kc.makeApiClient(k8s.VersionApi).getCode();
    const valuesFile = path.join(tmp, "shop-values.json");
    writeFileSync(valuesFile, JSON.stringify(values));
    // helm's YAML read with go-yaml's rules, as the API server's clients read it (`defaultMode: 0644` is octal).
    const text = helmOk(["template", "shop", SHOP, "--namespace", ns.name, "--kube-version", gitVersion, "--include-crds", "--skip-tests", "-f", valuesFile]);
    const printed = parseYamlDocs(text, "helm template", DEFAULT_LIMITS)
      .map((d) => d.value as Obj | null)
      .filter((o): o is Obj => o !== null && o !== undefined);

    // The hook mapping of docs/render.md for an install render: pre-install hooks in waves before the rest by
    // weight, post-install after; Jobs named with a hash of their content; upgrade-only and delete hooks left out.
    const hooks = printed.filter((o) => o.metadata.annotations?.["helm.sh/hook"]).map((o) => `${o.kind}/${o.metadata.name}`);
    assert.deepEqual(hooks, ["ServiceAccount/shop-migrate", "Job/shop-migrate", "Job/shop-upgrade-check", "Job/shop-warm-cache", "Job/shop-drain"], "the fixture's hooks");
    const mapping: Record<string, { name: RegExp; wave: string } | null> = {
      "ServiceAccount/shop-migrate": { name: /^shop-migrate$/, wave: "-2" },
      "Job/shop-migrate": { name: /^shop-migrate-[0-9a-f]{10}$/, wave: "-1" },
      "Job/shop-upgrade-check": null,
      "Job/shop-warm-cache": { name: /^shop-warm-cache-[0-9a-f]{10}$/, wave: "1" },
      "Job/shop-drain": null,
    };
    const expected = printed.filter((o) => mapping[`${o.kind}/${o.metadata.name}`] !== null);
    const group = (o: Obj) => (o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "");

    const app = await waitApp("shop", "Ready, every object applied", (a) => condOf(a, "Ready")?.status === "True" && (a.status?.sync?.inventory?.length ?? 0) >= expected.length, 240_000);
    assert.equal(app.status?.render?.engine, "go", "status.render.engine names the engine auto chose");
    assert.match(condOf(app, "Rendered")?.message ?? "", /^rendered \d+ objects \(helm, engine go\) from 'charts\/shop' at revision 'main@sha1:/);

    const inventory = app.status!.sync!.inventory!.map((e) => e.id);
    assert.equal(inventory.length, expected.length, `inventory ${inventory.join(", ")}`);
    const diffs: string[] = [];
    for (const want of expected) {
      const hook = mapping[`${want.kind}/${want.metadata.name}`];
      const nameRe = hook?.name ?? new RegExp(`^${want.metadata.name.replace(/\./g, "\\.")}$`);
      const id = inventory.find((i) => {
        const [, name, g, kind] = i.split("_");
        return kind === want.kind && g === group(want) && nameRe.test(name!);
      });
      assert.ok(id, `${want.kind} ${want.metadata.name} is in the inventory (${inventory.join(", ")})`);
      const name = id.split("_")[1]!;
      const got = await live(want.apiVersion, want.kind, name);
      assert.ok(got, `${want.kind} ${name} is in the cluster`);
      // What Mooring adds to what it applies (docs/apply.md): its managed-by label (over helm's "Helm") and, on a
      // hook, the sync wave and the hashed name.
      const w = structuredClone(want);
      w.metadata.labels = { ...(w.metadata.labels ?? {}), "app.kubernetes.io/managed-by": "mooring" };
      if (hook) {
        w.metadata.name = name;
        w.metadata.annotations = { ...w.metadata.annotations, "delivery.mooring.dev/sync-wave": hook.wave };
      }
      differences(w, got, `${want.kind}/${name}`, diffs);
    }
    assert.deepEqual(diffs, [], "the applied objects are what helm template printed");
    // The hook Jobs ran to completion (each wave waited for the one before it).
    for (const id of inventory.filter((i) => i.endsWith("_batch_Job"))) {
      const job = (await live("batch/v1", "Job", id.split("_")[1]!)) as { status?: { succeeded?: number } } | undefined;
      assert.equal(job?.status?.succeeded, 1, `hook ${id} completed`);
    }
  });

  void it("re-renders the Go chart when its valuesFrom ConfigMap or Secret changes, and the new value reaches the applied object", async () => {
    await create(A, "cfg", {
      sourceRef: { kind: "GitRepository", name: "charts" },
      path: "charts/cfg",
      render: { helm: { valuesFrom: [{ kind: "ConfigMap", name: "cfg-values" }, { kind: "Secret", name: "cfg-secret" }] } },
    });
    const settings = () => live("v1", "ConfigMap", "cfg-settings");
    const token = () => live("v1", "Secret", "cfg-token");
    await waitFor("the first values applied", async () => (decoded(await token(), "token") === SECRET_ONE && (await settings())?.data ? true : undefined), { timeoutMs: 120_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\noperator log:\n${op?.tail(60)}`);
    });
    assert.equal(((await settings()) as { data?: Record<string, string> }).data?.greeting, "from-a-configmap");
    assert.equal((await getApp("cfg"))?.status?.render?.engine, "go");

    // A ConfigMap change is seen through the watch: nothing else is asked for.
    await c.core.patchNamespacedConfigMap({ name: "cfg-values", namespace: ns.name, body: [{ op: "replace", path: "/data/values.yaml", value: "greeting: changed-in-the-configmap\n" }] });
    await waitFor("the ConfigMap's new value applied", async () => ((await settings()) as { data?: Record<string, string> } | undefined)?.data?.greeting === "changed-in-the-configmap" || undefined, { timeoutMs: 120_000 });

    // Secrets are read by name at each reconcile (the operator runs without --watch-secrets, the default): ask for one.
    await c.core.patchNamespacedSecret({ name: "cfg-secret", namespace: ns.name, body: [{ op: "replace", path: "/data/values.yaml", value: Buffer.from(`token: ${SECRET_TWO}\n`).toString("base64") }] });
    await requestReconcile(A, "cfg");
    await waitFor("the Secret's new value applied", async () => decoded(await token(), "token") === SECRET_TWO || undefined, { timeoutMs: 120_000 });
    await assertNoSecretShown("cfg");
  });

  void it("a template error: Rendered=False names the file and line, the last good render stays applied, and no Secret value is shown", async () => {
    const good = await waitApp("cfg", "synced to its render", (a) => condOf(a, "Ready")?.status === "True" && a.status?.sync?.revision === a.status?.render?.artifact?.revision);
    const goodArtifact = good.status!.render!.artifact!;
    const before = { settings: await live("v1", "ConfigMap", "cfg-settings"), token: await live("v1", "Secret", "cfg-token") };

    const broken = await charts.commit({ "charts/cfg/templates/secret.yaml": CFG_SECRET_BROKEN }, "cfg: a template error");
    await requestReconcile(G, "charts");
    const failed = await waitApp("cfg", "Rendered=False", (a) => condOf(a, "Rendered")?.status === "False");
    const rendered = condOf(failed, "Rendered")!;
    assert.equal(rendered.reason, "RenderFailed");
    // The file in the repository and the line of the failing action (helm's own path is cfg/templates/…).
    assert.match(rendered.message, /^charts\/cfg\/templates\/secret\.yaml:7: /, rendered.message);
    assert.match(rendered.message, /\.Values\.token\.value/);
    assert.equal(condOf(failed, "SourceReady")?.status, "True");
    assert.match(condOf(failed, "SourceReady")?.message ?? "", new RegExp(broken.slice(0, 12)), "the failure is of the new revision");
    assert.deepEqual(failed.status?.render?.artifact, goodArtifact, "status.render keeps the last good render");

    // The apply controller has nothing new to apply: the objects stay as they were (same resourceVersion).
    await new Promise((r) => setTimeout(r, 5_000));
    const after = { settings: await live("v1", "ConfigMap", "cfg-settings"), token: await live("v1", "Secret", "cfg-token") };
    assert.ok(before.settings?.metadata.resourceVersion && before.token?.metadata.resourceVersion);
    assert.equal(after.settings?.metadata.resourceVersion, before.settings.metadata.resourceVersion, "the ConfigMap is untouched");
    assert.equal(after.token?.metadata.resourceVersion, before.token.metadata.resourceVersion, "the Secret is untouched");
    assert.equal(decoded(after.token, "token"), SECRET_TWO);
    const synced = await getApp("cfg");
    assert.equal(synced?.status?.sync?.revision, goodArtifact.revision, "still synced to the last good render");
    await assertNoSecretShown("cfg");

    // Fixed in Git: rendered and applied again.
    const fixed = await charts.commit({ "charts/cfg/templates/secret.yaml": CFG_SECRET }, "cfg: fixed");
    await requestReconcile(G, "charts");
    await waitApp("cfg", "rendered again", (a) => condOf(a, "Rendered")?.status === "True" && a.status?.render?.artifact?.revision === `main@sha1:${fixed}`);
  });
});
