// The operations CLI in process, for what needs no controller: every check here reads and writes the real API server,
// and none writes a Mooring status. Everything that depends on a status (reconcile --wait answered, sync results,
// get apps rows, tree, diff) runs against the real controllers, through the real `mooring` entry point, in
// ./with-controllers.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Annotations, ApplicationKind, GitRepositoryKind, SyncPolicyKind, SyncPolicyStatus, installCrds } from "../../../src/api/index.js";
import { Exit, connect, type Io, type Kube, type Timing } from "../../../src/cli/kube.js";
import { getApps, reconcile, setSuspended, sync } from "../../../src/cli/ops.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";

let c: TestCluster;
let ns: TestNamespace;
let kube: Kube;

const timing: Timing = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), pollMs: 100 };

function capture(color = false): Io & { stdout: string[]; stderr: string[]; all(): string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color, out: (t) => stdout.push(t), err: (t) => stderr.push(t), all: () => [...stdout, ...stderr].join("\n") };
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

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "cli");
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: ns.name });
  await kube.client.create({
    apiVersion: `${GitRepositoryKind.group}/${GitRepositoryKind.version}`,
    kind: "GitRepository",
    metadata: { name: "repo", namespace: ns.name },
    spec: { url: "https://git.example.com/team/app.git", ref: { branch: "main" } },
  });
  await createApp("web");
  await createApp("api", { suspend: true });
});

after(async () => {
  kube?.close();
  await ns?.cleanup();
});

void describe("mooring get apps", () => {
  void it("prints a row for an Application no controller has handled yet: Unknown everywhere, suspended said", async () => {
    const io = capture();
    assert.equal(await getApps(kube, { allNamespaces: false, output: "table" }, io), Exit.ok);
    const [header, ...rows] = io.stdout.join("\n").split("\n");
    assert.match(header!, /^NAME\s+REVISION\s+SYNCED\s+HEALTH\s+READY\s+MESSAGE$/);
    assert.match(rows.find((r) => r.startsWith("api "))!, /^api\s+Unknown\s+Unknown\s+Unknown\s+suspended$/);
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
  void it("with --wait, returns 3 when nothing handles the request in time (no controller runs here)", async () => {
    const late = capture();
    assert.equal(await reconcile(kube, "application", "web", { wait: true, timeoutMs: 300 }, late, timing), Exit.timeout);
    assert.match(late.stderr.join(), /timed out after 0s: the controller has not handled the request yet/);
    assert.ok(await annotationOf(ApplicationKind, "web", Annotations.reconcileRequestedAt), "the request stays");
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
  void it("refuses a suspended Application (2) and returns 3 when no answer comes in time (no controller runs here)", async () => {
    await assert.rejects(sync(kube, "api", { wait: true, timeoutMs: 1000 }, capture(), timing), /suspended; run 'mooring resume api' first/);
    const late = capture();
    assert.equal(await sync(kube, "web", { wait: true, timeoutMs: 300 }, late, timing), Exit.timeout);
    assert.match(late.stderr.join("\n"), /timed out after 0s waiting for the sync of Application .*\/web; it stays requested/);
    assert.ok(await annotationOf(ApplicationKind, "web", Annotations.syncRequestedAt), "the request stays");
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
