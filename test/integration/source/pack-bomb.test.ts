// A pack bomb served by the real git server (git http-backend): a commit holding 40 MB of zeros, which git sends as
// a pack of a few tens of KB. The operator (the real entry point, source controller, --max-object-size=16Mi as the
// chart would pass for a small container) refuses it with FetchFailed naming the limit, on every poll, and keeps
// running: another GitRepository is fetched before and after, and its new commits too.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Annotations, GitRepositoryKind, installCrds } from "../../../src/api/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

const G = { group: GitRepositoryKind.group, version: GitRepositoryKind.version, plural: GitRepositoryKind.plural };
interface Cond { type: string; status: string; reason?: string; message?: string }
interface Repo { metadata: { name: string }; status?: { artifact?: { revision: string; url: string }; conditions?: Cond[] } }
const cond = (o: Repo | undefined, t: string) => o?.status?.conditions?.find((c) => c.type === t);

let c: TestCluster;
let ns: TestNamespace;
let git: GitServer;
let bomb: TestRepo;
let good: TestRepo;
let op: RunningOperator | undefined;
let custom: k8s.CustomObjectsApi;
let tmp: string;

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "packbomb");
  git = await GitServer.start();
  tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-packbomb-"));
  good = await git.createRepo("good", { files: { "deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n" } });
  bomb = await git.createRepo("bomb", { files: { "deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\n", "zeros.bin": Buffer.alloc(40_000_000) } });
  for (const r of [good, bomb]) {
    await custom.createNamespacedCustomObject({
      ...G,
      namespace: ns.name,
      body: { apiVersion: `${G.group}/${G.version}`, kind: "GitRepository", metadata: { name: r.name }, spec: { url: r.url, ref: { branch: "main" }, interval: "10m", timeout: "60s" } },
    });
  }
  op = await startOperator({ kubeconfigPath: c.kubeconfigPath, controllers: ["source"], watchNamespace: ns.name, args: ["--max-object-size=16Mi"], env: { TMPDIR: tmp } });
});

after(async () => {
  // Finalizers are removed by the source controller: delete while it runs.
  for (const name of ["good", "bomb"]) await custom.deleteNamespacedCustomObject({ ...G, namespace: ns.name, name }).catch(() => {});
  await waitFor("GitRepositories deleted", async () => ((await custom.listNamespacedCustomObject({ ...G, namespace: ns.name })) as { items: unknown[] }).items.length === 0, { timeoutMs: 30_000 }).catch(() => {});
  await op?.stop();
  await ns?.cleanup();
  await git?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const get = async (name: string) => (await custom.getNamespacedCustomObject({ ...G, namespace: ns.name, name })) as Repo;
const requestReconcile = (name: string) =>
  custom.patchNamespacedCustomObject(
    { ...G, namespace: ns.name, name, body: { metadata: { annotations: { [Annotations.reconcileRequestedAt]: `${Date.now()}-${Math.random()}` } } } },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );

void describe("a pack bomb against the source controller", () => {
  void it("is refused with FetchFailed naming the limit, while the operator keeps serving other GitRepositories", async () => {
    const refused = await waitFor("the bomb refused", async () => {
      const r = await get("bomb");
      return cond(r, "FetchFailed")?.status === "True" ? r : undefined;
    }, { timeoutMs: 90_000 });
    const failed = cond(refused, "FetchFailed")!;
    assert.equal(failed.reason, "GitOperationFailed", "the API's reason for a failed fetch");
    assert.match(failed.message!, /the blob at offset \d+ inflates past the 16Mi limit on one object \(40000000 bytes; --max-object-size/);
    assert.equal(cond(refused, "Ready")?.status, "False");
    assert.equal(refused.status?.artifact, undefined, "nothing stored");
    assert.ok(git.stats.packBytes < 1_000_000, `the bomb is small on the wire (${git.stats.packBytes} bytes of packs served)`);

    const ok = await waitFor("the good repository fetched", async () => {
      const r = await get("good");
      return cond(r, "Ready")?.status === "True" ? r : undefined;
    }, { timeoutMs: 90_000 });
    assert.equal((await fetch(ok.status!.artifact!.url)).status, 200);

    // Every poll of the bomb is refused the same way; the process neither dies nor restarts.
    const before = git.stats.uploadPacks;
    await requestReconcile("bomb");
    await waitFor("the bomb fetched again", async () => git.stats.uploadPacks > before, { timeoutMs: 60_000 });
    const next = await good.commit({ "deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good-two\n" }, "two");
    await requestReconcile("good");
    await waitFor("the good repository at its new commit", async () => (await get("good")).status?.artifact?.revision.endsWith(next) === true, { timeoutMs: 60_000 });
    assert.match(cond(await get("bomb"), "FetchFailed")!.message!, /inflates past the 16Mi limit/);
    assert.equal((await fetch(`${op!.healthUrl}/healthz`)).status, 200);
    const exited = await Promise.race([op!.exited, new Promise((r) => setTimeout(() => r("running"), 100))]);
    assert.equal(exited, "running", "the operator process is still the first one");
  });
});
