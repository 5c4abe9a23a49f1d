// A Go-template chart in Git whose Chart.lock names dependencies in a Helm repository (basic auth, on loopback) and in
// an OCI registry (the CNCF distribution registry, TLS and htpasswd), deployed by the operator as `make run` starts
// it: GitRepository → HelmChart (sourceRef GitRepository) → Application. The objects applied are those the pinned
// `helm template` prints for the same chart after `helm dependency build` (the oracle); the lock's pin wins over a
// newer version in the range; a commit that does not touch the chart stores nothing new and downloads no dependency again. Every bad input has its own
// reason on its own HelmChart, naming the chart and the dependency; a chart with its dependency vendored needs none.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Annotations, ApplicationKind, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, installCrds } from "../../../src/api/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { helmBinary, parseObjects, type K8sObject } from "../../support/helm.js";
import { OciRegistry, REGISTRY_PASSWORD, REGISTRY_USER } from "../../support/helm-registry.js";
import { HelmRepoServer, configMapChart } from "../../support/helm-repo.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { freePort, startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

const R = { group: HelmRepositoryKind.group, version: HelmRepositoryKind.version, plural: HelmRepositoryKind.plural, kind: "HelmRepository" };
const G = { group: GitRepositoryKind.group, version: GitRepositoryKind.version, plural: GitRepositoryKind.plural, kind: "GitRepository" };
const C = { group: HelmChartKind.group, version: HelmChartKind.version, plural: HelmChartKind.plural, kind: "HelmChart" };
const A = { group: ApplicationKind.group, version: ApplicationKind.version, plural: ApplicationKind.plural, kind: "Application" };
type Res = typeof R;
interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface ChartObj {
  status?: {
    conditions?: Cond[];
    artifact?: { url: string; revision: string; digest: string };
    chartName?: string;
    observedSourceArtifactRevision?: string;
    dependencies?: { name: string; version: string; repository: string; helmRepository: string; digest: string }[];
  };
}

const PASSWORD = "pw-gitchart-test";
const VALUES = { greeting: "from-git", cache: { greeting: "cached" } };

let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;
let repo: HelmRepoServer;
let reg: OciRegistry;
let gitServer: GitServer;
let git: TestRepo;
let op: RunningOperator | undefined;
let work: string;
let helmEnv: NodeJS.ProcessEnv;
let closedPort: number;

/** helm, asynchronously: the Helm repository answers from this process, so helm must not block its event loop. */
function helm(args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(helmBinary(), args, { env: helmEnv, cwd, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`helm ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function create(r: Res, name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns.name, body: { apiVersion: `${r.group}/${r.version}`, kind: r.kind, metadata: { name }, spec } });
}

async function getChart(name: string): Promise<ChartObj | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ group: C.group, version: C.version, plural: C.plural, namespace: ns.name, name })) as ChartObj;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

const ready = (o: ChartObj | undefined) => o?.status?.conditions?.find((x) => x.type === "Ready");

async function waitChart(name: string, status: "True" | "False", also: (o: ChartObj) => boolean = () => true): Promise<ChartObj> {
  return waitFor(`HelmChart ${name} Ready=${status}`, async () => {
    const o = await getChart(name);
    return ready(o)?.status === status && also(o!) ? o : undefined;
  }, { timeoutMs: 120_000 }).catch(async (err: Error) => {
    throw new Error(`${err.message}\nlast status: ${JSON.stringify((await getChart(name))?.status)}\noperator log:\n${op?.tail(60)}`);
  });
}

async function configMap(name: string): Promise<Record<string, string> | undefined> {
  try {
    return (await c.core.readNamespacedConfigMap({ name, namespace: ns.name })).data ?? {};
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

const SHOP_TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-shop
data:
  greeting: {{ .Values.greeting | quote }}
  cache: {{ .Values.cache.greeting | quote }}
  deps: {{ range .Chart.Dependencies }}{{ .Name }}={{ .Version }} {{ end }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
`;

function shopChart(redisRange: string): string {
  return `apiVersion: v2
name: shop
version: 0.3.0
dependencies:
  - name: redis
    version: "${redisRange}"
    repository: ${repo.url}
    alias: cache
  - name: metrics
    version: ">=0.1.0 <1.0.0"
    repository: ${reg.url}
  - name: local
    version: 0.1.0
    repository: ""
`;
}

const dep = (name: string, version: string, repository: string) => `apiVersion: v2\nname: app-${name}\nversion: 0.1.0\ndependencies:\n  - name: ${name}\n    version: "${version}"\n    repository: ${repository}\n`;

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "helmgit");
  work = mkdtempSync(path.join(os.tmpdir(), "mooring-helmgit-test-"));
  helmEnv = { PATH: process.env.PATH ?? "", HOME: work, HELM_CACHE_HOME: path.join(work, "h/cache"), HELM_CONFIG_HOME: path.join(work, "h/config"), HELM_DATA_HOME: path.join(work, "h/data") };

  repo = await HelmRepoServer.start({ basicAuth: { username: "charts", password: PASSWORD } });
  for (const v of ["1.2.3", "1.2.5", "1.3.0"]) repo.addChart(configMapChart("redis", v));
  repo.addChart(configMapChart("tampered", "1.0.0"));
  // Past the operator's --max-chart-size=64Ki: random text gzip cannot shrink.
  let blob = "";
  for (let i = 0; blob.length < 200_000; i++) blob += Buffer.from(String(Math.sin(i) * 1e9)).toString("base64");
  repo.addChart(configMapChart("big", "1.0.0", { "files/blob.txt": blob }));
  repo.overrides.set("/tampered-1.0.0.tgz", readFileSync(path.join(repo.dir, "redis-1.2.3.tgz")));
  reg = await OciRegistry.start();
  reg.push(configMapChart("metrics", "0.2.0"));
  closedPort = await freePort();

  // The lock, as a chart author writes it: `helm dependency update` with the repository and the registry known.
  writeFileSync(path.join(work, "ca.pem"), reg.ca);
  await helm(["repo", "add", "deps", repo.url, "--username", "charts", "--password", PASSWORD]);
  await helm(["registry", "login", reg.host, "--username", REGISTRY_USER, "--password", REGISTRY_PASSWORD, "--ca-file", path.join(work, "ca.pem")]);
  const author = path.join(work, "author", "shop");
  const files: Record<string, string> = {
    "Chart.yaml": shopChart("~1.2.0"),
    "values.yaml": "greeting: hello\ncache:\n  greeting: from-shop\n",
    "templates/cm.yaml": SHOP_TEMPLATE,
    "charts/local/Chart.yaml": "apiVersion: v2\nname: local\nversion: 0.1.0\n",
    "charts/local/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-local\ndata:\n  parent: {{ .Values.global.parent | default \"none\" | quote }}\n",
  };
  for (const [rel, text] of Object.entries(files)) {
    const abs = path.join(author, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
  await helm(["dependency", "update", author, "--ca-file", path.join(work, "ca.pem")]);
  const lock = readFileSync(path.join(author, "Chart.lock"), "utf8");
  assert.match(lock, /name: redis\n {2}repository: .*\n {2}version: 1\.2\.5/, `helm locked redis 1.2.5:\n${lock}`);
  // Downloaded archives are not committed: the source controller downloads them.
  for (const f of readdirSync(path.join(author, "charts"))) if (f.endsWith(".tgz")) rmSync(path.join(author, "charts", f));
  // A newer version in the range after the lock was written: the lock's 1.2.5 must still be used.
  repo.addChart(configMapChart("redis", "1.2.9"));

  gitServer = await GitServer.start();
  git = await gitServer.createRepo("charts", {
    files: {
      ...Object.fromEntries(Object.entries(files).map(([rel, text]) => [`charts/shop/${rel}`, text])),
      "charts/shop/Chart.lock": lock,
      // Bad inputs, one chart each.
      "charts/stale/Chart.yaml": shopChart("^1.3.0"),
      "charts/stale/Chart.lock": lock,
      "charts/norepo/Chart.yaml": dep("redis", "1.2.3", "http://127.0.0.1:9/nothing"),
      "charts/noversion/Chart.yaml": dep("redis", "9.9.9", repo.url),
      "charts/tampered/Chart.yaml": dep("tampered", "1.0.0", repo.url),
      "charts/big/Chart.yaml": dep("big", "1.0.0", repo.url),
      "charts/down/Chart.yaml": dep("redis", "1.2.3", `http://127.0.0.1:${closedPort}/charts`),
      // Vendored: nothing to download, works as before.
      "charts/vendored/Chart.yaml": dep("redis", "1.2.3", repo.url),
      "charts/vendored/charts/redis/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 1.2.3\n",
      "charts/vendored/charts/redis/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vendored\n",
      "README.md": "charts\n",
    },
  });

  await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "charts-auth" }, stringData: { username: "charts", password: PASSWORD } } });
  await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "oci-auth" }, stringData: { username: REGISTRY_USER, password: REGISTRY_PASSWORD, "ca.crt": reg.ca } } });
  op = await startOperator({ kubeconfigPath: c.kubeconfigPath, watchNamespace: ns.name, args: ["--default-service-account=", `--helm-binary=${helmBinary()}`, "--max-chart-size=64Ki"] });
  await create(G, "charts", { url: git.url, ref: { branch: "main" }, interval: "10m" });
  await create(R, "deps", { url: repo.url, secretRef: { name: "charts-auth" }, interval: "10m" });
  await create(R, "oci", { type: "oci", url: reg.url, secretRef: { name: "oci-auth" }, interval: "10m" });
  await create(R, "down", { url: `http://127.0.0.1:${closedPort}/charts`, interval: "10m", timeout: "5s" });
});

after(async () => {
  for (const r of [A, C, R, G]) {
    const list = (await custom.listNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns.name }).catch(() => ({ items: [] }))) as { items: { metadata: { name: string } }[] };
    for (const o of list.items) await custom.deleteNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns.name, name: o.metadata.name }).catch(() => {});
  }
  await waitFor("Applications gone", async () => ((await custom.listNamespacedCustomObject({ group: A.group, version: A.version, plural: A.plural, namespace: ns.name })) as { items: unknown[] }).items.length === 0, { timeoutMs: 60_000 }).catch(() => {});
  await op?.stop();
  await ns?.cleanup();
  await repo?.close();
  await reg?.close();
  await gitServer?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

void describe("a chart in Git with Chart.lock dependencies from a Helm repository and an OCI registry", () => {
  void it("is built with the lock's versions and deployed; the objects are helm template's after helm dependency build", async () => {
    await create(C, "shop", { sourceRef: { kind: "GitRepository", name: "charts" }, chart: "./charts/shop", interval: "10m" });
    const ch = await waitChart("shop", "True");
    assert.equal(ch.status!.chartName, "shop");
    assert.match(ch.status!.artifact!.revision, /^0\.3\.0\+[0-9a-f]{12}$/);
    assert.deepEqual(
      ch.status!.dependencies!.map((d) => [d.name, d.version, d.helmRepository]),
      [
        ["redis", "1.2.5", "deps"],
        ["metrics", "0.2.0", "oci"],
      ],
    );
    assert.match(ready(ch)!.message, /built from main@sha1:[0-9a-f]{40}; dependencies downloaded and verified: redis 1\.2\.5 from deps, metrics 0\.2\.0 from oci$/);
    assert.equal(repo.count("/redis-1.2.9.tgz"), 0, "the lock's pin wins over a newer version in the range");

    await create(A, "shop", { sourceRef: { kind: "HelmChart", name: "shop" }, render: { helm: { values: VALUES } }, interval: "10m" });

    // The oracle: the same chart from Git, `helm dependency build` (the lock), `helm template` with the same values.
    const oracleDir = path.join(work, "oracle");
    await git.git(["clone", "-q", git.bareDir, oracleDir]);
    await helm(["dependency", "build", path.join(oracleDir, "charts/shop"), "--ca-file", path.join(work, "ca.pem")]);
    writeFileSync(path.join(work, "values.json"), JSON.stringify(VALUES));
    const kube = (await c.kc.makeApiClient(k8s.VersionApi).getCode()).gitVersion;
    const want: K8sObject[] = parseObjects(await helm(["template", "shop", path.join(oracleDir, "charts/shop"), "--namespace", ns.name, "--kube-version", kube, "--values", path.join(work, "values.json")]));
    assert.deepEqual(want.map((o) => o.metadata.name).sort(), ["shop-cache", "shop-local", "shop-metrics", "shop-shop"]);
    for (const o of want) {
      const live = await waitFor(`ConfigMap ${o.metadata.name} applied`, () => configMap(o.metadata.name), { timeoutMs: 120_000 }).catch((err: Error) => {
        throw new Error(`${err.message}\noperator log:\n${op?.tail(60)}`);
      });
      assert.deepEqual(live, o.data ?? {}, `ConfigMap ${o.metadata.name} as helm template renders it`);
    }
    assert.equal((await configMap("shop-cache"))!.version, "1.2.5");
  });

  void it("a commit that does not touch the chart stores nothing new", async () => {
    const before = (await getChart("shop"))!.status!;
    const downloads = repo.count("/redis-1.2.5.tgz");
    const sha = await git.commit({ "README.md": "charts, again\n" }, "unrelated");
    await custom.patchNamespacedCustomObject(
      { group: G.group, version: G.version, plural: G.plural, namespace: ns.name, name: "charts", body: { metadata: { annotations: { [Annotations.reconcileRequestedAt]: new Date().toISOString() } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    const after = await waitChart("shop", "True", (o) => o.status?.observedSourceArtifactRevision?.includes(sha) ?? false);
    assert.equal(after.status!.artifact!.digest, before.artifact!.digest, "same chart, same dependencies: the same artifact");
    assert.equal(after.status!.artifact!.revision, before.artifact!.revision);
    assert.equal(repo.count("/redis-1.2.5.tgz"), downloads, "the dependency is taken from the stored chart (same version and digest), not downloaded again");
  });

  void it("a chart whose dependency is vendored in charts/ downloads nothing", async () => {
    await create(C, "vendored", { sourceRef: { kind: "GitRepository", name: "charts" }, chart: "charts/vendored", interval: "10m" });
    const ch = await waitChart("vendored", "True");
    assert.deepEqual(ch.status!.dependencies, []);
    assert.equal(ch.status!.chartName, "app-redis");
  });

  void it("each bad input has its own reason naming the chart and the dependency", async () => {
    const cases: [string, string, RegExp[]][] = [
      ["stale", "LockOutOfSync", [/chart charts\/stale of GitRepository/, /the lock file \(Chart\.lock\) is out of sync with the dependencies file \(Chart\.yaml\)/]],
      ["norepo", "DependencyRepositoryNotFound", [/chart charts\/norepo/, /dependency "redis"/, /http:\/\/127\.0\.0\.1:9\/nothing/, /no HelmRepository in namespace/]],
      ["noversion", "NoMatchingVersion", [/chart charts\/noversion/, /dependency "redis" version "9\.9\.9" from HelmRepository deps/, /no version of chart "redis" matches "9\.9\.9"/]],
      ["tampered", "DigestMismatch", [/chart charts\/tampered/, /dependency "tampered"/, /but the index says/]],
      ["big", "ChartTooLarge", [/chart charts\/big/, /dependency "big"/, /65536-byte limit/]],
      ["down", "RepositoryUnreachable", [/chart charts\/down/, /dependency "redis"/, /HelmRepository down/, /connection refused/]],
    ];
    for (const [name] of cases) await create(C, name, { sourceRef: { kind: "GitRepository", name: "charts" }, chart: `charts/${name}`, interval: "10m" });
    for (const [name, reason, texts] of cases) {
      const ch = await waitChart(name, "False");
      const r = ready(ch)!;
      assert.equal(r.reason, reason, `${name}: ${r.message}`);
      for (const t of texts) assert.match(r.message, t, name);
      assert.doesNotMatch(r.message, new RegExp(PASSWORD));
      assert.equal(ch.status!.artifact, undefined, `${name}: nothing stored`);
    }
  });
});
