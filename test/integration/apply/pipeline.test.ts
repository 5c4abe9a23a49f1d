// The three controllers together on one Manager, as the operator runs them: a commit to a real git server is
// fetched (source), rendered (render) and applied (apply); a change is updated; a removed file is pruned.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import { startArtifactServer, type RunningServer } from "../../../src/artifact/server.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { Annotations, ApplicationKind, GitRepositoryKind, installCrds } from "../../../src/api/index.js";
import { setupApplyController } from "../../../src/apply/controller.js";
import { createLogger } from "../../../src/log.js";
import { setupRenderController } from "../../../src/render/controller.js";
import { Client, Kinds, Manager, RestClient, RestMapper, type KubeObject } from "../../../src/runtime/index.js";
import { setupSourceController } from "../../../src/source/controller.js";
import { testCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

let ns: TestNamespace;
let git: GitServer;
let repo: TestRepo;
let admin: Client;
let rest: RestClient;
let dir = "";
const servers: RunningServer[] = [];
const stop = new AbortController();
let running: Promise<void> | undefined;

type App = KubeObject & { status?: { conditions?: { type: string; status: string; message: string }[]; sync?: { inventory?: { id: string }[] }; history?: { revision: string }[] } };

const CM = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  value: ${value}\n`;
const SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n";

before(async () => {
  const c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "apply-pipe");
  rest = RestClient.fromKubeConfig(c.kc, { qps: 100, burst: 100 });
  admin = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "test" });
  git = await GitServer.start();
  repo = await git.createRepo("app", { files: { "deploy/cm.yaml": CM("one"), "deploy/sa.yaml": SA } });
  dir = await mkdtemp(path.join(os.tmpdir(), "mooring-apply-pipe-"));
  const sourceStorage = new ArtifactStorage({ root: path.join(dir, "source") });
  const renderStorage = new ArtifactStorage({ root: path.join(dir, "render") });
  await sourceStorage.init();
  await renderStorage.init();
  const sourceServer = await startArtifactServer("127.0.0.1:0", { root: sourceStorage.root });
  const renderServer = await startArtifactServer("127.0.0.1:0", { root: renderStorage.root });
  servers.push(sourceServer, renderServer);
  const mgr = new Manager({ kubeConfig: c.kc, namespace: ns.name, registry: new Registry(), logger: createLogger({ level: "warn" }) });
  setupSourceController(mgr, { storage: sourceStorage, advertisedAddr: `127.0.0.1:${sourceServer.port}`, tmpDir: dir, concurrency: 2 });
  setupRenderController(mgr, { storage: renderStorage, advertisedAddr: `127.0.0.1:${renderServer.port}`, cacheDir: path.join(dir, "cache"), concurrency: 2 });
  setupApplyController(mgr, { defaultServiceAccount: undefined, watchNamespace: ns.name, concurrency: 2 });
  running = mgr.start(stop.signal);
  await admin.create({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name: "repo", namespace: ns.name }, spec: { url: repo.url, ref: { branch: "main" }, interval: "10m", timeout: "20s" } });
});

after(async () => {
  // Applications and GitRepositories carry finalizers: delete them while their controllers still run.
  for (const kind of [ApplicationKind, GitRepositoryKind]) {
    for (const o of await admin.list(kind, { namespace: ns.name }).catch(() => [])) await admin.delete(o).catch(() => {});
    await waitFor(`${kind.kind}s deleted`, async () => (await admin.list(kind, { namespace: ns.name })).length === 0, { timeoutMs: 30_000 }).catch(() => {});
  }
  stop.abort();
  await running?.catch(() => {});
  for (const s of servers) await s.close();
  await git?.close();
  rest?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  await ns?.cleanup();
});

const getApp = () => admin.get<App>(ApplicationKind, "web", ns.name);
const ready = (a: App | undefined) => a?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");

async function pushAndRequest(files: Record<string, string | null>): Promise<string> {
  const sha = await repo.commit(files);
  const gr = await admin.get(GitRepositoryKind, "repo", ns.name);
  await admin.patch(gr!, { metadata: { annotations: { [Annotations.reconcileRequestedAt]: `${Date.now()}` } } }, "merge");
  return sha;
}

describe("source → render → apply", () => {
  it("a commit is applied, with the labels the render controller sets", async () => {
    await admin.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "web", namespace: ns.name }, spec: { sourceRef: { kind: "GitRepository", name: "repo" }, path: "deploy" } });
    const a = await waitFor("Application Ready", async () => { const a = await getApp(); return ready(a) && a; }, { timeoutMs: 90_000 });
    assert.equal(a.status?.sync?.inventory?.length, 2);
    const cm = await admin.get(Kinds.ConfigMap, "greeting", ns.name);
    assert.deepEqual(cm?.data, { value: "one" });
    assert.equal(cm?.metadata?.labels?.["delivery.mooring.dev/application"], `${ns.name}.web`);
    assert.ok(await admin.get(Kinds.ServiceAccount, "web", ns.name));
  });

  it("a change is updated and a removed file is pruned", async () => {
    const sha = await pushAndRequest({ "deploy/cm.yaml": CM("two"), "deploy/sa.yaml": null });
    await waitFor("ConfigMap updated", async () => ((await admin.get(Kinds.ConfigMap, "greeting", ns.name))?.data as Record<string, string>)?.value === "two", { timeoutMs: 90_000 });
    await waitFor("ServiceAccount pruned", async () => (await admin.get(Kinds.ServiceAccount, "web", ns.name)) === undefined, { timeoutMs: 30_000 });
    const a = await waitFor("history names the new revision", async () => { const a = await getApp(); return a?.status?.history?.[0]?.revision.endsWith(sha) && a; });
    assert.equal(a.status?.sync?.inventory?.length, 1);
  });
});
