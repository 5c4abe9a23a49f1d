// Network faults between the operator and the API server, and between the operator and Git (issue 17, part 3),
// injected by Toxiproxy (test/support/fault-toxiproxy.ts): the operator's kubeconfig and the GitRepository's URL go
// through proxies, and each test puts a toxic on one link for a while during a sync:
//   API server link: latency, a bandwidth limit, the link cut (connections refused and dropped), connections closed
//   after a few KiB (resets mid-watch and mid-list), a half-open link (data dropped, nothing closed);
//   Git link: the link cut, latency within and beyond spec.timeout, a connection closed mid-pack, a half-open link.
// Each ends with exact convergence once the link is healthy again (test/support/fault-env.ts expectExact) and
// something that said what happened while it lasted: on the Git link the GitRepository's FetchFailed condition
// (with the last good artifact still served and the cluster untouched); on the API link, where no status can be
// written while it is down, the operator's failed-request count and its log.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { createHash, randomBytes } from "node:crypto";
import type { KubeObject } from "../../src/runtime/index.js";
import { testCluster } from "../support/cluster.js";
import { revision } from "../support/fault-content.js";
import { condOf, describeConds, expectExact, idOf, manifests, startFaultEnv, stats, type FaultEnv, type Obj } from "../support/fault-env.js";
import { faultSeed } from "../support/fault-rng.js";
import { Toxiproxy, apiServerAddress, kubeconfigThrough, type Proxy, type Toxic } from "../support/fault-toxiproxy.js";
import type { TestRepo } from "../support/git-server.js";

const rng = faultSeed("test/faults/network.test.ts");
let env: FaultEnv;
let tp: Toxiproxy;
let api: Proxy;
let gitp: Proxy;
let repo: TestRepo;
let dir: string;
let current: KubeObject[] = [];
let sha = "";
const kept = new Set<string>();
let baseline = 0;
const figures: Record<string, { faultMs: number; recoverMs: number; requests: number; failed: number }> = {};

async function requestCounts(): Promise<{ total: number; failed: number }> {
  const samples = (await env.op.metrics()).filter((s) => s.name === "rest_client_requests_total");
  return { total: samples.reduce((a, s) => a + s.value, 0), failed: samples.filter((s) => !/^2/.test(s.labels.code ?? "")).reduce((a, s) => a + s.value, 0) };
}

/** The next revision, committed (with a blob of `padBytes` random bytes, so the pack is that large) but not yet requested. */
async function commitNext(padBytes = 0): Promise<KubeObject[]> {
  const next = revision(rng.fork(), current);
  for (const o of next) if (o.metadata?.annotations?.["mooring.dev/prune"]) kept.add(idOf(o, env.ns.name));
  sha = await repo.commit({ "app/objects.yaml": manifests(next), "pad.bin": randomBytes(padBytes) });
  return next;
}

const exact = (objects: KubeObject[], timeoutMs = 180_000) => expectExact(env, "net", objects, { sha, allowedExtra: kept, timeoutMs });

/** Runs `during` with the toxics on `proxy`, then (toxics removed) waits for exact convergence; records figures. */
async function withFault(name: string, proxy: Proxy, toxics: Toxic[] | "down", objects: KubeObject[], during: () => Promise<void>): Promise<void> {
  const before = await requestCounts();
  const t0 = Date.now();
  const names: string[] = [];
  if (toxics === "down") await proxy.enable(false);
  else for (const t of toxics) names.push(await proxy.add(t));
  try {
    await during();
  } finally {
    if (toxics === "down") await proxy.enable(true);
    else for (const n of names) await proxy.remove(n);
  }
  const faultMs = Date.now() - t0;
  const t1 = Date.now();
  await exact(objects);
  const recoverMs = Date.now() - t1;
  const after = await requestCounts();
  figures[name] = { faultMs, recoverMs, requests: after.total - before.total, failed: after.failed - before.failed };
  console.log(`# ${name}: fault ${faultMs} ms, exact ${recoverMs} ms after it ended; ${after.total - before.total} API requests (${after.failed - before.failed} failed)`);
  assert.ok(env.op.running && env.op.starts === 1, `the operator process survived:\n${env.op.tail(20)}`);
  current = objects;
}

const getRepo = () => env.getRepo("src") as Promise<Obj>;

/** Waits until the GitRepository says the fetch failed while the last good artifact is still served. */
async function fetchFailed(goodRevision: string, reason?: RegExp): Promise<Obj> {
  const r = await env.converge("FetchFailed on the GitRepository, the last good artifact still served", async () => {
    const g = await getRepo();
    const ff = condOf(g, "FetchFailed");
    if (ff?.status !== "True" || (reason && !reason.test(`${ff.reason}: ${ff.message}`))) throw new Error(describeConds(g));
    return g;
  });
  assert.equal(condOf(r, "ArtifactInStorage")?.status, "True", describeConds(r));
  assert.ok(r.status?.artifact?.revision?.endsWith(goodRevision), `the artifact is still the last good one (${r.status?.artifact?.revision})`);
  // The artifact is served, and is what its digest says.
  const res = await fetch(r.status!.artifact!.url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.equal(`sha256:${createHash("sha256").update(Buffer.from(await res.arrayBuffer())).digest("hex")}`, r.status!.artifact!.digest);
  return r;
}

before(async () => {
  const c = await testCluster();
  dir = await mkdtemp(path.join(os.tmpdir(), "mooring-net-"));
  tp = await Toxiproxy.start();
  api = await tp.proxy("api", apiServerAddress(c.kubeconfigPath));
  const kc = kubeconfigThrough(c.kubeconfigPath, api, dir);
  env = await startFaultEnv({ prefix: "fault-net", operatorKubeconfig: kc.path });
  gitp = await tp.proxy("git", `127.0.0.1:${env.git.port}`);
  repo = await env.git.createRepo("net");
  current = revision(rng.fork(), undefined);
  for (const o of current) if (o.metadata?.annotations?.["mooring.dev/prune"]) kept.add(idOf(o, env.ns.name));
  sha = await repo.commit({ "app/objects.yaml": manifests(current) }, "initial");
  // Short timeout and interval: a failed fetch is retried within seconds, a hung one gives up after 5 s.
  await env.createGitRepository("src", `http://127.0.0.1:${gitp.port}/net.git`, { timeout: "5s", interval: "30s" });
  await env.createApplication("net", { sourceRef: { kind: "GitRepository", name: "src" }, path: "app", interval: "10m" });
  await exact(current);
  const next = await commitNext();
  const t = Date.now();
  await env.requestReconcile("GitRepository", "src");
  await exact(next);
  baseline = Date.now() - t;
  current = next;
  console.log(`# undisturbed pipeline through the proxies (push → exact): ${baseline} ms`);
});

after(async () => {
  console.log(`# network figures: ${JSON.stringify({ baselineMs: baseline, ...figures })}`);
  console.log(`# recovery after the fault (ms): ${JSON.stringify(stats(Object.values(figures).map((f) => f.recoverMs)))}`);
  await api?.reset().catch(() => {});
  await gitp?.reset().catch(() => {});
  await env?.close();
  await tp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

void describe("network faults between the operator and the API server", { timeout: 900_000 }, () => {
  void it("latency (200 ms ± 50 each way): the sync completes, only slower", async () => {
    const next = await commitNext();
    await withFault("api-latency", api, [{ type: "latency", stream: "downstream", attributes: { latency: 200, jitter: 50 } }, { type: "latency", stream: "upstream", attributes: { latency: 200, jitter: 50 } }], next, async () => {
      await env.requestReconcile("GitRepository", "src");
      await exact(next);
    });
  });

  void it("bandwidth limited to 32 KiB/s: the sync completes", async () => {
    const next = await commitNext();
    await withFault("api-bandwidth", api, [{ type: "bandwidth", stream: "downstream", attributes: { rate: 32 } }], next, async () => {
      await env.requestReconcile("GitRepository", "src");
      await exact(next);
    });
  });

  void it("the link cut for 6 s in the middle of a sync: converges once it is back, the failed requests counted", async () => {
    const next = await commitNext();
    await env.requestReconcile("GitRepository", "src");
    await sleep(rng.int(0, baseline));
    const before = await requestCounts();
    await withFault("api-down", api, "down", next, () => sleep(6_000));
    const after = await requestCounts();
    assert.ok(after.failed > before.failed || /ECONNREFUSED|ECONNRESET|socket hang up|retrying/.test(env.op.logs()), "the operator saw the link fail");
  });

  void it("connections reset after 4 KiB (mid-watch, mid-list) for 5 s: watches resume, converges", async () => {
    const next = await commitNext();
    await env.requestReconcile("GitRepository", "src");
    await withFault("api-reset-mid-stream", api, [{ type: "limit_data", stream: "downstream", attributes: { bytes: 4096 } }], next, () => sleep(5_000));
    // The watches work again: a managed object changed by hand is reverted.
    const target = current.find((o) => o.kind === "ConfigMap" && !o.metadata?.annotations?.["mooring.dev/prune"]);
    if (target) {
      const live = await env.admin.get({ apiVersion: "v1", kind: "ConfigMap" }, target.metadata!.name!, env.ns.name);
      await env.admin.patch(live!, { data: { v: "changed-by-hand" } }, "merge");
      const t = Date.now();
      await exact(current, 60_000);
      console.log(`# api-reset-mid-stream: drift reverted ${Date.now() - t} ms after the edit`);
    }
  });

  void it("a half-open link (data dropped, nothing closed) for 10 s: converges once data flows again", async () => {
    const next = await commitNext();
    await env.requestReconcile("GitRepository", "src");
    await sleep(rng.int(0, baseline));
    await withFault("api-half-open", api, [{ type: "timeout", stream: "downstream", attributes: { timeout: 0 } }, { type: "timeout", stream: "upstream", attributes: { timeout: 0 } }], next, () => sleep(10_000));
  });
});

void describe("network faults between the operator and Git", { timeout: 900_000 }, () => {
  void it("Git unreachable: FetchFailed, the last good artifact served, the cluster untouched; converges when it is back", async () => {
    const good = sha;
    const goodObjects = current;
    const next = await commitNext();
    await withFault("git-down", gitp, "down", next, async () => {
      await env.requestReconcile("GitRepository", "src");
      const g = await fetchFailed(good);
      console.log(`# git-down: ${condOf(g, "FetchFailed")?.reason}: ${condOf(g, "FetchFailed")?.message}`);
      await expectExact(env, "net", goodObjects, { sha: good, allowedExtra: kept, timeoutMs: 5_000 });
    });
    assert.equal(condOf(await getRepo(), "FetchFailed"), undefined, "FetchFailed is removed once a fetch succeeds");
  });

  void it("Git slow (300 ms latency per packet, within spec.timeout): the fetch completes", async () => {
    const next = await commitNext(8 * 1024);
    await withFault("git-slow", gitp, [{ type: "latency", stream: "downstream", attributes: { latency: 300, jitter: 50 } }], next, async () => {
      await env.requestReconcile("GitRepository", "src");
      await exact(next);
    });
  });

  void it("Git slower than spec.timeout (bandwidth 4 KiB/s, a 64 KiB pack): FetchFailed naming the timeout, then converges", async () => {
    const good = sha;
    const next = await commitNext(64 * 1024);
    await withFault("git-too-slow", gitp, [{ type: "bandwidth", stream: "downstream", attributes: { rate: 4 } }], next, async () => {
      await env.requestReconcile("GitRepository", "src");
      const g = await fetchFailed(good);
      console.log(`# git-too-slow: ${condOf(g, "FetchFailed")?.reason}: ${condOf(g, "FetchFailed")?.message}`);
    });
  });

  void it("the connection closed mid-pack (after 16 KiB of a 256 KiB pack): FetchFailed, last good artifact kept, then converges", async () => {
    const good = sha;
    const next = await commitNext(256 * 1024);
    await withFault("git-reset-mid-pack", gitp, [{ type: "limit_data", stream: "downstream", attributes: { bytes: 16 * 1024 } }], next, async () => {
      await env.requestReconcile("GitRepository", "src");
      const g = await fetchFailed(good);
      console.log(`# git-reset-mid-pack: ${condOf(g, "FetchFailed")?.reason}: ${condOf(g, "FetchFailed")?.message}`);
    });
  });

  void it("a half-open Git link: the fetch gives up at spec.timeout (FetchFailed), then converges", async () => {
    const good = sha;
    const next = await commitNext();
    await withFault("git-half-open", gitp, [{ type: "timeout", stream: "downstream", attributes: { timeout: 0 } }], next, async () => {
      await env.requestReconcile("GitRepository", "src");
      const g = await fetchFailed(good);
      console.log(`# git-half-open: ${condOf(g, "FetchFailed")?.reason}: ${condOf(g, "FetchFailed")?.message}`);
    });
  });
});
