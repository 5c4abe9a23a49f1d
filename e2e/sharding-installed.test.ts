// Sharding as installed (issue 20, docs/scaling.md): `helm install` of the chart with a user's values file,
// `sharding.shards: [shard1, shard2, shard3]`, and every Pod of the release run by the process node
// (test/support/process-node.ts) as in e2e/as-installed.test.ts: nothing here sets a flag, the chart does.
// All-in-one mode: one Pod per shard (4 Pods: the default shard and three shards) instead of split mode's 12, so
// the whole file stays short enough for `make test` on a 2-core machine; split mode's per-shard wiring (a shard's
// render fetching from its own source, its apply from its own render) is checked rendered in
// test/unit/chart/sharding.test.ts, and the same process here runs all three controllers with the same flags.
//
// 24 Applications (one ConfigMap each, from a loopback git server), 6 per shard, each shard with its own
// GitRepository. Proven: each Application becomes Ready, rendered from its own shard's artifact Service and applied
// by its own shard's process only (each Pod's per-Application metric mooring_application_objects_applied_total);
// each shard's Lease has its own holder, the shard's own Pod; a relabel of a Synced shard's GitRepository and
// Applications to another shard hands them over with no write to the applied objects; a relabel in the MIDDLE of a
// sync (a two-wave commit held at its first wave by a health rule the test opens right after the relabel) ends with
// every object on the new content, none pruned or re-created, no Application re-created; and one push to the default
// shard's webhook Service brings every shard's Applications to the next commit, each applied by exactly one shard;
// deleting the Applications has each finalized (its objects pruned) by its current shard.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { quietly } from "../test/support/cleanup.js";
import { REPO_ROOT, testCluster } from "../test/support/cluster.js";
import { parseMetrics } from "../test/support/fault-operator.js";
import { type CommitFiles, GitServer, type TestRepo } from "../test/support/git-server.js";
import { CHART_DIR } from "../test/support/helm.js";
import { podReachableUrl } from "../test/support/pod-reachable.js";
import { buildAppDir, startProcessNode, type ProcessNode } from "../test/support/process-node.js";
import { waitFor } from "../test/support/wait.js";

const run = promisify(execFile);
const KEY = "sharding.mooring.dev/key";
const SHARDS = ["shard1", "shard2", "shard3"];
const ALL = ["default", ...SHARDS];
const APPS = 24;
/** Not the other e2e files' "mooring": the release's cluster-scoped objects (ClusterRoles) are its own, so a release
 * another file failed to uninstall cannot make this install fail (and the reverse). */
const RELEASE = "mooring-shards";
const GATE = "e2e.mooring.dev/open";
const HOOK_TOKEN = `e2e-${randomBytes(12).toString("hex")}`;
const VALUES = `# A user's values file: all-in-one mode, three shards besides the default one.\nmode: all-in-one\nsharding:\n  shards: [${SHARDS.join(", ")}]\n`;

interface Cond { type: string; status: string; reason?: string; message?: string }
type Obj = { metadata: { name: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[]; deletionTimestamp?: string }; spec?: Record<string, unknown>; data?: Record<string, string>; status?: Record<string, unknown> };
/** Per shard, per Application, the apply actions its process counted. */
type Applied = Map<string, Map<string, Record<string, number>>>;

let kubeconfig = "";
const sh = async (cmd: string, args: string[], input?: string, timeout = 120_000): Promise<string> => {
  try {
    const p = run(cmd, ["--kubeconfig", kubeconfig, ...args], { timeout, maxBuffer: 32 * 1024 * 1024 });
    if (input !== undefined) p.child.stdin!.end(input);
    return (await p).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${(e.stderr || e.message).trim()}`, { cause: err });
  }
};
const kubectl = (args: string[], input?: string) => sh("kubectl", args, input);
const list = async (kind: string, ns: string, selector?: string, extra: string[] = []) => (JSON.parse(await kubectl(["get", kind, "-n", ns, "-o", "json", ...(selector ? ["-l", selector] : []), ...extra])) as { items: Obj[] }).items;
const cond = (o: Obj | undefined, type: string) => ((o?.status?.conditions ?? []) as Cond[]).find((c) => c.type === type);
const revisionOf = (a: Obj) => String((a.status?.sync as { revision?: string } | undefined)?.revision ?? "");
const renderUrl = (a: Obj) => String((a.status?.render as { artifact?: { url?: string } } | undefined)?.artifact?.url ?? "");
const appName = (i: number) => `app-${String(i).padStart(2, "0")}`;
const labelsOf = (shard: string) => (shard === "default" ? "{}" : `{${KEY}: ${shard}}`);

/**
 * The repository's files at version `v`: a ConfigMap per Application; for the `gated` ones, two waves: wave 0 a
 * `gate-` ConfigMap (unhealthy until the test annotates it, by the Applications' health rule), wave 1 their ConfigMap.
 */
function files(v: string, gated: ReadonlySet<string> = new Set()): CommitFiles {
  const out: CommitFiles = {};
  for (let i = 0; i < APPS; i++) {
    const n = appName(i);
    const wave = gated.has(n) ? `\n  annotations: {delivery.mooring.dev/sync-wave: "1"}` : "";
    out[`apps/${n}/cm.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${n}${wave}\ndata:\n  v: "${v}"\n  app: ${n}\n`;
    out[`apps/${n}/gate.yaml`] = gated.has(n) ? `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gate-${n}\n  annotations: {delivery.mooring.dev/sync-wave: "0"}\ndata:\n  v: "${v}"\n` : null;
  }
  return out;
}

void describe("e2e: the sharded chart as installed (all-in-one, 3 shards + default), its Pods run by the process node", () => {
  const system = `mooring-shard-${randomBytes(3).toString("hex")}`;
  const tenant = `shard-tenant-${randomBytes(3).toString("hex")}`;
  let node: ProcessNode | undefined;
  let appDir = "";
  let tmp = "";
  let git: GitServer | undefined;
  let forwarder: net.Server | undefined;
  let repo: TestRepo;
  let repoUrl = "";
  let installed = false;
  let failedStep: string | undefined;
  /** Current shard of each Application (relabels move them). */
  const shardOfApp = new Map<string, string>();
  const podOf = new Map<string, string>();
  const cmUids = new Map<string, string>();
  /** The Applications whose render has two waves (from the mid-sync relabel on). */
  let gated = new Set<string>();
  const figures: Record<string, unknown> = {};
  const t0 = Date.now();

  const artifactsHost = (shard: string) => `${RELEASE}-artifacts${shard === "default" ? "" : `-${shard}`}.${system}.svc.`;
  const appsOf = (shard: string) => [...shardOfApp].filter(([, s]) => s === shard).map(([n]) => n);
  const nodeLogs = () => Object.entries(node?.pods() ?? {}).map(([p, i]) => `--- ${p} (${i.state}, ${i.restarts} restarts) ---\n${node!.logs(p).split("\n").slice(-25).join("\n")}`).join("\n");
  const step = (name: string, fn: () => Promise<void>) =>
    it(name, { timeout: 300_000 }, async () => {
      if (failedStep) throw new Error(`not run: the earlier step "${failedStep}" failed`);
      const t = Date.now();
      try {
        await fn();
      } catch (err) {
        failedStep = name;
        (err as Error).message += `\n${nodeLogs()}`;
        throw err;
      } finally {
        console.log(`# ${((Date.now() - t) / 1000).toFixed(1)} s: ${name}`);
      }
    });

  /** Each shard's process's per-Application apply counters, read from its Pod's metrics port. */
  async function appliedBy(): Promise<Applied> {
    const out: Applied = new Map();
    for (const s of ALL) {
      const info = node!.pods()[podOf.get(s)!]!;
      const res = await fetch(`http://${info.ip}:8080/metrics`, { signal: AbortSignal.timeout(10_000) });
      const m = new Map<string, Record<string, number>>();
      for (const x of parseMetrics(await res.text())) {
        if (x.name !== "mooring_application_objects_applied_total" || x.labels.namespace !== tenant || !x.value) continue;
        const r = m.get(x.labels.name!) ?? {};
        r[x.labels.action!] = (r[x.labels.action!] ?? 0) + x.value;
        m.set(x.labels.name!, r);
      }
      out.set(s, m);
    }
    return out;
  }
  /** The old shard forgot the moved Applications (its apply controller drops their series when they leave its cache). */
  const forgotten = (shard: string, apps: string[]) =>
    waitFor(`${shard} to forget the Applications that left it`, async () => {
      const series = (await appliedBy()).get(shard)!;
      const still = apps.filter((n) => series.has(n));
      if (still.length) throw new Error(`${shard} still has series of ${still.join(", ")}`);
      return true;
    }, { timeoutMs: 60_000, intervalMs: 500 });
  const total = (a: Applied, s: string, app: string) => Object.values(a.get(s)!.get(app) ?? {}).reduce((x, y) => x + y, 0);

  /** Every Application Ready on `sha`, rendered from its current shard's artifact Service. */
  async function waitAllReady(sha: string, what: string): Promise<number> {
    const t = Date.now();
    await waitFor(what, async () => {
      const apps = new Map((await list("applications.delivery.mooring.dev", tenant)).map((a) => [a.metadata.name, a]));
      const pending = [...shardOfApp].filter(([n, s]) => {
        const a = apps.get(n);
        return !(a && cond(a, "Ready")?.status === "True" && revisionOf(a).endsWith(sha) && renderUrl(a).includes(`//${artifactsHost(s)}`));
      });
      if (pending.length) throw new Error(pending.slice(0, 4).map(([n, s]) => `${n} (${s}): ${((apps.get(n)?.status?.conditions ?? []) as Cond[]).map((c) => `${c.type}=${c.status} ${c.message ?? ""}`).join("; ")} ${renderUrl(apps.get(n)!)}`).join("\n"));
      return true;
    }, { timeoutMs: 180_000, intervalMs: 500 });
    return Date.now() - t;
  }

  /** Relabels a GitRepository and the Applications that use it, in one `kubectl label`, as docs/scaling.md says. */
  async function relabel(from: string, to: string): Promise<string[]> {
    const moved = appsOf(from);
    await kubectl(["label", "-n", tenant, `gitrepository.source.mooring.dev/src-${from}`, ...moved.map((n) => `application.delivery.mooring.dev/${n}`), "--overwrite", `${KEY}=${to}`]);
    for (const n of moved) shardOfApp.set(n, to);
    return moved;
  }

  async function cms(): Promise<Map<string, Obj>> {
    return new Map((await list("configmaps", tenant, undefined, ["--show-managed-fields"])).map((c) => [c.metadata.name, c]));
  }

  before(async () => {
    kubeconfig = (await testCluster()).kubeconfigPath;
    tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-e2e-sharding-"));
    appDir = buildAppDir(REPO_ROOT);
    git = await GitServer.start();
    repo = await git.createRepo("shards");
    ({ url: repoUrl, forwarder } = await podReachableUrl(repo.url));
    for (let i = 0; i < APPS; i++) shardOfApp.set(appName(i), ALL[i % ALL.length]!);
  });

  after(async () => {
    console.log(`# sharding e2e figures: ${JSON.stringify({ ...figures, totalMs: Date.now() - t0 })}`);
    if (failedStep && node) {
      const file = path.join(os.tmpdir(), `mooring-e2e-sharding-${system}.log`);
      await quietly("saving the Pods' logs", () => writeFile(file, Object.keys(node!.pods()).map((p) => `--- ${p} ---\n${node!.logs(p, { runs: "all" })}`).join("\n")));
      console.error(`e2e: the Pods' logs are in ${file}`);
    }
    const timed = async (what: string, fn: () => unknown) => {
      const t = Date.now();
      await quietly(what, fn);
      console.log(`# clean-up: ${((Date.now() - t) / 1000).toFixed(1)} s: ${what}`);
    };
    // The tenant's Applications first (the last step deletes them; after a failure they may be left), while every
    // shard runs to remove the finalizers of its own; the namespace then goes in the background.
    await timed("deleting the Applications", () => sh("kubectl", ["delete", "applications.delivery.mooring.dev", "--all", "-n", tenant, "--ignore-not-found", "--timeout=60s"], undefined, 90_000));
    await timed(`deleting namespace ${tenant}`, () => kubectl(["delete", "namespace", tenant, "--ignore-not-found", "--wait=false"]));
    if (installed) await timed("helm uninstall", () => sh("helm", ["uninstall", RELEASE, "-n", system, "--wait", "--timeout", "120s"], undefined, 150_000));
    await timed("stopping the process node", () => node?.stop());
    await quietly(`deleting namespace ${system}`, () => kubectl(["delete", "namespace", system, "--ignore-not-found", "--wait=false"]));
    await quietly("stopping the git server", async () => {
      forwarder?.close();
      await git?.close();
    });
    await quietly("removing temporary files", async () => {
      await rm(tmp, { recursive: true, force: true });
      await rm(appDir, { recursive: true, force: true });
    });
  });

  void step("helm install with sharding.shards=[shard1, shard2, shard3]: four Pods, each its shard's selector and its own Lease holder", async () => {
    await kubectl(["create", "namespace", system]);
    await kubectl(["create", "secret", "generic", "mooring-webhook", "-n", system, `--from-literal=token=${HOOK_TOKEN}`]);
    const values = path.join(tmp, "values.yaml");
    await writeFile(values, VALUES);
    const out = await sh("helm", ["install", RELEASE, CHART_DIR, "-n", system, "-f", values, "--wait", "--timeout", "180s"], undefined, 240_000);
    installed = true;
    assert.match(out, /STATUS: deployed/);
    node = await startProcessNode({ kubeconfig, namespace: system, appDir });
    await waitFor("4 Pods of the release running and ready on the process node", async () => {
      const pods = (await list("pods", system)).filter((p) => !p.metadata.deletionTimestamp);
      const info = node!.pods();
      const ready = pods.filter((p) => info[p.metadata.name]?.state === "running" && info[p.metadata.name]?.ready);
      if (pods.length !== 4 || ready.length !== 4) throw new Error(pods.map((p) => `${p.metadata.name}=${info[p.metadata.name]?.state ?? "not started"}`).join(", "));
      return true;
    }, { timeoutMs: 240_000, intervalMs: 1000 });
    for (const p of await list("pods", system)) podOf.set(p.metadata.labels?.["mooring.dev/shard"] ?? "default", p.metadata.name);
    assert.deepEqual([...podOf.keys()].sort(), [...ALL].sort(), "one Pod per shard");
    for (const p of await list("pods", system)) {
      const args = ((p.spec as { containers: { args: string[] }[] }).containers[0]!.args).find((a) => a.startsWith("--watch-label-selector="));
      const s = p.metadata.labels?.["mooring.dev/shard"];
      assert.equal(args, `--watch-label-selector=${s ? `${KEY}=${s}` : `${KEY} notin (${SHARDS.join(",")})`}`, p.metadata.name);
    }
    const leaseOf = (s: string) => `${RELEASE}${s === "default" ? "" : `-${s}`}-leader`;
    const holders = await waitFor("a holder on each shard's Lease", async () => {
      const h = Object.fromEntries((await list("leases", system)).map((l) => [l.metadata.name, String((l.spec as { holderIdentity?: string }).holderIdentity ?? "")]));
      return ALL.every((s) => h[leaseOf(s)]) ? h : undefined;
    }, { timeoutMs: 120_000 });
    for (const s of ALL) assert.ok(holders[leaseOf(s)]!.startsWith(podOf.get(s)!), `Lease ${leaseOf(s)} is held by ${holders[leaseOf(s)]}, not by the ${s} Pod ${podOf.get(s)}`);
    assert.equal(new Set(ALL.map((s) => holders[leaseOf(s)])).size, ALL.length, JSON.stringify(holders));
    figures.installToReadyMs = Date.now() - t0;
  });

  void step("24 Applications over the four shards are Ready, each rendered by its own shard and applied by its process only", async () => {
    const sha = await repo.commit(files("1"), "v1");
    await kubectl(["create", "namespace", tenant]);
    // As the chart's NOTES say: the tenant's deployer may edit its namespace, and the release may impersonate it.
    await kubectl(["create", "serviceaccount", "deployer", "-n", tenant]);
    await kubectl(["create", "rolebinding", "deployer-edit", "-n", tenant, "--clusterrole=edit", `--serviceaccount=${tenant}:deployer`]);
    await kubectl(["create", "rolebinding", `${RELEASE}-impersonate`, "-n", tenant, `--clusterrole=${RELEASE}-impersonate`, `--serviceaccount=${system}:${RELEASE}`]);
    const docs = ALL.map((s) => `apiVersion: source.mooring.dev/v1alpha1\nkind: GitRepository\nmetadata: {name: src-${s}, namespace: ${tenant}, labels: ${labelsOf(s)}}\nspec: {url: "${repoUrl}", ref: {branch: main}, interval: 1h, timeout: 30s}\n`);
    // A gate- ConfigMap is healthy once annotated (the mid-sync relabel below holds a sync at its first wave with it).
    const rule = `!metadata.name.startsWith('gate-') || (has(metadata.annotations) && '${GATE}' in metadata.annotations)`;
    for (const [n, s] of shardOfApp) {
      docs.push(`apiVersion: delivery.mooring.dev/v1alpha1\nkind: Application\nmetadata: {name: ${n}, namespace: ${tenant}, labels: ${labelsOf(s)}}\nspec:\n  sourceRef: {kind: GitRepository, name: src-${s}}\n  path: apps/${n}\n  interval: 10m\n  serviceAccountName: deployer\n  healthCheckExprs: [{apiVersion: v1, kind: ConfigMap, current: "${rule}"}]\n`);
    }
    await kubectl(["apply", "-f", "-"], docs.join("---\n"));
    figures.coldReadyMs = await waitAllReady(sha, "all 24 Applications Ready on the first commit");
    for (const s of ALL) {
      const [r] = await list("gitrepositories.source.mooring.dev", tenant, s === "default" ? `!${KEY}` : `${KEY}=${s}`);
      assert.match(String((r?.status?.artifact as { url?: string } | undefined)?.url), new RegExp(`^http://${artifactsHost(s).replace(/\./g, "\\.")}`), `src-${s} is served by its shard`);
    }
    const applied = await appliedBy();
    for (const [n, s] of shardOfApp) {
      const by = ALL.filter((x) => applied.get(x)!.has(n));
      assert.deepEqual(by, [s], `${n} (shard ${s}) applied by [${by.join(", ")}]`);
      assert.deepEqual(applied.get(s)!.get(n), { created: 1 }, n);
    }
    for (const [name, cm] of await cms()) {
      if (!name.startsWith("cm-")) continue;
      cmUids.set(name, cm.metadata.uid!);
      const applies = ((cm.metadata as { managedFields?: { operation?: string }[] }).managedFields ?? []).filter((f) => f.operation === "Apply");
      assert.equal(applies.length, 1, `${name}: one apply field manager`);
    }
    assert.equal(cmUids.size, APPS);
  });

  void step("relabelling a Synced shard's GitRepository and Applications (shard3 → shard1) hands them over with no write to their objects", async () => {
    const before = await cms();
    const appliedBefore = await appliedBy();
    const t = Date.now();
    const moved = await relabel("shard3", "shard1");
    const sha = await repo.head();
    await waitAllReady(sha, "the moved Applications rendered by shard1 and Ready");
    figures.syncedHandoverMs = Date.now() - t;
    await forgotten("shard3", moved);
    const now = await cms();
    const appliedAfter = await appliedBy();
    for (const n of moved) {
      const [was, is] = [before.get(`cm-${n}`)!, now.get(`cm-${n}`)];
      assert.ok(is, `cm-${n} was pruned`);
      assert.equal(is.metadata.uid, was.metadata.uid, `cm-${n} was re-created`);
      assert.equal(is.metadata.resourceVersion, was.metadata.resourceVersion, `cm-${n} was written by the hand-over`);
      assert.ok(appliedBefore.get("shard3")!.has(n), `shard3 had applied ${n}`);
      const r = appliedAfter.get("shard1")!.get(n) ?? {};
      assert.ok(!r.created && !r.configured && !r.recreated, `${n}: shard1's apply changed objects: ${JSON.stringify(r)}`);
    }
    for (const a of await list("applications.delivery.mooring.dev", tenant, `${KEY}=shard1`)) assert.ok((a.metadata.finalizers ?? []).length > 0, `${a.metadata.name} keeps its finalizer`);
  });

  void step("relabelling in the middle of a sync (shard2 → shard3, held at its first wave) loses nothing: no prune, no re-create, every object on the new content", async () => {
    gated = new Set(appsOf("shard2"));
    const sha = await repo.commit(files("2", gated), "v2: two waves for shard2's Applications");
    for (const s of ALL) await kubectl(["annotate", "-n", tenant, `gitrepository.source.mooring.dev/src-${s}`, "--overwrite", `mooring.dev/reconcile-requested-at=${Date.now()}`]);
    // shard2's sync of the new commit is in flight: wave 0 applied, wave 1 (the ConfigMaps' new content) not yet.
    await waitFor("shard2's Applications waiting for wave 0 of the new commit", async () => {
      const apps = await list("applications.delivery.mooring.dev", tenant, `${KEY}=shard2`);
      const waiting = apps.filter((a) => ((a.status?.conditions ?? []) as Cond[]).some((c) => /waiting for wave 0/.test(c.message ?? "")));
      return waiting.length === gated.size ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 300 });
    const before = await cms();
    const appliedBefore = await appliedBy();
    for (const n of gated) assert.equal(before.get(`cm-${n}`)?.data?.v, "1", `cm-${n} is not synced yet`);
    const appUids = new Map((await list("applications.delivery.mooring.dev", tenant)).map((a) => [a.metadata.name, a.metadata.uid]));
    const t = Date.now();
    await relabel("shard2", "shard3");
    // The gate opens at once: whichever shard still reconciles them may go on to wave 1.
    await kubectl(["annotate", "-n", tenant, ...[...gated].map((n) => `configmap/gate-${n}`), `${GATE}=yes`]);
    await waitAllReady(sha, "every Application Ready on the two-wave commit, shard2's old ones through shard3");
    figures.midSyncHandoverMs = Date.now() - t;
    await forgotten("shard2", [...gated]);
    const now = await cms();
    const appliedAfter = await appliedBy();
    for (let i = 0; i < APPS; i++) {
      const n = appName(i);
      assert.equal(now.get(`cm-${n}`)?.data?.v, "2", `cm-${n} on the new content`);
      assert.equal(now.get(`cm-${n}`)?.metadata.uid, cmUids.get(`cm-${n}`), `cm-${n} kept its uid`);
      // Every object existed before this step (the gates since wave 0 on shard2): a creation now would mean a prune.
      for (const s of ALL) {
        const [b, a] = [appliedBefore.get(s)!.get(n) ?? {}, appliedAfter.get(s)!.get(n) ?? {}];
        assert.ok((a.created ?? 0) <= (b.created ?? 0) && !a.recreated, `${s} created objects of ${n}: ${JSON.stringify(b)} → ${JSON.stringify(a)}`);
      }
    }
    for (const n of gated) {
      assert.equal(now.get(`gate-${n}`)?.metadata.uid, before.get(`gate-${n}`)?.metadata.uid, `gate-${n} kept its uid`);
      assert.equal(now.get(`gate-${n}`)?.metadata.annotations?.[GATE], "yes");
      assert.ok(appliedBefore.get("shard2")!.get(n)?.created, `shard2 applied wave 0 of ${n} before the relabel`);
    }
    for (const a of await list("applications.delivery.mooring.dev", tenant)) assert.equal(a.metadata.uid, appUids.get(a.metadata.name), `${a.metadata.name} is the same object`);
    figures.midSyncResumedByShard3 = [...gated].filter((n) => (appliedAfter.get("shard3")!.get(n)?.configured ?? 0) > 0).length;
  });

  void step("one push to the default shard's webhook Service reaches every shard; each Application is applied by exactly one shard, its current one", async () => {
    const sha = await repo.commit(files("3", gated), "v3");
    const before = await appliedBy();
    const svc = (await list("services", system)).find((s) => s.metadata.name === `${RELEASE}-webhook`);
    const ip = (svc?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    assert.ok(ip, "the default shard's webhook Service has a ClusterIP");
    await node!.waitForServiceRules(system, `${RELEASE}-webhook`, 120_000);
    const body = JSON.stringify({ ref: "refs/heads/main", url: repoUrl });
    const signature = `sha256=${createHmac("sha256", HOOK_TOKEN).update(body).digest("hex")}`;
    const answer = await waitFor("the webhook Service to accept the push", async () => {
      const r = await fetch(`http://${ip}:80/`, { method: "POST", headers: { "content-type": "application/json", "x-mooring-signature-256": signature }, body, signal: AbortSignal.timeout(10_000) });
      const text = await r.text();
      if (r.status !== 202) throw new Error(`HTTP ${r.status}: ${text}`);
      return JSON.parse(text) as { triggered?: number };
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    assert.equal(answer.triggered, ALL.length, "the push matched every shard's GitRepository");
    figures.pushReadyMs = await waitAllReady(sha, "every Application Ready on the pushed commit");
    const now = await cms();
    const after = await appliedBy();
    for (const [n, s] of shardOfApp) {
      assert.equal(now.get(`cm-${n}`)?.data?.v, "3", `cm-${n} on the pushed commit`);
      assert.equal(now.get(`cm-${n}`)?.metadata.uid, cmUids.get(`cm-${n}`), `cm-${n} kept its uid`);
      const by = ALL.filter((x) => total(after, x, n) > total(before, x, n));
      assert.deepEqual(by, [s], `${n} (now shard ${s}) applied by [${by.join(", ")}]`);
    }
    for (const [p, info] of Object.entries(node!.pods())) assert.equal(info.restarts, 0, `${p} restarted`);
  });

  void step("deleting the Applications: each is finalized by its current shard, which prunes its objects", async () => {
    await kubectl(["delete", "applications.delivery.mooring.dev", "--all", "-n", tenant, "--wait=false"]);
    await waitFor("every Application finalized and gone, and its ConfigMaps pruned", async () => {
      const [apps, left] = [await list("applications.delivery.mooring.dev", tenant), [...(await cms()).keys()].filter((n) => /^(cm|gate)-/.test(n))];
      if (apps.length || left.length) throw new Error(`Applications left: ${apps.map((a) => a.metadata.name).join(", ")}; ConfigMaps left: ${left.join(", ")}`);
      return true;
    }, { timeoutMs: 90_000, intervalMs: 500 });
  });
});
