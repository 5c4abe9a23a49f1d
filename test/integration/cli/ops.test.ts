// The operations CLI against the real local cluster. The Mooring objects are created through the API and their status
// is written by the test through the status subresource, as the controllers would (they do not run here): every
// command reads and writes the real API server, and the exit codes are checked in process and through the binary.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { Annotations, ApplicationKind, FieldManagers, GitRepositoryKind, SyncPolicyKind, SyncPolicyStatus, installCrds } from "../../../src/api/index.js";
import { canonicalJson } from "../../../src/render/canonical.js";
import { diffApplication, printDiffs } from "../../../src/cli/diff.js";
import { CliError, Exit, connect, type Io, type Kube, type Timing } from "../../../src/cli/kube.js";
import { getApps, reconcile, setSuspended, sync, tree } from "../../../src/cli/ops.js";
import { manualMarker } from "../../../src/apply/policy.js";
import { metaTime, type KubeObject } from "../../../src/runtime/index.js";
import { REPO_ROOT, testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

const run = promisify(execFile);
const ESC = String.fromCharCode(27);

let c: TestCluster;
let ns: TestNamespace;
let kube: Kube;
let server: http.Server;
let artifactBase: string;
/** Bodies the test artifact server answers with, by path. */
const artifacts = new Map<string, string>();

const timing: Timing = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), pollMs: 100 };

function capture(color = false): Io & { stdout: string[]; stderr: string[]; all(): string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color, out: (t) => stdout.push(t), err: (t) => stderr.push(t), all: () => [...stdout, ...stderr].join("\n") };
}

const ready = (status: "True" | "False", message: string, reason = status === "True" ? "Succeeded" : "Failed") => ({
  type: "Ready",
  status,
  reason,
  message,
  lastTransitionTime: metaTime(Date.now()),
});

async function writeStatus(kind: typeof ApplicationKind, name: string, status: Record<string, unknown>, manager: string = FieldManagers.sync): Promise<void> {
  await kube.client.applyStatus({ apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, metadata: { name, namespace: ns.name }, status } as KubeObject, { fieldManager: manager });
}

async function createApp(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await kube.client.create({
    apiVersion: `${ApplicationKind.group}/${ApplicationKind.version}`,
    kind: "Application",
    metadata: { name, namespace: ns.name },
    spec: { sourceRef: { kind: "GitRepository", name: "repo" }, ...spec },
  });
}

async function annotationOf(kind: typeof ApplicationKind, name: string, key: string): Promise<string | undefined> {
  const o = await kube.client.get(kind, name, ns.name);
  return o?.metadata?.annotations?.[key];
}

const cm = (name: string, data: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns.name }, data });

/** Serves `objects` as a rendered artifact and points the Application's status.render at it. */
async function publishRender(app: string, objects: KubeObject[], digestOverride?: string): Promise<void> {
  const body = canonicalJson(objects);
  const { createHash } = await import("node:crypto");
  const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
  const p = `/application/${ns.name}/${app}/${digest.slice(7)}.json`;
  artifacts.set(p, body);
  await writeStatus(ApplicationKind, app, { render: { artifact: { url: artifactBase + p, digest: digestOverride ?? digest, revision: "main@sha1:" + "b".repeat(40), size: body.length } } }, FieldManagers.render);
}

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "cli");
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: ns.name });
  server = http.createServer((req, res) => {
    const body = artifacts.get(req.url ?? "");
    if (body === undefined) res.writeHead(404).end("not found");
    else res.writeHead(200, { "Content-Type": "application/json" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  artifactBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await kube.client.create({
    apiVersion: `${GitRepositoryKind.group}/${GitRepositoryKind.version}`,
    kind: "GitRepository",
    metadata: { name: "repo", namespace: ns.name },
    spec: { url: "https://git.example.com/team/app.git", ref: { branch: "main" } },
  });
  await createApp("web");
  await createApp("api", { suspend: true });
  await writeStatus(ApplicationKind, "web", {
    conditions: [ready("True", "applied revision main@sha1:" + "a".repeat(40) + "; all objects healthy")],
    sync: { status: "Synced", revision: "main@sha1:" + "a".repeat(40) },
    health: { status: "Healthy" },
  });
});

after(async () => {
  kube?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await ns?.cleanup();
});

void describe("mooring get apps", () => {
  void it("prints one line per Application with revision, synced, health, ready and message", async () => {
    const io = capture();
    assert.equal(await getApps(kube, { allNamespaces: false, output: "table" }, io), Exit.ok);
    const [header, ...rows] = io.stdout.join("\n").split("\n");
    assert.match(header!, /^NAME\s+REVISION\s+SYNCED\s+HEALTH\s+READY\s+MESSAGE$/);
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, /^api\s+Unknown\s+Unknown\s+Unknown\s+suspended$/);
    assert.match(rows[1]!, new RegExp(`^web\\s+main@sha1:${"a".repeat(12)}\\s+Synced\\s+Healthy\\s+True\\s+applied revision`));
  });

  void it("adds the namespace with -A and prints rows as JSON or YAML with -o", async () => {
    const all = capture();
    await getApps(kube, { allNamespaces: true, output: "table" }, all);
    assert.match(all.stdout[0]!, /^NAMESPACE\s+NAME\s+REVISION/);
    assert.ok(all.stdout[0]!.split("\n").some((l) => l.startsWith(`${ns.name} `) && l.includes(" web ")));
    const json = capture();
    await getApps(kube, { allNamespaces: false, output: "json" }, json);
    const rows = JSON.parse(json.stdout.join("\n")) as { name: string; revision: string; synced: string; suspended: boolean }[];
    assert.deepEqual(rows.map((r) => [r.name, r.synced, r.suspended]), [["api", "Unknown", true], ["web", "Synced", false]]);
    assert.equal(rows[1]!.revision, "main@sha1:" + "a".repeat(40));
    const yaml = capture();
    await getApps(kube, { allNamespaces: false, output: "yaml" }, yaml);
    assert.match(yaml.stdout.join("\n"), /name: web/);
  });

  void it("says so on stderr when the namespace has no Applications", async () => {
    const empty = connect({ kubeconfig: c.kubeconfigPath, namespace: "kube-public" });
    try {
      const io = capture();
      assert.equal(await getApps(empty, { allNamespaces: false, output: "table" }, io), Exit.ok);
      assert.deepEqual(io.stdout, []);
      assert.match(io.stderr.join(), /No Applications found in kube-public namespace/);
    } finally {
      empty.close();
    }
  });
});

void describe("mooring reconcile", () => {
  void it("sets the annotation and, with --wait, returns 0 once the controller handled it and the object is Ready", async () => {
    const io = capture();
    const cli = reconcile(kube, "gitrepository", "repo", { wait: true, timeoutMs: 30_000 }, io, timing);
    const value = await waitFor("the request annotation", () => annotationOf(GitRepositoryKind, "repo", Annotations.reconcileRequestedAt));
    await writeStatus(GitRepositoryKind, "repo", { lastHandledReconcileAt: value, conditions: [ready("True", "stored artifact for revision 'main@sha1:abc'")] }, FieldManagers.source);
    assert.equal(await cli, Exit.ok);
    assert.match(io.stdout.join(), /GitRepository .*\/repo reconciled: Ready=True \(Succeeded\): stored artifact/);
  });

  void it("returns 1 when the handled object is not Ready, and 3 when nothing handles the request in time", async () => {
    const io = capture();
    const cli = reconcile(kube, "app", "web", { wait: true, timeoutMs: 30_000 }, io, timing);
    const value = await waitFor("the request annotation", async () => {
      const v = await annotationOf(ApplicationKind, "web", Annotations.reconcileRequestedAt);
      return v && v !== ((await kube.client.get(ApplicationKind, "web", ns.name))?.status as { lastHandledReconcileAt?: string } | undefined)?.lastHandledReconcileAt ? v : undefined;
    });
    await writeStatus(ApplicationKind, "web", { lastHandledReconcileAt: value, conditions: [ready("False", "render failed: bad kustomization", "RenderFailed")] });
    assert.equal(await cli, Exit.negative);
    assert.match(io.stdout.join(), /Ready=False \(RenderFailed\)/);
    const late = capture();
    assert.equal(await reconcile(kube, "application", "web", { wait: true, timeoutMs: 300 }, late, timing), Exit.timeout);
    assert.match(late.stderr.join(), /timed out/);
  });

  void it("without --wait only requests; unknown kinds, missing objects and unwaitable kinds are errors (2)", async () => {
    const before = await annotationOf(ApplicationKind, "api", Annotations.reconcileRequestedAt);
    assert.equal(await reconcile(kube, "application", "api", { wait: false, timeoutMs: 1000 }, capture(), timing), Exit.ok);
    assert.notEqual(await annotationOf(ApplicationKind, "api", Annotations.reconcileRequestedAt), before);
    await assert.rejects(reconcile(kube, "deployment", "x", { wait: false, timeoutMs: 1000 }, capture(), timing), /unknown kind "deployment"/);
    await assert.rejects(reconcile(kube, "application", "nope", { wait: false, timeoutMs: 1000 }, capture(), timing), /not found/);
    if (!("lastHandledReconcileAt" in (SyncPolicyStatus as { properties: object }).properties)) {
      await assert.rejects(reconcile(kube, "syncpolicy", "p", { wait: true, timeoutMs: 1000 }, capture(), timing), /--wait cannot tell/);
    }
  });
});

void describe("mooring suspend and resume", () => {
  void it("toggle spec.suspend, say when nothing changes, and fail on a missing Application", async () => {
    const io = capture();
    assert.equal(await setSuspended(kube, "web", true, io), Exit.ok);
    assert.equal(((await kube.client.get(ApplicationKind, "web", ns.name))?.spec as { suspend?: boolean } | undefined)?.suspend, true);
    assert.equal(await setSuspended(kube, "web", true, io), Exit.ok);
    assert.match(io.stdout.join("\n"), /already suspended/);
    assert.equal(await setSuspended(kube, "web", false, io), Exit.ok);
    assert.equal(((await kube.client.get(ApplicationKind, "web", ns.name))?.spec as { suspend?: boolean } | undefined)?.suspend, false);
    await assert.rejects(setSuspended(kube, "ghost", true, io), /Application .*\/ghost not found/);
  });
});

void describe("mooring sync", () => {
  /** Plays the apply controller: progress first, then a history entry answering the request. */
  async function controller(app: string, phase: "Succeeded" | "Failed", message: string): Promise<void> {
    const value = await waitFor("the sync request", () => annotationOf(ApplicationKind, app, Annotations.syncRequestedAt));
    const now = metaTime(Date.now());
    await writeStatus(ApplicationKind, app, { conditions: [{ type: "Reconciling", status: "True", reason: "Progressing", message: "applying 3 objects", lastTransitionTime: now }] });
    await new Promise((r) => setTimeout(r, 400));
    await writeStatus(ApplicationKind, app, {
      conditions: [ready(phase === "Succeeded" ? "True" : "False", message)],
      health: { status: phase === "Succeeded" ? "Healthy" : "Degraded" },
      history: [{ revision: "main@sha1:" + "c".repeat(40), startedAt: now, finishedAt: now, phase, initiatedBy: "manual", message: `${manualMarker(value)}: ${message}` }],
    });
  }

  void it("requests a manual sync, prints progress, and returns 0 with the result when the sync succeeded", async () => {
    await createApp("syncer");
    const io = capture();
    const [code] = await Promise.all([sync(kube, "syncer", { wait: true, timeoutMs: 30_000 }, io, timing), controller("syncer", "Succeeded", "applied 3 object(s)")]);
    assert.equal(code, Exit.ok);
    assert.match(io.stderr.join("\n"), /sync of Application .*\/syncer requested/);
    assert.match(io.stderr.join("\n"), /Reconciling: applying 3 objects/);
    assert.match(io.stdout.join("\n"), new RegExp(`sync Succeeded: revision main@sha1:${"c".repeat(12)}, health Healthy`));
  });

  void it("returns 1 when the sync failed, 2 for a suspended Application, 3 when no answer comes in time", async () => {
    await createApp("failing");
    const io = capture();
    const [code] = await Promise.all([sync(kube, "failing", { wait: true, timeoutMs: 30_000 }, io, timing), controller("failing", "Failed", "1 object(s) could not be applied")]);
    assert.equal(code, Exit.negative);
    assert.match(io.stdout.join("\n"), /sync Failed/);
    await assert.rejects(sync(kube, "api", { wait: true, timeoutMs: 1000 }, capture(), timing), /suspended; run 'mooring resume api' first/);
    const late = capture();
    assert.equal(await sync(kube, "web", { wait: true, timeoutMs: 300 }, late, timing), Exit.timeout);
  });

  void it("warns when a sync window blocks manual syncs", async () => {
    await kube.client.create({
      apiVersion: `${SyncPolicyKind.group}/${SyncPolicyKind.version}`,
      kind: "SyncPolicy",
      metadata: { name: "frozen", namespace: ns.name },
      spec: { windows: [{ kind: "deny", schedule: "* * * * *", duration: "1h" }] },
    });
    await createApp("frozen-app", { syncPolicyRef: { name: "frozen" } });
    const io = capture();
    assert.equal(await sync(kube, "frozen-app", { wait: false, timeoutMs: 1000 }, io, timing), Exit.ok);
    assert.match(io.stderr.join("\n"), /a sync window blocks manual syncs now \(InDenyWindow\)/);
  });
});

void describe("mooring tree", () => {
  void it("lists the inventory with each object's live health and exits 1 unless all are Healthy", async () => {
    await createApp("treed");
    await kube.client.apply(cm("tree-cm", { a: "1" }), { fieldManager: FieldManagers.apply });
    await kube.client.apply(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "tree-deploy", namespace: ns.name },
        spec: { replicas: 1, selector: { matchLabels: { app: "t" } }, template: { metadata: { labels: { app: "t" } }, spec: { containers: [{ name: "c", image: "registry.example/t:1" }] } } },
      },
      { fieldManager: FieldManagers.apply },
    );
    const inventory = [
      { id: `${ns.name}_tree-cm__ConfigMap`, v: "v1" },
      { id: `${ns.name}_tree-deploy_apps_Deployment`, v: "apps/v1" },
      { id: `${ns.name}_tree-gone__Secret`, v: "v1" },
    ];
    await writeStatus(ApplicationKind, "treed", { sync: { status: "Synced", inventory, drifted: [`${ns.name}_tree-cm__ConfigMap`] } });
    const io = capture();
    assert.equal(await tree(kube, "treed", { output: "tree" }, io), Exit.negative);
    const lines = io.stdout;
    assert.match(lines[0]!, /^Application .*\/treed/);
    assert.match(lines.find((l) => l.includes("tree-cm"))!, /^├── ConfigMap .*\/tree-cm\s+Healthy\s+drifted$/);
    assert.match(lines.find((l) => l.includes("tree-gone"))!, /^└── Secret .*\/tree-gone\s+Missing\s+not found in the cluster$/);
    assert.ok(lines.find((l) => l.includes("tree-deploy")), "the Deployment is listed");
    const json = capture();
    await tree(kube, "treed", { output: "json" }, json);
    const nodes = JSON.parse(json.stdout.join("")) as { name: string; health: string; drifted: boolean }[];
    // The Deployment's health depends on how fast the cluster rolls it out: only its presence is checked.
    assert.deepEqual(nodes.map((n) => [n.name, n.drifted]), [["tree-cm", true], ["tree-deploy", false], ["tree-gone", false]]);
    assert.deepEqual([nodes[0]!.health, nodes[2]!.health], ["Healthy", "Missing"]);

    await writeStatus(ApplicationKind, "treed", { sync: { status: "Synced", inventory: [inventory[0]!], drifted: [] } });
    assert.equal(await tree(kube, "treed", { output: "tree" }, capture()), Exit.ok);
  });
});

void describe("mooring diff", () => {
  const svc = (): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "diff-svc", namespace: ns.name },
    // No protocol, no targetPort: the API server defaults them, and that is not a difference.
    spec: { selector: { app: "x" }, ports: [{ port: 80 }] },
  });

  void it("shows created, changed and pruned objects as a unified YAML diff from a server-side dry run, and exits 1", async () => {
    await createApp("differ", { ignoreDifferences: [{ kind: "ConfigMap", name: "diff-ignored", jsonPointers: ["/data/x"] }] });
    for (const o of [cm("diff-same", { a: "1" }), cm("diff-changed", { a: "1", keep: "k" }), cm("diff-ignored", { keep: "k" }), cm("diff-old", { z: "1" }), svc()]) {
      await kube.client.apply(o, { fieldManager: FieldManagers.apply });
    }
    // Another controller owns data.x (as an autoscaler owns replicas): ignored, it is neither compared nor applied.
    await kube.client.apply(cm("diff-ignored", { x: "live" }), { fieldManager: "another-controller" });
    await publishRender("differ", [cm("diff-same", { a: "1" }), cm("diff-changed", { a: "2", keep: "k" }), cm("diff-new", { n: "1" }), cm("diff-ignored", { keep: "k", x: "git" }), svc()]);
    await writeStatus(ApplicationKind, "differ", { sync: { status: "OutOfSync", inventory: [{ id: `${ns.name}_diff-old__ConfigMap`, v: "v1" }] } });

    const { diffs } = await diffApplication(kube.client, { namespace: ns.name, name: "differ" });
    const byName = new Map(diffs.map((d) => [d.id.split("_")[1], d]));
    assert.equal(byName.get("diff-same")?.change, "unchanged");
    assert.equal(byName.get("diff-svc")?.change, "unchanged", "server defaults (protocol, targetPort) are not a difference");
    assert.equal(byName.get("diff-ignored")?.change, "unchanged", "ignoreDifferences pointers are left out");
    assert.equal(byName.get("diff-changed")?.change, "changed");
    assert.equal(byName.get("diff-new")?.change, "created");
    assert.equal(byName.get("diff-old")?.change, "pruned");

    const io = capture();
    assert.equal(printDiffs(diffs, io), Exit.negative);
    const out = io.stdout.join("\n");
    assert.match(out, /--- live\/.*_diff-changed__ConfigMap\n\+\+\+ sync\/.*_diff-changed__ConfigMap/);
    assert.match(out, /^- {2}a: "1"$/m);
    assert.match(out, /^\+ {2}a: "2"$/m);
    assert.match(out, /^ {3}keep: k$/m, "context lines are kept");
    assert.match(out, /--- \/dev\/null\n\+\+\+ sync\/.*_diff-new__ConfigMap/);
    assert.ok(!/uid:|creationTimestamp|managedFields|resourceVersion/.test(out.split("diff-new")[1]!.split("# ")[0]!), "server-invented fields are not shown for new objects");
    assert.match(out, /# .*_diff-old__ConfigMap: pruned/);
    assert.doesNotMatch(out, /diff-same|diff-svc/);
    assert.match(io.stderr.join(), /3 objects differ \(1 created, 1 changed, 1 pruned\), 3 unchanged/);
    const coloured = capture(true);
    printDiffs(diffs, coloured);
    assert.match(coloured.stdout.join("\n"), new RegExp(`${ESC}\\[31m- {2}a: "1"${ESC}\\[0m`));
    assert.match(coloured.stdout.join("\n"), new RegExp(`${ESC}\\[32m\\+ {2}a: "2"${ESC}\\[0m`));
  });

  void it("follows the policy: a field another manager owns is a noted conflict, an object of another Application an error (2)", async () => {
    await createApp("contested");
    await kube.client.apply(cm("contest-cm", { key: "theirs" }), { fieldManager: "someone-else" });
    const claimed = cm("claimed-cm", { a: "1" });
    claimed.metadata!.labels = { "delivery.mooring.dev/application": `${ns.name}.other-app` };
    await kube.client.apply(claimed, { fieldManager: FieldManagers.apply });
    await publishRender("contested", [cm("contest-cm", { key: "ours" })]);
    const { diffs } = await diffApplication(kube.client, { namespace: ns.name, name: "contested" });
    const d = diffs[0]!;
    assert.equal(d.change, "changed");
    assert.match(d.change === "changed" ? (d.note ?? "") : "", /apply conflict .*someone-else.*unless the SyncPolicy sets options\.force/);
    assert.match(d.change === "changed" ? d.patch : "", /^\+ {2}key: ours$/m);

    await publishRender("contested", [cm("claimed-cm", { a: "2" })]);
    const second = await diffApplication(kube.client, { namespace: ns.name, name: "contested" });
    assert.deepEqual(second.diffs.map((x) => x.change), ["error"]);
    const io = capture();
    assert.equal(printDiffs(second.diffs, io), Exit.error);
    assert.match(io.stderr.join("\n"), new RegExp(`claimed-cm__ConfigMap: managed by Application ${ns.name}\\.other-app`));
  });

  void it("exits 0 when the cluster matches and 2 when the artifact is missing or does not match its digest", async () => {
    await createApp("matcher");
    await kube.client.apply(cm("match-cm", { a: "1" }), { fieldManager: FieldManagers.apply });
    await publishRender("matcher", [cm("match-cm", { a: "1" })]);
    const same = capture();
    assert.equal(printDiffs((await diffApplication(kube.client, { namespace: ns.name, name: "matcher" })).diffs, same), Exit.ok);
    assert.deepEqual(same.stdout, []);
    assert.match(same.stderr.join(), /0 objects differ/);
    await publishRender("matcher", [cm("match-cm", { a: "1" })], "sha256:" + "0".repeat(64));
    await assert.rejects(diffApplication(kube.client, { namespace: ns.name, name: "matcher" }), (err: CliError) => err.exitCode === Exit.error && /does not match its digest/.test(err.message));
    await assert.rejects(diffApplication(kube.client, { namespace: ns.name, name: "web" }), (err: CliError) => err.exitCode === Exit.error && /has no rendered artifact yet/.test(err.message));
  });

  void it("the mooring binary exits 1 with the diff on stdout when objects differ, and 2 on a usage error", async () => {
    await publishRender("matcher", [cm("match-cm", { a: "2" })]);
    const cli = path.join(REPO_ROOT, "test/support/cli-main.ts");
    const flags = ["--kubeconfig", c.kubeconfigPath, "-n", ns.name];
    await assert.rejects(run(process.execPath, ["--import", "tsx", cli, "diff", "matcher", "--color", "never", ...flags], { cwd: REPO_ROOT }), (err: { code?: number; stdout?: string; stderr?: string }) => {
      assert.equal(err.code, Exit.negative);
      assert.match(err.stdout ?? "", /^\+ {2}a: "2"$/m);
      assert.match(err.stderr ?? "", /1 object differ/);
      return true;
    });
    await assert.rejects(run(process.execPath, ["--import", "tsx", cli, "sync", "web", "--bogus", ...flags], { cwd: REPO_ROOT }), (err: { code?: number }) => err.code === Exit.error);
  });
});

