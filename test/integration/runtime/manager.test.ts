// The manager end to end against the real API server: probes and metrics, owner enqueue, graceful shutdown,
// leader election (takeover, a single active leader, exit on a lost lease) and sharding.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";
import { createLogger } from "../../../src/log.js";
import { Kinds, type KubeObject, LeaderElectionLostError, Manager, type ManagerOptions, addLeaderLabel, labelSelector, microTime } from "../../../src/runtime/index.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

let c: TestCluster;
let ns: TestNamespace;

before(async () => {
  c = await testCluster();
  ns = await createTestNamespace(c, "rt-mgr");
});

after(async () => {
  await ns?.cleanup();
});

function manager(o: Partial<ManagerOptions> = {}): Manager {
  return new Manager({ kubeConfig: c.kc, namespace: ns.name, registry: new Registry(), logger: quiet, qps: 100, burst: 100, ...o });
}

const cm = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, namespace: ns.name, labels } });

async function http(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

describe("manager", () => {
  it("serves /healthz, /readyz after the caches synced, and /metrics; enqueues owners of owned objects", async () => {
    const mgr = manager({ healthAddr: "127.0.0.1:0", metricsAddr: "127.0.0.1:0" });
    const seen: string[] = [];
    mgr
      .controller("parents")
      .for(Kinds.ConfigMap, { predicates: [labelSelector("role=parent")] })
      .owns(Kinds.Secret)
      .build(async (req) => {
        seen.push(req.name);
      });
    const stop = new AbortController();
    const run = mgr.start(stop.signal);
    await mgr.elected;
    const health = `http://127.0.0.1:${mgr.healthAddress!.port}`;
    assert.equal((await http(`${health}/healthz`)).status, 200);
    const ready = await http(`${health}/readyz`);
    assert.equal(ready.status, 200, ready.text);
    // An informer added after start for a kind that can never be listed (as one Application's unlistable kind
    // would add) must not take the Pod out of its Services.
    const never = mgr.cache.informerFor({ group: "nowhere.mooring.dev", version: "v1", kind: "Nothing", plural: "nothings", namespaced: true });
    await sleep(1_500);
    assert.equal(never.hasSynced(), false, "the added informer cannot sync");
    const still = await http(`${health}/readyz`);
    assert.equal(still.status, 200, `/readyz after an unsyncable informer was added: ${still.text}`);

    const parent = await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("parent", { role: "parent" }) });
    await waitFor("the parent to be reconciled", () => seen.includes("parent"));
    await c.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: "child", namespace: ns.name, ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "parent", uid: parent.metadata!.uid!, controller: true }] } },
    });
    seen.length = 0;
    await mgr.client.patch({ apiVersion: "v1", kind: "Secret", metadata: { name: "child", namespace: ns.name } }, { metadata: { labels: { touched: "yes" } } }, "merge");
    await waitFor("the owner to be reconciled after its Secret changed", () => seen.includes("parent"));
    assert.ok(seen.every((n) => n === "parent"), `only the owner is enqueued, got ${seen.join(",")}`);

    const metrics = (await http(`http://127.0.0.1:${mgr.metricsAddress!.port}/metrics`)).text;
    assert.match(metrics, /controller_runtime_reconcile_total\{controller="parents",result="success"\} [1-9]/);
    assert.match(metrics, /workqueue_adds_total\{name="parents"\} [1-9]/);
    assert.match(metrics, /rest_client_requests_total\{.*code="200".*\} [1-9]/);
    assert.match(metrics, /controller_runtime_max_concurrent_reconciles\{controller="parents"\} 1/);
    stop.abort();
    await run;
  });

  it("finishes in-flight reconciles on graceful shutdown", async () => {
    const mgr = manager();
    let started = false;
    let finished = false;
    mgr
      .controller("slow")
      .for(Kinds.ConfigMap, { predicates: [labelSelector("role=slow")] })
      .build(async () => {
        started = true;
        await sleep(1500);
        finished = true;
      });
    const stop = new AbortController();
    const run = mgr.start(stop.signal);
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("slow", { role: "slow" }) });
    await waitFor("the reconcile to start", () => started);
    stop.abort();
    await run;
    assert.equal(finished, true, "the reconcile in flight when the stop came ran to completion");
  });

  it("fails to start, naming the kind, when a cache cannot sync in time", async () => {
    const mgr = manager({ cacheSyncTimeoutMs: 1500, informer: { backoff: { initialMs: 100, maxMs: 200 } } });
    const Missing = { group: "missing.mooring.dev", version: "v1", kind: "Missing", plural: "missings", namespaced: true };
    mgr.controller("missing").for(Missing).build(async () => ({}));
    await assert.rejects(mgr.start(new AbortController().signal), /caches did not sync within 1500 ms \(unsynced: Missing in rt-mgr-/);
  });

  it("builder refuses an incomplete description with a message saying what to do", () => {
    const mgr = manager();
    assert.throws(() => mgr.controller("x").owns(Kinds.Secret).build(async () => ({})), /call for\(kind\)/);
    assert.throws(() => mgr.controller("y").for(Kinds.ConfigMap).for(Kinds.Secret).build(async () => ({})), /for\(\) was called twice/);
  });

  it("shards by label selector: each manager reconciles only the objects of its shard", async () => {
    const seen: Record<string, string[]> = { a: [], b: [] };
    const stop = new AbortController();
    const runs = (["a", "b"] as const).map((shard) => {
      const mgr = manager({ shardLabelSelector: `shard=${shard}` });
      mgr.controller("sharded").for(Kinds.ConfigMap).build(async (req) => {
        seen[shard]!.push(req.name);
      });
      return mgr.start(stop.signal);
    });
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("in-a", { shard: "a" }) });
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("in-b", { shard: "b" }) });
    await waitFor("both shards to reconcile", () => seen.a!.includes("in-a") && seen.b!.includes("in-b"));
    stop.abort();
    await Promise.all(runs);
    assert.ok(!seen.a!.includes("in-b") && !seen.b!.includes("in-a"), JSON.stringify(seen));
  });
});

describe("leader election", () => {
  const lease = { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 };

  function candidate(name: string, leaseName: string, log: { who: string; start: number; end: number }[], extra: Partial<ManagerOptions> = {}) {
    const mgr = manager({ leaderElection: { namespace: ns.name, name: leaseName, identity: name, ...lease }, ...extra });
    mgr
      .controller("elected")
      .for(Kinds.ConfigMap, { predicates: [labelSelector(`lease=${leaseName}`)] })
      .build(async () => {
        const start = Date.now();
        await sleep(30);
        log.push({ who: name, start, end: Date.now() });
        return { requeueAfter: 100 };
      });
    return mgr;
  }

  it("only the leader reconciles; when it stops, the other takes over within the lease duration", async () => {
    const log: { who: string; start: number; end: number }[] = [];
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("le-obj", { lease: "le-a" }) });
    // A stops without releasing the lease (as a crash would), so B must wait for it to expire.
    const a = candidate("a", "le-a", log, { leaderElection: { namespace: ns.name, name: "le-a", identity: "a", releaseOnCancel: false, ...lease } });
    const b = candidate("b", "le-a", log);
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.start(stopA.signal);
    await a.elected;
    const runB = b.start(stopB.signal);
    await waitFor("A to reconcile", () => log.some((l) => l.who === "a"));
    await sleep(1500);
    assert.equal(b.isLeader(), false);
    assert.ok(!log.some((l) => l.who === "b"), "the candidate does not reconcile while A leads");
    const stoppedAt = Date.now();
    stopA.abort();
    await runA;
    await waitFor("B to take over", () => b.isLeader(), { timeoutMs: lease.leaseDurationMs + 2 * lease.retryPeriodMs + 1000, intervalMs: 50 });
    const takeover = Date.now() - stoppedAt;
    await waitFor("B to reconcile", () => log.some((l) => l.who === "b"));
    stopB.abort();
    await runB;
    const lastA = Math.max(...log.filter((l) => l.who === "a").map((l) => l.end));
    const firstB = Math.min(...log.filter((l) => l.who === "b").map((l) => l.start));
    assert.ok(lastA <= firstB, "no reconcile of B overlapped one of A");
    console.log(`leader takeover after the leader stopped without releasing: ${takeover} ms (lease ${lease.leaseDurationMs} ms)`);
  });

  it("the leader labels its Pod; a restarted replica drops a stale label; a new leader takes the label from the old", async () => {
    const podsOf = async () =>
      (await c.core.listNamespacedPod({ namespace: ns.name, labelSelector: "mooring.dev/leader=le-pods" })).items.map((p) => p.metadata!.name!).sort();
    const pod = (name: string, labels: Record<string, string> = {}) => ({
      metadata: { name, namespace: ns.name, labels },
      spec: { containers: [{ name: "c", image: "example.invalid/none" }] },
    });
    // pod-b carries the label from an earlier life (a container restarted while it led).
    await c.core.createNamespacedPod({ namespace: ns.name, body: pod("pod-a") });
    await c.core.createNamespacedPod({ namespace: ns.name, body: pod("pod-b", { "mooring.dev/leader": "le-pods" }) });
    const log: { who: string; start: number; end: number }[] = [];
    const labelled = (name: string, podName: string) => {
      const m = candidate(name, "le-pods", log, { leaderElection: { namespace: ns.name, name: "le-pods", identity: name, releaseOnCancel: false, ...lease } });
      addLeaderLabel(m, { pod: podName, namespace: ns.name, key: "mooring.dev/leader", value: "le-pods" }, quiet);
      return m;
    };
    const a = labelled("a", "pod-a");
    const stopA = new AbortController();
    const runA = a.start(stopA.signal);
    await a.elected;
    await waitFor("pod-a alone labelled as the leader", async () => ((await podsOf()).join() === "pod-a" ? true : undefined));
    // pod-b starts as a follower and keeps no label; A stops without releasing, as a crashed leader would, and its
    // Pod keeps the label: B, once elected, labels itself and removes A's.
    const b = labelled("b", "pod-b");
    const stopB = new AbortController();
    const runB = b.start(stopB.signal);
    await sleep(1_000);
    assert.deepEqual(await podsOf(), ["pod-a"], "a follower does not label its Pod");
    stopA.abort();
    await runA;
    assert.deepEqual(await podsOf(), ["pod-a"], "the crashed leader's Pod still carries the label");
    await waitFor("pod-b alone labelled after the takeover", async () => ((await podsOf()).join() === "pod-b" ? true : undefined), { timeoutMs: 15_000 });
    stopB.abort();
    await runB;
  });

  it("a graceful stop releases the lease so the next leader takes over at once", async () => {
    const log: { who: string; start: number; end: number }[] = [];
    const a = candidate("a", "le-b", log);
    const b = candidate("b", "le-b", log);
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.start(stopA.signal);
    await a.elected;
    const runB = b.start(stopB.signal);
    await sleep(700);
    stopA.abort();
    await runA;
    await waitFor("B to take over the released lease", () => b.isLeader(), { timeoutMs: 3 * lease.retryPeriodMs + 1000, intervalMs: 50 });
    stopB.abort();
    await runB;
  });

  it("losing the lease stops the controllers and exits non-zero", async () => {
    const exits: number[] = [];
    const log: { who: string; start: number; end: number }[] = [];
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("le-lost", { lease: "le-c" }) });
    const a = candidate("a", "le-c", log, { exit: (code) => exits.push(code) });
    const run = a.start(new AbortController().signal);
    await a.elected;
    await waitFor("A to reconcile", () => log.length > 0);
    // Someone else takes the lease over (as after a network partition).
    const live = a.client.live();
    const l = (await live.get<KubeObject & { spec: Record<string, unknown> }>(Kinds.Lease, "le-c", ns.name))!;
    await live.update({ ...l, spec: { ...l.spec, holderIdentity: "thief", leaseDurationSeconds: 60, renewTime: microTime(Date.now()) } });
    await assert.rejects(run, LeaderElectionLostError);
    assert.deepEqual(exits, [1]);
    const count = log.length;
    await sleep(400);
    assert.equal(log.length, count, "no reconcile after the lease was lost");
  });
});
