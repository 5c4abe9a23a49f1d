// The render controller's bounds on the real cluster: without --watch-secrets it holds no watch (and needs no list
// right) on Secrets, reading the ones Applications name with get at each reconcile; a render stopped by the worker's
// heap cap says so, naming the flag, and is not rendered again after a restart of the controller (same disk) until
// its input changes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import type { TestRepo } from "../../support/git-server.js";
import { waitFor } from "../../support/wait.js";
import type { Informer } from "../../../src/runtime/index.js";
import { A, cond, download, RenderEnv, type App } from "./harness.js";

let env: RenderEnv;
let repo: TestRepo;
let head: string;

const rendered = (rev: string) => (a: App) => cond(a, "Rendered")?.status === "True" && a.status?.render?.artifact?.revision === `main@sha1:${rev}`;

before(async () => {
  // A small worker heap, as the chart gives a render controller with little memory.
  env = await RenderEnv.start("rlim", { renderMaxHeapMb: 48, renderTimeoutMs: 60_000 });
  repo = await env.git.createRepo("app", {
    files: {
      "plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  v: one\n",
      "chart/Chart.yaml": "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
      "chart/values.yaml": "greeting: hello\n",
      "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{release.name}}\ndata:\n  greeting: {{quote values.greeting}}\n",
      "big/Chart.yaml": "name: big\nversion: 1.0.0\n",
      "big/values.yaml": `items: [${Array.from({ length: 3000 }, (_, i) => i).join(", ")}]\n`,
      // 3,000 × 3,000 lines from a few KB: far more memory than the worker may use.
      "big/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n{{#each values.items}}{{#each @root.values.items}}  k{{@index}}: {{this}}\n{{/each}}{{/each}}",
    },
  });
  head = await repo.head();
  await env.createGitRepository("repo", repo.url);
});

after(async () => {
  await env?.close();
});

const secretInformers = () => [...(env.mgr.cache as unknown as { informers: Map<string, Informer> }).informers.values()].filter((i) => i.kind.kind === "Secret");

void describe("render controller bounds", () => {
  void it("reads a valuesFrom Secret with get, holds no watch on Secrets, and picks a change up at the next reconcile", async () => {
    const ns = env.ns.name;
    await env.c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "vals" }, stringData: { "values.yaml": "greeting: from-secret\n" } } });
    await env.createApp("chart-s", { sourceRef: { kind: "GitRepository", name: "repo" }, path: "chart", render: { helm: { valuesFrom: [{ kind: "Secret", name: "vals" }] } } });
    const first = await env.waitApp("chart-s", "rendered", rendered(head));
    assert.equal((await download(first.status!.render!.artifact!))[0]?.data?.greeting, "from-secret");
    assert.deepEqual(secretInformers(), [], "no Secret informer: the controller needs no list/watch right on Secrets");
    await env.c.core.patchNamespacedSecret({ name: "vals", namespace: ns, body: [{ op: "replace", path: "/data/values.yaml", value: Buffer.from("greeting: changed\n").toString("base64") }] });
    await env.requestReconcile("Application", "chart-s");
    const changed = await env.waitApp("chart-s", "new digest", (x) => x.status?.render?.artifact?.digest !== first.status?.render?.artifact?.digest);
    assert.equal((await download(changed.status!.render!.artifact!))[0]?.data?.greeting, "changed");
    assert.deepEqual(secretInformers(), []);
  });

  void it("stops a render past the worker heap, naming the flag, and does not render it again after a restart", async () => {
    await env.createApp("big", { sourceRef: { kind: "GitRepository", name: "repo" }, path: "big" });
    const failed = await env.waitApp("big", "Rendered=False", (x) => cond(x, "Rendered")?.status === "False", 120_000);
    assert.equal(cond(failed, "Rendered")?.reason, "RenderFailed");
    assert.match(cond(failed, "Rendered")!.message, /needed more than 48 MiB of memory and was stopped \(the render worker's heap: --render-worker-heap=48Mi/);
    await env.settled();

    await env.restart();
    await waitFor("every Application reconciled after the restart", async () => (await env.counter("controller_runtime_reconcile_total", { controller: "render" })) >= 2, { timeoutMs: 30_000 });
    await env.settled();
    assert.equal(env.render.stats.renders, 0, "the failure a limit caused is remembered on disk: no render after the restart");
    const still = await env.getApp("big");
    assert.equal(cond(still, "Rendered")?.message, cond(failed, "Rendered")?.message);

    // A change of input renders again.
    await env.custom.patchNamespacedCustomObject(
      { ...A, namespace: env.ns.name, name: "big", body: { spec: { path: "plain" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await env.waitApp("big", "rendered from plain/", rendered(head));
    assert.equal(env.render.stats.renders, 1);
  });
});
