// API server and etcd faults across the whole pipeline (issue 17, part 2): source → render → apply run in the operator
// process while the control plane under them is SIGKILLed and started again mid-sync and mid-watch:
//   - kube-apiserver killed at a random point of a sync (its watches break, requests fail), started again;
//   - an etcd compaction while the watches are down, so every watch resumed from an older resourceVersion gets
//     410 Gone and must relist (then drift of a managed object must still be seen and reverted);
//   - etcd killed mid-sync and started again (the API server loses its storage under it), once with a compaction.
// After each, the cluster must hold exactly what Git says (see test/support/fault-env.ts expectExact), the operator
// process must still be the same one (no crash), and nothing outside the Application may have changed.
// Runs on the fault cluster only (mooring-faults): it kills that cluster's components.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import type { KubeObject } from "../../src/runtime/index.js";
import { ControlPlane, type Component } from "../support/fault-cluster.js";
import { revision } from "../support/fault-content.js";
import { expectExact, idOf, manifests, push, startFaultEnv, stats, type FaultEnv } from "../support/fault-env.js";
import { faultSeed, type Rng } from "../support/fault-rng.js";
import type { TestRepo } from "../support/git-server.js";
import { TEST_CLUSTER_NAME } from "../support/cluster.js";

const rng = faultSeed("test/faults/control-plane.test.ts");
let env: FaultEnv;
let repo: TestRepo;
let cp: ControlPlane;
let current: KubeObject[] = [];
let sha = "";
const kept = new Set<string>();
let pipelineMs = 0;
const figures: Record<string, { converge: number[]; requests: number[]; failedRequests: number[]; relists: number[] }> = {};

const relists = () => (env.op.logs().match(/resourceVersion [^"]*; relisting/g) ?? []).length;

async function apiAnswers(timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; ; ) {
    try {
      await env.admin.list({ apiVersion: "v1", kind: "Namespace" });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the API server did not answer within ${timeoutMs} ms: ${(err as Error).message}`);
      await sleep(200);
    }
  }
}

async function requestCounts(): Promise<{ total: number; failed: number }> {
  const samples = (await env.op.metrics()).filter((s) => s.name === "rest_client_requests_total");
  return { total: samples.reduce((a, s) => a + s.value, 0), failed: samples.filter((s) => !/^2/.test(s.labels.code ?? "")).reduce((a, s) => a + s.value, 0) };
}

/**
 * Pushes the next revision, runs `fault` at a random instant of its pipeline, then waits for exact convergence;
 * records the figures under `name`.
 */
async function faultedSync(name: string, r: Rng, fault: () => Promise<string>): Promise<void> {
  const next = revision(r, current);
  for (const o of next) if (o.metadata?.annotations?.["mooring.dev/prune"]) kept.add(idOf(o, env.ns.name));
  const before = await requestCounts();
  const relistsBefore = relists();
  const t0 = Date.now();
  sha = await push(env, repo, "src", { "app/objects.yaml": manifests(next) }, name);
  const at = r.int(0, Math.round(pipelineMs * 1.1));
  await sleep(Math.max(0, at - (Date.now() - t0)));
  const what = await fault();
  const healed = cp.heal();
  await apiAnswers();
  const t1 = Date.now();
  // kube-controller-manager and kube-scheduler may exit a little later (a lease they could not renew): a kubelet
  // would restart them, so does this.
  const healer = setInterval(() => healed.push(...cp.heal()), 1_000);
  try {
    await expectExact(env, "cp", next, { sha, allowedExtra: kept, timeoutMs: 180_000 });
  } finally {
    clearInterval(healer);
  }
  const converge = Date.now() - t1;
  const after = await requestCounts();
  const f = (figures[name] ??= { converge: [], requests: [], failedRequests: [], relists: [] });
  f.converge.push(converge);
  f.requests.push(after.total - before.total);
  f.failedRequests.push(after.failed - before.failed);
  f.relists.push(relists() - relistsBefore);
  console.log(`# ${name}: ${what} ${at} ms after the push; converged ${converge} ms after the API answered again; ${after.total - before.total} requests (${after.failed - before.failed} failed), ${relists() - relistsBefore} relists${healed.length ? `; restarted ${healed.join(", ")} (they exited during the outage)` : ""}`);
  assert.equal(env.op.starts, 1, "the operator process survived (it was never restarted)");
  assert.ok(env.op.running, `the operator is still running:\n${env.op.tail(20)}`);
  current = next;
}

before(async () => {
  env = await startFaultEnv({ prefix: "fault-cp" });
  cp = new ControlPlane(TEST_CLUSTER_NAME);
  repo = await env.git.createRepo("cp");
  current = revision(rng.fork(), undefined);
  sha = await repo.commit({ "app/objects.yaml": manifests(current) }, "initial");
  for (const o of current) if (o.metadata?.annotations?.["mooring.dev/prune"]) kept.add(idOf(o, env.ns.name));
  await env.createGitRepository("src", repo.url);
  await env.createApplication("cp", { sourceRef: { kind: "GitRepository", name: "src" }, path: "app", interval: "10m" });
  await expectExact(env, "cp", current, { sha, allowedExtra: kept });
  // Calibration: an undisturbed push.
  const next = revision(rng.fork(), current);
  for (const o of next) if (o.metadata?.annotations?.["mooring.dev/prune"]) kept.add(idOf(o, env.ns.name));
  const t0 = Date.now();
  sha = await push(env, repo, "src", { "app/objects.yaml": manifests(next) });
  await expectExact(env, "cp", next, { sha, allowedExtra: kept });
  pipelineMs = Date.now() - t0;
  current = next;
  console.log(`# undisturbed pipeline (push → exact): ${pipelineMs} ms`);
});

after(async () => {
  console.log(`# control-plane figures: ${JSON.stringify(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, { converge: stats(v.converge), requests: stats(v.requests), failedRequests: stats(v.failedRequests), relists: v.relists }])))}`);
  if (cp?.healed.length) console.log(`# components restarted after exiting on their own: ${cp.healed.join(", ")}`);
  cp?.heal();
  await env?.close();
});

void describe("API server and etcd faults across source → render → apply", { timeout: 900_000 }, () => {
  // First, while every watch is open and no backoff has grown yet.
  void it("a compaction while the watches are down: resumed watches get 410 Gone and relist; drift is still seen and reverted", async () => {
    const r = rng.fork();
    const before = relists();
    await faultedSync("compaction-410", r, async () => {
      await cp.kill("kube-apiserver");
      const rev = await cp.compact();
      await sleep(r.int(200, 1500));
      cp.start("kube-apiserver");
      return `kube-apiserver killed, etcd compacted at revision ${rev},`;
    });
    // The informers resume their watches from resourceVersions older than the compaction: 410 Gone, then a relist
    // (after their backoff, which may outlast the sync itself).
    await env.converge("an informer relisting after 410 Gone", async () => relists() > before, 120_000);
    assert.match(env.op.logs(), /too old|Expired|410|Gone/i, "the relist names the expired resourceVersion");
    // The informers work after the relist: a managed object changed by hand is reverted (self-heal).
    const target = current.find((o) => o.kind === "ConfigMap" && !o.metadata?.annotations?.["mooring.dev/prune"]);
    if (target) {
      const live = await env.admin.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: "v1", kind: "ConfigMap" }, target.metadata!.name!, env.ns.name);
      await env.admin.patch(live!, { data: { v: "changed-by-hand" } }, "merge");
      const t = Date.now();
      await expectExact(env, "cp", current, { sha, allowedExtra: kept, timeoutMs: 60_000 });
      console.log(`# compaction-410: drift of ConfigMap ${target.metadata!.name} reverted ${Date.now() - t} ms after the edit`);
    }
  });

  void it("kube-apiserver SIGKILLed at random points of a sync and started again: exact convergence, the operator survives", async () => {
    for (let i = 0; i < 2; i++) {
      const r = rng.fork();
      await faultedSync("apiserver-restart", r, async () => {
        const pause = r.int(500, 4000);
        await cp.restart("kube-apiserver", pause);
        return `kube-apiserver down ${pause} ms,`;
      });
    }
  });

  void it("etcd SIGKILLed at random points of a sync and started again (once followed by a compaction): exact convergence", async () => {
    for (let i = 0; i < 2; i++) {
      const r = rng.fork();
      await faultedSync(i === 0 ? "etcd-restart" : "etcd-restart-compaction", r, async () => {
        const pause = r.int(500, 3000);
        await cp.restart("etcd", pause);
        await cp.waitEtcd();
        let note = "";
        if (i === 1) note = `, then compacted at revision ${await cp.compact()}`;
        return `etcd down ${pause} ms${note},`;
      });
    }
  });

  void it("both kube-apiserver and etcd killed together, started in the wrong order (API server first)", async () => {
    const r = rng.fork();
    await faultedSync("apiserver+etcd", r, async () => {
      const pause = r.int(500, 2000);
      await Promise.all((["kube-apiserver", "etcd"] as Component[]).map((c) => cp.kill(c)));
      await sleep(pause);
      cp.start("kube-apiserver");
      await sleep(r.int(500, 2000));
      cp.start("etcd");
      return `etcd and kube-apiserver down ${pause} ms (API server up first),`;
    });
  });
});
