// `mooring get <kind>` for every Mooring kind and `mooring events <app>`, end to end: a real git server and a real
// Helm repository on loopback, the real operator (source, render, apply and notify controllers, watching only this
// test's namespace) and a loopback webhook receiver for a Provider; every command runs through the real `mooring`
// entry point (src/cli/main.ts) as a subprocess. The test writes no status: every READY, REVISION and Event a
// command prints is one a controller wrote, and each is checked against the object read back from the API server.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { AlertKind, ApplicationKind, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, ProviderKind, SyncPolicyKind, installCrds } from "../../../src/api/index.js";
import { connect, type Kube } from "../../../src/cli/kube.js";
import type { KindDescriptor, KubeObject } from "../../../src/runtime/index.js";
import { deleteWhileRunning, quietly } from "../../support/cleanup.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { helmBinary } from "../../support/helm.js";
import { HelmRepoServer, configMapChart } from "../../support/helm-repo.js";
import { describeRun, mooringCli, type CliResult } from "../../support/mooring-cli.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

const CONVERGE_MS = 240_000;
const STEP = { timeout: 600_000 };
/** A Provider address whose path is a credential, as a Slack webhook's is: `get -o wide` must not print it. */
const HOOK_SECRET_PATH = "/services/T0000/B0000/xoxb-s3cr3t-path";

type Cond = { type: string; status: string; message?: string };
type Obj = KubeObject & { spec?: Record<string, unknown>; status?: { conditions?: Cond[]; artifact?: { revision?: string }; applications?: number } };
type Row = Record<string, string | number | boolean>;
interface EventRow { time: string; count: number; type: string; reason: string; object: { kind: string; namespace: string; name: string }; message: string }

let c: TestCluster;
let ns: TestNamespace;
let away: TestNamespace;
let kube: Kube;
let git: GitServer;
let appsRepo: TestRepo;
let helmRepo: HelmRepoServer;
let receiver: http.Server;
let received = 0;
let operator: RunningOperator | undefined;
let sha = "";

const opTail = () => (operator ? `\n--- operator log (last lines) ---\n${operator.tail(40)}` : "");
const condOf = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const mk = (kind: KindDescriptor, name: string, spec: Record<string, unknown>, namespace = ns.name): Obj => ({ apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, metadata: { name, namespace }, spec });

function mooring(args: string[], namespace: string | undefined = ns.name): Promise<CliResult> {
  return mooringCli([...args, "--kubeconfig", c.kubeconfigPath, ...(namespace ? ["-n", namespace] : [])]);
}

async function expectExit(args: string[], code: number, namespace: string | undefined = ns.name): Promise<CliResult> {
  const r = await mooring(args, namespace);
  assert.equal(r.code, code, `${describeRun(args, r)}${opTail()}`);
  return r;
}

async function ready(kind: KindDescriptor, name: string, ok: (o: Obj) => boolean = (o) => condOf(o, "Ready")?.status === "True"): Promise<Obj> {
  try {
    return await waitFor(`${kind.kind} ${name}`, async () => {
      const o = await kube.client.get<Obj>(kind, name, ns.name);
      if (o && ok(o)) return o;
      throw new Error(JSON.stringify(o?.status?.conditions ?? "no status"));
    }, { timeoutMs: CONVERGE_MS, intervalMs: 500 });
  } catch (err) {
    throw new Error(`${(err as Error).message}${opTail()}`, { cause: err });
  }
}

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "cli-get");
  away = await createTestNamespace(c, "cli-get-away");
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: ns.name });
  git = await GitServer.start();
  appsRepo = await git.createRepo("apps", { files: { "web/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  color: blue\n" } });
  sha = await appsRepo.head();
  helmRepo = await HelmRepoServer.start();
  helmRepo.addChart(configMapChart("demo", "1.2.0"));
  receiver = http.createServer((req, res) => {
    received++;
    req.resume();
    req.on("end", () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  await kube.client.create(mk(GitRepositoryKind, "apps", { url: appsRepo.url, ref: { branch: "main" }, interval: "1h" }));
  await kube.client.create(mk(HelmRepositoryKind, "charts", { url: helmRepo.url, interval: "1h" }));
  await kube.client.create(mk(HelmChartKind, "demo", { sourceRef: { kind: "HelmRepository", name: "charts" }, chart: "demo", version: "^1", interval: "1h" }));
  await kube.client.create(mk(SyncPolicyKind, "frozen", { windows: [{ kind: "deny", schedule: "* * * * *", duration: "1h" }] }));
  await kube.client.create(mk(ProviderKind, "hook", { type: "generic", address: `${hook}${HOOK_SECRET_PATH}` }));
  await kube.client.create(mk(AlertKind, "all", { providerRef: { name: "hook" }, eventSources: [{ kind: "Application", name: "*" }] }));
  await kube.client.create(mk(ApplicationKind, "web", { sourceRef: { kind: "GitRepository", name: "apps" }, path: "./web" }));
  await kube.client.create(mk(ApplicationKind, "demo", { sourceRef: { kind: "HelmChart", name: "demo" } }));
  await kube.client.create(mk(ApplicationKind, "held", { sourceRef: { kind: "GitRepository", name: "apps" }, path: "./web", syncPolicyRef: { name: "frozen" }, suspend: true }));
  // Nobody reconciles the other namespace: no status at all.
  await kube.client.create(mk(GitRepositoryKind, "elsewhere", { url: appsRepo.url }, away.name));

  // Applied with the operator's own identity (the single-tenant opt-out): this test is about reading, not tenancy.
  operator = await startOperator({ kubeconfigPath: c.kubeconfigPath, watchNamespace: ns.name, controllers: ["source", "render", "apply", "notify"], args: ["--default-service-account=", `--helm-binary=${helmBinary()}`], readyTimeoutMs: 180_000 });
  await ready(GitRepositoryKind, "apps", (o) => condOf(o, "Ready")?.status === "True" && (o.status?.artifact?.revision ?? "").endsWith(sha));
  await ready(HelmChartKind, "demo");
  await ready(ApplicationKind, "web");
  await ready(ApplicationKind, "demo");
  await ready(SyncPolicyKind, "frozen", (o) => condOf(o, "WindowOpen")?.status === "False" && o.status?.applications === 1);
  await ready(AlertKind, "all");
  await ready(ProviderKind, "hook", (o) => condOf(o, "Ready")?.status === "True" && condOf(o, "Delivered")?.status === "True");
});

after(async () => {
  // Mooring's objects first, while the operator still runs to remove its finalizers.
  if (kube && ns) await deleteWhileRunning(kube, ns.name, [ApplicationKind, HelmChartKind, HelmRepositoryKind, GitRepositoryKind]);
  if (operator) await quietly("stopping the operator", () => operator!.stop());
  await quietly("stopping the servers", async () => {
    await git?.close();
    await helmRepo?.close();
    await new Promise((r) => receiver?.close(r));
  });
  kube?.close();
  await quietly("deleting the namespaces", async () => {
    await ns?.cleanup();
    await away?.cleanup();
  });
});

/** The table's lines, split into cells on runs of 2+ spaces (cells hold single spaces). */
const cells = (r: CliResult) => r.stdout.trimEnd().split("\n").map((l) => l.split(/ {2,}/));

void describe("mooring get <kind>: every Mooring kind, as the controllers report it", () => {
  const KINDS: [KindDescriptor, string[], string[]][] = [
    // kind, other names to try, the default table's headers
    [GitRepositoryKind, ["gitrepository", "gitrepo", "GitRepositories.source.mooring.dev"], ["NAME", "URL", "REVISION", "READY", "MESSAGE"]],
    [HelmRepositoryKind, ["helmrepository", "helmrepo"], ["NAME", "URL", "READY", "MESSAGE"]],
    [HelmChartKind, ["helmchart", "hc"], ["NAME", "CHART", "VERSION", "REVISION", "READY", "MESSAGE"]],
    [ApplicationKind, ["application", "apps", "app", "mapp"], ["NAME", "REVISION", "SYNCED", "HEALTH", "READY", "MESSAGE"]],
    [SyncPolicyKind, ["syncpolicy"], ["NAME", "AUTOMATED", "WINDOW", "APPS", "MESSAGE"]],
    [ProviderKind, ["provider"], ["NAME", "TYPE", "DELIVERED", "READY", "MESSAGE"]],
    [AlertKind, ["alert"], ["NAME", "PROVIDER", "DELIVERED", "READY", "MESSAGE"]],
  ];

  for (const [kind, names, headers] of KINDS) {
    void it(`${kind.plural}: the table, the same under ${names.join(", ")}; -o json rows match the objects`, STEP, async () => {
      const table = await expectExit(["get", kind.plural], 0);
      const [head, ...rows] = cells(table);
      assert.deepEqual(head, headers, table.stdout);
      const objs = (await kube.client.list<Obj>(kind, { namespace: ns.name })).sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
      assert.ok(objs.length > 0);
      assert.deepEqual(rows.map((r) => r[0]), objs.map((o) => o.metadata!.name), table.stdout);
      for (const n of names) assert.equal((await expectExit(["get", n], 0)).stdout, table.stdout, `mooring get ${n}`);

      const json = JSON.parse((await expectExit(["get", kind.plural, "-o", "json"], 0)).stdout) as Row[];
      assert.deepEqual(json.map((r) => r.name), objs.map((o) => o.metadata!.name));
      for (const [i, r] of json.entries()) {
        const o = objs[i]!;
        assert.equal(r.namespace, ns.name);
        if (kind === SyncPolicyKind) {
          assert.equal(r.window, "closed");
          assert.equal(r.applications, o.status?.applications);
          assert.equal(r.message, condOf(o, "WindowOpen")?.message?.replace(/\s+/g, " ").trim());
        } else {
          assert.equal(r.ready, condOf(o, "Ready")?.status ?? "Unknown", `${o.metadata!.name}: ${JSON.stringify(r)}`);
          if (o.spec?.suspend !== true) assert.equal(r.message, (condOf(o, "Ready")?.message ?? "").replace(/\s+/g, " ").trim());
        }
        if ("revision" in r && kind !== ApplicationKind) assert.equal(r.revision, o.status?.artifact?.revision ?? "");
      }
      const yaml = parseYaml((await expectExit(["get", kind.plural, "-o", "yaml"], 0)).stdout) as Row[];
      assert.deepEqual(yaml, json);
    });
  }

  void it("shows the controllers' facts: the commit fetched and applied, the chart version, the closed window, a suspended Application", STEP, async () => {
    const repo = JSON.parse((await expectExit(["get", "gitrepo", "apps", "-o", "json"], 0)).stdout) as Row[];
    assert.deepEqual([repo[0]!.url, repo[0]!.revision, repo[0]!.ready], [appsRepo.url, `main@sha1:${sha}`, "True"]);
    assert.match((await expectExit(["get", "gitrepo", "apps"], 0)).stdout, new RegExp(`main@sha1:${sha.slice(0, 12)}\\s+True`));
    const chart = JSON.parse((await expectExit(["get", "hc", "-o", "json"], 0)).stdout) as Row[];
    assert.deepEqual([chart[0]!.chart, chart[0]!.version, chart[0]!.revision, chart[0]!.ready], ["demo", "^1", "1.2.0", "True"]);
    const apps = Object.fromEntries((JSON.parse((await expectExit(["get", "apps", "-o", "json"], 0)).stdout) as Row[]).map((r) => [r.name, r]));
    assert.deepEqual([apps.web!.synced, apps.web!.health, apps.web!.revision], ["Synced", "Healthy", `main@sha1:${sha}`]);
    assert.deepEqual([apps.demo!.synced, apps.demo!.source], ["Synced", "HelmChart/demo"]);
    assert.equal(apps.held!.suspended, true);
    assert.match(String(apps.held!.message), /^suspended/);
    const policy = cells(await expectExit(["get", "syncpolicies"], 0))[1]!;
    assert.deepEqual(policy.slice(0, 4), ["frozen", "true", "closed", "1"]);
  });

  void it("-o wide adds each kind's columns and AGE; a Provider's address only as its origin", STEP, async () => {
    const wide = cells(await expectExit(["get", "gitrepositories", "-o", "wide"], 0));
    assert.deepEqual(wide[0], ["NAME", "URL", "REVISION", "REF", "INTERVAL", "SUSPENDED", "AGE", "READY", "MESSAGE"]);
    assert.deepEqual(wide[1]!.slice(3, 6), ["branch main", "1h", "false"]);
    assert.match(wide[1]![6]!, /^\d+(s|m)/);
    const apps = cells(await expectExit(["get", "apps", "-o", "wide"], 0));
    assert.deepEqual(apps[0], ["NAME", "REVISION", "SYNCED", "HEALTH", "SOURCE", "POLICY", "PATH", "SUSPENDED", "AGE", "READY", "MESSAGE"]);
    const providers = await expectExit(["get", "providers", "-o", "wide"], 0);
    const [head, row] = cells(providers);
    assert.equal(row![head!.indexOf("ADDRESS")], `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`);
    for (const out of [providers.stdout, (await expectExit(["get", "providers", "-o", "json"], 0)).stdout]) assert.ok(!out.includes("s3cr3t"), "the address's path is not printed");
    const alerts = cells(await expectExit(["get", "alerts", "-o", "wide"], 0));
    assert.deepEqual(alerts[0]!.slice(0, 6), ["NAME", "PROVIDER", "DELIVERED", "SEVERITY", "SOURCES", "EVENTS"]);
    assert.deepEqual(alerts[1]!.slice(0, 6), ["all", "hook", "True", "info", "Application/*", "*"]);
  });

  void it("-A lists every namespace with a NAMESPACE column; -n another namespace lists its objects only", STEP, async () => {
    const all = cells(await expectExit(["get", "gitrepos", "-A"], 0, undefined));
    assert.deepEqual(all[0], ["NAMESPACE", "NAME", "URL", "REVISION", "READY", "MESSAGE"]);
    assert.ok(all.some((r) => r[0] === ns.name && r[1] === "apps" && r[4] === "True"));
    assert.ok(all.some((r) => r[0] === away.name && r[1] === "elsewhere" && r[3] === "Unknown"), "no status: Unknown");
    const there = cells(await expectExit(["get", "gitrepos"], 0, away.name));
    assert.deepEqual(there.slice(1).map((r) => r[0]), ["elsewhere"]);
    const none = await expectExit(["get", "alerts"], 0, away.name);
    assert.equal(none.stdout, "");
    assert.match(none.stderr, new RegExp(`No Alerts found in ${away.name} namespace`));
    assert.equal((await expectExit(["get", "syncpolicies", "-o", "json"], 0, away.name)).stdout.trim(), "[]");
  });

  void it("refuses an unknown kind, a missing object, a name with -A and an unknown format (exit 2), naming what to do", STEP, async () => {
    assert.match((await expectExit(["get", "deployments"], 2)).stderr, /^mooring: unknown kind "deployments"; use one of gitrepositories \(/);
    assert.match((await expectExit(["get", "gitrepo", "nope"], 2)).stderr, new RegExp(`^mooring: GitRepository ${ns.name}/nope not found; check the name and -n/--namespace`));
    assert.match((await expectExit(["get", "gitrepo", "apps", "-A"], 2)).stderr, /a name cannot be given with -A/);
    assert.match((await expectExit(["get", "apps", "-o", "name"], 2)).stderr, /argument 'name' is invalid/);
  });
});

void describe("mooring events <app>: the Application's Events and its sources', newest last", () => {
  void it("a Git source: the GitRepository's NewArtifact, then the Application's sync, oldest first; -o json the same", STEP, async () => {
    const json = JSON.parse((await expectExit(["events", "web", "-o", "json"], 0)).stdout) as EventRow[];
    const about = new Set(json.map((e) => `${e.object.kind}/${e.object.name}`));
    assert.deepEqual([...about].sort(), ["Application/web", "GitRepository/apps"], "no other object's events");
    const times = json.map((e) => Date.parse(e.time));
    assert.deepEqual(times, [...times].sort((a, b) => a - b), "oldest first, newest last");
    const reasons = json.map((e) => `${e.object.kind}:${e.reason}`);
    for (const r of ["GitRepository:NewArtifact", "Application:SyncStarted", "Application:Succeeded"]) assert.ok(reasons.includes(r), `${r} in ${reasons.join(", ")}`);
    assert.ok(reasons.indexOf("Application:SyncStarted") < reasons.lastIndexOf("Application:Succeeded"));
    const fetched = json.find((e) => e.reason === "NewArtifact")!;
    assert.match(fetched.message, new RegExp(`stored artifact for revision main@sha1:${sha}`));
    // What the API server holds, read directly: the command invented nothing.
    const live = await kube.client.list<KubeObject & { reason?: string; regarding?: { name?: string } }>({ group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true }, { namespace: ns.name });
    const liveWeb = live.filter((e) => e.regarding?.name === "web" || e.regarding?.name === "apps").length;
    assert.equal(json.length, liveWeb, "every Event about web and apps, and only those");

    const table = cells(await expectExit(["events", "web"], 0));
    assert.deepEqual(table[0], ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
    assert.deepEqual(table.slice(1).map((r) => `${r[3]}:${r[2]}`), json.map((e) => `${e.object.kind}/${e.object.name}:${e.reason}`));
    assert.match(table.at(-1)![0]!, /^\d+(s|m)/);
  });

  void it("a chart source: the HelmChart's and its HelmRepository's Events too", STEP, async () => {
    const json = JSON.parse((await expectExit(["events", "demo", "-o", "json"], 0)).stdout) as EventRow[];
    const about = new Set(json.map((e) => `${e.object.kind}/${e.object.name}`));
    assert.ok(about.has("HelmChart/demo") && about.has("Application/demo"), [...about].join(", "));
    assert.ok(![...about].some((a) => a.endsWith("/web") || a === "GitRepository/apps"), "not another Application's source");
    assert.ok(json.some((e) => e.object.kind === "HelmChart" && e.reason === "NewArtifact" && /version 1\.2\.0/.test(e.message)), JSON.stringify(json));
  });

  void it("an Application that does not exist: exit 2, naming it", STEP, async () => {
    assert.match((await expectExit(["events", "nope"], 2)).stderr, new RegExp(`^mooring: Application ${ns.name}/nope not found`));
    assert.ok(received > 0, "the Provider's receiver got the sync notifications (the Delivered column above is true)");
  });
});
