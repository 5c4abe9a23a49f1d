// Benchmark: N Applications of 4 objects each (a Deployment, a Service, a ConfigMap, a ServiceAccount — the shape
// of Flux's published benchmark) from created to all Ready, side by side with `kubectl apply --server-side` of the
// same objects (then waiting for the same Deployments to be Ready); then one steady-state pass over every
// Application, counting API requests from the kube-apiserver's own apiserver_request_total and the operator's;
// operator CPU and peak RSS. The operator runs in a child process (bench/apply-operator.ts).
//
//   MOORING_TEST_KUBECONFIG=... npx tsx bench/apply-scale.ts --apps 100 [--qps 50 --burst 100 --concurrency 4]
//
// The render controller's part (the rendered artifact and status.render) is played by this process, as in the
// integration tests. On a shared cluster, other clients' requests show up in the apiserver figures: the per-resource
// write counts are restricted to the kinds the operator touches, and the operator's own count is printed beside them.
import { execFileSync, fork, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { stringify } from "yaml";
import { imageNodeFlags } from "../hack/lib/image-entrypoint.js";
import { FieldManagers, installCrds } from "../src/api/index.js";
import { ArtifactStorage } from "../src/artifact/storage.js";
import { startArtifactServer } from "../src/artifact/server.js";
import { canonicalJson } from "../src/render/canonical.js";
import { Client, RestClient, RestMapper, type KubeObject } from "../src/runtime/index.js";

const { values: flags } = parseArgs({
  options: {
    apps: { type: "string", default: process.env.BENCH_APPS ?? "100" },
    qps: { type: "string", default: "50" },
    burst: { type: "string", default: "100" },
    concurrency: { type: "string", default: "4" },
    "timeout-s": { type: "string", default: "900" },
    /** Fake (kwok) nodes the benchmark adds for its Pods, tainted so that only its Pods land there (default: enough for 2·N Pods). */
    nodes: { type: "string" },
    /** Run the operator under tsx instead of as bundled JavaScript (tsx's loader adds ~100 MiB of RSS). */
    tsx: { type: "boolean", default: false },
    /** Node flags for the operator process, space-separated (default: those of the Dockerfile's ENTRYPOINT, as the image runs it). */
    "node-options": { type: "string" },
    /** Leave out the kubectl side (for quick memory experiments; no ratio is printed then). */
    "skip-baseline": { type: "boolean", default: false },
    /** Write a V8 heap snapshot of the operator at the end to this file. */
    "heap-snapshot": { type: "string" },
  },
});
const N = Number(flags.apps);
const here = path.dirname(fileURLToPath(import.meta.url));
const nodeFlags = flags["node-options"] !== undefined ? flags["node-options"].split(" ").filter(Boolean) : imageNodeFlags(path.join(here, ".."));

const timeoutMs = Number(flags["timeout-s"]) * 1000;
const kubeconfig = process.env.MOORING_TEST_KUBECONFIG;
if (!kubeconfig) throw new Error("set MOORING_TEST_KUBECONFIG (make bench does) to the local cluster's kubeconfig");
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const rest = RestClient.fromKubeConfig(kc, { qps: 500, burst: 500 });
const client = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "bench" });
const suffix = Date.now().toString(36);
const kubectlNs = `bench-apply-kubectl-${suffix}`;
const mooringNs = `bench-apply-mooring-${suffix}`;
const NODE_TAINT = { key: "mooring.dev/bench", value: "apply-scale", effect: "NoSchedule" };
const nodeNames = Array.from({ length: Number(flags.nodes ?? Math.ceil((2 * N) / 100)) }, (_, i) => `bench-apply-${suffix}-${i}`);
const WRITE_VERBS = new Set(["POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE"]);
const TOUCHED = new Set(["applications", "deployments", "services", "configmaps", "serviceaccounts", "events"]);

function objectsFor(i: number, namespace: string): KubeObject[] {
  const name = `app-${i}`;
  const labels = { app: name };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data: { "config.yaml": `name: ${name}\nreplicas: 1\n` } },
    // Headless: the local cluster's service range (a /24) could not give 1,000 Services an IP.
    { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { clusterIP: "None", selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            containers: [{ name: "app", image: "registry.example/podinfo:6.5.0", ports: [{ containerPort: 8080 }] }],
            tolerations: [
              { key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" },
              { key: NODE_TAINT.key, operator: "Equal", value: NODE_TAINT.value, effect: "NoSchedule" },
            ],
          },
        },
      },
    },
  ];
}

async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => { while (next < items.length) await fn(items[next++]!); }));
}

async function readyDeployments(namespace: string): Promise<number> {
  const list = await client.list<KubeObject & { spec?: { replicas?: number }; status?: { readyReplicas?: number; observedGeneration?: number } }>({ apiVersion: "apps/v1", kind: "Deployment" }, { namespace });
  return list.filter((d) => (d.status?.readyReplicas ?? 0) >= (d.spec?.replicas ?? 1) && d.status?.observedGeneration === d.metadata?.generation).length;
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** apiserver_request_total summed by "verb resource" from the API server's own /metrics. */
function apiserverRequests(): Map<string, number> {
  const text = execFileSync("kubectl", ["--kubeconfig", kubeconfig!, "get", "--raw", "/metrics"], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const verb = /verb="([^"]*)"/.exec(line)?.[1] ?? "";
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? "";
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    const k = `${verb} ${resource}`;
    out.set(k, (out.get(k) ?? 0) + value);
  }
  return out;
}

function diffRequests(a: Map<string, number>, b: Map<string, number>) {
  let writes = 0;
  let all = 0;
  const byKey: string[] = [];
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (d <= 0) continue;
    const [verb, resource] = k.split(" ") as [string, string];
    if (!TOUCHED.has(resource)) continue;
    all += d;
    if (WRITE_VERBS.has(verb)) {
      writes += d;
      byKey.push(`${k}=${d}`);
    }
  }
  return { writes, all, byKey };
}

type Stats = { rssBytes: number; memory: NodeJS.MemoryUsage; maxRssKiB: number; cpuMicros: number; restWrites: number; restRequests: number; reconciles: number };

const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-bench-apply-"));
const storage = new ArtifactStorage({ root: dir });
await storage.init();
const server = await startArtifactServer("127.0.0.1:0", { root: dir });
let op: ReturnType<typeof fork> | undefined;
const ask = <T>(cmd: string, type: string): Promise<T> =>
  new Promise((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type === type) {
        op!.off("message", on);
        resolve(m as T);
      }
    };
    op!.on("message", on);
    op!.send({ cmd });
  });

try {
  await installCrds(kc);
  // kwok runs every Node object as a fake node whose Pods become Ready: enough room for both sides' Pods, kept
  // to the benchmark by a taint the other tests' Pods do not tolerate.
  for (const name of nodeNames) {
    await client.create({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, annotations: { "kwok.x-k8s.io/node": "fake" }, labels: { type: "kwok", "kubernetes.io/hostname": name } },
      spec: { taints: [NODE_TAINT] },
      status: { allocatable: { cpu: "64", memory: "256Gi", pods: "110" }, capacity: { cpu: "64", memory: "256Gi", pods: "110" } },
    });
  }
  for (const ns of [kubectlNs, mooringNs]) await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  for (const ns of [kubectlNs, mooringNs]) await until(`default ServiceAccount in ${ns}`, async () => !!(await client.get({ apiVersion: "v1", kind: "ServiceAccount" }, "default", ns)));
  console.log(`apply-scale: ${N} Applications × 4 objects (Deployment, Service, ConfigMap, ServiceAccount); operator qps ${flags.qps}, burst ${flags.burst}, concurrency ${flags.concurrency}; ${nodeNames.length} fake node(s) added for the Pods`);

  // 1. The baseline: kubectl apply --server-side of the same objects, then the same Deployments Ready.
  const yaml = Array.from({ length: N }, (_, i) => objectsFor(i, kubectlNs)).flat().map((o) => `---\n${stringify(o)}`).join("");
  let kubectlApplyMs = NaN;
  let kubectlReadyMs = NaN;
  if (!flags["skip-baseline"]) {
    const k0 = Date.now();
    const res = spawnSync("kubectl", ["--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager=bench-kubectl", "-f", "-"], { input: yaml, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (res.status !== 0) throw new Error(`kubectl apply failed: ${res.stderr}`);
    kubectlApplyMs = Date.now() - k0;
    await until("kubectl's Deployments Ready", async () => (await readyDeployments(kubectlNs)) === N);
    kubectlReadyMs = Date.now() - k0;
    console.log(`kubectl apply --server-side: ${(kubectlApplyMs / 1000).toFixed(1)} s to apply ${N * 4} objects, ${(kubectlReadyMs / 1000).toFixed(1)} s until all ${N} Deployments Ready`);
  }

  // 2. Mooring: the operator in its own process; Applications created with their render published.
  // Like a production image, the operator runs as JavaScript: bundled with esbuild, its
  // packages resolved from the repository's node_modules.
  let entry = path.join(here, "apply-operator.ts");
  if (!flags.tsx) {
    const out = path.join(here, "..", "node_modules", ".cache", "mooring-bench", "apply-operator.mjs");
    const b = spawnSync(path.join(here, "..", "node_modules", ".bin", "esbuild"), [entry, "--bundle", "--platform=node", "--format=esm", "--packages=external", `--outfile=${out}`, "--log-level=warning"], { encoding: "utf8" });
    if (b.status !== 0) throw new Error(`bundling the operator failed: ${b.stderr}`);
    entry = out;
  }
  op = fork(entry, [], {
    execArgv: [...(flags.tsx ? ["--import", "tsx"] : []), ...nodeFlags],
    env: { ...process.env, BENCH_NAMESPACE: mooringNs, BENCH_QPS: flags.qps, BENCH_BURST: flags.burst, BENCH_CONCURRENCY: flags.concurrency },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    op!.once("message", () => resolve());
    op!.once("exit", (code) => reject(new Error(`the operator process exited (${code}) before it was ready`)));
  });
  const idle = await ask<Stats>("stats", "stats");
  console.log(`operator started (${flags.tsx ? "tsx" : "bundled JavaScript"}${nodeFlags.length ? `, node ${nodeFlags.join(" ")}` : ""}): RSS ${(idle.rssBytes / 1048576).toFixed(0)} MiB before any Application`);
  const m0 = Date.now();
  await pool(Array.from({ length: N }, (_, i) => i), 16, async (i) => {
    const name = `app-${i}`;
    const objects = objectsFor(i, mooringNs).map((o) => ({ ...o, metadata: { ...o.metadata, labels: { "app.kubernetes.io/managed-by": "mooring", "delivery.mooring.dev/application": `${mooringNs}.${name}` } } }));
    const bytes = Buffer.from(canonicalJson(objects));
    const stored = await storage.write({ kind: "application", namespace: mooringNs, name }, (async function* () { yield bytes; })(), ".json");
    await client.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name, namespace: mooringNs }, spec: { sourceRef: { kind: "GitRepository", name: "bench" } } });
    await client.applyStatus(
      { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name, namespace: mooringNs }, status: { render: { artifact: { url: `http://127.0.0.1:${server.port}/${stored.path}`, digest: stored.digest, revision: "main@sha1:0000000000000000000000000000000000000000", size: stored.size }, objects: 4 } } },
      { fieldManager: FieldManagers.render, force: true },
    );
  });
  const createdMs = Date.now() - m0;
  await until("every Application Ready", async () => {
    const apps = await client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application" }, { namespace: mooringNs });
    return apps.filter((a) => a.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === N;
  });
  const mooringReadyMs = Date.now() - m0;
  console.log(`mooring: ${(createdMs / 1000).toFixed(1)} s to create the ${N} Applications (and publish their renders), ${(mooringReadyMs / 1000).toFixed(1)} s until all Ready`);
  if (!flags["skip-baseline"]) console.log(`ratio mooring / kubectl (created → all Ready): ${(mooringReadyMs / kubectlReadyMs).toFixed(2)}x  (target ≤ 1.5x); vs kubectl's apply alone: ${(mooringReadyMs / kubectlApplyMs).toFixed(2)}x`);

  // 3. Steady state: let status settle, then reconcile every Application once more and count requests.
  await new Promise((r) => setTimeout(r, 5000));
  const s0 = await ask<Stats>("stats", "stats");
  const a0 = apiserverRequests();
  const w0 = Math.floor(Date.now() / 1000) * 1000;
  await ask("resync", "resynced");
  await until("a reconcile of every Application", async () => (await ask<Stats>("stats", "stats")).reconciles >= s0.reconciles + N);
  await new Promise((r) => setTimeout(r, 3000));
  const s1 = await ask<Stats>("stats", "stats");
  const a1 = apiserverRequests();
  const d = diffRequests(a0, a1);
  const w1 = Date.now();
  // apiserver_request_total has no user label: attribute the window's event POSTs from the Events themselves.
  const created = (await client.list<KubeObject & { reportingController?: string; deprecatedSource?: { component?: string } }>({ apiVersion: "events.k8s.io/v1", kind: "Event" }, { namespace: mooringNs }))
    .filter((e) => {
      const t = Date.parse(e.metadata?.creationTimestamp ?? "");
      return t >= w0 && t <= w1;
    });
  const byReporter = new Map<string, number>();
  for (const e of created) {
    const who = e.reportingController || e.deprecatedSource?.component || "unknown";
    byReporter.set(who, (byReporter.get(who) ?? 0) + 1);
  }
  const fromMooring = [...byReporter].filter(([who]) => who.startsWith("mooring")).reduce((a, [, n]) => a + n, 0);
  console.log(`steady state (one reconcile of each of the ${N} Applications, nothing changed): operator sent ${s1.restWrites - s0.restWrites} writes and ${s1.restRequests - s0.restRequests} requests in all; ` +
    `apiserver_request_total for ${[...TOUCHED].join("/")}: ${d.writes} writes${d.byKey.length ? ` (${d.byKey.join(", ")}; other clients share this cluster)` : ""}, ${d.all} requests in all; operator CPU ${((s1.cpuMicros - s0.cpuMicros) / 1000).toFixed(0)} ms`);
  console.log(`events created in the Applications' namespace during that window: ${created.length}${byReporter.size ? ` (${[...byReporter].map(([w, n]) => `${w}=${n}`).join(", ")})` : ""}; by Mooring: ${fromMooring}`);
  console.log(`operator: peak RSS ${(s1.maxRssKiB / 1024).toFixed(0)} MiB (target < 150 MiB), RSS now ${(s1.rssBytes / 1048576).toFixed(0)} MiB, CPU in all ${(s1.cpuMicros / 1e6).toFixed(1)} s, ${s1.restRequests} API requests in all`);
  if (flags["heap-snapshot"]) {
    const file = path.resolve(flags["heap-snapshot"]);
    await new Promise<void>((resolve) => {
      const on = (m: { type: string }) => {
        if (m.type !== "heap-snapshot") return;
        op!.off("message", on);
        resolve();
      };
      op!.on("message", on);
      op!.send({ cmd: "heap-snapshot", file });
    });
    console.log(`operator heap snapshot: ${file}`);
  }
  const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
  console.log(`operator memory now: V8 heap ${mib(s1.memory.heapUsed)} used of ${mib(s1.memory.heapTotal)}, external ${mib(s1.memory.external)} (array buffers ${mib(s1.memory.arrayBuffers)}); at start: heap ${mib(idle.memory.heapUsed)} of ${mib(idle.memory.heapTotal)}`);
} finally {
  // Deleting the namespace while the operator runs lets it finalize (prune) its Applications.
  for (const ns of [kubectlNs, mooringNs]) {
    await client.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }).catch((err: Error) => console.error(`cleanup: could not delete namespace ${ns}: ${err.message}; delete it by hand`));
  }
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && (await client.get({ apiVersion: "v1", kind: "Namespace" }, mooringNs).catch(() => undefined))) await new Promise((r) => setTimeout(r, 1000));
  if (op && op.exitCode === null) {
    op.send({ cmd: "stop" });
    await new Promise((r) => op!.once("exit", r));
  }
  // Never leave a namespace stuck on finalizers nobody will remove.
  const left = await client.list({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application" }, { namespace: mooringNs }).catch(() => []);
  for (const a of left) await client.patch(a, { metadata: { finalizers: null } }, "merge").catch(() => undefined);
  for (const name of nodeNames) await client.delete({ apiVersion: "v1", kind: "Node", metadata: { name } }).catch(() => undefined);
  await server.close();
  await rm(dir, { recursive: true, force: true });
  rest.close();
}
