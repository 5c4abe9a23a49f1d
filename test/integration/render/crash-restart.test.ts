// A render the operator dies during is remembered across restarts: the real entry point (source and render
// controllers, as a child process) is killed with SIGKILL in the middle of a long render, as the kernel's OOM killer
// would; the restarted process tries that input once more (alone, so that an input rendered beside it the first time
// is not blamed), is killed again, and the third refuses it with Rendered=False saying why, instead of dying on it
// in a loop, while it keeps rendering the other Applications.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { installCrds } from "../../../src/api/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";
import { A, G, cond, type App } from "./harness.js";

let c: TestCluster;
let ns: TestNamespace;
let git: GitServer;
let repo: TestRepo;
let tmp: string;
let custom: k8s.CustomObjectsApi;
const running: RunningOperator[] = [];

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "rcrash");
  git = await GitServer.start();
  tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-rcrash-"));
  repo = await git.createRepo("app", {
    files: {
      "plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  v: one\n",
      "slow/Chart.yaml": "name: slow\nversion: 1.0.0\n",
      "slow/values.yaml": `items: [${Array.from({ length: 500 }, (_, i) => i).join(", ")}]\n`,
      // 125 million empty iterations: tens of seconds of rendering, little memory; the test kills the process meanwhile.
      "slow/templates/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow\ndata:\n  v: "{{#each values.items}}{{#each @root.values.items}}{{#each @root.values.items}}{{/each}}{{/each}}{{/each}}"\n',
    },
  });
  const body = (kind: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: `${kind === "GitRepository" ? G.group : A.group}/v1alpha1`, kind, metadata: { name }, spec });
  await custom.createNamespacedCustomObject({ ...G, namespace: ns.name, body: body("GitRepository", "repo", { url: repo.url, ref: { branch: "main" }, interval: "10m", timeout: "30s" }) });
  for (const [name, p] of [["slow", "slow"], ["ok", "plain"]]) {
    await custom.createNamespacedCustomObject({ ...A, namespace: ns.name, body: body("Application", name!, { sourceRef: { kind: "GitRepository", name: "repo" }, path: p, interval: "10m" }) });
  }
});

after(async () => {
  for (const op of running) await op.stop(2_000).catch(() => {});
  // The GitRepository carries the source controller's finalizer, and no operator runs any more: drop it.
  await custom
    .patchNamespacedCustomObject({ ...G, namespace: ns.name, name: "repo", body: { metadata: { finalizers: null } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch))
    .catch(() => {});
  await ns?.cleanup();
  await git?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The operator with the render cache (and so its markers) under this test's TMPDIR, which survives its restarts. */
async function start(): Promise<RunningOperator> {
  const op = await startOperator({ kubeconfigPath: c.kubeconfigPath, controllers: ["source", "render"], watchNamespace: ns.name, env: { TMPDIR: tmp } });
  running.push(op);
  return op;
}

const markerFile = () => path.join(tmp, "mooring-render-cache", "renders", ns.name, "slow.rendering");
const marker = async (): Promise<{ attempts: number } | undefined> => {
  try {
    return JSON.parse(await readFile(markerFile(), "utf8")) as { attempts: number };
  } catch {
    return undefined;
  }
};

async function killDuringRender(op: RunningOperator, attempt: number): Promise<void> {
  await waitFor(`render attempt ${attempt} of Application slow in progress`, async () => (await marker())?.attempts === attempt, { timeoutMs: 120_000, intervalMs: 100 });
  process.kill(op.pid, "SIGKILL");
  assert.equal(await op.exited, "SIGKILL");
  await op.stop();
}

const getApp = async (name: string) => (await custom.getNamespacedCustomObject({ ...A, namespace: ns.name, name })) as App;

void describe("render crash memory across restarts", () => {
  void it("tries an input the process died on once more, then refuses it with a condition, and keeps running", async () => {
    await killDuringRender(await start(), 1);
    await killDuringRender(await start(), 2);

    const third = await start();
    const refused = await waitFor("Application slow refused", async () => {
      const a = await getApp("slow");
      return cond(a, "Rendered")?.status === "False" ? a : undefined;
    }, { timeoutMs: 120_000 });
    assert.equal(cond(refused, "Rendered")?.reason, "RenderFailed");
    assert.match(cond(refused, "Rendered")!.message, /rendering this input stopped the operator 2 times \(out of memory, or killed in the middle of the render; last at .*\); it is not rendered again until the Application, its source or its values change/);
    assert.match(cond(refused, "Rendered")!.message, /--render-worker-heap/);
    assert.equal((await marker())?.attempts, 2, "no third attempt");

    const ok = await waitFor("Application ok rendered", async () => {
      const a = await getApp("ok");
      return cond(a, "Rendered")?.status === "True" ? a : undefined;
    }, { timeoutMs: 120_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify((await getApp("ok")).status)}\n${third.tail(60)}`);
    });
    assert.ok(ok.status?.render?.artifact?.url);
    assert.equal((await fetch(`${third.healthUrl}/healthz`)).status, 200, "the third process keeps running");
    assert.doesNotMatch(third.logs(), /"msg":"rendered".*"name":"slow"|"name":"slow".*"msg":"rendered"/, "the refused input is not rendered");
  });
});
