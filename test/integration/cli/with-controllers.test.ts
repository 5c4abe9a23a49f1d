// The operations CLI end to end, against the real controllers: a real git server serves two repositories, the real
// operator runs as a process (source, render and apply controllers, watching only this test's namespace), the test
// creates GitRepositories, SyncPolicies and Applications through the API, pushes commits, and runs every command
// through the real `mooring` entry point (src/cli/main.ts) as a subprocess, checking exit codes and output.
// No Mooring status is ever written by the test: every status a command reads is one a controller wrote.
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { ApplicationKind, FieldManagers, GitRepositoryKind, SyncPolicyKind, installCrds } from "../../../src/api/index.js";
import { connect, type Kube } from "../../../src/cli/kube.js";
import type { KubeObject } from "../../../src/runtime/index.js";
import { deleteWhileRunning, quietly } from "../../support/cleanup.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { describeRun, mooringCli, type CliResult } from "../../support/mooring-cli.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

const ESC = String.fromCharCode(27);
/** Controllers on a loaded machine (tsx compiling at start-up, two shared cores): generous, never asserted on. */
const CONVERGE_MS = 180_000;
const STEP = { timeout: 600_000 };

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}
interface Status {
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
  conditions?: Cond[];
  artifact?: { url: string; revision: string; digest: string };
  render?: { artifact?: { url: string; revision: string; digest: string } };
  sync?: { status?: string; revision?: string; inventory?: { id: string; v: string }[]; drifted?: string[] };
  health?: { status?: string; message?: string };
  history?: { phase: string; initiatedBy: string; message?: string; revision: string }[];
}
type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Status; data?: Record<string, string> };

let c: TestCluster;
let ns: TestNamespace;
/** A namespace the operator does not watch. */
let away: TestNamespace;
let kube: Kube;
let git: GitServer;
let appsRepo: TestRepo;
let manualRepo: TestRepo;
let operator: RunningOperator | undefined;
let appsSha = "";
let manualSha = "";

// ---------------------------------------------------------------------------------------------------------------
// The repositories' content.

const configMap = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${Object.entries(data)
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`)
    .join("")}`;
// No protocol and no targetPort: the API server defaults them, which must never show up as a difference.
const service = (name: string, port: number) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    app: ${name}\n  ports:\n    - port: ${port}\n`;

const APPS_FILES = {
  "web/configmap.yaml": configMap("web-config", { color: "blue" }),
  "web/service.yaml": service("web", 80),
  // A port the API server refuses (1-65535): the render succeeds, the apply fails.
  "invalid/service.yaml": service("invalid-svc", 70000),
  "contested/configmaps.yaml": `${configMap("contest-cm", { key: "ours" })}---\n${configMap("claimed-cm", { a: "2" })}`,
  "frozen/configmap.yaml": configMap("frozen-cm", { a: "1" }),
  "README.md": "# apps\n",
};
const MANUAL_FILES = {
  "manual/keep.yaml": configMap("manual-keep", { a: "1" }),
  "manual/change.yaml": configMap("manual-change", { color: "blue", keep: "k" }),
  "manual/old.yaml": configMap("manual-old", { z: "1" }),
  "manual/ignored.yaml": configMap("manual-ignored", { keep: "k", x: "from-git" }),
};

// ---------------------------------------------------------------------------------------------------------------
// Objects and readers.

function gitRepository(name: string, url: string, extra: Record<string, unknown> = {}): Obj {
  // An interval of an hour: the only fetches during the test are the first one and those `mooring reconcile` asks for.
  return { apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name, namespace: ns.name }, spec: { url, ref: { branch: "main" }, interval: "1h", ...extra } };
}

function application(name: string, spec: Record<string, unknown>, namespace = ns.name): Obj {
  return { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name, namespace }, spec: { sourceRef: { kind: "GitRepository", name: "apps" }, ...spec } };
}

function syncPolicy(name: string, spec: Record<string, unknown>): Obj {
  return { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "SyncPolicy", metadata: { name, namespace: ns.name }, spec };
}

const cm = (name: string, data: Record<string, string>, labels?: Record<string, string>): Obj => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns.name, ...(labels ? { labels } : {}) },
  data,
});

const getApp = (name: string, namespace = ns.name) => kube.client.get<Obj>(ApplicationKind, name, namespace);
const getRepo = (name: string) => kube.client.get<Obj>(GitRepositoryKind, name, ns.name);
const getCm = (name: string) => kube.client.get<Obj>({ apiVersion: "v1", kind: "ConfigMap" }, name, ns.name);
const condOf = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const describeConds = (o: Obj | undefined) => (o ? (o.status?.conditions ?? []).map((x) => `${x.type}=${x.status} (${x.reason}: ${x.message})`).join("; ") || "no conditions" : "not found");
const opTail = () => (operator ? `\n--- operator log (last lines) ---\n${operator.tail(40)}` : "");
const short = (sha: string) => sha.slice(0, 12);

/** waitFor, with the operator's last log lines on timeout. */
async function converge<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = CONVERGE_MS): Promise<T> {
  try {
    return await waitFor(what, probe, { timeoutMs, intervalMs: 500 });
  } catch (err) {
    throw new Error(`${(err as Error).message}${opTail()}`, { cause: err });
  }
}

/** Waits until the Application's status satisfies `ok` (written by the controllers), explaining what it saw. */
function untilApp(name: string, what: string, ok: (a: Obj) => boolean, namespace = ns.name): Promise<Obj> {
  return converge(`Application ${namespace}/${name}: ${what}`, async () => {
    const a = await getApp(name, namespace);
    if (a && ok(a)) return a;
    throw new Error(`render ${a?.status?.render?.artifact?.revision ?? "none"}, sync ${JSON.stringify(a?.status?.sync?.revision ?? "none")}; ${describeConds(a)}`);
  });
}

/** `mooring <args> --kubeconfig … -n <namespace>` through the real entry point. */
function mooring(args: string[], namespace = ns.name): Promise<CliResult> {
  return mooringCli([...args, "--kubeconfig", c.kubeconfigPath, "-n", namespace]);
}

async function expectExit(args: string[], code: number, namespace = ns.name): Promise<CliResult> {
  const r = await mooring(args, namespace);
  assert.equal(r.code, code, `${describeRun(args, r)}${opTail()}`);
  return r;
}

/** The value `mooring reconcile`/`sync` says it set. */
function requestedValue(r: CliResult, annotation: string): string {
  const m = new RegExp(`${annotation.replace(/[./]/g, "\\$&")}=([^)]+)\\)`).exec(r.stderr);
  assert.ok(m, `no request value in stderr:\n${r.stderr}`);
  return m[1]!;
}

/** Whether `manager` owns status.<field> of the object (its managedFields entry for the status subresource). */
function ownsStatusField(o: Obj | undefined, manager: string, field: string): boolean {
  const entries = (o?.metadata?.managedFields ?? []) as { manager?: string; subresource?: string; fieldsV1?: unknown }[];
  return entries.some((m) => m.manager === manager && m.subresource === "status" && JSON.stringify(m.fieldsV1 ?? {}).includes(`"f:${field}"`));
}

interface AppRow {
  namespace: string;
  name: string;
  revision: string;
  synced: string;
  health: string;
  ready: string;
  suspended: boolean;
  message: string;
}

// ---------------------------------------------------------------------------------------------------------------

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "cli-ctl");
  away = await createTestNamespace(c, "cli-away");
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: ns.name });
  // The Applications name no ServiceAccount: the operator applies them, and `mooring diff` dry-runs them, as the
  // namespace's default ServiceAccount (--default-service-account's default), which may edit this namespace only.
  await kube.client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "default-edit", namespace: ns.name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }],
  } as KubeObject);
  git = await GitServer.start();
  appsRepo = await git.createRepo("apps", { files: APPS_FILES });
  manualRepo = await git.createRepo("manual", { files: MANUAL_FILES });
  appsSha = await appsRepo.head();
  manualSha = await manualRepo.head();

  // What the contested Application will find in the cluster: a field another manager owns, and an object labelled
  // as another Application's.
  await kube.client.apply(cm("contest-cm", { key: "theirs" }), { fieldManager: "someone-else" });
  await kube.client.apply(cm("claimed-cm", { a: "1" }, { "delivery.mooring.dev/application": `${ns.name}.other-app` }), { fieldManager: "someone-else" });

  await kube.client.create(syncPolicy("manual", { automated: { enabled: false, selfHeal: false } }));
  await kube.client.create(syncPolicy("frozen", { windows: [{ kind: "deny", schedule: "* * * * *", duration: "1h" }] }));
  await kube.client.create(gitRepository("apps", appsRepo.url));
  await kube.client.create(gitRepository("manual", manualRepo.url));
  // Suspended: the source controller handles nothing of it, reconcile requests included.
  await kube.client.create(gitRepository("frozen-src", appsRepo.url, { suspend: true }));
  await kube.client.create(application("web", { path: "./web" }));
  await kube.client.create(application("broken", { path: "./does-not-exist" }));
  await kube.client.create(application("invalid", { path: "./invalid", syncPolicyRef: { name: "manual" } }));
  await kube.client.create(application("contested", { path: "./contested", syncPolicyRef: { name: "manual" } }));
  await kube.client.create(application("frozen-app", { path: "./frozen", syncPolicyRef: { name: "frozen" } }));
  await kube.client.create(
    application("manual", {
      sourceRef: { kind: "GitRepository", name: "manual" },
      path: "./manual",
      syncPolicyRef: { name: "manual" },
      // Another controller owns data.x of this ConfigMap: neither compared nor applied.
      ignoreDifferences: [{ kind: "ConfigMap", name: "manual-ignored", jsonPointers: ["/data/x"] }],
    }),
  );
  await kube.client.create(application("elsewhere", { path: "./web" }, away.name));

  operator = await startOperator({ kubeconfigPath: c.kubeconfigPath, watchNamespace: ns.name, logLevel: "info", readyTimeoutMs: 180_000 });

  // The starting point, as the controllers report it.
  for (const [name, sha] of [["apps", appsSha], ["manual", manualSha]] as const) {
    await converge(`GitRepository ${name} Ready at ${sha}`, async () => {
      const r = await getRepo(name);
      if (condOf(r, "Ready")?.status === "True" && r?.status?.artifact?.revision.endsWith(sha)) return true;
      throw new Error(describeConds(r));
    });
  }
  await untilApp("web", `Ready at ${appsSha}`, (a) => condOf(a, "Ready")?.status === "True" && (a.status?.sync?.revision ?? "").endsWith(appsSha));
  for (const name of ["manual", "invalid", "contested"]) {
    await untilApp(name, "rendered, and waiting for a manual sync", (a) => !!a.status?.render?.artifact && /automated sync is off/.test(condOf(a, "Ready")?.message ?? ""));
  }
  await untilApp("frozen-app", "held back by the deny window", (a) => !!a.status?.render?.artifact && condOf(a, "Synced")?.reason === "SyncWindowClosed");
  await untilApp("broken", "a failed render, reported", (a) => condOf(a, "Rendered")?.status === "False" && a.status?.observedGeneration === a.metadata?.generation);
});

after(async () => {
  // Mooring's objects first, while the operator still runs to remove its finalizers.
  if (kube && ns) await deleteWhileRunning(kube, ns.name, [ApplicationKind, GitRepositoryKind]);
  if (operator) await quietly("stopping the operator", () => operator!.stop());
  if (git) await quietly("stopping the git server", () => git.close());
  kube?.close();
  await quietly("deleting the namespaces", async () => {
    await ns?.cleanup();
    await away?.cleanup();
  });
});

// ---------------------------------------------------------------------------------------------------------------

void describe("mooring get apps (rows from what the controllers wrote)", () => {
  void it("prints a table, -A adds the namespace, -o json/yaml give the rows as objects", STEP, async () => {
    const table = await expectExit(["get", "apps"], 0);
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    assert.match(header!, /^NAME\s+REVISION\s+SYNCED\s+HEALTH\s+READY\s+MESSAGE$/);
    assert.deepEqual(rows.map((r) => r.split(/\s+/)[0]), ["broken", "contested", "frozen-app", "invalid", "manual", "web"]);
    const row = (name: string) => rows.find((r) => r.startsWith(`${name} `))!;
    assert.match(row("web"), new RegExp(`^web\\s+main@sha1:${short(appsSha)}\\s+Synced\\s+Healthy\\s+True\\s+applied revision main@sha1:${appsSha}; all objects healthy$`));
    assert.match(row("manual"), /^manual\s+OutOfSync\s+Unknown\s+False\s+automated sync is off; waiting for a manual sync/);

    const all = await expectExit(["get", "apps", "-A"], 0);
    const allRows = all.stdout.trimEnd().split("\n");
    assert.match(allRows[0]!, /^NAMESPACE\s+NAME\s+REVISION\s+SYNCED\s+HEALTH\s+READY\s+MESSAGE$/);
    assert.ok(allRows.some((l) => new RegExp(`^${ns.name}\\s+web\\s+main@sha1:${short(appsSha)}\\s+Synced`).test(l)), all.stdout);
    // Nothing handles the Application of the unwatched namespace: no status at all.
    assert.ok(allRows.some((l) => new RegExp(`^${away.name}\\s+elsewhere\\s+Unknown\\s+Unknown\\s+Unknown$`).test(l)), all.stdout);

    const json = JSON.parse((await expectExit(["get", "apps", "-o", "json"], 0)).stdout) as AppRow[];
    // Each row is what the controllers wrote (read back from the API server right after).
    for (const r of json) {
      const a = await getApp(r.name);
      assert.ok(a, r.name);
      const ready = condOf(a, "Ready");
      assert.deepEqual(
        [r.namespace, r.revision, r.synced, r.health, r.ready, r.suspended],
        [ns.name, a.status?.sync?.revision ?? "", a.status?.sync?.status ?? "Unknown", a.status?.health?.status ?? "Unknown", ready?.status ?? "Unknown", false],
        `row ${r.name}: ${JSON.stringify(r)} vs ${JSON.stringify(a.status)}`,
      );
      const stalled = condOf(a, "Stalled");
      assert.equal(r.message, ((stalled?.status === "True" ? stalled.message : ready?.message) ?? "").replace(/\s+/g, " ").trim());
    }
    const web = json.find((r) => r.name === "web")!;
    assert.deepEqual([web.revision, web.synced, web.health, web.ready], [`main@sha1:${appsSha}`, "Synced", "Healthy", "True"]);
    const yaml = parseYaml((await expectExit(["get", "apps", "-o", "yaml"], 0)).stdout) as AppRow[];
    assert.deepEqual(yaml.map((r) => [r.name, r.revision, r.synced, r.ready]), json.map((r) => [r.name, r.revision, r.synced, r.ready]));
  });
});

void describe("mooring reconcile --wait (answered by the controllers)", () => {
  void it("exits 0 with Ready=True once the source, apply and policy controllers handled the request", STEP, async () => {
    const args = ["reconcile", "gitrepository", "apps", "--wait", "--timeout", "3m"];
    const repo = await expectExit(args, 0);
    assert.match(repo.stdout, new RegExp(`✔ GitRepository ${ns.name}/apps reconciled: Ready=True \\(Succeeded\\): stored artifact for revision 'main@sha1:${appsSha}'`));
    const repoValue = requestedValue(repo, "mooring.dev/reconcile-requested-at");
    const gr = await getRepo("apps");
    assert.equal(gr?.status?.lastHandledReconcileAt, repoValue);
    assert.ok(ownsStatusField(gr, FieldManagers.source, "lastHandledReconcileAt"), "the source controller wrote status.lastHandledReconcileAt");

    const app = await expectExit(["reconcile", "application", "web", "--wait", "--timeout", "3m"], 0);
    assert.match(app.stdout, new RegExp(`✔ Application ${ns.name}/web reconciled: Ready=True \\(Succeeded\\): applied revision main@sha1:${appsSha}`));
    const appValue = requestedValue(app, "mooring.dev/reconcile-requested-at");
    const web = await getApp("web");
    assert.equal(web?.status?.lastHandledReconcileAt, appValue);
    // Issue 13: the apply controller, not the CLI or the test, answers the request.
    assert.ok(ownsStatusField(web, FieldManagers.sync, "lastHandledReconcileAt"), `the apply controller owns status.lastHandledReconcileAt: ${JSON.stringify(web?.metadata?.managedFields)}`);
    assert.ok(!ownsStatusField(web, FieldManagers.cli, "lastHandledReconcileAt"));

    const policy = await expectExit(["reconcile", "syncpolicy", "manual", "--wait", "--timeout", "3m"], 0);
    assert.match(policy.stdout, new RegExp(`✔ SyncPolicy ${ns.name}/manual reconciled: Ready=True \\(Succeeded\\): the policy is valid`));
    const sp = await kube.client.get<Obj>(SyncPolicyKind, "manual", ns.name);
    assert.ok(ownsStatusField(sp, FieldManagers.policy, "lastHandledReconcileAt"));
  });

  void it("exits 1 for a handled Application that is not Ready (its path does not exist, so rendering fails)", STEP, async () => {
    const r = await expectExit(["reconcile", "application", "broken", "--wait", "--timeout", "3m"], 1);
    assert.match(r.stdout, new RegExp(`✗ Application ${ns.name}/broken reconciled: Ready=False `));
    const a = await getApp("broken");
    assert.equal(a?.status?.lastHandledReconcileAt, requestedValue(r, "mooring.dev/reconcile-requested-at"));
    assert.match(condOf(a, "Rendered")?.message ?? "", /does-not-exist/);
  });

  void it(
    "says why a never-rendered Application is not Ready: Ready=False (RenderFailed), not 'waiting for the render controller'",
    STEP,
    async () => {
      const r = await expectExit(["reconcile", "application", "broken", "--wait", "--timeout", "3m"], 1);
      assert.match(r.stdout, new RegExp(`✗ Application ${ns.name}/broken reconciled: Ready=False \\(RenderFailed\\): .*does-not-exist`));
    },
  );

  void it("exits 3 when nothing handles the request in time: a suspended GitRepository, an Application in an unwatched namespace", STEP, async () => {
    const repo = await expectExit(["reconcile", "gitrepository", "frozen-src", "--wait", "--timeout", "15s"], 3);
    assert.match(repo.stderr, /✗ timed out after 15s: the controller has not handled the request yet/);
    const gr = await getRepo("frozen-src");
    assert.ok(gr?.metadata?.annotations?.["mooring.dev/reconcile-requested-at"], "the request was made");
    assert.equal(gr?.status?.lastHandledReconcileAt, undefined);

    const app = await expectExit(["reconcile", "application", "elsewhere", "--wait", "--timeout", "15s"], 3, away.name);
    assert.match(app.stderr, /timed out after 15s/);
    assert.equal((await getApp("elsewhere", away.name))?.status, undefined, "no controller wrote anything");
  });

  void it("exits 2 for an unknown kind, a missing object or a bad flag", STEP, async () => {
    assert.match((await expectExit(["reconcile", "deployment", "web"], 2)).stderr, /^mooring: unknown kind "deployment"; use gitrepository, application or syncpolicy$/m);
    assert.match((await expectExit(["reconcile", "application", "ghost", "--wait"], 2)).stderr, new RegExp(`mooring: Application ${ns.name}/ghost not found`));
    assert.match((await expectExit(["reconcile", "application", "web", "--wait", "--timeout", "soon"], 2)).stderr, /mooring: --timeout: /);
    await expectExit(["reconcile", "application"], 2);
  });
});

void describe("mooring sync, tree and diff (automated sync off: a manual sync applies)", () => {
  void it("sync exits 0 with 'sync Succeeded'; then diff is empty (server defaults and ignored fields are not differences) and tree all Healthy", STEP, async () => {
    assert.equal(await getCm("manual-keep"), undefined, "automated sync is off: nothing is applied before the manual sync");
    const r = await expectExit(["sync", "manual", "--timeout", "3m"], 0);
    assert.match(r.stderr, new RegExp(`► sync of Application ${ns.name}/manual requested \\(delivery\\.mooring\\.dev/sync-requested-at=`));
    assert.match(r.stdout, new RegExp(`✔ sync Succeeded: revision main@sha1:${short(manualSha)}, health Healthy`));
    const value = requestedValue(r, "delivery.mooring.dev/sync-requested-at");
    assert.match(r.stdout, new RegExp(`sync requested at "${value.replace(/[.]/g, "\\.")}": applied 4 object`));
    const entry = (await getApp("manual"))?.status?.history?.[0];
    assert.equal(entry?.initiatedBy, "manual");
    assert.equal(entry?.phase, "Succeeded");
    assert.deepEqual((await getCm("manual-change"))?.data, { color: "blue", keep: "k" });

    // Another controller sets the ignored field: neither a difference nor drift.
    await kube.client.apply(cm("manual-ignored", { x: "live" }), { fieldManager: "another-controller" });
    const diff = await expectExit(["diff", "manual"], 0);
    assert.equal(diff.stdout, "");
    assert.match(diff.stderr, /0 objects differ \(0 created, 0 changed, 0 pruned\), 4 unchanged/);
    assert.deepEqual((await getCm("manual-ignored"))?.data, { keep: "k", x: "live" });

    const tree = await expectExit(["tree", "manual"], 0);
    const lines = tree.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, new RegExp(`^Application ${ns.name}/manual\\s+main@sha1:${short(manualSha)}\\s+Synced\\s+Healthy$`));
    assert.equal(lines.length, 5, tree.stdout);
    for (const name of ["manual-change", "manual-ignored", "manual-keep", "manual-old"]) {
      assert.ok(lines.some((l) => new RegExp(`^[├└]── ConfigMap ${ns.name}/${name}\\s+Healthy$`).test(l)), `${name} in:\n${tree.stdout}`);
    }
  });

  void it("tree exits 1 when an applied object is deleted and selfHeal is off; a manual sync brings it back", STEP, async () => {
    const id = `${ns.name}_manual-keep__ConfigMap`;
    await kube.client.delete(cm("manual-keep", {}));
    await untilApp("manual", "the deleted object reported as drifted", (a) => (a.status?.sync?.drifted ?? []).includes(id));
    assert.equal(await getCm("manual-keep"), undefined, "selfHeal is off: not re-created");
    const tree = await expectExit(["tree", "manual"], 1);
    assert.match(tree.stdout, new RegExp(`── ConfigMap ${ns.name}/manual-keep\\s+Missing\\s+drifted; not found in the cluster$`, "m"));
    assert.match(tree.stdout, new RegExp(`── ConfigMap ${ns.name}/manual-change\\s+Healthy$`, "m"));
    const nodes = JSON.parse((await expectExit(["tree", "manual", "-o", "json"], 1)).stdout) as { name: string; health: string; drifted: boolean }[];
    const keep = nodes.find((n) => n.name === "manual-keep");
    assert.deepEqual([keep?.health, keep?.drifted], ["Missing", true]);
    assert.equal(nodes.filter((n) => n.health === "Healthy").length, 3);

    const diff = await expectExit(["diff", "manual"], 1);
    assert.match(diff.stdout, new RegExp(`^# ${id}: created$`, "m"));

    await expectExit(["sync", "manual", "--timeout", "3m"], 0);
    assert.deepEqual((await getCm("manual-keep"))?.data, { a: "1" });
    await expectExit(["tree", "manual"], 0);
  });

  void it("after a pushed commit: reconcile fetches it, diff exits 1 with a created, a changed and a pruned object, sync applies it", STEP, async () => {
    const before = manualSha;
    manualSha = await manualRepo.commit({ "manual/change.yaml": configMap("manual-change", { color: "green", keep: "k" }), "manual/new.yaml": configMap("manual-new", { n: "1" }), "manual/old.yaml": null }, "second");
    assert.notEqual(manualSha, before);
    // Nothing fetches before the request (interval 1h).
    assert.ok((await getRepo("manual"))?.status?.artifact?.revision.endsWith(before));
    const fetch = await expectExit(["reconcile", "gitrepo", "manual", "--wait", "--timeout", "3m"], 0);
    assert.match(fetch.stdout, new RegExp(`✔ GitRepository ${ns.name}/manual reconciled: Ready=True \\(Succeeded\\): stored artifact for revision 'main@sha1:${manualSha}'`));
    assert.ok((await getRepo("manual"))?.status?.artifact?.revision.endsWith(manualSha));
    await untilApp("manual", `rendered at ${manualSha}`, (a) => (a.status?.render?.artifact?.revision ?? "").endsWith(manualSha));

    const diff = await expectExit(["diff", "manual", "--color", "never"], 1);
    const out = diff.stdout;
    assert.match(out, new RegExp(`^# ${ns.name}_manual-change__ConfigMap: changed\\n--- live/${ns.name}_manual-change__ConfigMap\\n\\+\\+\\+ sync/${ns.name}_manual-change__ConfigMap$`, "m"));
    assert.match(out, /^- {2}color: blue$/m);
    assert.match(out, /^\+ {2}color: green$/m);
    assert.match(out, /^ {3}keep: k$/m, "context lines are kept");
    assert.match(out, new RegExp(`^# ${ns.name}_manual-new__ConfigMap: created\\n--- /dev/null\\n\\+\\+\\+ sync/${ns.name}_manual-new__ConfigMap$`, "m"));
    const created = out.split(`_manual-new__ConfigMap: created`)[1]!.split("\n# ")[0]!;
    assert.match(created, /^\+ {2}n: "1"$/m);
    assert.doesNotMatch(created, /uid:|creationTimestamp|managedFields|resourceVersion/, "fields the dry run invents are not shown");
    assert.match(out, new RegExp(`^# ${ns.name}_manual-old__ConfigMap: pruned \\(no longer rendered: the sync deletes it\\)$`, "m"));
    assert.match(out, /^- {2}z: "1"$/m);
    assert.doesNotMatch(out, /manual-keep|manual-ignored/);
    assert.match(diff.stderr, /3 objects differ \(1 created, 1 changed, 1 pruned\), 2 unchanged/);
    const coloured = await expectExit(["diff", "manual", "--color", "always"], 1);
    assert.ok(coloured.stdout.includes(`${ESC}[31m-  color: blue${ESC}[0m`), coloured.stdout);
    assert.ok(coloured.stdout.includes(`${ESC}[32m+  color: green${ESC}[0m`), coloured.stdout);
    assert.match((await expectExit(["diff", "manual", "-U", "0", "--color", "never"], 1)).stdout, /^@@ -\d+(,\d+)? \+\d+(,\d+)? @@\n- {2}color: blue\n\+ {2}color: green$/m);

    const sync = await expectExit(["sync", "manual", "--timeout", "3m"], 0);
    assert.match(sync.stdout, new RegExp(`✔ sync Succeeded: revision main@sha1:${short(manualSha)}, health Healthy`));
    assert.deepEqual((await getCm("manual-change"))?.data, { color: "green", keep: "k" });
    assert.deepEqual((await getCm("manual-new"))?.data, { n: "1" });
    await converge("manual-old pruned", async () => (await getCm("manual-old")) === undefined);
    await expectExit(["diff", "manual"], 0);
    const rows = JSON.parse((await expectExit(["get", "apps", "-o", "json"], 0)).stdout) as AppRow[];
    assert.deepEqual(rows.filter((x) => x.name === "manual").map((x) => [x.revision, x.synced]), [[`main@sha1:${manualSha}`, "Synced"]]);
  });

  void it("sync exits 1 when the sync fails (the API server refuses a rendered object); reconcile then exits 1 too", STEP, async () => {
    const r = await expectExit(["sync", "invalid", "--timeout", "3m"], 1);
    assert.match(r.stdout, /✗ sync Failed/);
    assert.match(r.stdout, /sync requested at "[^"]+": .*Service .*invalid-svc.*70000/);
    assert.equal(await kube.client.get({ apiVersion: "v1", kind: "Service" }, "invalid-svc", ns.name), undefined);
    const last = (await getApp("invalid"))?.status?.history?.[0];
    assert.deepEqual([last?.phase, last?.initiatedBy], ["Failed", "manual"]);
    assert.ok(last?.message?.startsWith(`sync requested at "${requestedValue(r, "delivery.mooring.dev/sync-requested-at")}"`), last?.message);
    const rec = await expectExit(["reconcile", "app", "invalid", "--wait", "--timeout", "3m"], 1);
    // Not Ready; the reason is no longer SyncFailed: with automated sync off, the reconcile after a failed manual sync
    // reports "automated sync is off; waiting for a manual sync" (OutOfSync), and the failure stays in status.history.
    assert.match(rec.stdout, new RegExp(`✗ Application ${ns.name}/invalid reconciled: Ready=False \\(`));
  });

  void it("sync warns when a deny window blocks manual syncs, and times out (3) while the controller holds the request", STEP, async () => {
    const r = await expectExit(["sync", "frozen-app", "--timeout", "15s"], 3);
    assert.match(r.stderr, /^! a sync window blocks manual syncs now \(InDenyWindow\); /m);
    assert.match(r.stderr, new RegExp(`✗ timed out after 15s waiting for the sync of Application ${ns.name}/frozen-app; it stays requested`));
    await untilApp("frozen-app", "the manual request held back by the window", (a) => /^manual sync blocked by/.test(condOf(a, "Synced")?.message ?? ""));
    assert.equal(await getCm("frozen-cm"), undefined);
    assert.match((await expectExit(["sync", "frozen-app", "--no-wait"], 0)).stderr, /a sync window blocks manual syncs now/);
  });
});

void describe("mooring suspend and resume", () => {
  void it("toggle spec.suspend; a suspended Application cannot be synced (2); get apps says suspended", STEP, async () => {
    assert.match((await expectExit(["suspend", "web"], 0)).stdout, new RegExp(`Application ${ns.name}/web suspended: nothing is rendered or synced until 'mooring resume web'`));
    assert.equal((await getApp("web"))?.spec?.suspend, true);
    assert.match((await expectExit(["suspend", "web"], 0)).stdout, /is already suspended/);
    await untilApp("web", "Ready reason Suspended", (a) => condOf(a, "Ready")?.reason === "Suspended");
    const rows = JSON.parse((await expectExit(["get", "apps", "-o", "json"], 0)).stdout) as AppRow[];
    const web = rows.find((x) => x.name === "web")!;
    assert.equal(web.suspended, true);
    assert.match(web.message, /^suspended; the Application is suspended/);
    const sync = await expectExit(["sync", "web"], 2);
    assert.match(sync.stderr, new RegExp(`^mooring: Application ${ns.name}/web is suspended; run 'mooring resume web' first$`, "m"));

    assert.match((await expectExit(["resume", "web"], 0)).stdout, new RegExp(`Application ${ns.name}/web resumed`));
    assert.equal((await getApp("web"))?.spec?.suspend, false);
    assert.match((await expectExit(["resume", "web"], 0)).stdout, /is already active/);
    await untilApp("web", "Ready again after resume", (a) => condOf(a, "Ready")?.status === "True" && condOf(a, "Ready")?.reason === "Succeeded" && a.status?.observedGeneration === a.metadata?.generation);
    await expectExit(["reconcile", "application", "web", "--wait", "--timeout", "3m"], 0);
    assert.match((await expectExit(["suspend", "ghost"], 2)).stderr, /Application .*\/ghost not found/);
  });
});

void describe("mooring tree and diff on the other Applications", () => {
  void it("tree exits 0 when every applied object is Healthy, 2 for a missing Application", STEP, async () => {
    const tree = await expectExit(["tree", "web"], 0);
    assert.match(tree.stdout, new RegExp(`^Application ${ns.name}/web\\s+main@sha1:${short(appsSha)}\\s+Synced\\s+Healthy\\n├── ConfigMap ${ns.name}/web-config\\s+Healthy\\n└── Service ${ns.name}/web\\s+Healthy\\n$`));
    const nodes = JSON.parse((await expectExit(["tree", "web", "-o", "json"], 0)).stdout) as { id: string; health: string; drifted: boolean }[];
    assert.deepEqual(nodes.map((n) => [n.id, n.health, n.drifted]), [[`${ns.name}_web-config__ConfigMap`, "Healthy", false], [`${ns.name}_web__Service`, "Healthy", false]]);
    assert.match((await expectExit(["tree", "ghost"], 2)).stderr, /Application .*\/ghost not found/);
  });

  void it("diff exits 0 for an Application in sync (the Service's server defaults are no difference)", STEP, async () => {
    const r = await expectExit(["diff", "web"], 0);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /0 objects differ \(0 created, 0 changed, 0 pruned\), 2 unchanged/);
  });

  void it("diff notes a field another manager owns, and exits 2 for an object another Application owns", STEP, async () => {
    const r = await expectExit(["diff", "contested", "--color", "never"], 2);
    assert.match(r.stdout, new RegExp(`^# ${ns.name}_contest-cm__ConfigMap: changed \\(apply conflict \\(.*someone-else.*\\): the sync fails here unless the SyncPolicy sets options\\.force\\)$`, "m"));
    assert.match(r.stdout, /^- {2}key: theirs$/m);
    assert.match(r.stdout, /^\+ {2}key: ours$/m);
    assert.match(r.stderr, new RegExp(`^mooring: ${ns.name}_claimed-cm__ConfigMap: managed by Application ${ns.name}\\.other-app: the sync leaves it untouched`, "m"));
    assert.match(r.stderr, /1 object differ \(0 created, 1 changed, 0 pruned\), 0 unchanged, 1 could not be compared/);
    // The dry run changed nothing.
    assert.deepEqual((await getCm("contest-cm"))?.data, { key: "theirs" });
  });

  void it("diff exits 2 without a rendered artifact, for an artifact that does not match its digest, and on usage errors", STEP, async () => {
    assert.match((await expectExit(["diff", "broken"], 2)).stderr, /has no rendered artifact yet/);
    // The artifact replaced under the render controller's feet (its own storage, served by its own server).
    const url = (await getApp("contested"))?.status?.render?.artifact?.url;
    assert.ok(url && operator);
    const file = path.join(operator.storageDir, ...new URL(url).pathname.split("/").filter(Boolean).map(decodeURIComponent));
    await rm(file, { force: true });
    await writeFile(file, "[]");
    assert.match((await expectExit(["diff", "contested"], 2)).stderr, /does not match its digest/);
    assert.match((await expectExit(["diff", "web", "-U", "x"], 2)).stderr, /--unified must be a whole number of lines, got "x"/);
    await expectExit(["diff", "web", "--bogus"], 2);
    await expectExit(["diff", "web", "--color", "sometimes"], 2);
    assert.match((await expectExit(["diff", "ghost"], 2)).stderr, /Application .*\/ghost not found/);
  });
});
