// The full pipeline, Mooring and Flux side by side on one cluster in one run (issue 18): N Applications (Flux:
// Kustomizations) in the shape of Flux's own benchmark (fluxcd/flux-benchmark: a ServiceAccount, a Service, a
// Deployment scaled to zero and an Ingress each), all from one Git repository on a loopback `git http-backend`,
// through the controllers as they run in production: Mooring's source, render and apply controllers as three
// processes started as the image starts them (dist/ from `npm run build`, the Dockerfile's node flags; the chart's
// default split, each with its own Lease), Flux's source-controller and kustomize-controller
// (built from the Go module proxy by hack/flux.sh), both out of cluster against the local cluster, the same
// concurrency, both applying as the namespace's `default` ServiceAccount and waiting for health (Flux: wait: true).
//
// Per tool, one after the other on fresh namespaces:
//   1. time from creating the N objects to all Ready at the commit;
//   2. a steady-state window: API requests and writes (each controller's own rest_client_requests_total), CPU;
//   3. one commit that changes every application: time until all are Ready at it (the source told at once: Mooring's
//      webhook; Flux's reconcile annotation, which is what its notification-controller's Receiver sets);
//   4. commit → applied for one application, K times: Mooring through its webhook receiver, Flux through the
//      annotation; p50/p95;
//   5. peak RSS (VmHWM) of every controller process, summed, and CPU time used over the whole run.
// Prints both tools' figures and the ratios (Mooring / Flux: below 1 is Mooring better).
//
//   node --import tsx bench/pipeline.ts [N=100] [--tools mooring,flux] [--single] [--steady 60] [--latency 10] [--concurrency 4]
//                                      [--leader-elect] [--profile] [--idle] [--render-workers N] [--shards 3] [--ready-only]
//                                      [--node-flags "--flag ..."] [--env A=1,B=2]
//
// --single adds the chart's all-in-one mode (mode: all-in-one, one process running the three controllers) as a tool
// of its own ("mooring-single", also accepted in --tools), printed beside the split mode. The tool "mooring-sharded"
// (--tools mooring-sharded, --shards K, default 3) runs the chart's sharding: K shards plus the default one, each an
// all-in-one process with its own label selector, the Applications spread over them (docs/scaling.md's figures).
// --ready-only stops each tool after its time to all Ready (the scaling curve's large N). Each Mooring process gets
// the limit flags the chart derives for it from its default memory limits (helm template of charts/mooring with this
// concurrency: --render-worker-heap, --max-rendered-size, ...), so the render workers have the heap they have in a
// cluster. --profile preloads bench/mem-probe.js into every Mooring process and prints where its memory went (each
// thread's peak V8 heap, by space; the render workers). --render-workers sets the chart's renderWorkers (the limit
// flags derived with it); --node-flags and --env add node flags and environment variables to every Mooring process,
// for trying a memory lever before the chart sets it. --idle only starts each mode's processes with no
// Applications and prints their RSS at idle (what loading the code costs), for both modes, then exits.
//
// `make bench-flux BENCH_N=100` builds Flux and runs this on a cluster of its own. An Ingress is Healthy for Mooring
// only once an ingress controller has published its address (as in Argo CD): the benchmark plays that controller and
// publishes one on every Ingress of the benchmark's namespaces, for both tools.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { installCrds } from "../src/api/index.js";
import { Client, RestClient, RestMapper, type KubeObject } from "../src/runtime/index.js";
import { REPO_ROOT, testCluster, type TestCluster } from "../test/support/cluster.js";
import { parseMetrics } from "../test/support/fault-operator.js";
import { GitServer, type TestRepo } from "../test/support/git-server.js";
import { CHART_DIR, helmOk } from "../test/support/helm.js";
import { createTestNamespace, type TestNamespace } from "../test/support/namespace.js";
import { freePort } from "../test/support/operator.js";

const args = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 100);
const TOOLS = flag("tools", "mooring,flux").split(",");
const STEADY_S = Number(flag("steady", "60"));
const LATENCY_RUNS = Number(flag("latency", "10"));
const CONCURRENCY = Number(flag("concurrency", "4"));
const LEADER_ELECT = args.includes("--leader-elect");
const PROFILE = args.includes("--profile");
const IDLE = args.includes("--idle");
/** Only the time to all Ready and the peak RSS then (the scaling curve's large N): no steady window, no commits. */
const READY_ONLY = args.includes("--ready-only");
/** Overrides the chart's renderWorkers (the limit flags are derived with it, as `helm install --set` would). */
const RENDER_WORKERS = flag("render-workers", "");
/** Experiments: more node flags and environment variables for every Mooring process ("--x=1 --y", "A=1,B=2"). */
const EXTRA_NODE_FLAGS = flag("node-flags", "").split(" ").filter(Boolean);
const EXTRA_ENV = Object.fromEntries(flag("env", "").split(",").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
if (args.includes("--single") && !TOOLS.includes("mooring-single")) TOOLS.splice(TOOLS.includes("mooring") ? TOOLS.indexOf("mooring") + 1 : 0, 0, "mooring-single");
/** mooring-sharded: shards besides the default one (each an all-in-one process, as the chart's sharding.shards). */
const SHARDS = Number(flag("shards", "3"));
const READY_TIMEOUT_MS = Number(flag("timeout", String(Math.max(600, N * 3) * 1000)));
const HOOK_SECRET = "bench-webhook-secret";
const FLUX_DIR = process.env.MOORING_FLUX_DIR ?? path.join(process.env.MOORING_CACHE ?? path.join(os.homedir(), ".cache", "mooring"), "flux");

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> & { conditions?: { type: string; status: string; message?: string; lastTransitionTime?: string }[] } };

// ---------------------------------------------------------------------------------------------------------------
// The repository: apps/app-<i>/ with a kustomization.yaml and Flux's four objects.

function appFiles(i: number, generation: number): Record<string, string> {
  const name = `app-${i}`;
  const labels = `app: ${name}`;
  return {
    [`apps/${name}/kustomization.yaml`]: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [objects.yaml]\n",
    [`apps/${name}/objects.yaml`]: `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${name}
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: {${labels}}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations: {bench.mooring.dev/generation: "${generation}"}
spec:
  replicas: 0
  selector: {matchLabels: {${labels}}}
  template:
    metadata: {labels: {${labels}}}
    spec:
      serviceAccountName: ${name}
      containers: [{name: app, image: "ghcr.io/stefanprodan/podinfo:6.7.0", ports: [{containerPort: 8080}]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
spec:
  rules:
  - host: ${name}.bench.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: ${name}, port: {number: 80}}}
`,
  };
}

function allApps(generation: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < N; i++) Object.assign(files, appFiles(i, generation));
  return files;
}

// ---------------------------------------------------------------------------------------------------------------
// Process figures from /proc: CPU (self and reaped children, e.g. git) and peak RSS.

const TICK = 100; // USER_HZ
function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
  // utime stime cutime cstime are fields 14-17 (1-based); after the ")" the first field is 3 (state).
  return ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / TICK;
}
function procKiB(pid: number, key: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

async function metricSum(url: string, filter: (labels: Record<string, string>) => boolean, name = "rest_client_requests_total"): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return parseMetrics(await res.text()).filter((s) => s.name === name && filter(s.labels)).reduce((a, s) => a + s.value, 0);
}
const isWrite = (l: Record<string, string>) => ["POST", "PUT", "PATCH", "DELETE"].includes((l.method ?? l.verb ?? "").toUpperCase());

/** One controller process of either tool, as the benchmark sees it. */
interface Proc {
  name: string;
  pid: () => number;
  metricsUrl: string;
}

interface ToolRun {
  /** Creates the source and the N applications. */
  create(): Promise<void>;
  /** How many applications are Ready at `sha`. */
  readyAt(sha: string): Promise<number>;
  /** Tells the source a push happened (Mooring: its webhook receiver; Flux: the annotation its Receiver sets). */
  notify(): Promise<void>;
  /** Whether application `i` is Ready at `sha` (one GET). */
  oneReadyAt(i: number, sha: string): Promise<boolean>;
  /** Where the time of the last one-application change went (Mooring only; BENCH_STAGES=1). */
  stages?(i: number, t0: number): Promise<string>;
  /** When the N applications passed each stage, as percentiles from `t0` (Mooring only; BENCH_STAGES=1). */
  timeline?(t0: number): Promise<string>;
  procs: Proc[];
  stop(): Promise<void>;
}

interface Figures {
  readyMs: number;
  steadyRequests: number;
  steadyWrites: number;
  steadyCpuMs: number;
  commitAllMs: number;
  latencyP50: number;
  latencyP95: number;
  peakRssMiB: number;
  cpuTotalS: number;
  requestsTotal: number;
  /** The machine's 1-minute load average while the tool ran: mean and highest of samples every 5 s. */
  loadMean: number;
  loadMax: number;
}

/** Peak RSS of each process of a tool, "name MiB, ..." (printed beside the sum). */
const peakPerProcess = new Map<string, string>();
const PROBE_DIR = path.join(os.tmpdir(), `bench-mem-probe-${process.pid}`);

// ---------------------------------------------------------------------------------------------------------------

async function setUpNamespace(c: TestCluster, admin: Client, prefix: string): Promise<TestNamespace> {
  const ns = await createTestNamespace(c, prefix);
  // Both tools apply as the namespace's default ServiceAccount (Mooring's default; Flux's lockdown mode).
  await admin.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "bench-apply", namespace: ns.name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }],
  } as KubeObject);
  return ns;
}

const readyCond = (o: Obj) => o.status?.conditions?.find((x) => x.type === "Ready");

/** TypeScript compiled to dist/ as the image builds it (npm run build), once per run. */
let built: Promise<string> | undefined;
function buildDist(): Promise<string> {
  built ??= new Promise((resolve, reject) => {
    const tsc = spawn(process.execPath, [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: REPO_ROOT, stdio: "inherit" });
    tsc.once("exit", (code) => (code === 0 ? resolve(path.join(REPO_ROOT, "dist/src/cli/main.js")) : reject(new Error(`npm run build failed (${code})`))));
  });
  return built;
}

/**
 * The limit flags the chart gives each Deployment of `mode` ("split" or "all-in-one") at its default memory limits
 * and this concurrency, by the --controllers value of the Deployment: the flags that size what a process may hold
 * (--render-worker-heap, --max-*-size, --render-keep-sources), from `helm template` of charts/mooring.
 */
function chartLimitFlags(mode: "split" | "all-in-one"): Map<string, string[]> {
  const out = helmOk(["template", "bench", CHART_DIR, "--set", `mode=${mode}`, "--set", `concurrency=${CONCURRENCY}`, ...(RENDER_WORKERS ? ["--set", `renderWorkers=${RENDER_WORKERS}`] : [])]);
  const flags = new Map<string, string[]>();
  for (const doc of parseAllDocuments(out)) {
    const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } } } | null;
    if (o?.kind !== "Deployment") continue;
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      const ctl = c.args?.find((a) => a.startsWith("--controllers="))?.slice("--controllers=".length);
      if (ctl) flags.set(ctl, (c.args ?? []).filter((a) => /^--(render-workers|render-worker-heap|render-keep-sources|max-[a-z]+-size)=/.test(a)));
    }
  }
  return flags;
}

/** One Mooring controller process, started as the image starts it (node flags and entry point of the Dockerfile). */
class MooringController {
  readonly proc: ControllerProcess;
  readonly ports: Record<"health" | "metrics" | "artifact" | "webhook", number>;
  constructor(
    readonly controller: string,
    ports: Record<"health" | "metrics" | "artifact" | "webhook", number>,
  ) {
    this.ports = ports;
    this.proc = new ControllerProcess(`mooring ${controller}`);
  }
  static async create(controller: string): Promise<MooringController> {
    return new MooringController(controller, { health: await freePort(), metrics: await freePort(), artifact: await freePort(), webhook: await freePort() });
  }
  get webhookUrl(): string {
    return `http://127.0.0.1:${this.ports.webhook}`;
  }
  async start(entry: string, kubeconfig: string, ns: string, home: string, limitFlags: string[], selector?: string): Promise<void> {
    const a = `127.0.0.1:${this.ports.artifact}`;
    const argv = [
      "--max-semi-space-size=2", // as the Dockerfile's ENTRYPOINT
      ...EXTRA_NODE_FLAGS,
      ...(PROFILE ? ["--import", path.join(REPO_ROOT, "bench/mem-probe.js")] : []),
      entry,
      "controller",
      `--controllers=${this.controller}`,
      `--kubeconfig=${kubeconfig}`,
      `--health-addr=127.0.0.1:${this.ports.health}`,
      `--metrics-addr=127.0.0.1:${this.ports.metrics}`,
      `--artifact-addr=${a}`,
      `--advertised-artifact-addr=${a}`,
      `--webhook-addr=127.0.0.1:${this.ports.webhook}`,
      `--storage-path=${path.join(home, "storage")}`,
      `--log-level=${process.env.BENCH_LOG_LEVEL ?? "error"}`,
      "--log-format=json",
      `--watch-namespace=${ns}`,
      // Leader election (the chart's default, a Lease per controller) only with --leader-elect: Flux's controllers
      // cannot elect out of cluster (controller-runtime wants the Pod's namespace file), so by default neither does
      // and the steady-state writes compare like with like.
      ...(LEADER_ELECT ? ["--leader-elect", `--leader-election-namespace=${ns}`, `--leader-election-id=mooring-${this.controller.replaceAll(",", "-")}`] : []),
      `--concurrency=${CONCURRENCY}`,
      ...(selector ? [`--watch-label-selector=${selector}`] : []),
      ...limitFlags,
    ];
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: path.join(home, "tmp"), ...EXTRA_ENV, ...(PROFILE ? { BENCH_MEM_PROBE: path.join(PROBE_DIR, this.controller.replaceAll(",", "-")) } : {}) };
    await mkdir(path.join(home, "storage"), { recursive: true });
    await mkdir(path.join(home, "tmp"), { recursive: true });
    this.proc.start(process.execPath, argv, env);
    await this.proc.ready(this.ports.health);
  }
  stop(): Promise<void> {
    return this.proc.stop();
  }
}

/**
 * Mooring's processes as the chart runs them. "split" (the chart's default): three Deployments, one controller
 * each; the render controller fetches from the source controller's artifact server and apply from the render
 * controller's, each advertising its own address. "all-in-one": one process running the three.
 */
async function startMooring(mode: "split" | "all-in-one", kubeconfig: string, ns: string, home: string): Promise<MooringController[]> {
  const entry = await buildDist();
  const limits = chartLimitFlags(mode);
  const ops: MooringController[] = [];
  try {
    for (const ctl of mode === "split" ? ["source", "render", "apply"] : ["source,render,apply"]) {
      const op = await MooringController.create(ctl);
      ops.push(op);
      await op.start(entry, kubeconfig, ns, path.join(home, ctl.replaceAll(",", "-")), limits.get(ctl) ?? []);
    }
  } catch (err) {
    for (const op of ops) await op.stop();
    throw err;
  }
  return ops;
}

async function mooring(c: TestCluster, admin: Client, repo: TestRepo, mode: "split" | "all-in-one"): Promise<ToolRun> {
  const ns = await setUpNamespace(c, admin, mode === "split" ? "bench-mooring" : "bench-mooring-single");
  await admin.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "hook", namespace: ns.name }, stringData: { token: HOOK_SECRET } } as KubeObject);
  const home = await mkdtemp(path.join(os.tmpdir(), "bench-mooring-"));
  const ops = await startMooring(mode, c.kubeconfigPath, ns.name, home);
  const gets = (sha: string) => (a: Obj) => readyCond(a)?.status === "True" && String((a.status?.sync as { revision?: string } | undefined)?.revision ?? "").endsWith(sha);
  return {
    async create() {
      await admin.create({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name: "src", namespace: ns.name }, spec: { url: repo.url, ref: { branch: "main" }, interval: "10m", webhook: { secretRef: { name: "hook" } } } } as KubeObject);
      for (let i = 0; i < N; i++) {
        await admin.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: `app-${i}`, namespace: ns.name }, spec: { sourceRef: { kind: "GitRepository", name: "src" }, path: `apps/app-${i}`, interval: "10m" } } as KubeObject);
      }
    },
    async readyAt(sha) {
      const apps = await admin.list<Obj>({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application" }, { namespace: ns.name });
      return apps.filter(gets(sha)).length;
    },
    async oneReadyAt(i, sha) {
      const a = await admin.get<Obj>({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application" }, `app-${i}`, ns.name);
      return !!a && gets(sha)(a);
    },
    async notify() {
      const body = JSON.stringify({ url: repo.url, branch: "main" });
      const res = await fetch(`${ops[0]!.webhookUrl}/hook/${ns.name}/src`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "x-mooring-signature-256": "sha256=" + createHmac("sha256", HOOK_SECRET).update(body).digest("hex") },
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status < 200 || res.status >= 300) throw new Error(`Mooring's webhook answered ${res.status}: ${await res.text()}`);
    },
    async stages(i, t0) {
      const g = await admin.get<Obj>({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository" }, "src", ns.name);
      const a = await admin.get<Obj>({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application" }, `app-${i}`, ns.name);
      const at = (v: unknown) => (typeof v === "string" ? `${Date.parse(v) - t0} ms` : "?");
      const art = (g?.status as { artifact?: { lastUpdateTime?: string } } | undefined)?.artifact;
      const h = (a?.status?.history as { startedAt?: string; finishedAt?: string }[] | undefined)?.[0];
      return `source stored ${at(art?.lastUpdateTime)}, rendered ${at((a?.status?.render as { lastRenderedAt?: string } | undefined)?.lastRenderedAt)}, sync started ${at(h?.startedAt)}, finished ${at(h?.finishedAt)} (seconds resolution)`;
    },
    async timeline(t0) {
      const apps = await admin.list<Obj>({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application" }, { namespace: ns.name });
      const stage = (pick: (a: Obj) => unknown) => {
        const xs = apps.map((a) => pick(a)).filter((v): v is string => typeof v === "string").map((v) => (Date.parse(v) - t0) / 1000).sort((a, b) => a - b);
        const q = (f: number) => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))]?.toFixed(0) ?? "?";
        return `p10 ${q(0.1)} s, p50 ${q(0.5)} s, p90 ${q(0.9)} s, last ${q(1)} s`;
      };
      const h = (a: Obj) => (a.status?.history as { startedAt?: string; finishedAt?: string }[] | undefined)?.at(-1);
      return [
        `rendered ${stage((a) => (a.status?.render as { lastRenderedAt?: string } | undefined)?.lastRenderedAt)}`,
        `first sync started ${stage((a) => h(a)?.startedAt)}`,
        `first sync finished ${stage((a) => h(a)?.finishedAt)}`,
        `Ready ${stage((a) => readyCond(a)?.lastTransitionTime)}`,
      ].join("; ");
    },
    procs: ops.map((op) => ({ name: `mooring ${op.controller}`, pid: () => op.proc.child!.pid!, metricsUrl: `http://127.0.0.1:${op.ports.metrics}/metrics` })),
    async stop() {
      // BENCH_LOG_LEVEL=info keeps each controller's log, for finding where the time goes.
      if (process.env.BENCH_LOG_LEVEL) for (const op of ops) writeFileSync(path.join(os.tmpdir(), `bench-mooring-${op.controller.replaceAll(",", "-")}.log`), op.proc.log);
      for (const op of ops) await op.stop();
      await rm(home, { recursive: true, force: true });
      await ns.cleanup();
    },
  };
}

/**
 * Mooring sharded as the chart shards it (sharding.shards, docs/scaling.md), in all-in-one mode: the default shard
 * and SHARDS shards, each one process with its own --watch-label-selector; Application i and its GitRepository
 * (one per shard, the same repository) carry shard i mod (SHARDS + 1)'s label. A push is told to every shard's
 * webhook (each GitRepository's own receiver, on its own shard). Prints when each shard's Applications were all Ready.
 */
async function mooringSharded(c: TestCluster, admin: Client, repo: TestRepo): Promise<ToolRun> {
  const KEY = "sharding.mooring.dev/key";
  const names = ["default", ...Array.from({ length: SHARDS }, (_, k) => `shard${k + 1}`)];
  const selectorOf = (s: string) => (s === "default" ? `${KEY} notin (${names.slice(1).join(",")})` : `${KEY}=${s}`);
  const labelsOf = (s: string): Record<string, string> => (s === "default" ? {} : { [KEY]: s });
  const shardOf = (i: number) => names[i % names.length]!;
  const ns = await setUpNamespace(c, admin, "bench-mooring-sharded");
  await admin.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "hook", namespace: ns.name }, stringData: { token: HOOK_SECRET } } as KubeObject);
  const home = await mkdtemp(path.join(os.tmpdir(), "bench-mooring-sharded-"));
  const entry = await buildDist();
  const limits = chartLimitFlags("all-in-one").get("source,render,apply") ?? [];
  const ops: MooringController[] = [];
  try {
    for (const s of names) {
      const op = await MooringController.create("source,render,apply");
      ops.push(op);
      await op.start(entry, c.kubeconfigPath, ns.name, path.join(home, s), limits, selectorOf(s));
    }
  } catch (err) {
    for (const op of ops) await op.stop();
    throw err;
  }
  const gets = (sha: string) => (a: Obj) => readyCond(a)?.status === "True" && String((a.status?.sync as { revision?: string } | undefined)?.revision ?? "").endsWith(sha);
  // When each shard's Applications were first all Ready at a revision, from when the revision was asked for.
  const since = new Map<string, number>();
  const shardReady = new Map<string, Map<string, number>>();
  let asked = Date.now();
  const sign = (body: string) => "sha256=" + createHmac("sha256", HOOK_SECRET).update(body).digest("hex");
  return {
    async create() {
      asked = Date.now();
      for (const s of names) {
        const spec = { url: repo.url, ref: { branch: "main" }, interval: "10m", webhook: { secretRef: { name: "hook" } } };
        await admin.create({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name: `src-${s}`, namespace: ns.name, labels: labelsOf(s) }, spec } as KubeObject);
      }
      for (let i = 0; i < N; i++) {
        const s = shardOf(i);
        const spec = { sourceRef: { kind: "GitRepository", name: `src-${s}` }, path: `apps/app-${i}`, interval: "10m" };
        await admin.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: `app-${i}`, namespace: ns.name, labels: labelsOf(s) }, spec } as KubeObject);
      }
    },
    async readyAt(sha) {
      const apps = await admin.list<Obj>({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application" }, { namespace: ns.name });
      if (!since.has(sha)) since.set(sha, asked);
      const per = shardReady.get(sha) ?? new Map<string, number>();
      shardReady.set(sha, per);
      for (const s of names) {
        const mine = apps.filter((a) => (a.metadata?.labels?.[KEY] ?? "default") === s);
        if (!per.has(s) && mine.length > 0 && mine.every(gets(sha))) per.set(s, Date.now() - since.get(sha)!);
      }
      return apps.filter(gets(sha)).length;
    },
    async oneReadyAt(i, sha) {
      const a = await admin.get<Obj>({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application" }, `app-${i}`, ns.name);
      return !!a && gets(sha)(a);
    },
    async notify() {
      asked = Date.now();
      const body = JSON.stringify({ url: repo.url, branch: "main" });
      await Promise.all(
        names.map(async (s, k) => {
          const res = await fetch(`${ops[k]!.webhookUrl}/hook/${ns.name}/src-${s}`, { method: "POST", body, headers: { "content-type": "application/json", "x-mooring-signature-256": sign(body) }, signal: AbortSignal.timeout(10_000) });
          if (res.status < 200 || res.status >= 300) throw new Error(`shard ${s}'s webhook answered ${res.status}: ${await res.text()}`);
        }),
      );
    },
    procs: ops.map((op, k) => ({ name: `mooring ${names[k]}`, pid: () => op.proc.child!.pid!, metricsUrl: `http://127.0.0.1:${op.ports.metrics}/metrics` })),
    async stop() {
      for (const [sha, per] of shardReady) {
        const cells = names.map((s) => `${s} ${per.has(s) ? `${(per.get(s)! / 1000).toFixed(1)} s` : "not all Ready"}`);
        console.log(`# mooring-sharded: all of a shard's Applications Ready at ${sha.slice(0, 12)}: ${cells.join(", ")}`);
      }
      for (const op of ops) await op.stop();
      await rm(home, { recursive: true, force: true });
      await ns.cleanup();
    },
  };
}

async function installFluxCrds(admin: Client): Promise<void> {
  for (const name of ["source-controller", "kustomize-controller"]) {
    const dir = path.join(FLUX_DIR, `${name}-crds`);
    if (!existsSync(dir)) throw new Error(`Flux's CRDs are not in ${dir}: run 'bash hack/flux.sh' (make bench-flux does)`);
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
      for (const doc of parseAllDocuments(readFileSync(path.join(dir, f), "utf8"))) {
        const crd = doc.toJS() as KubeObject | null;
        if (!crd?.kind) continue;
        const live = await admin.get({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" }, crd.metadata!.name!);
        if (!live) await admin.create(crd);
      }
    }
  }
  for (const crd of ["gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io"]) {
    await until(`CRD ${crd} established`, 60_000, async () => {
      const o = await admin.get<Obj>({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" }, crd);
      return o?.status?.conditions?.some((x) => x.type === "Established" && x.status === "True") ?? false;
    });
  }
}

/** A controller process of either tool: started, its output kept (the tail), ready when /readyz answers 200. */
class ControllerProcess {
  child: ChildProcess | undefined;
  log = "";
  constructor(readonly name: string) {}
  start(bin: string, argv: string[], env: NodeJS.ProcessEnv): void {
    this.child = spawn(bin, argv, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const add = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-4 * 1024 * 1024);
    };
    this.child.stdout!.on("data", add);
    this.child.stderr!.on("data", add);
  }
  async ready(healthPort: number): Promise<void> {
    await until(`${this.name} ready`, 120_000, async () => {
      if (this.child?.exitCode !== null) throw new Error(`${this.name} exited (${this.child?.exitCode}):\n${this.log.slice(-4000)}`);
      const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      return res?.status === 200;
    });
  }
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child!.once("exit", r));
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child?.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(t);
  }
}

/** A Flux controller and its ports. */
class GoController extends ControllerProcess {
  constructor(
    name: string,
    readonly metricsPort: number,
    readonly healthPort: number,
  ) {
    super(name);
  }
}

async function flux(c: TestCluster, admin: Client, repo: TestRepo): Promise<ToolRun> {
  await installFluxCrds(admin);
  const ns = await setUpNamespace(c, admin, "bench-flux");
  const storage = await mkdtemp(path.join(os.tmpdir(), "bench-flux-storage-"));
  const storagePort = await freePort();
  const src = new GoController("flux-source-controller", await freePort(), await freePort());
  const kus = new GoController("flux-kustomize-controller", await freePort(), await freePort());
  // controller-runtime reads the kubeconfig from $KUBECONFIG (Flux's binaries have no --kubeconfig flag).
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, RUNTIME_NAMESPACE: ns.name, TMPDIR: os.tmpdir(), KUBECONFIG: c.kubeconfigPath };
  const common = (ctl: GoController) => [
    "--watch-all-namespaces=false",
    `--metrics-addr=127.0.0.1:${ctl.metricsPort}`,
    `--health-addr=127.0.0.1:${ctl.healthPort}`,
    "--enable-leader-election=false",
    `--concurrent=${CONCURRENCY}`,
    "--log-level=error",
  ];
  src.start(path.join(FLUX_DIR, "source-controller"), [...common(src), `--storage-path=${storage}`, `--storage-addr=127.0.0.1:${storagePort}`, `--storage-adv-addr=127.0.0.1:${storagePort}`], env);
  kus.start(path.join(FLUX_DIR, "kustomize-controller"), [...common(kus), "--default-service-account=default"], env);
  await src.ready(src.healthPort);
  await kus.ready(kus.healthPort);
  const gets = (sha: string) => (k: Obj) => readyCond(k)?.status === "True" && String((k.status as { lastAppliedRevision?: string }).lastAppliedRevision ?? "").endsWith(sha);
  const KUS = { apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization" };
  return {
    async create() {
      await admin.create({ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: { name: "src", namespace: ns.name }, spec: { url: repo.url, ref: { branch: "main" }, interval: "10m" } } as KubeObject);
      for (let i = 0; i < N; i++) {
        await admin.create({ ...KUS, metadata: { name: `app-${i}`, namespace: ns.name }, spec: { sourceRef: { kind: "GitRepository", name: "src" }, path: `./apps/app-${i}`, interval: "10m", prune: true, wait: true, timeout: "5m", targetNamespace: ns.name } } as KubeObject);
      }
    },
    async readyAt(sha) {
      return (await admin.list<Obj>(KUS, { namespace: ns.name })).filter(gets(sha)).length;
    },
    async oneReadyAt(i, sha) {
      const k = await admin.get<Obj>(KUS, `app-${i}`, ns.name);
      return !!k && gets(sha)(k);
    },
    async notify() {
      const g = await admin.get<Obj>({ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository" }, "src", ns.name);
      await admin.patch(g!, { metadata: { annotations: { "reconcile.fluxcd.io/requestedAt": new Date().toISOString() } } }, "merge");
    },
    procs: [src, kus].map((p) => ({ name: p.name, pid: () => p.child!.pid!, metricsUrl: `http://127.0.0.1:${p.metricsPort}/metrics` })),
    async stop() {
      await kus.stop();
      await src.stop();
      await ns.cleanup();
      await rm(storage, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A probe the API server answered with an error (a connection reset at load) is asked again, until the deadline.
    const err = await probe().then(
      (ok) => (ok ? null : undefined),
      (e: unknown) => e as Error,
    );
    if (err === null) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${err ? ` (last error: ${err.message})` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Plays the ingress controller: publishes an address on every Ingress of the benchmark's namespaces. */
function ingressController(admin: Client, namespaces: () => string[]): () => void {
  let stopped = false;
  const done = new Set<string>();
  void (async () => {
    while (!stopped) {
      for (const ns of namespaces()) {
        const list = await admin.list<Obj>({ apiVersion: "networking.k8s.io/v1", kind: "Ingress" }, { namespace: ns }).catch(() => []);
        for (const ing of list) {
          const key = `${ns}/${ing.metadata!.name}/${ing.metadata!.uid}`;
          if (done.has(key) || (ing.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress?.length) continue;
          await admin.patch(ing, { status: { loadBalancer: { ingress: [{ ip: "192.0.2.10" }] } } }, "merge", { subresource: "status" }).then(() => done.add(key)).catch(() => {});
        }
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return () => {
    stopped = true;
  };
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** The 1-minute load average, sampled every 5 s while a tool runs: the machine is shared, so every figure carries it. */
function loadSampler(): () => { mean: number; max: number } {
  const xs = [os.loadavg()[0]!];
  const t = setInterval(() => xs.push(os.loadavg()[0]!), 5_000);
  return () => {
    clearInterval(t);
    xs.push(os.loadavg()[0]!);
    return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, max: Math.max(...xs) };
  };
}

async function measure(tool: string, run: ToolRun, repo: TestRepo): Promise<Figures> {
  const load = loadSampler();
  const sha0 = await repo.head();
  const cpu0 = run.procs.map((p) => procCpuMs(p.pid()));
  let t = Date.now();
  await run.create();
  await until(`${tool}: ${N} applications Ready at ${sha0.slice(0, 12)}`, READY_TIMEOUT_MS, async () => (await run.readyAt(sha0)) === N, 500);
  const readyMs = Date.now() - t;
  console.log(`# ${tool}: ${N} Ready in ${(readyMs / 1000).toFixed(1)} s`);
  if (process.env.BENCH_STAGES && run.timeline) console.log(`# ${tool}: timeline (seconds resolution): ${await run.timeline(t)}`);
  if (READY_ONLY) return figuresAtReady(tool, run, readyMs, cpu0, load());

  // Steady state: nothing changes; what do the controllers cost?
  await new Promise((r) => setTimeout(r, 5_000));
  const req0 = await Promise.all(run.procs.map((p) => metricSum(p.metricsUrl, () => true)));
  const wr0 = await Promise.all(run.procs.map((p) => metricSum(p.metricsUrl, isWrite)));
  const sCpu0 = run.procs.map((p) => procCpuMs(p.pid()));
  await new Promise((r) => setTimeout(r, STEADY_S * 1000));
  const req1 = await Promise.all(run.procs.map((p) => metricSum(p.metricsUrl, () => true)));
  const wr1 = await Promise.all(run.procs.map((p) => metricSum(p.metricsUrl, isWrite)));
  const sCpu1 = run.procs.map((p) => procCpuMs(p.pid()));
  const sum = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]!), 0);

  // One commit changing every application.
  const sha1 = await repo.commit(allApps(1), "change every application");
  t = Date.now();
  await run.notify();
  await until(`${tool}: ${N} applications Ready at ${sha1.slice(0, 12)}`, READY_TIMEOUT_MS, async () => (await run.readyAt(sha1)) === N, 500);
  const commitAllMs = Date.now() - t;
  console.log(`# ${tool}: a commit changing all ${N}: Ready in ${(commitAllMs / 1000).toFixed(1)} s`);

  // Commit → applied for one application.
  const lat: number[] = [];
  for (let k = 0; k < LATENCY_RUNS; k++) {
    const sha = await repo.commit(appFiles(0, 100 + k), `app-0 #${k}`);
    const t0 = Date.now();
    await run.notify();
    // As long as a commit changing all may take: on a busy machine one of Flux's took more than 2 minutes.
    await until(`${tool}: app-0 Ready at ${sha.slice(0, 12)}`, READY_TIMEOUT_MS, () => run.oneReadyAt(0, sha), 50);
    lat.push(Date.now() - t0);
    console.log(`# ${tool}: commit → applied #${k}: ${lat.at(-1)} ms`);
    if (process.env.BENCH_STAGES && run.stages) console.log(`# ${tool}: app-0 #${k}: ${lat.at(-1)} ms; ${await run.stages(0, t0)}`);
  }
  const figures: Figures = {
    readyMs,
    steadyRequests: sum(req1, req0),
    steadyWrites: sum(wr1, wr0),
    steadyCpuMs: sum(sCpu1, sCpu0),
    commitAllMs,
    latencyP50: percentile(lat, 50),
    latencyP95: percentile(lat, 95),
    peakRssMiB: run.procs.reduce((s, p) => s + procKiB(p.pid(), "VmHWM"), 0) / 1024,
    cpuTotalS: sum(run.procs.map((p) => procCpuMs(p.pid())), cpu0) / 1000,
    requestsTotal: (await Promise.all(run.procs.map((p) => metricSum(p.metricsUrl, () => true)))).reduce((a, b) => a + b, 0),
    loadMean: 0,
    loadMax: 0,
  };
  const l = load();
  figures.loadMean = l.mean;
  figures.loadMax = l.max;
  peakPerProcess.set(tool, run.procs.map((p) => `${p.name.replace(/^(mooring|flux)[ -]/, "")} ${Math.round(procKiB(p.pid(), "VmHWM") / 1024)}`).join(", "));
  console.log(`# ${tool}: ${JSON.stringify(figures)}; peak RSS per process (MiB): ${peakPerProcess.get(tool)}`);
  return figures;
}

/** --ready-only: the figures at Ready; the ones measured later are NaN (printed as "—"). */
async function figuresAtReady(tool: string, run: ToolRun, readyMs: number, cpu0: number[], l: { mean: number; max: number }): Promise<Figures> {
  const sum = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]!), 0);
  peakPerProcess.set(tool, run.procs.map((p) => `${p.name.replace(/^(mooring|flux)[ -]/, "")} ${Math.round(procKiB(p.pid(), "VmHWM") / 1024)}`).join(", "));
  const figures: Figures = {
    readyMs,
    steadyRequests: NaN,
    steadyWrites: NaN,
    steadyCpuMs: NaN,
    commitAllMs: NaN,
    latencyP50: NaN,
    latencyP95: NaN,
    peakRssMiB: run.procs.reduce((s, p) => s + procKiB(p.pid(), "VmHWM"), 0) / 1024,
    cpuTotalS: sum(run.procs.map((p) => procCpuMs(p.pid())), cpu0) / 1000,
    requestsTotal: (await Promise.all(run.procs.map((p) => metricSum(p.metricsUrl, () => true)))).reduce((a, b) => a + b, 0),
    loadMean: l.mean,
    loadMax: l.max,
  };
  console.log(`# ${tool}: ${JSON.stringify(figures)}; peak RSS per process (MiB): ${peakPerProcess.get(tool)}`);
  return figures;
}

interface ProbeFile {
  pid: number;
  threadId: number;
  main: boolean;
  peak: { heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; rss: number; spaces: Record<string, number> };
  atRssPeak: { heapTotal?: number; heapUsed?: number; external?: number; arrayBuffers?: number; mallocedMemory?: number };
}

/** --profile: where each Mooring process's memory went, from bench/mem-probe.js's files. */
function printProfile(tool: string): void {
  if (!PROFILE || !existsSync(PROBE_DIR)) return;
  const mib = (b: number | undefined) => `${((b ?? 0) / 1024 ** 2).toFixed(1)}`;
  for (const ctl of readdirSync(PROBE_DIR)) {
    const files = readdirSync(path.join(PROBE_DIR, ctl)).map((f) => JSON.parse(readFileSync(path.join(PROBE_DIR, ctl, f), "utf8")) as ProbeFile);
    const main = files.find((f) => f.main);
    const workers = files.filter((f) => !f.main);
    if (!main) continue;
    const sp = main.peak.spaces;
    console.log(
      `# ${tool} profile: ${ctl}: peak RSS ${mib(main.peak.rss)} MiB; main thread at that peak: heap ${mib(main.atRssPeak.heapTotal)} (used ${mib(main.atRssPeak.heapUsed)}), external ${mib(main.atRssPeak.external)} (array buffers ${mib(main.atRssPeak.arrayBuffers)}), malloced ${mib(main.atRssPeak.mallocedMemory)}; ` +
        `main-thread peaks by space: new ${mib(sp.new_space)}, old ${mib(sp.old_space)}, code ${mib(sp.code_space)}, large objects ${mib(sp.large_object_space)}, new large ${mib(sp.new_large_object_space)}` +
        (workers.length
          ? `; render workers: ${workers.length} started, peak heap each: max ${mib(Math.max(...workers.map((w) => w.peak.heapTotal)))}, median ${mib(percentile(workers.map((w) => w.peak.heapTotal), 50))} (used ${mib(percentile(workers.map((w) => w.peak.heapUsed), 50))}; new space ${mib(percentile(workers.map((w) => w.peak.spaces.new_space ?? 0), 50))}, old ${mib(percentile(workers.map((w) => w.peak.spaces.old_space ?? 0), 50))}, code ${mib(percentile(workers.map((w) => w.peak.spaces.code_space ?? 0), 50))})`
          : ""),
    );
  }
  rmSync(PROBE_DIR, { recursive: true, force: true });
}

/** --idle: each mode's processes with nothing to do: RSS once ready and settled (what loading the code costs). */
async function idle(c: TestCluster, admin: Client): Promise<void> {
  console.log(`\n## Mooring at idle (no Applications), ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);
  console.log("| mode | process | RSS at idle | peak RSS |\n| --- | --- | --- | --- |");
  for (const mode of ["split", "all-in-one"] as const) {
    const ns = await setUpNamespace(c, admin, "bench-idle");
    const home = await mkdtemp(path.join(os.tmpdir(), "bench-mooring-idle-"));
    const ops = await startMooring(mode, c.kubeconfigPath, ns.name, home);
    await new Promise((r) => setTimeout(r, 10_000));
    let sum = 0;
    for (const op of ops) {
      const pid = op.proc.child!.pid!;
      sum += procKiB(pid, "VmRSS");
      console.log(`| ${mode} | ${op.controller} | ${(procKiB(pid, "VmRSS") / 1024).toFixed(1)} MiB | ${(procKiB(pid, "VmHWM") / 1024).toFixed(1)} MiB |`);
    }
    console.log(`| ${mode} | all | ${(sum / 1024).toFixed(1)} MiB | |`);
    for (const op of ops) await op.stop();
    printProfile(`idle ${mode}`);
    await rm(home, { recursive: true, force: true });
    await ns.cleanup();
  }
}

async function main(): Promise<void> {
  const c = await testCluster();
  await installCrds(c.kc);
  const rest = RestClient.fromKubeConfig(c.kc, { qps: 200, burst: 400 });
  const admin = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "bench" });
  if (IDLE) {
    try {
      await idle(c, admin);
    } finally {
      rest.close();
    }
    return;
  }
  const git = await GitServer.start();
  const namespaces: string[] = [];
  const stopIngress = ingressController(admin, () => namespaces);
  const results = new Map<string, Figures>();
  try {
    for (const tool of TOOLS) {
      // A fresh repository per tool: all start from the same single commit of N applications.
      const repo = await git.createRepo(`bench-${tool}`, { files: allApps(0) });
      const run =
        tool === "mooring"
          ? await mooring(c, admin, repo, "split")
          : tool === "mooring-single"
            ? await mooring(c, admin, repo, "all-in-one")
            : tool === "mooring-sharded"
              ? await mooringSharded(c, admin, repo)
              : tool === "flux"
                ? await flux(c, admin, repo)
                : undefined;
      if (!run) throw new Error(`unknown tool "${tool}" (mooring, mooring-single, mooring-sharded, flux)`);
      const nsList = await admin.list<Obj>({ apiVersion: "v1", kind: "Namespace" }, { labelSelector: "mooring.dev/test=true" });
      for (const n of nsList) if (n.metadata!.name!.startsWith(`bench-${tool}`) && !namespaces.includes(n.metadata!.name!)) namespaces.push(n.metadata!.name!);
      try {
        results.set(tool, await measure(tool, run, repo));
      } finally {
        await run.stop();
      }
      printProfile(tool);
    }
  } finally {
    stopIngress();
    await git.close();
    rest.close();
  }
  printTable(results);
}

const TOOL_NAMES: Record<string, string> = { mooring: "Mooring", "mooring-single": "Mooring all-in-one", "mooring-sharded": `Mooring, ${SHARDS} shards + default`, flux: "Flux" };

/** Every tool's figures side by side, and each Mooring mode's ratio to Flux (below 1: Mooring better). */
function printTable(results: Map<string, Figures>): void {
  const rows: [string, keyof Figures, (v: number) => string][] = [
    ["time to all Ready", "readyMs", (v) => `${(v / 1000).toFixed(1)} s`],
    [`steady state: API requests in ${STEADY_S} s`, "steadyRequests", (v) => String(v)],
    [`steady state: writes in ${STEADY_S} s`, "steadyWrites", (v) => String(v)],
    [`steady state: CPU in ${STEADY_S} s`, "steadyCpuMs", (v) => `${(v / 1000).toFixed(2)} s`],
    ["a commit changing all: until all Ready", "commitAllMs", (v) => `${(v / 1000).toFixed(1)} s`],
    [`commit → applied, one app, p50 (${LATENCY_RUNS} runs)`, "latencyP50", (v) => `${v} ms`],
    ["commit → applied, one app, p95", "latencyP95", (v) => `${v} ms`],
    ["peak RSS, all controllers summed", "peakRssMiB", (v) => `${v.toFixed(0)} MiB`],
    ["CPU over the whole run", "cpuTotalS", (v) => `${v.toFixed(1)} s`],
    ["API requests over the whole run", "requestsTotal", (v) => String(v)],
    ["load average while it ran (mean, 1 min)", "loadMean", (v) => v.toFixed(1)],
  ];
  const tools = TOOLS.filter((t) => results.has(t));
  const f = results.get("flux");
  const ratioOf = tools.filter((t) => t !== "flux" && f);
  console.log(`\n## Full pipeline, N = ${N}, concurrency ${CONCURRENCY}, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC\n`);
  console.log(`| measure | ${tools.map((t) => TOOL_NAMES[t]).join(" | ")} |${ratioOf.map((t) => ` ${TOOL_NAMES[t]} / Flux |`).join("")}`);
  console.log(`| --- |${" --- |".repeat(tools.length + ratioOf.length)}`);
  for (const [label, key, fmt] of rows) {
    const cells = tools.map((t) => (Number.isNaN(results.get(t)![key]) ? "—" : fmt(results.get(t)![key]) + (key === "peakRssMiB" ? ` (${peakPerProcess.get(t)})` : "")));
    const ratios = key === "loadMean" ? ratioOf.map(() => "") : ratioOf.map((t) => {
      const mv = results.get(t)![key];
      const fv = f![key];
      if (Number.isNaN(mv) || Number.isNaN(fv)) return "—";
      return fv === 0 ? (mv === 0 ? "1.00×" : "∞") : `${(mv / fv).toFixed(2)}×`;
    });
    console.log(`| ${label} | ${cells.join(" | ")} |${ratios.map((r) => ` ${r} |`).join("")}`);
  }
}

await main();
process.exit(0);
