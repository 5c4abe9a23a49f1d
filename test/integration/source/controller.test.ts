// The GitRepository controller on the real local cluster, fetching from the real git server: status and
// artifact, a new push picked up on request and by webhook, failures reported per object without affecting others,
// the last good artifact kept on failure, and artifacts removed on deletion.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { startArtifactServer, type RunningServer } from "../../../src/artifact/server.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { Annotations, FieldManagers, GitRepositoryKind, installCrds } from "../../../src/api/index.js";
import { createLogger } from "../../../src/log.js";
import { Manager } from "../../../src/runtime/index.js";
import { setupSourceController, type SourceController } from "../../../src/source/controller.js";
import { normalizeRepoUrl } from "../../../src/source/webhook.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface GitRepo {
  metadata: { name: string; namespace: string; finalizers?: string[]; annotations?: Record<string, string> };
  status?: {
    conditions?: Cond[];
    artifact?: { url: string; revision: string; digest: string; size?: number };
    lastHandledReconcileAt?: string;
    observedGeneration?: number;
  };
}

const G = { group: GitRepositoryKind.group, version: GitRepositoryKind.version, plural: GitRepositoryKind.plural };

let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;
let server: GitServer;
let repo: TestRepo;
let storageDir: string;
let storage: ArtifactStorage;
let artifacts: RunningServer;
let mgr: Manager;
let source: SourceController;
const stop = new AbortController();
let running: Promise<void>;

const cond = (o: GitRepo | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);

async function get(name: string): Promise<GitRepo | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({ ...G, namespace: ns.name, name })) as GitRepo;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  }
}

async function create(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...G,
    namespace: ns.name,
    body: { apiVersion: `${G.group}/${G.version}`, kind: "GitRepository", metadata: { name }, spec: { interval: "10m", timeout: "20s", ...spec } },
  });
}

async function requestReconcile(name: string): Promise<string> {
  const value = new Date().toISOString() + Math.random();
  await custom.patchNamespacedCustomObject(
    { ...G, namespace: ns.name, name, body: { metadata: { annotations: { [Annotations.reconcileRequestedAt]: value } } } },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );
  return value;
}

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "src");
  await waitFor("gitrepositories served", async () => Boolean(await custom.listNamespacedCustomObject({ ...G, namespace: ns.name })), { timeoutMs: 30_000 });
  server = await GitServer.start({ basicAuth: { username: "git", password: "pw-controller-test" } });
  repo = await server.createRepo("app", { files: { "deploy/cm.yaml": "kind: ConfigMap\n" } });
  storageDir = await mkdtemp(path.join(os.tmpdir(), "mooring-srcctl-"));
  storage = new ArtifactStorage({ root: path.join(storageDir, "storage") });
  await storage.init();
  artifacts = await startArtifactServer("127.0.0.1:0", { root: storage.root });
  await c.core.createNamespacedSecret({
    namespace: ns.name,
    body: { metadata: { name: "git-auth" }, stringData: { username: "git", password: "pw-controller-test" } },
  });
  await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "half" }, stringData: { username: "git" } } });
  mgr = new Manager({ kubeConfig: c.kc, namespace: ns.name, registry: new Registry(), fieldManager: FieldManagers.source, logger: createLogger({ level: "warn" }) });
  source = setupSourceController(mgr, { storage, advertisedAddr: `127.0.0.1:${artifacts.port}`, tmpDir: storageDir, concurrency: 2, failureBackoffMs: 500 });
  running = mgr.start(stop.signal);
});

after(async () => {
  // Delete our objects while the controller still runs, so their finalizers are removed and the namespace can go.
  if (ns && custom) {
    const list = (await custom.listNamespacedCustomObject({ ...G, namespace: ns.name })) as { items: GitRepo[] };
    for (const o of list.items) await custom.deleteNamespacedCustomObject({ ...G, namespace: ns.name, name: o.metadata.name });
    await waitFor("GitRepositories deleted", async () => ((await custom.listNamespacedCustomObject({ ...G, namespace: ns.name })) as { items: unknown[] }).items.length === 0, {
      timeoutMs: 30_000,
    });
  }
  stop.abort();
  await running?.catch(() => {});
  await ns?.cleanup();
  await artifacts?.close();
  await server?.close();
  if (storageDir) await rm(storageDir, { recursive: true, force: true });
});

void describe("GitRepository controller", () => {
  void it("stores an artifact, serves it, and reports Ready with revision and digest", async () => {
    await create("app", { url: repo.url, ref: { branch: "main" }, secretRef: { name: "git-auth" } });
    const head = await repo.head();
    const obj = await waitFor("app Ready", async () => {
      const o = await get("app");
      return cond(o, "Ready")?.status === "True" ? o : undefined;
    }, { timeoutMs: 60_000 });
    const a = obj.status!.artifact!;
    assert.equal(a.revision, `main@sha1:${head}`);
    assert.equal(cond(obj, "ArtifactInStorage")?.status, "True");
    assert.equal(cond(obj, "FetchFailed"), undefined);
    assert.ok(obj.metadata.finalizers?.includes("source.mooring.dev/finalizer"));
    const res = await fetch(a.url);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(`sha256:${createHash("sha256").update(body).digest("hex")}`, a.digest);
    assert.equal(a.size, body.length);
  });

  void it("picks up a new commit when a reconcile is requested, and records lastHandledReconcileAt", async () => {
    const next = await repo.commit({ "deploy/cm.yaml": "kind: ConfigMap\ndata: {a: b}\n" }, "second");
    const value = await requestReconcile("app");
    const obj = await waitFor("new revision and the request handled", async () => {
      const o = await get("app");
      return o?.status?.lastHandledReconcileAt === value ? o : undefined;
    }, { timeoutMs: 60_000 });
    assert.equal(obj.status!.artifact!.revision, `main@sha1:${next}`);
  });

  void it("a webhook push triggers the matching GitRepository only", async () => {
    const next = await repo.commit({ "deploy/cm.yaml": "kind: ConfigMap\ndata: {c: d}\n" }, "third");
    const n = await source.triggerPush({ provider: "generic", urls: [normalizeRepoUrl(repo.url)], ref: "refs/heads/main", branch: "main" });
    assert.equal(n, 1);
    assert.equal(await source.triggerPush({ provider: "generic", urls: [normalizeRepoUrl(repo.url)], ref: "refs/heads/other", branch: "other" }), 0);
    await waitFor("revision after webhook", async () => (await get("app"))?.status?.artifact?.revision === `main@sha1:${next}`, { timeoutMs: 60_000 });
  });

  void it("reports a missing branch and a Secret missing its keys per object, without touching the others", async () => {
    await create("nobranch", { url: repo.url, ref: { branch: "nope" }, secretRef: { name: "git-auth" } });
    await create("badsecret", { url: repo.url, secretRef: { name: "half" } });
    await create("nosecret", { url: repo.url, secretRef: { name: "does-not-exist" } });
    const nb = await waitFor("nobranch FetchFailed", async () => {
      const o = await get("nobranch");
      return cond(o, "FetchFailed")?.status === "True" ? o : undefined;
    }, { timeoutMs: 60_000 });
    assert.equal(cond(nb, "FetchFailed")!.reason, "RefNotFound");
    assert.match(cond(nb, "FetchFailed")!.message, /branch "nope" not found/);
    assert.equal(cond(nb, "Ready")!.status, "False");
    assert.equal(cond(nb, "ArtifactInStorage")!.status, "False");
    for (const [name, pattern] of [["badsecret", /has username but no password/], ["nosecret", /Secret "does-not-exist" .* not found/]] as const) {
      const o = await waitFor(`${name} FetchFailed`, async () => {
        const x = await get(name);
        return cond(x, "FetchFailed")?.status === "True" ? x : undefined;
      }, { timeoutMs: 60_000 });
      assert.equal(cond(o, "FetchFailed")!.reason, "CredentialsInvalid");
      assert.match(cond(o, "FetchFailed")!.message, pattern);
      assert.doesNotMatch(JSON.stringify(o.status), /pw-controller-test/);
    }
    assert.equal(cond(await get("app"), "Ready")?.status, "True");
  });

  void it("keeps serving the last good artifact when the server fails, and says why", async () => {
    const before1 = (await get("app"))!.status!.artifact!;
    server.failStatus = 500;
    try {
      await requestReconcile("app");
      const o = await waitFor("app FetchFailed", async () => {
        const x = await get("app");
        return cond(x, "FetchFailed")?.status === "True" ? x : undefined;
      }, { timeoutMs: 60_000 });
      assert.equal(cond(o, "FetchFailed")!.reason, "Unreachable");
      assert.match(cond(o, "FetchFailed")!.message, /HTTP 500/);
      assert.equal(cond(o, "ArtifactInStorage")!.status, "True");
      assert.deepEqual(o.status!.artifact, before1);
      assert.equal((await fetch(before1.url)).status, 200);
    } finally {
      server.failStatus = undefined;
    }
    await requestReconcile("app");
    await waitFor("app recovers", async () => {
      const x = await get("app");
      return cond(x, "Ready")?.status === "True" && !cond(x, "FetchFailed");
    }, { timeoutMs: 60_000 });
  });

  void it("retries a failed fetch with backoff, long before its interval, and recovers by itself", async () => {
    server.failStatus = 503;
    const before = server.stats.requests;
    try {
      await create("flaky", { url: repo.url, ref: { branch: "main" }, interval: "1h", secretRef: { name: "git-auth" } });
      await waitFor("flaky FetchFailed", async () => cond(await get("flaky"), "FetchFailed")?.status === "True", { timeoutMs: 30_000 });
      // Retries at ~0.5 s, 1 s, 2 s…: several attempts within a few seconds, with the interval an hour away.
      await waitFor("retries", async () => server.stats.requests - before >= 3, { timeoutMs: 20_000 });
    } finally {
      server.failStatus = undefined;
    }
    await waitFor("flaky recovers without a reconcile request", async () => cond(await get("flaky"), "Ready")?.status === "True", { timeoutMs: 30_000 });
  });

  void it("a retryable failure after a stalled one is no longer Stalled (it is retried by itself)", async () => {
    await create("respec", { url: repo.url, ref: { semver: "not a range!!" }, secretRef: { name: "git-auth" } });
    await waitFor("respec Stalled on the invalid spec", async () => cond(await get("respec"), "Stalled")?.reason === "InvalidSpec", { timeoutMs: 30_000 });
    server.failStatus = 503;
    try {
      await custom.patchNamespacedCustomObject(
        { ...G, namespace: ns.name, name: "respec", body: { spec: { ref: { branch: "main", semver: null } } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
      const o = await waitFor("respec failing to reach the server", async () => {
        const x = await get("respec");
        return cond(x, "FetchFailed")?.reason === "Unreachable" ? x : undefined;
      }, { timeoutMs: 30_000 });
      assert.equal(cond(o, "Ready")?.reason, "Unreachable");
      assert.equal(cond(o, "Stalled"), undefined, "the invalid spec's Stalled is gone");
    } finally {
      server.failStatus = undefined;
    }
    await waitFor("respec Ready", async () => cond(await get("respec"), "Ready")?.status === "True", { timeoutMs: 30_000 });
  });

  void it("removes the object's artifacts on deletion, then the finalizer", async () => {
    const url = (await get("app"))!.status!.artifact!.url;
    await custom.deleteNamespacedCustomObject({ ...G, namespace: ns.name, name: "app" });
    await waitFor("app gone", async () => (await get("app")) === undefined, { timeoutMs: 60_000 });
    assert.deepEqual(await storage.list({ kind: "GitRepository", namespace: ns.name, name: "app" }), []);
    assert.equal((await fetch(url)).status, 404);
  });
});
