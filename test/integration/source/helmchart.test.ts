// HelmRepository → HelmChart → Application on the real local cluster, from a real Helm repository on loopback
// (charts made by the pinned `helm package`, index by `helm repo index`, basic auth): the newest version in the
// range is stored and verified, a poll with no new version downloads no chart, a new version is picked up, the
// Application renders the chart with the cluster's API versions, as an upgrade once it has been applied; every bad
// input has its own reason on its own object, keeps the last good chart, and leaks no secret.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { startArtifactServer, type RunningServer } from "../../../src/artifact/server.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { Annotations, ApplicationKind, FieldManagers, HelmChartKind, HelmRepositoryKind, installCrds } from "../../../src/api/index.js";
import { createLogger } from "../../../src/log.js";
import { setupRenderController, type RenderController } from "../../../src/render/controller.js";
import { ClusterCapabilities } from "../../../src/render/helm/capabilities.js";
import { Manager } from "../../../src/runtime/index.js";
import { setupHelmControllers, type HelmControllers } from "../../../src/source/helmchart.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { HelmRepoServer, configMapChart } from "../../support/helm-repo.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Obj {
  metadata: { name: string; namespace: string };
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Cond[];
    artifact?: { url: string; revision: string; digest: string; size?: number };
    chartName?: string;
    index?: { digest: string; charts: number };
    render?: { artifact?: { url: string; digest: string; revision: string } };
    lastHandledReconcileAt?: string;
  };
}

const PASSWORD = "pw-helmchart-test";
const R = { group: HelmRepositoryKind.group, version: HelmRepositoryKind.version, plural: HelmRepositoryKind.plural };
const C = { group: HelmChartKind.group, version: HelmChartKind.version, plural: HelmChartKind.plural };
const A = { group: ApplicationKind.group, version: ApplicationKind.version, plural: ApplicationKind.plural };
type Res = typeof R;

let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;
let repo: HelmRepoServer;
let dir: string;
let artifacts: RunningServer;
let mgr: Manager;
let helm: HelmControllers;
let render: RenderController;
const stop = new AbortController();
let running: Promise<void>;

const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const kindOf = (r: Res) => (r === R ? "HelmRepository" : r === C ? "HelmChart" : "Application");

async function get(r: Res, name: string): Promise<Obj | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ ...r, namespace: ns.name, name })) as Obj;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

async function create(r: Res, name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({ ...r, namespace: ns.name, body: { apiVersion: `${r.group}/${r.version}`, kind: kindOf(r), metadata: { name }, spec } });
}

async function requestReconcile(r: Res, name: string): Promise<string> {
  const value = new Date().toISOString() + Math.random();
  await custom.patchNamespacedCustomObject(
    { ...r, namespace: ns.name, name, body: { metadata: { annotations: { [Annotations.reconcileRequestedAt]: value } } } },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );
  return value;
}

/** Waits until `type` on object `name` has `status` (and returns the object). */
async function waitCond(r: Res, name: string, type: string, status: string, also: (o: Obj) => boolean = () => true): Promise<Obj> {
  return waitFor(`${kindOf(r)} ${name} ${type}=${status}`, async () => {
    const o = await get(r, name);
    return cond(o, type)?.status === status && also(o!) ? o : undefined;
  }, { timeoutMs: 60_000 });
}

async function renderedObjects(app: Obj): Promise<{ kind: string; metadata: { name: string }; data?: Record<string, string> }[]> {
  const res = await fetch(app.status!.render!.artifact!.url);
  assert.equal(res.status, 200);
  return (await res.json()) as { kind: string; metadata: { name: string }; data?: Record<string, string> }[];
}

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "helmsrc");
  await waitFor("helmcharts served", async () => Boolean(await custom.listNamespacedCustomObject({ ...C, namespace: ns.name })), { timeoutMs: 30_000 });
  repo = await HelmRepoServer.start({ basicAuth: { username: "charts", password: PASSWORD } });
  const caps = { "templates/caps.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  helmchart: {{ .Capabilities.APIVersions.Has "source.mooring.dev/v1alpha1/HelmChart" | quote }}\n' };
  for (const v of ["1.0.0", "1.1.0", "2.0.0"]) repo.addChart(configMapChart("demo", v, caps));
  // A chart past the controller's size limit (64 KiB): a file of random bytes, which gzip cannot shrink.
  repo.addChart(configMapChart("big", "1.0.0", { "files/blob.txt": createHash("sha512").update("x").digest("hex").repeat(1) + randomText(200_000) }));
  await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "charts-auth" }, stringData: { username: "charts", password: PASSWORD } } });
  await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "wrong-auth" }, stringData: { username: "charts", password: "not-it" } } });
  dir = await mkdtemp(path.join(os.tmpdir(), "mooring-helmchart-"));
  const storage = new ArtifactStorage({ root: path.join(dir, "storage") });
  await storage.init();
  artifacts = await startArtifactServer("127.0.0.1:0", { root: storage.root });
  mgr = new Manager({ kubeConfig: c.kc, namespace: ns.name, registry: new Registry(), fieldManager: FieldManagers.source, logger: createLogger({ level: "warn" }) });
  helm = setupHelmControllers(mgr, { storage, advertisedAddr: `127.0.0.1:${artifacts.port}`, concurrency: 2, maxChartBytes: 64 * 1024, failureBackoffMs: 1_000 });
  render = setupRenderController(mgr, { storage, advertisedAddr: `127.0.0.1:${artifacts.port}`, cacheDir: path.join(dir, "cache"), concurrency: 2, renderTimeoutMs: 30_000 });
  running = mgr.start(stop.signal);
  await create(R, "charts", { url: repo.url, secretRef: { name: "charts-auth" }, interval: "10m" });
});

function randomText(n: number): string {
  let s = "";
  let h = "seed";
  while (s.length < n) {
    h = createHash("sha256").update(h).digest("base64");
    s += h;
  }
  return s.slice(0, n);
}

after(async () => {
  stop.abort();
  await running?.catch(() => {});
  await ns?.cleanup();
  await artifacts?.close();
  await repo?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

void describe("HelmRepository and HelmChart on the cluster", () => {
  void it("the repository is Ready with its index; the chart stores the newest version in the range, verified", async () => {
    const r = await waitCond(R, "charts", "Ready", "True");
    assert.equal(r.status!.index!.charts, 2);
    assert.match(cond(r, "Ready")!.message, /index with 2 charts/);
    await create(C, "demo", { sourceRef: { kind: "HelmRepository", name: "charts" }, chart: "demo", version: "^1.0", interval: "10m" });
    const ch = await waitCond(C, "demo", "Ready", "True");
    const a = ch.status!.artifact!;
    assert.equal(a.revision, "1.1.0");
    assert.equal(ch.status!.chartName, "demo");
    const tgz = readFileSync(path.join(repo.dir, "demo-1.1.0.tgz"));
    assert.equal(a.digest, `sha256:${createHash("sha256").update(tgz).digest("hex")}`);
    const served = Buffer.from(await (await fetch(a.url)).arrayBuffer());
    assert.ok(served.equals(tgz), "the stored artifact is the repository's .tgz, unchanged");
    assert.equal(cond(ch, "ArtifactInStorage")!.status, "True");
    assert.match(cond(ch, "Ready")!.message, /version 1\.1\.0 \(digest verified against the index\)/);
  });

  void it("a poll with no new version reads the index but downloads no chart; a new version is downloaded once", async () => {
    const downloads = repo.count("/demo-1.1.0.tgz");
    const indexReads = repo.count("/index.yaml");
    const v = await requestReconcile(C, "demo");
    await waitFor("reconcile handled", async () => (await get(C, "demo"))?.status?.lastHandledReconcileAt === v, { timeoutMs: 60_000 });
    assert.ok(repo.count("/index.yaml") > indexReads, "the index was read");
    assert.equal(repo.count("/demo-1.1.0.tgz"), downloads, "no chart was downloaded");
    repo.addChart(configMapChart("demo", "1.2.0"));
    await requestReconcile(C, "demo");
    const ch = await waitCond(C, "demo", "Ready", "True", (o) => o.status?.artifact?.revision === "1.2.0");
    assert.equal(repo.count("/demo-1.2.0.tgz"), 1);
    assert.match(ch.status!.artifact!.digest, /^sha256:/);
  });

  void it("an Application renders the HelmChart with the cluster's API versions, and as an upgrade once applied", async () => {
    await create(C, "demo2", { sourceRef: { kind: "HelmRepository", name: "charts" }, chart: "demo", version: "2.0.0", interval: "10m" });
    await waitCond(C, "demo2", "Ready", "True");
    await create(A, "web", { sourceRef: { kind: "HelmChart", name: "demo2" }, render: { helm: { values: { greeting: "hi" } } }, interval: "10m" });
    const app = await waitCond(A, "web", "Rendered", "True");
    assert.match(cond(app, "Rendered")!.message, /rendered 2 objects \(helm, engine go\) from 'demo' at revision '2\.0\.0'/);
    const objs = await renderedObjects(app);
    const cm = objs.find((o) => o.metadata.name === "web-demo")!;
    assert.equal(cm.data!.version, "2.0.0");
    assert.equal(cm.data!.greeting, "hi");
    assert.equal(cm.data!.upgrade, "false");
    assert.equal(objs.find((o) => o.metadata.name === "caps")!.data!.helmchart, "true", "the cluster's discovery reached .Capabilities.APIVersions");
    const renders = render.stats.renders;
    const hits = render.stats.cacheHits;
    // A reconcile with nothing new renders nothing (capabilities and the helm version are part of the key, unchanged).
    await requestReconcile(A, "web");
    await waitFor("no-op reconcile", async () => render.stats.cacheHits > hits, { timeoutMs: 30_000 });
    assert.equal(render.stats.renders, renders);
    // What the apply controller records after an apply; a new chart version is then rendered as an upgrade.
    await custom.patchNamespacedCustomObjectStatus(
      { ...A, namespace: ns.name, name: "web", body: { status: { sync: { lastAppliedAt: new Date().toISOString().replace(/\.\d+Z$/, "Z") } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await custom.patchNamespacedCustomObject(
      { ...C, namespace: ns.name, name: "demo2", body: { spec: { version: "^2 || 1.2.0" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    repo.addChart(configMapChart("demo", "2.1.0"));
    await requestReconcile(C, "demo2");
    const up = await waitCond(A, "web", "Rendered", "True", (o) => o.status?.render?.artifact?.revision === "2.1.0");
    const cm2 = (await renderedObjects(up)).find((o) => o.metadata.name === "web-demo")!;
    assert.equal(cm2.data!.version, "2.1.0");
    assert.equal(cm2.data!.upgrade, "true");
  });

  void it("the cluster's capabilities come from discovery, once per TTL for every caller", async () => {
    let t = 0;
    const caps = new ClusterCapabilities(mgr.rest, 1_000, () => t);
    const [a, b] = await Promise.all([caps.get(), caps.get()]);
    assert.equal(caps.reads, 1, "concurrent callers share one read");
    assert.equal(a, b);
    assert.equal(a.kubeVersion, "v1.36.3");
    for (const v of ["v1", "v1/ConfigMap", "apps/v1/Deployment", "source.mooring.dev/v1alpha1/HelmChart"]) assert.ok(a.apiVersions!.includes(v), v);
    assert.ok(!a.apiVersions!.some((v) => v.includes("/status")), "no subresources");
    await caps.get();
    assert.equal(caps.reads, 1, "cached within the TTL");
    t = 2_000;
    await caps.get();
    assert.equal(caps.reads, 2, "read again after the TTL");
    // A caller that gives up while a read is needed stops waiting (the shared read goes on for the others).
    t = 4_000;
    const gone = new AbortController();
    gone.abort();
    await assert.rejects(caps.get(gone.signal));
  });

  void it("each bad input has its own reason on its own object, and the others stay Ready", async () => {
    await create(R, "closed", { url: "http://127.0.0.1:9/charts", interval: "10m" });
    await create(R, "wrongpw", { url: repo.url, secretRef: { name: "wrong-auth" }, interval: "10m" });
    await create(R, "nosecret", { url: repo.url, secretRef: { name: "does-not-exist" }, interval: "10m" });
    await create(R, "nocert", { url: repo.url, secretRef: { name: "charts-auth" }, certSecretRef: { name: "charts-auth" }, interval: "10m" });
    await create(C, "unreachable", { sourceRef: { kind: "HelmRepository", name: "closed" }, chart: "demo", interval: "10m" });
    await create(C, "norange", { sourceRef: { kind: "HelmRepository", name: "charts" }, chart: "demo", version: "^9", interval: "10m" });
    await create(C, "nochart", { sourceRef: { kind: "HelmRepository", name: "charts" }, chart: "nope", interval: "10m" });
    await create(C, "toobig", { sourceRef: { kind: "HelmRepository", name: "charts" }, chart: "big", interval: "10m" });
    await create(C, "denied", { sourceRef: { kind: "HelmRepository", name: "wrongpw" }, chart: "demo", interval: "10m" });
    await create(C, "norepo", { sourceRef: { kind: "HelmRepository", name: "missing" }, chart: "demo", interval: "10m" });
    const want: [string, string, RegExp][] = [
      ["unreachable", "RepositoryUnreachable", /connection refused by http:\/\/127\.0\.0\.1:9/],
      ["norange", "NoMatchingVersion", /no version of chart "demo" matches "\^9" \(newest: 2\.1\.0/],
      ["nochart", "ChartNotFound", /no chart "nope"/],
      ["toobig", "ChartTooLarge", /larger than the 65536-byte limit/],
      ["denied", "AuthenticationFailed", /HTTP 401: the credentials in spec.secretRef were refused/],
      ["norepo", "RepositoryNotFound", /HelmRepository .*\/missing \(spec.sourceRef\) does not exist/],
    ];
    for (const [name, reason, message] of want) {
      const o = await waitCond(C, name, "Ready", "False");
      assert.equal(cond(o, "Ready")!.reason, reason, name);
      assert.equal(cond(o, "FetchFailed")!.reason, reason, name);
      assert.match(cond(o, "Ready")!.message, message, name);
      assert.equal(cond(o, "ArtifactInStorage")!.status, "False", name);
      assert.doesNotMatch(JSON.stringify(o.status), new RegExp(PASSWORD));
    }
    const miss = await waitCond(R, "nosecret", "Ready", "False");
    assert.equal(cond(miss, "Ready")!.reason, "CredentialsInvalid");
    const nocert = await waitCond(R, "nocert", "Ready", "False");
    assert.equal(cond(nocert, "Ready")!.reason, "CredentialsInvalid");
    assert.match(cond(nocert, "Ready")!.message, /Secret "charts-auth" named by spec.certSecretRef has no PEM certificate in key ca.crt/);
    assert.doesNotMatch(JSON.stringify(nocert.status), new RegExp(PASSWORD));
    assert.equal(cond(await get(R, "closed"), "Ready")?.reason, "RepositoryUnreachable");
    assert.equal(cond(await get(C, "demo"), "Ready")?.status, "True");
    assert.equal(cond(await get(R, "charts"), "Ready")?.status, "True");
  });

  void it("a chart whose bytes no longer match the index is refused (DigestMismatch) and the last good chart stays", async () => {
    const good = (await get(C, "demo"))!.status!.artifact!;
    repo.addChart(configMapChart("demo", "1.3.0"));
    repo.overrides.set("/demo-1.3.0.tgz", readFileSync(path.join(repo.dir, "demo-1.0.0.tgz")));
    try {
      await requestReconcile(C, "demo");
      const o = await waitCond(C, "demo", "Ready", "False");
      assert.equal(cond(o, "Ready")!.reason, "DigestMismatch");
      assert.match(cond(o, "Ready")!.message, /chart "demo" version 1\.3\.0 .* but the index says [0-9a-f]{64}; refusing it/);
      assert.equal(cond(o, "ArtifactInStorage")!.status, "True");
      assert.deepEqual(o.status!.artifact, good);
      assert.equal((await fetch(good.url)).status, 200);
    } finally {
      repo.overrides.delete("/demo-1.3.0.tgz");
    }
    await requestReconcile(C, "demo");
    await waitCond(C, "demo", "Ready", "True", (o) => o.status?.artifact?.revision === "1.3.0");
    assert.ok(helm.stats.chartDownloads >= 3);
  });

  void it("a deleted HelmChart's stored charts are removed", async () => {
    const where = path.join(dir, "storage", "helmchart", ns.name, "demo");
    assert.ok(existsSync(where), "the chart is stored");
    await custom.deleteNamespacedCustomObject({ ...C, namespace: ns.name, name: "demo" });
    await waitFor("stored chart removed", async () => !existsSync(where), { timeoutMs: 30_000 });
  });
});
