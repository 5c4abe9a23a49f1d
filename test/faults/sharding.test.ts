// Sharding (issue 20, item 1) on the real local cluster: three shards plus the default shard, each the operator's
// real entry point (compiled as the image runs it) as its own process with the flags the chart's all-in-one mode gives
// it (charts/mooring, sharding.shards: --watch-label-selector=<key>=<shard>, the default `<key> notin (shards)`, a
// leader-election Lease per shard). MOORING_SHARDING_APPS Applications (default 300; plain manifests, one ConfigMap
// each, from a loopback git server) are spread over the four shards by label, each shard with its own GitRepository.
// Proven: every Application is reconciled by exactly one process, its own shard's (per-Application apply metrics of
// every process; the ConfigMap created once, by one apply), each Lease has its own holder, and a shard SIGKILLed in
// the middle of a sync of a new commit loses nothing once restarted (every Application of every shard ends on the new
// commit with the new content, the ConfigMaps keep their uid), and relabelling one shard's GitRepository and
// Applications to another hands them over with no prune, no re-create and no changing write; one push to the
// default shard's webhook reaches every shard's GitRepositories; a relabel in the middle of a sync of a new commit
// (as soon as the old shard brought the first of its Applications to it) loses nothing: no ConfigMap deleted (a
// watch), every object on the new content with its uid, and afterwards one shard per Application. Figures: time to
// all Ready per shard, peak RSS per process (docs/scaling.md).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import type { KubeObject } from "../../src/runtime/index.js";
import { RestClient } from "../../src/runtime/rest.js";
import { condOf, configMap, manifests, startFaultEnv, type FaultEnv, type Obj } from "../support/fault-env.js";
import { FaultOperator } from "../support/fault-operator.js";
import type { TestRepo } from "../support/git-server.js";

const KEY = "sharding.mooring.dev/key";
const SHARDS = ["shard1", "shard2", "shard3"];
const ALL = ["default", ...SHARDS];
const APPS = Number(process.env.MOORING_SHARDING_APPS ?? 300);
/** How long all Applications may take to be Ready (MOORING_SHARDING_TIMEOUT_MS). */
const READY_TIMEOUT_MS = Number(process.env.MOORING_SHARDING_TIMEOUT_MS ?? 600_000);
const APP_KIND = { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application" };
const REPO_KIND = { apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository" };
const CM_KIND = { apiVersion: "v1", kind: "ConfigMap" };
const HOOK_SECRET = "sharding-webhook-secret";

let env: FaultEnv;
let repo: TestRepo;
const ops = new Map<string, FaultOperator>();
const shardOf = (i: number) => ALL[i % ALL.length]!;
const appName = (i: number) => `app-${String(i).padStart(3, "0")}`;
const figures: Record<string, unknown> = {};

/** The selector the chart gives each shard (charts/mooring/templates/_helpers.tpl, "mooring.deployments"). */
const selectorOf = (shard: string) => (shard === "default" ? `${KEY} notin (${SHARDS.join(",")})` : `${KEY}=${shard}`);
const labelsOf = (shard: string): Record<string, string> => (shard === "default" ? {} : { [KEY]: shard });

/** Every Application's ConfigMap at version `v`; the Applications in `grown` have a second one, `cm-<app>-b`. */
function files(v: string, grown: ReadonlySet<string> = new Set()): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < APPS; i++) {
    const n = appName(i);
    out[`apps/${n}/cm.yaml`] = manifests([configMap(`cm-${n}`, { v, app: n }), ...(grown.has(n) ? [configMap(`cm-${n}-b`, { v, app: n })] : [])]);
  }
  return out;
}

/** Peak and current RSS of a process, in MiB (Linux /proc). */
function rss(pid: number | undefined): { hwm: number; rss: number } | undefined {
  if (!pid) return undefined;
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? NaN);
    return { hwm: Math.round(kb("VmHWM") / 1024), rss: Math.round(kb("VmRSS") / 1024) };
  } catch {
    return undefined;
  }
}

/** Which Applications are Ready on commit `sha`, by shard; the time each shard got all of its Ready is recorded. */
async function waitAllReady(sha: string, since: number, timeoutMs: number): Promise<Record<string, number>> {
  const doneAt: Record<string, number> = {};
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const apps = await env.admin.list<Obj>(APP_KIND, { namespace: env.ns.name });
    const pending: Record<string, number> = Object.fromEntries(ALL.map((s) => [s, 0]));
    for (let i = 0; i < APPS; i++) {
      const a = apps.find((x) => x.metadata!.name === appName(i));
      const ok = a && condOf(a, "Ready")?.status === "True" && (a.status?.sync?.revision ?? "").endsWith(sha);
      if (!ok) pending[shardOf(i)]!++;
    }
    for (const s of ALL) if (pending[s] === 0 && doneAt[s] === undefined) doneAt[s] = Date.now() - since;
    if (ALL.every((s) => doneAt[s] !== undefined)) return doneAt;
    if (JSON.stringify(pending) !== last) process.stderr.write(`# ${Date.now() - since} ms: not yet Ready on ${sha.slice(0, 8)} per shard ${JSON.stringify(pending)}\n`);
    last = JSON.stringify(pending);
    if (Date.now() > deadline) {
      const tails = ALL.map((s) => `--- ${s} ---\n${ops.get(s)!.tail(10)}`).join("\n");
      throw new Error(`not all Applications Ready on ${sha.slice(0, 12)} after ${timeoutMs} ms; pending per shard ${last}\n${tails}`);
    }
    await sleep(500);
  }
}

/** Per process, the Applications it applied (mooring_application_objects_applied_total samples), by action. */
async function appliedBy(): Promise<Map<string, Map<string, Record<string, number>>>> {
  const out = new Map<string, Map<string, Record<string, number>>>();
  for (const s of ALL) {
    const m = new Map<string, Record<string, number>>();
    for (const x of await ops.get(s)!.metrics()) {
      if (x.name !== "mooring_application_objects_applied_total" || x.labels.namespace !== env.ns.name || !x.value) continue;
      const r = m.get(x.labels.name!) ?? {};
      r[x.labels.action!] = (r[x.labels.action!] ?? 0) + x.value;
      m.set(x.labels.name!, r);
    }
    out.set(s, m);
  }
  return out;
}

before(async () => {
  env = await startFaultEnv({ prefix: "fault-shard", deferOperator: true });
  repo = await env.git.createRepo("shards");
  // The operator-wide webhook secret (--webhook-secret, default mooring-webhook) in the operators' namespace.
  await env.admin.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "mooring-webhook", namespace: env.ns.name }, stringData: { token: HOOK_SECRET } } as KubeObject);
  for (const s of ALL) {
    const op = await FaultOperator.create({
      kubeconfigPath: env.c.kubeconfigPath,
      watchNamespace: env.ns.name,
      logLevel: "info",
      // What the chart's all-in-one Deployment of this shard runs with (leader election in the release namespace).
      args: ["--leader-elect", `--leader-election-namespace=${env.ns.name}`, `--leader-election-id=mooring-${s}-leader`, `--watch-label-selector=${selectorOf(s)}`, "--concurrency=4"],
    });
    ops.set(s, op);
  }
  await Promise.all([...ops.values()].map((op) => op.start()));
});

after(async () => {
  console.log(`# sharding figures: ${JSON.stringify(figures)}`);
  if (env) {
    // Delete while every shard runs: each removes the finalizers of its own objects.
    for (const kind of [APP_KIND, REPO_KIND]) for (const o of await env.admin.list(kind, { namespace: env.ns.name }).catch(() => [])) await env.admin.delete(o).catch(() => {});
    const t = Date.now();
    while (Date.now() - t < 60_000 && (await env.admin.list(APP_KIND, { namespace: env.ns.name }).catch(() => [])).length > 0) await sleep(500);
    // Each shard's whole log, for reading a failure afterwards (env.close() writes only its own, unused, operator's).
    const logDir = path.join(os.tmpdir(), "mooring-faults-logs");
    mkdirSync(logDir, { recursive: true });
    for (const [s, op] of ops) writeFileSync(path.join(logDir, `${env.ns.name}-${s}.log`), op.logs());
    console.log(`# shard logs: ${path.join(logDir, `${env.ns.name}-<shard>.log`)}`);
    for (const op of ops.values()) await op.close().catch(() => {});
    await env.close();
  }
});

void describe(`sharding: ${APPS} Applications over 3 shards and the default, each its own operator process`, { timeout: 900_000 }, () => {
  let sha1 = "";
  const uids = new Map<string, string>();

  void it("each Application is reconciled by exactly one shard, its own; each shard holds its own Lease", async () => {
    sha1 = await repo.commit(files("1"), "v1");
    const ns = env.ns.name;
    for (const s of ALL) {
      await env.admin.create({ ...REPO_KIND, metadata: { name: `src-${s}`, namespace: ns, labels: labelsOf(s) }, spec: { url: repo.url, ref: { branch: "main" }, interval: "1h", timeout: "30s" } } as KubeObject);
    }
    const t0 = Date.now();
    for (let i = 0; i < APPS; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, APPS - i) }, (_, k) => i + k).map((j) =>
          env.admin.create({ ...APP_KIND, metadata: { name: appName(j), namespace: ns, labels: labelsOf(shardOf(j)) }, spec: { sourceRef: { kind: "GitRepository", name: `src-${shardOf(j)}` }, path: `apps/${appName(j)}`, interval: "10m" } } as KubeObject),
        ),
      );
    }
    figures.createMs = Date.now() - t0;
    figures.coldReadyMsPerShard = await waitAllReady(sha1, t0, READY_TIMEOUT_MS);

    const applied = await appliedBy();
    const problems: string[] = [];
    for (let i = 0; i < APPS; i++) {
      const by = ALL.filter((s) => applied.get(s)!.has(appName(i)));
      if (by.length !== 1 || by[0] !== shardOf(i)) problems.push(`${appName(i)} (shard ${shardOf(i)}) applied by [${by.join(", ")}]`);
      else if ((applied.get(by[0])!.get(appName(i))!.created ?? 0) !== 1) problems.push(`${appName(i)}: ConfigMap created ${JSON.stringify(applied.get(by[0])!.get(appName(i)))}`);
    }
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} Applications not reconciled by exactly their own shard`);
    figures.appliedPerProcess = Object.fromEntries(ALL.map((s) => [s, applied.get(s)!.size]));

    // The ConfigMaps: one field manager each (the apply), and their uid, kept for the kill below.
    for (const cm of await env.admin.list<Obj>(CM_KIND, { namespace: ns })) {
      if (!cm.metadata!.name!.startsWith("cm-app-")) continue;
      uids.set(cm.metadata!.name!, cm.metadata!.uid!);
      const fields = (cm.metadata!.managedFields ?? []) as { manager?: string; operation?: string }[];
      const applies = fields.filter((f) => f.operation === "Apply");
      assert.equal(applies.length, 1, `${cm.metadata!.name}: ${JSON.stringify(fields.map((f) => f.manager))}`);
    }
    assert.equal(uids.size, APPS);

    // A Lease per shard, each held by its own process (holders are distinct).
    const holders = await Promise.all(ALL.map(async (s) => (await env.admin.get<Obj>({ apiVersion: "coordination.k8s.io/v1", kind: "Lease" }, `mooring-${s}-leader`, ns))?.spec?.holderIdentity as string | undefined));
    assert.ok(holders.every(Boolean), `Leases without a holder: ${JSON.stringify(holders)}`);
    assert.equal(new Set(holders).size, ALL.length, `Lease holders: ${JSON.stringify(holders)}`);
    figures.rssMiBAfterCold = Object.fromEntries(ALL.map((s) => [s, rss(ops.get(s)!.pid)]));
  });

  void it("a shard SIGKILLed mid-sync of a new commit loses nothing once restarted; the other shards are not held up", async () => {
    assert.ok(sha1, "the first step did not run");
    const ns = env.ns.name;
    const victim = ops.get("shard2")!;
    const sha2 = await repo.commit(files("2"), "v2");
    const t0 = Date.now();
    // Webhook-style: a reconcile request on every shard's GitRepository (their interval is 1h).
    for (const s of ALL) {
      const r = await env.admin.get(REPO_KIND, `src-${s}`, ns);
      await env.admin.patch(r!, { metadata: { annotations: { "mooring.dev/reconcile-requested-at": String(Date.now()) } } }, "merge");
    }
    // Kill shard2 once some, not all, of its Applications are on the new commit.
    const mine = Array.from({ length: APPS }, (_, i) => i).filter((i) => shardOf(i) === "shard2").map(appName);
    let onNew = 0;
    const killDeadline = Date.now() + 120_000;
    while (Date.now() < killDeadline) {
      const apps = await env.admin.list<Obj>(APP_KIND, { namespace: ns, labelSelector: `${KEY}=shard2` });
      onNew = apps.filter((a) => (a.status?.sync?.revision ?? "").endsWith(sha2)).length;
      if (onNew > 0) break;
      await sleep(50);
    }
    await victim.kill();
    figures.killedAt = { appsOnNewCommit: onNew, of: mine.length, msAfterPush: Date.now() - t0 };
    await sleep(2_000);
    const tRestart = Date.now();
    await victim.start();
    figures.restartToReadyzMs = Date.now() - tRestart;
    figures.syncReadyMsPerShard = await waitAllReady(sha2, t0, READY_TIMEOUT_MS);

    const problems: string[] = [];
    const cms = new Map((await env.admin.list<Obj>(CM_KIND, { namespace: ns })).map((c) => [c.metadata!.name!, c]));
    for (let i = 0; i < APPS; i++) {
      const cm = cms.get(`cm-${appName(i)}`);
      if (!cm) problems.push(`cm-${appName(i)} is gone`);
      else if (cm.data?.v !== "2") problems.push(`cm-${appName(i)} holds v=${cm.data?.v}`);
      else if (cm.metadata!.uid !== uids.get(cm.metadata!.name!)) problems.push(`cm-${appName(i)} was re-created`);
    }
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} ConfigMaps not as Git says`);
    // After the restart, still exactly one process per Application (the restarted one counts from zero).
    const applied = await appliedBy();
    for (let i = 0; i < APPS; i++) {
      const by = ALL.filter((s) => applied.get(s)!.has(appName(i)));
      assert.ok(by.every((s) => s === shardOf(i)), `${appName(i)} (shard ${shardOf(i)}) applied by [${by.join(", ")}]`);
    }
    figures.rssMiBEnd = Object.fromEntries(ALL.map((s) => [s, rss(ops.get(s)!.pid)]));
  });

  // docs/scaling.md, "Moving an Application between shards": the GitRepository and its Applications relabelled
  // together. The old shard's caches lose them (a delete event to its controllers, which must not read it as a
  // deletion: no prune, no finalizer run), the new shard's gain them and take over from the status the old one wrote.
  void it("relabelling a GitRepository and its Applications to another shard hands them over: no prune, no re-create, no changing write, then only the new shard applies", async () => {
    assert.ok(sha1, "the first step did not run");
    const ns = env.ns.name;
    const [from, to] = ["shard3", "shard1"] as const;
    const moved = Array.from({ length: APPS }, (_, i) => i).filter((i) => shardOf(i) === from).map(appName);
    const cmsBefore = new Map((await env.admin.list<Obj>(CM_KIND, { namespace: ns })).map((c) => [c.metadata!.name!, c]));
    const appliedBefore = await appliedBy();
    assert.ok(moved.every((n) => appliedBefore.get(from)!.has(n)), `${from} applied the Applications it is about to lose`);

    const t0 = Date.now();
    const relabel = { metadata: { labels: { [KEY]: to } } };
    await env.admin.patch((await env.admin.get(REPO_KIND, `src-${from}`, ns))!, relabel, "merge");
    await Promise.all(moved.map(async (n) => env.admin.patch((await env.admin.get(APP_KIND, n, ns))!, relabel, "merge")));

    // Taken over: every moved Application's status.render and GitRepository artifact now come from the new shard's
    // processes (their advertised artifact address), and it is Ready on the same commit.
    const toAddr = ops.get(to)!.artifactAddr;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let pending: string[] = [];
    for (;;) {
      const apps = await env.admin.list<Obj>(APP_KIND, { namespace: ns, labelSelector: `${KEY}=${to}` });
      pending = moved.filter((n) => {
        const a = apps.find((x) => x.metadata!.name === n);
        return !(a && condOf(a, "Ready")?.status === "True" && String(a.status?.render?.artifact?.url ?? "").includes(toAddr));
      });
      if (!pending.length) break;
      if (Date.now() > deadline) assert.fail(`${pending.length} moved Applications not taken over by ${to}: ${pending.slice(0, 5).join(", ")}\n${ops.get(to)!.tail(10)}`);
      await sleep(500);
    }
    figures.relabelHandoverMs = Date.now() - t0;
    const gitRepo = await env.admin.get<Obj>(REPO_KIND, `src-${from}`, ns);
    assert.match(String(gitRepo?.status?.artifact?.url ?? ""), new RegExp(toAddr.replace(/\./g, "\\.")), "the GitRepository's artifact is now served by the new shard");

    // Nothing pruned, nothing re-created, no write at all to the applied objects (the new shard's apply is a no-op).
    const problems: string[] = [];
    const cms = new Map((await env.admin.list<Obj>(CM_KIND, { namespace: ns })).map((c) => [c.metadata!.name!, c]));
    for (const n of moved) {
      const was = cmsBefore.get(`cm-${n}`)!;
      const cm = cms.get(`cm-${n}`);
      if (!cm) problems.push(`cm-${n} is gone`);
      else if (cm.metadata!.uid !== was.metadata!.uid) problems.push(`cm-${n} was re-created`);
      else if (cm.metadata!.resourceVersion !== was.metadata!.resourceVersion) problems.push(`cm-${n} was written (resourceVersion ${was.metadata!.resourceVersion} → ${cm.metadata!.resourceVersion})`);
    }
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} objects of moved Applications touched by the hand-over`);
    // The old shard forgot them: its apply controller drops an Application's series when it leaves its cache (an
    // apply after that would bring the series back).
    const afterMove = await env.converge(`${from} to forget the moved Applications`, async () => {
      const a = await appliedBy();
      return moved.some((n) => a.get(from)!.has(n)) ? undefined : a;
    }, 30_000);
    for (const n of moved) {
      const r = afterMove.get(to)!.get(n);
      // The new shard may apply nothing at all (the Application's status already records this digest as synced).
      assert.ok(!r || (!r.created && !r.recreated && !r.configured), `${n}: the new shard's apply changed objects: ${JSON.stringify(r)}`);
    }
    // Finalizers stay (the old shard did not finalize what it no longer sees), and no Application was deleted.
    const apps = await env.admin.list<Obj>(APP_KIND, { namespace: ns, labelSelector: `${KEY}=${to}` });
    for (const n of moved) {
      const a = apps.find((x) => x.metadata!.name === n)!;
      assert.ok(!a.metadata!.deletionTimestamp && (a.metadata!.finalizers ?? []).length > 0, `${n}: ${JSON.stringify(a.metadata!.finalizers)}`);
    }

    // The next commit reaches the moved Applications through the new shard only. It is announced by one push to
    // the default shard's webhook (the chart's one webhook Service), signed with the operator-wide secret: it must
    // reach the GitRepositories of every shard (their interval is 1 h).
    const sha3 = await repo.commit(files("3"), "v3");
    const t1 = Date.now();
    const body = JSON.stringify({ url: repo.url, branch: "main" });
    const res = await fetch(ops.get("default")!.webhookUrl, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", "x-mooring-signature-256": "sha256=" + createHmac("sha256", HOOK_SECRET).update(body).digest("hex") },
      signal: AbortSignal.timeout(10_000),
    });
    const answer = await res.text();
    assert.equal(res.status, 202, answer);
    assert.deepEqual(JSON.parse(answer), { triggered: ALL.length }, "one push to the default shard triggers the GitRepository of every shard");
    const left: string[] = [];
    for (;;) {
      const all = await env.admin.list<Obj>(APP_KIND, { namespace: ns });
      left.length = 0;
      for (const a of all) if (!(condOf(a, "Ready")?.status === "True" && (a.status?.sync?.revision ?? "").endsWith(sha3))) left.push(a.metadata!.name!);
      if (!left.length) break;
      if (Date.now() - t1 > READY_TIMEOUT_MS) assert.fail(`${left.length} Applications not Ready on the third commit: ${left.slice(0, 5).join(", ")}`);
      await sleep(500);
    }
    figures.thirdCommitReadyMs = Date.now() - t1;
    const final = await appliedBy();
    assert.deepEqual(moved.filter((n) => final.get(from)!.has(n)), [], `${from} applied moved Applications after they left it`);
    for (const n of moved) assert.ok((final.get(to)!.get(n)?.configured ?? 0) >= 1, `${n}: the third commit was not applied by ${to}: ${JSON.stringify(final.get(to)!.get(n))}`);
    for (const c of await env.admin.list<Obj>(CM_KIND, { namespace: ns })) if (c.metadata!.name!.startsWith("cm-app-")) assert.equal(c.data?.v, "3", `${c.metadata!.name} on the third commit`);
  });
  // docs/scaling.md: a relabel in the middle of a sync. shard2's Applications are relabelled to shard3 as soon as
  // shard2 has brought the first of them to a new commit, so the rest are in its queue or in its reconciles (the old
  // shard finishes those): both shards may work on an Application for a moment. The new commit changes every
  // ConfigMap and adds one per moved Application (written to the inventory before it is applied). Nothing may be
  // lost: no deletion at all in the namespace (a watch of every ConfigMap), every object on the new content with its
  // uid, and afterwards each Application applied by one shard only.
  void it("relabelling in the middle of a sync of a new commit hands over without a prune or a re-create; then one shard per Application", async () => {
    assert.ok(sha1, "the first step did not run");
    const ns = env.ns.name;
    const [from, to] = ["shard2", "shard3"] as const;
    const moved = (await env.admin.list<Obj>(APP_KIND, { namespace: ns, labelSelector: `${KEY}=${from}` })).map((a) => a.metadata!.name!);
    assert.ok(moved.length > 1, `${from} has Applications to move`);
    const uidsBefore = new Map((await env.admin.list<Obj>(CM_KIND, { namespace: ns })).map((c) => [c.metadata!.name!, c.metadata!.uid!]));
    const appUids = new Map((await env.admin.list<Obj>(APP_KIND, { namespace: ns })).map((a) => [a.metadata!.name!, a.metadata!.uid!]));
    const ac = new AbortController();
    const deleted: string[] = [];
    let watching: () => void = () => {};
    const established = new Promise<void>((resolve) => (watching = resolve));
    const watch = (async () => {
      for await (const ev of RestClient.fromKubeConfig(env.c.kc).watch(`/api/v1/namespaces/${ns}/configmaps`, { signal: ac.signal })) {
        watching();
        if (ev.type === "DELETED") deleted.push(String((ev.object as Obj).metadata?.name));
      }
    })();
    await established;
    const appliedBefore = await appliedBy();
    const sha = await repo.commit(files("4", new Set(moved)), "v4: new content, one more ConfigMap per moved Application");
    const t0 = Date.now();
    for (const s of ALL) await env.requestReconcile("GitRepository", `src-${s}`);
    let onNew = 0;
    while (Date.now() - t0 < 120_000) {
      const apps = await env.admin.list<Obj>(APP_KIND, { namespace: ns, labelSelector: `${KEY}=${from}` });
      onNew = apps.filter((a) => (a.status?.sync?.revision ?? "").endsWith(sha)).length;
      if (onNew > 0) break;
      await sleep(25);
    }
    const relabel = { metadata: { labels: { [KEY]: to } } };
    const relabelAt = new Date().toISOString();
    await env.admin.patch((await env.admin.get(REPO_KIND, `src-${from}`, ns))!, relabel, "merge");
    await Promise.all(moved.map(async (n) => env.admin.patch((await env.admin.get(APP_KIND, n, ns))!, relabel, "merge")));
    figures.midSyncRelabel = { appsOnNewCommit: onNew, of: moved.length, msAfterRequest: Date.now() - t0 };
    assert.ok(onNew > 0 && onNew < moved.length, `the relabel came in the middle of ${from}'s sync: ${onNew} of ${moved.length} on the new commit`);

    await waitAllReady(sha, t0, READY_TIMEOUT_MS);
    const toAddr = ops.get(to)!.artifactAddr;
    await env.converge("the moved Applications rendered by the new shard", async () => {
      const apps = await env.admin.list<Obj>(APP_KIND, { namespace: ns, labelSelector: `${KEY}=${to}` });
      return apps.length === moved.length && apps.every((a) => String(a.status?.render?.artifact?.url ?? "").includes(toAddr) && condOf(a, "Ready")?.status === "True");
    }, READY_TIMEOUT_MS);
    figures.midSyncHandoverMs = Date.now() - t0;
    await sleep(2_000); // whatever the old shard still had in flight has written by now
    ac.abort();
    await watch.catch(() => {});
    assert.deepEqual(deleted, [], "no ConfigMap was deleted (pruned) during the hand-over");
    const cms = new Map((await env.admin.list<Obj>(CM_KIND, { namespace: ns })).map((c) => [c.metadata!.name!, c]));
    const problems: string[] = [];
    for (let i = 0; i < APPS; i++) {
      const n = appName(i);
      for (const name of moved.includes(n) ? [`cm-${n}`, `cm-${n}-b`] : [`cm-${n}`]) {
        const cm = cms.get(name);
        if (!cm) problems.push(`${name} is missing`);
        else if (cm.data?.v !== "4") problems.push(`${name} holds v=${cm.data?.v}`);
        else if (uidsBefore.has(name) && cm.metadata!.uid !== uidsBefore.get(name)) problems.push(`${name} was re-created`);
      }
    }
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} ConfigMaps not as Git says after the hand-over`);
    for (const a of await env.admin.list<Obj>(APP_KIND, { namespace: ns })) assert.equal(a.metadata!.uid, appUids.get(a.metadata!.name!), `${a.metadata!.name} is the same Application`);
    const appliedMid = await appliedBy();
    for (const s of ALL) for (const [n, r] of appliedMid.get(s)!) assert.equal((r.recreated ?? 0) - (appliedBefore.get(s)!.get(n)?.recreated ?? 0), 0, `${s} re-created objects of ${n}`);
    // Who finished the moved Applications' syncs after the relabel (each process logs "synced" per sync).
    const syncedAfter = (s: string) => ops.get(s)!.logs().split("\n").filter((l) => l.includes('"message":"synced"')).map((l) => JSON.parse(l) as { key?: string; revision?: string; timestamp?: string })
      .filter((l) => (l.timestamp ?? "") >= relabelAt && (l.revision ?? "").endsWith(sha) && moved.some((n) => l.key === `${ns}/${n}`)).length;
    figures.midSyncSyncsAfterRelabel = { [from]: syncedAfter(from), [to]: syncedAfter(to) };

    // Afterwards one shard per Application: the next commit is applied by each Application's current shard only.
    const current = new Map((await env.admin.list<Obj>(APP_KIND, { namespace: ns })).map((a) => [a.metadata!.name!, a.metadata!.labels?.[KEY] ?? "default"]));
    const sha5 = await repo.commit(files("5", new Set(moved)), "v5");
    const t1 = Date.now();
    for (const s of ALL) await env.requestReconcile("GitRepository", `src-${s}`);
    await waitAllReady(sha5, t1, READY_TIMEOUT_MS);
    const appliedEnd = await appliedBy();
    const sum = (a: Map<string, Map<string, Record<string, number>>>, s: string, n: string) => Object.values(a.get(s)!.get(n) ?? {}).reduce((x, y) => x + y, 0);
    for (const [n, s] of current) {
      const by = ALL.filter((x) => sum(appliedEnd, x, n) > sum(appliedMid, x, n));
      assert.deepEqual(by, [s], `${n} (shard ${s}) applied the next commit by [${by.join(", ")}]`);
    }
  });
});
