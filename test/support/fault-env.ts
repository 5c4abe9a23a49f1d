// What every fault test stands on: the fault cluster (MOORING_TEST_CLUSTER, mooring-faults under `make faults`), a
// namespace of its own, a real git server, an admin client that reads live from the API, and the operator as a
// killable process (test/support/fault-operator.ts) watching only that namespace. Applications apply as the
// namespace's default ServiceAccount (the operator's default), which a RoleBinding makes the namespace's admin.
//
// The objects a test commits are written as YAML documents; `expectExact` then checks the one promise every fault
// test ends with: the cluster holds exactly what Git says (the inventory, the live objects carrying the
// Application's label and their content), nothing more (no orphan) and nothing less.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Annotations, ApplicationKind, GitRepositoryKind, HISTORY_LIMIT, Labels, installCrds } from "../../src/api/index.js";
import { ownerLabelValue } from "../../src/api/ownership.js";
import { Client, RestClient, RestMapper, type KubeObject } from "../../src/runtime/index.js";
import { testCluster, type TestCluster } from "./cluster.js";
import { FaultOperator, type FaultOperatorOptions } from "./fault-operator.js";
import { GitServer, type TestRepo } from "./git-server.js";
import { createTestNamespace, type TestNamespace } from "./namespace.js";
import { waitFor } from "./wait.js";

export interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}
export interface HistoryEntry {
  revision: string;
  digest?: string;
  startedAt: string;
  finishedAt?: string;
  phase: string;
  message?: string;
}
export type Obj = KubeObject & {
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  status?: {
    conditions?: Cond[];
    artifact?: { url: string; revision: string; digest: string };
    render?: { artifact?: { url: string; revision: string; digest: string } };
    sync?: { status?: string; revision?: string; inventory?: { id: string; v: string }[]; drifted?: string[] };
    health?: { status?: string; message?: string };
    history?: HistoryEntry[];
  };
};

/** The kinds fault tests commit; the orphan search lists each of them by the Application's label. */
export const KINDS = [
  { apiVersion: "v1", kind: "ConfigMap" },
  { apiVersion: "v1", kind: "Secret" },
  { apiVersion: "v1", kind: "ServiceAccount" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "apps/v1", kind: "Deployment" },
] as const;

export const WAVE = "delivery.mooring.dev/sync-wave";

export function configMap(name: string, data: Record<string, string>, wave?: number, annotations: Record<string, string> = {}): KubeObject {
  const ann = { ...annotations, ...(wave !== undefined ? { [WAVE]: String(wave) } : {}) };
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(Object.keys(ann).length ? { annotations: ann } : {}) }, data };
}

export function secret(name: string, data: Record<string, string>, wave?: number): KubeObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { name, ...(wave !== undefined ? { annotations: { [WAVE]: String(wave) } } : {}) }, stringData: data } as KubeObject;
}

export function serviceAccount(name: string, wave?: number): KubeObject {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, ...(wave !== undefined ? { annotations: { [WAVE]: String(wave) } } : {}) } };
}

export function service(name: string, port: number, wave?: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, ...(wave !== undefined ? { annotations: { [WAVE]: String(wave) } } : {}) },
    spec: { selector: { app: name }, ports: [{ port }] },
  };
}

export function deployment(name: string, image: string, wave?: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, ...(wave !== undefined ? { annotations: { [WAVE]: String(wave) } } : {}) },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image }], tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }] },
      },
    },
  };
}

/** One YAML stream of the objects (JSON is YAML; one document per object). */
export function manifests(objects: readonly KubeObject[]): string {
  return objects.map((o) => JSON.stringify(o, null, 1)).join("\n---\n") + "\n";
}

/** The inventory id Mooring gives an object of `namespace`. */
export function idOf(o: KubeObject, namespace: string): string {
  const group = String(o.apiVersion).includes("/") ? String(o.apiVersion).split("/")[0] : "";
  return `${namespace}_${o.metadata!.name}_${group}_${o.kind}`;
}

export const condOf = (o: Obj | undefined, type: string): Cond | undefined => o?.status?.conditions?.find((c) => c.type === type);
export const describeConds = (o: Obj | undefined): string =>
  o ? (o.status?.conditions ?? []).map((c) => `${c.type}=${c.status} (${c.reason}: ${c.message})`).join("; ") || "no conditions" : "not found";

export interface FaultEnv {
  c: TestCluster;
  ns: TestNamespace;
  admin: Client;
  git: GitServer;
  op: FaultOperator;
  /** The value of the ownership label of Application `name` in this namespace. */
  owner(name: string): string;
  createGitRepository(name: string, url: string, extra?: Record<string, unknown>): Promise<void>;
  createApplication(name: string, spec: Record<string, unknown>): Promise<void>;
  getApp(name: string): Promise<Obj | undefined>;
  getRepo(name: string): Promise<Obj | undefined>;
  /** Sets mooring.dev/reconcile-requested-at (what `mooring reconcile` and a webhook push do). */
  requestReconcile(kind: "GitRepository" | "Application", name: string): Promise<void>;
  /** Every live object of KINDS in the namespace that carries Application `app`'s label. */
  labelled(app: string): Promise<Obj[]>;
  /** Every live object of KINDS in the namespace, by id. */
  liveObjects(): Promise<Map<string, Obj>>;
  /** waitFor with the operator's last log lines on timeout. */
  converge<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export interface FaultEnvOptions {
  prefix: string;
  /** The operator's kubeconfig (default: the cluster's; network tests pass one through Toxiproxy). */
  operatorKubeconfig?: string;
  operator?: Omit<FaultOperatorOptions, "kubeconfigPath" | "watchNamespace">;
  /** Do not start the operator (the test starts it). */
  deferOperator?: boolean;
}

export async function startFaultEnv(o: FaultEnvOptions): Promise<FaultEnv> {
  const c = await testCluster();
  await installCrds(c.kc);
  const ns = await createTestNamespace(c, o.prefix);
  const rest = RestClient.fromKubeConfig(c.kc, { qps: 200, burst: 400 });
  const admin = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "fault-test" });
  // The namespace's default ServiceAccount (what the operator impersonates by default) may apply anything in it.
  await admin.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "mooring-apply", namespace: ns.name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }],
  } as KubeObject);
  const git = await GitServer.start();
  const op = await FaultOperator.create({ kubeconfigPath: o.operatorKubeconfig ?? c.kubeconfigPath, watchNamespace: ns.name, ...(o.operator ?? {}) });
  if (!o.deferOperator) {
    try {
      await op.start();
    } catch (err) {
      // Nothing may keep the test process alive or the namespace around.
      await op.close().catch(() => {});
      await git.close().catch(() => {});
      await ns.cleanup();
      rest.close();
      throw err;
    }
  }

  const env: FaultEnv = {
    c,
    ns,
    admin,
    git,
    op,
    owner: (name) => ownerLabelValue(ns.name, name),
    async createGitRepository(name, url, extra = {}) {
      await admin.create({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name, namespace: ns.name }, spec: { url, ref: { branch: "main" }, interval: "1h", timeout: "20s", ...extra } } as KubeObject);
    },
    async createApplication(name, spec) {
      await admin.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name, namespace: ns.name }, spec } as KubeObject);
    },
    getApp: (name) => admin.get<Obj>(ApplicationKind, name, ns.name),
    getRepo: (name) => admin.get<Obj>(GitRepositoryKind, name, ns.name),
    async requestReconcile(kind, name) {
      const k = kind === "GitRepository" ? GitRepositoryKind : ApplicationKind;
      const obj = await admin.get(k, name, ns.name);
      if (!obj) throw new Error(`${kind} ${ns.name}/${name} does not exist`);
      await admin.patch(obj, { metadata: { annotations: { [Annotations.reconcileRequestedAt]: `${Date.now()}-${Math.random().toString(36).slice(2, 8)}` } } }, "merge");
    },
    async labelled(app) {
      const out: Obj[] = [];
      for (const k of KINDS) out.push(...(await admin.list<Obj>(k, { namespace: ns.name, labelSelector: `${Labels.application}=${ownerLabelValue(ns.name, app)}` })));
      return out;
    },
    async liveObjects() {
      const out = new Map<string, Obj>();
      for (const k of KINDS) for (const o of await admin.list<Obj>(k, { namespace: ns.name })) out.set(idOf(o, ns.name), o);
      return out;
    },
    async converge(what, probe, timeoutMs = 120_000) {
      try {
        return await waitFor(what, probe, { timeoutMs, intervalMs: 200 });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- operator log (last lines) ---\n${op.tail(30)}`, { cause: err });
      }
    },
    async close() {
      // Applications and GitRepositories carry finalizers: delete them while the operator still runs.
      if (op.running) {
        for (const kind of [ApplicationKind, GitRepositoryKind]) {
          for (const obj of await admin.list(kind, { namespace: ns.name }).catch(() => [])) await admin.delete(obj).catch(() => {});
          await waitFor(`${kind.kind}s deleted`, async () => (await admin.list(kind, { namespace: ns.name })).length === 0, { timeoutMs: 30_000 }).catch(() => {});
        }
      }
      // The operator's whole log, for reading a failure (or a figure) afterwards.
      const logDir = path.join(os.tmpdir(), "mooring-faults-logs");
      mkdirSync(logDir, { recursive: true });
      const logFile = path.join(logDir, `${ns.name}.log`);
      writeFileSync(logFile, op.logs());
      console.log(`# operator log: ${logFile}`);
      await op.close();
      await git.close();
      // Anything left (a finalizer nobody removes) must not keep the namespace from going.
      for (const kind of [ApplicationKind, GitRepositoryKind]) {
        for (const obj of await admin.list(kind, { namespace: ns.name }).catch(() => [])) {
          await admin.patch(obj, { metadata: { finalizers: null } }, "merge").catch(() => {});
        }
      }
      await ns.cleanup();
      rest.close();
    },
  };
  return env;
}

/** What the live object of `want` must hold: its data (Secrets: stringData as base64) and its wave annotation. */
function contentProblem(want: KubeObject, live: Obj): string | undefined {
  const name = `${want.kind} ${want.metadata!.name}`;
  const w = want as Obj;
  if (want.kind === "ConfigMap" && JSON.stringify(live.data ?? {}) !== JSON.stringify(w.data ?? {})) return `${name} holds ${JSON.stringify(live.data)}, Git says ${JSON.stringify(w.data)}`;
  if (want.kind === "Secret") {
    const b64 = Object.fromEntries(Object.entries(w.stringData ?? {}).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
    if (JSON.stringify(live.data ?? {}) !== JSON.stringify(b64)) return `${name} holds other data than Git says`;
  }
  if (want.kind === "Deployment") {
    const img = (o: Obj) => (o.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec?.containers?.[0]?.image;
    if (img(live) !== img(w)) return `${name} runs ${img(live)}, Git says ${img(w)}`;
  }
  const wave = want.metadata?.annotations?.[WAVE];
  if (wave !== live.metadata?.annotations?.[WAVE]) return `${name} has wave ${live.metadata?.annotations?.[WAVE]}, Git says ${wave}`;
  return undefined;
}

export interface ExactOptions {
  /** The commit the Application must report as applied. */
  sha: string;
  /** Ids allowed to carry the label without being rendered (e.g. opted out of prune with mooring.dev/prune: disabled). */
  allowedExtra?: ReadonlySet<string>;
  /** Require Ready=True (default true). */
  ready?: boolean;
}

/**
 * Everything that differs between the cluster and `desired` for Application `app` (empty: converged exactly):
 * status (revision, Ready, inventory), the labelled live objects (no orphan, none missing) and their content, and
 * the history's shape (newest first, bounded, no duplicated success, the newest a success of `sha`).
 */
export async function exactProblems(env: FaultEnv, app: string, desired: readonly KubeObject[], o: ExactOptions): Promise<string[]> {
  const problems: string[] = [];
  const a = await env.getApp(app);
  if (!a) return [`Application ${app} does not exist`];
  const want = new Map(desired.map((d) => [idOf(d, env.ns.name), d]));
  const revision = a.status?.sync?.revision ?? "";
  if (!revision.endsWith(o.sha)) problems.push(`sync.revision is ${revision || "none"}, not ${o.sha.slice(0, 12)}`);
  if ((o.ready ?? true) && condOf(a, "Ready")?.status !== "True") problems.push(`not Ready: ${describeConds(a)}`);
  const inv = (a.status?.sync?.inventory ?? []).map((e) => e.id);
  if (new Set(inv).size !== inv.length) problems.push(`the inventory lists an object twice: ${inv.join(", ")}`);
  const invSet = new Set(inv);
  for (const id of want.keys()) if (!invSet.has(id)) problems.push(`inventory lacks ${id}`);
  for (const id of invSet) if (!want.has(id)) problems.push(`inventory still lists ${id}, which Git no longer has`);
  const live = new Map((await env.labelled(app)).map((l) => [idOf(l, env.ns.name), l]));
  for (const [id, d] of want) {
    const l = live.get(id);
    if (!l) problems.push(`${id} is rendered but not in the cluster (with the label)`);
    else {
      const p = contentProblem(d, l);
      if (p) problems.push(p);
    }
  }
  for (const id of live.keys()) if (!want.has(id) && !o.allowedExtra?.has(id)) problems.push(`orphan: ${id} carries the label of ${app} but Git no longer has it`);
  problems.push(...historyProblems(a.status?.history ?? [], a.status?.render?.artifact?.digest));
  return problems;
}

/**
 * The history is newest first, at most HISTORY_LIMIT long, its newest entry a success of the rendered `digest`
 * (a commit that renders the same objects adds no entry), no success recorded twice in a row.
 */
export function historyProblems(history: readonly HistoryEntry[], digest?: string): string[] {
  const problems: string[] = [];
  if (history.length > HISTORY_LIMIT) problems.push(`history has ${history.length} entries (limit ${HISTORY_LIMIT})`);
  if (digest !== undefined && (history[0]?.phase !== "Succeeded" || history[0].digest !== digest)) problems.push(`the newest history entry is ${JSON.stringify(history[0])?.slice(0, 300)}, not a success of the rendered ${digest.slice(0, 19)}`);
  for (let i = 1; i < history.length; i++) {
    const [newer, older] = [history[i - 1]!, history[i]!];
    if (Date.parse(newer.startedAt) < Date.parse(older.startedAt)) problems.push(`history is not newest first at ${i}: ${newer.startedAt} before ${older.startedAt}`);
    if (newer.phase === "Succeeded" && older.phase === "Succeeded" && newer.digest === older.digest) problems.push(`history records the success of ${newer.digest?.slice(0, 19)} twice in a row (entries ${i - 1} and ${i})`);
  }
  return problems;
}

/** Waits until `exactProblems` is empty; the timeout error lists what still differs. */
export async function expectExact(env: FaultEnv, app: string, desired: readonly KubeObject[], o: ExactOptions & { timeoutMs?: number }): Promise<void> {
  await env.converge(
    `Application ${app} to hold exactly commit ${o.sha.slice(0, 12)}`,
    async () => {
      const p = await exactProblems(env, app, desired, o);
      if (p.length) throw new Error(p.join("; "));
      return true;
    },
    o.timeoutMs,
  );
}

/** Commits `files` to `repo` and asks the source controller to fetch now; returns the commit. */
export async function push(env: FaultEnv, repo: TestRepo, gitRepository: string, files: Record<string, string | null>, message = "change"): Promise<string> {
  const sha = await repo.commit(files, message);
  await env.requestReconcile("GitRepository", gitRepository);
  return sha;
}

/**
 * Waits until GitRepository `name` says the fetch failed (FetchFailed=True, matching `reason` when given) while the
 * last good artifact (of `goodRevision`) is still in storage and served, with the digest status names.
 */
export async function expectFetchFailed(env: FaultEnv, name: string, goodRevision: string, reason?: RegExp, timeoutMs = 90_000): Promise<Obj> {
  const g = await env.converge(
    `FetchFailed on GitRepository ${name}${reason ? ` (${reason})` : ""}, the last good artifact still served`,
    async () => {
      const r = await env.getRepo(name);
      const ff = condOf(r, "FetchFailed");
      if (ff?.status !== "True" || (reason && !reason.test(`${ff.reason}: ${ff.message}`))) throw new Error(describeConds(r));
      return r;
    },
    timeoutMs,
  );
  const problems: string[] = [];
  if (condOf(g, "ArtifactInStorage")?.status !== "True") problems.push(`ArtifactInStorage is not True: ${describeConds(g)}`);
  if (!g.status?.artifact?.revision?.endsWith(goodRevision)) problems.push(`the artifact is not the last good one (${g.status?.artifact?.revision})`);
  const res = await fetch(g.status!.artifact!.url, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) problems.push(`the last good artifact is not served: HTTP ${res.status}`);
  else {
    const digest = `sha256:${createHash("sha256").update(Buffer.from(await res.arrayBuffer())).digest("hex")}`;
    if (digest !== g.status!.artifact!.digest) problems.push(`the artifact served has digest ${digest}, status says ${g.status!.artifact!.digest}`);
  }
  if (problems.length) throw new Error(problems.join("; "));
  return g;
}

/** A summary of numbers: min, median, p90 and max. */
export function stats(values: readonly number[]): { n: number; min: number; median: number; p90: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, min: s[0] ?? NaN, median: at(0.5), p90: at(0.9), max: s[s.length - 1] ?? NaN };
}
