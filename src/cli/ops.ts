// The operations commands: what an operator runs every day against a cluster.
//   mooring get apps [-A] [-o table|json|yaml]     one line per Application
//   mooring reconcile <kind> <name> [--wait]       ask every controller to handle an object now
//   mooring suspend|resume <app>                   stop / restart rendering and syncing
//   mooring sync <app> [--timeout]                 a manual sync, with progress and its result
//   mooring tree <app> [-o json]                   the applied objects and each one's live health
//   mooring diff <app>                             what a sync would change (server-side dry run, ./diff.ts)
// ./ops-commands.ts adds them to the program.
// Every command exits 0 on success, 1 on a negative answer, 2 on an error, 3 on a timeout (see Exit in ./kube.ts).
import { Annotations, ConditionTypes, type Application, type SyncPolicy } from "../api/index.js";
import { ApplicationKind, SyncPolicyKind } from "../api/kinds.js";
import { ApplicationStatus } from "../api/application.js";
import { GitRepositoryStatus } from "../api/gitrepository.js";
import { SyncPolicyStatus } from "../api/syncpolicy.js";
import { assessHealth, type Health } from "../apply/health.js";
import { describeRef, refOfEntry } from "../apply/inventory.js";
import { manualMarker, manualRequestHandled, type HistoryEntry } from "../apply/policy.js";
import { NoKindMatchError, type Condition, type KindDescriptor, type KubeObject } from "../runtime/index.js";
import { windowState, type SyncWindow } from "../policy/windows.js";
import { oneLine, paint, shortRevision, table, toJson, toYaml } from "./format.js";
import { CliError, Exit, describeError, kindByName, realTiming, type ExitCode, type Io, type Kube, type Timing } from "./kube.js";

type App = Application & KubeObject;
type Conds = Condition[] | undefined;

const cond = (conditions: Conds, type: string) => conditions?.find((c) => c.type === type);
const refText = (kind: KindDescriptor, ns: string, name: string) => `${kind.kind} ${ns}/${name}`;

async function mustGet<T extends KubeObject>(kube: Kube, kind: KindDescriptor, name: string): Promise<T> {
  const obj = await kube.client.get<T>(kind, name, kube.namespace);
  if (!obj) throw new CliError(`${refText(kind, kube.namespace, name)} not found; check the name and -n/--namespace`);
  return obj;
}

async function annotate(kube: Kube, kind: KindDescriptor, name: string, key: string, value: string): Promise<void> {
  await kube.client.patch({ apiVersion: `${kind.group}/${kind.version}`, kind: kind.kind, metadata: { name, namespace: kube.namespace } }, { metadata: { annotations: { [key]: value } } }, "merge");
}

/** A value for a request annotation: the time, which is unique enough and tells a human when it was asked. */
const requestValue = (timing: Timing) => new Date(timing.now()).toISOString();

// ---------------------------------------------------------------------------------------------------------------
// get apps

export interface AppRow {
  namespace: string;
  name: string;
  revision: string;
  synced: string;
  health: string;
  ready: string;
  suspended: boolean;
  message: string;
}

export function appRow(app: App): AppRow {
  const s = app.status ?? {};
  const conditions = s.conditions as Conds;
  const syncedCond = cond(conditions, ConditionTypes.synced);
  const synced = s.sync?.status ?? (syncedCond ? (syncedCond.status === "True" ? "Synced" : syncedCond.status === "False" ? "OutOfSync" : "Unknown") : "Unknown");
  const ready = cond(conditions, ConditionTypes.ready);
  const stalled = cond(conditions, ConditionTypes.stalled);
  const suspended = app.spec?.suspend === true;
  let message = stalled?.status === "True" ? stalled.message : (ready?.message ?? "");
  if (suspended) message = message ? `suspended; ${message}` : "suspended";
  return {
    namespace: app.metadata?.namespace ?? "",
    name: app.metadata?.name ?? "",
    revision: s.sync?.revision ?? "",
    synced,
    health: s.health?.status ?? "Unknown",
    ready: ready?.status ?? "Unknown",
    suspended,
    message: oneLine(message),
  };
}

export async function getApps(kube: Kube, o: { allNamespaces: boolean; output: "table" | "json" | "yaml" }, io: Io): Promise<ExitCode> {
  const apps = await kube.client.list<App>(ApplicationKind, o.allNamespaces ? {} : { namespace: kube.namespace });
  apps.sort((a, b) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
  const rows = apps.map(appRow);
  if (o.output === "json") io.out(toJson(rows));
  else if (o.output === "yaml") io.out(toYaml(rows));
  else if (rows.length === 0) io.err(o.allNamespaces ? "No Applications found." : `No Applications found in ${kube.namespace} namespace.`);
  else {
    const headers = [...(o.allNamespaces ? ["NAMESPACE"] : []), "NAME", "REVISION", "SYNCED", "HEALTH", "READY", "MESSAGE"];
    io.out(table(headers, rows.map((r) => [...(o.allNamespaces ? [r.namespace] : []), r.name, shortRevision(r.revision), r.synced, r.health, r.ready, r.message])));
  }
  return Exit.ok;
}

// ---------------------------------------------------------------------------------------------------------------
// reconcile

/** Whether a kind's status declares lastHandledReconcileAt (waiting needs it). */
function tracksReconcileRequests(kind: KindDescriptor): boolean {
  const schema = { GitRepository: GitRepositoryStatus, Application: ApplicationStatus, SyncPolicy: SyncPolicyStatus }[kind.kind] as { properties?: Record<string, unknown> } | undefined;
  return Boolean(schema?.properties && "lastHandledReconcileAt" in schema.properties);
}

function readySummary(obj: KubeObject): { ready: boolean; text: string } {
  const conditions = (obj.status as { conditions?: Condition[] } | undefined)?.conditions;
  const stalled = cond(conditions, ConditionTypes.stalled);
  const ready = cond(conditions, ConditionTypes.ready);
  if (stalled?.status === "True") return { ready: false, text: `Stalled (${stalled.reason}): ${stalled.message}` };
  if (!ready) return { ready: false, text: "no Ready condition yet" };
  return { ready: ready.status === "True", text: `Ready=${ready.status} (${ready.reason}): ${ready.message}` };
}

export async function reconcile(kube: Kube, kindName: string, name: string, o: { wait: boolean; timeoutMs: number; json?: boolean }, io: Io, timing: Timing = realTiming): Promise<ExitCode> {
  const kind = kindByName(kindName);
  if (o.wait && !tracksReconcileRequests(kind)) {
    throw new CliError(`${kind.kind} status has no lastHandledReconcileAt in this version of the API, so --wait cannot tell when the request was handled; run without --wait`);
  }
  await mustGet(kube, kind, name);
  const value = requestValue(timing);
  await annotate(kube, kind, name, Annotations.reconcileRequestedAt, value);
  const ref = refText(kind, kube.namespace, name);
  io.err(`► reconcile of ${ref} requested (${Annotations.reconcileRequestedAt}=${value})`);
  const json = (result: string, message: string, ready?: boolean) => o.json && io.out(toJson({ object: `${kind.kind} ${kube.namespace}/${name}`, requestedAt: value, result, ...(ready !== undefined ? { ready } : {}), message }));
  if (!o.wait) {
    json("Requested", "the controllers handle it on their next reconcile");
    return Exit.ok;
  }
  const deadline = timing.now() + o.timeoutMs;
  for (;;) {
    const obj = await mustGet<KubeObject>(kube, kind, name);
    if ((obj.status as { lastHandledReconcileAt?: string } | undefined)?.lastHandledReconcileAt === value) {
      const s = readySummary(obj);
      if (o.json) json("Handled", s.text, s.ready);
      else io.out(`${s.ready ? "✔" : "✗"} ${ref} reconciled: ${s.text}`);
      return s.ready ? Exit.ok : Exit.negative;
    }
    if (timing.now() >= deadline) {
      io.err(`✗ timed out after ${Math.round(o.timeoutMs / 1000)}s: the controller has not handled the request yet (is it running?); last: ${readySummary(obj).text}`);
      json("Timeout", readySummary(obj).text);
      return Exit.timeout;
    }
    await timing.sleep(timing.pollMs);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// suspend / resume

export async function setSuspended(kube: Kube, name: string, suspend: boolean, io: Io, json = false): Promise<ExitCode> {
  const app = await mustGet<App>(kube, ApplicationKind, name);
  const ref = refText(ApplicationKind, kube.namespace, name);
  const already = (app.spec.suspend === true) === suspend;
  if (!already) await kube.client.patch(app, { spec: { suspend } }, "merge");
  if (json) io.out(toJson({ application: `${kube.namespace}/${name}`, suspended: suspend, changed: !already }));
  else if (already) io.out(`${ref} is already ${suspend ? "suspended" : "active (not suspended)"}`);
  else io.out(suspend ? `${ref} suspended: nothing is rendered or synced until 'mooring resume ${name}'` : `${ref} resumed`);
  return Exit.ok;
}

// ---------------------------------------------------------------------------------------------------------------
// sync

function progressLine(app: App): string {
  const s = app.status ?? {};
  const conditions = s.conditions as Conds;
  const parts: string[] = [];
  const reconciling = cond(conditions, ConditionTypes.reconciling);
  if (reconciling?.status === "True") parts.push(`Reconciling: ${reconciling.message}`);
  for (const t of [ConditionTypes.synced, ConditionTypes.healthy, ConditionTypes.ready]) {
    const c = cond(conditions, t);
    if (c) parts.push(`${t}=${c.status}${c.status === "True" ? "" : ` (${c.reason}: ${oneLine(c.message)})`}`);
  }
  return parts.join("; ") || "waiting for the controller";
}

/** The history entry that answered the request, or a Synced condition naming it. */
function answerOf(app: App, requestedAt: string): { phase: "Succeeded" | "Failed"; entry?: HistoryEntry; message: string } | undefined {
  const history = (app.status?.history ?? []) as HistoryEntry[];
  if (manualRequestHandled(history, requestedAt)) {
    const marker = manualMarker(requestedAt);
    const entry = history.find((h) => h.initiatedBy === "manual" && h.phase !== "Running" && (h.message ?? "").startsWith(marker))!;
    return { phase: entry.phase === "Succeeded" ? "Succeeded" : "Failed", entry, message: entry.message ?? "" };
  }
  const synced = cond(app.status?.conditions as Conds, ConditionTypes.synced);
  if (synced && synced.message.includes(manualMarker(requestedAt)) && synced.status !== "Unknown") {
    return { phase: synced.status === "True" ? "Succeeded" : "Failed", message: synced.message };
  }
  return undefined;
}

/** Says when a window would hold the manual sync back, from the policy's own spec. */
async function windowNote(kube: Kube, app: App, now: number): Promise<string | undefined> {
  const ref = app.spec.syncPolicyRef?.name;
  if (!ref) return undefined;
  const policy = await kube.client.get<SyncPolicy & KubeObject>(SyncPolicyKind, ref, kube.namespace);
  if (!policy) return `SyncPolicy ${kube.namespace}/${ref} does not exist: the controller will not sync until it does`;
  try {
    const state = windowState((policy.spec?.windows ?? []) as SyncWindow[], now);
    if (!state.manualAllowed) return `a sync window blocks manual syncs now (${state.reason}); ${state.nextChange ? `it allows them again at ${state.nextChange.toISOString()}` : "no change within the search horizon"}`;
  } catch (err) {
    return `the SyncPolicy's windows cannot be evaluated: ${describeError(err)}`;
  }
  return undefined;
}

/** What the sync is doing now, in words: the wave applied or waited on, the objects being applied, the health waited for. */
export function syncProgress(app: App): string {
  const conditions = app.status?.conditions as Conds;
  const synced = cond(conditions, ConditionTypes.synced);
  const healthy = cond(conditions, ConditionTypes.healthy);
  const running = (app.status?.history ?? [])[0]?.phase === "Running";
  const parts: string[] = [];
  if (synced && synced.status !== "True") parts.push(/waiting for wave/.test(synced.message) ? `waves: ${oneLine(synced.message)}` : running ? `applying: ${oneLine(synced.message)}` : `Synced=${synced.status} (${synced.reason}): ${oneLine(synced.message)}`);
  if (healthy && healthy.status !== "True") parts.push(`health: ${oneLine(healthy.message)}`);
  return parts.join("; ") || progressLine(app);
}

export async function sync(kube: Kube, name: string, o: { wait: boolean; timeoutMs: number; json?: boolean }, io: Io, timing: Timing = realTiming): Promise<ExitCode> {
  const app = await mustGet<App>(kube, ApplicationKind, name);
  const ref = refText(ApplicationKind, kube.namespace, name);
  if (app.spec.suspend === true) throw new CliError(`${ref} is suspended; run 'mooring resume ${name}' first`);
  const note = await windowNote(kube, app, timing.now());
  if (note) io.err(`! ${note}`);
  const rb = app.status?.rollback;
  if (rb && rb.phase !== "Released" && app.metadata?.annotations?.[Annotations.rollback] !== undefined) io.err(`! ${ref} is rolled back: a sync re-applies revision ${shortRevision(rb.revision)}; 'mooring resume ${name}' returns to the source's revision`);
  const value = requestValue(timing);
  await annotate(kube, ApplicationKind, name, Annotations.syncRequestedAt, value);
  io.err(`► sync of ${ref} requested (${Annotations.syncRequestedAt}=${value})`);
  const json = (doc: Record<string, unknown>) => o.json && io.out(toJson({ application: `${kube.namespace}/${name}`, requestedAt: value, ...doc }));
  if (!o.wait) {
    json({ result: "Requested" });
    return Exit.ok;
  }
  const start = timing.now();
  const deadline = start + o.timeoutMs;
  let last = "";
  for (;;) {
    const cur = await mustGet<App>(kube, ApplicationKind, name);
    const answer = answerOf(cur, value);
    if (answer) {
      const e = answer.entry;
      const health = cur.status?.health;
      const details = [
        e?.revision ? `revision ${shortRevision(e.revision)}` : cur.status?.sync?.revision ? `revision ${shortRevision(cur.status.sync.revision)}` : "",
        health?.status ? `health ${health.status}${health.message ? ` (${oneLine(health.message)})` : ""}` : "",
      ].filter(Boolean);
      const ok = answer.phase === "Succeeded";
      const c = e?.changes;
      if (o.json) json({ result: answer.phase, revision: e?.revision ?? cur.status?.sync?.revision, ...(e?.id !== undefined ? { id: e.id } : {}), ...(c ? { changes: c } : {}), health: health ?? { status: "Unknown" }, message: answer.message });
      else {
        io.out(`${ok ? paint(io.color, "green", "✔") : paint(io.color, "red", "✗")} sync ${answer.phase}${details.length ? `: ${details.join(", ")}` : ""}`);
        if (c) io.out(`  objects: ${c.created} created, ${c.configured} configured, ${c.unchanged} unchanged, ${c.pruned} pruned${c.failed ? `, ${c.failed} failed` : ""}`);
        if (answer.message) io.out(`  ${oneLine(answer.message)}`);
      }
      return ok ? Exit.ok : Exit.negative;
    }
    const line = syncProgress(cur);
    if (line !== last) {
      io.err(`◎ [${String(Math.round((timing.now() - start) / 1000)).padStart(3)}s] ${line}`);
      last = line;
    }
    if (timing.now() >= deadline) {
      io.err(`✗ timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for the sync of ${ref}; it stays requested — check 'mooring get apps' or the controller logs`);
      json({ result: "Timeout", message: syncProgress(cur) });
      return Exit.timeout;
    }
    await timing.sleep(timing.pollMs);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// tree

export interface TreeNode {
  id: string;
  kind: string;
  namespace: string;
  name: string;
  apiVersion: string;
  health: Health["status"];
  message?: string;
  drifted: boolean;
}

export async function treeOf(kube: Kube, app: App): Promise<TreeNode[]> {
  const drifted = new Set(app.status?.sync?.drifted ?? []);
  const nodes: TreeNode[] = [];
  for (const e of app.status?.sync?.inventory ?? []) {
    const ref = refOfEntry(e);
    let health: Health;
    try {
      const live = await kube.client.get({ apiVersion: ref.apiVersion, kind: ref.kind }, ref.name, ref.namespace || undefined);
      health = assessHealth(live as Parameters<typeof assessHealth>[0]);
    } catch (err) {
      health = err instanceof NoKindMatchError ? { status: "Missing", message: `kind ${ref.kind} (${ref.apiVersion}) is not served` } : { status: "Unknown", message: describeError(err) };
    }
    nodes.push({ id: e.id, kind: ref.kind, namespace: ref.namespace, name: ref.name, apiVersion: ref.apiVersion, health: health.status, ...(health.message ? { message: health.message } : {}), drifted: drifted.has(e.id) });
  }
  return nodes;
}

const HEALTH_COLOUR = { Healthy: "green", Progressing: "yellow", Suspended: "dim", Degraded: "red", Missing: "red", Unknown: "yellow" } as const;

export async function tree(kube: Kube, name: string, o: { output: "tree" | "json" | "yaml" }, io: Io): Promise<ExitCode> {
  const app = await mustGet<App>(kube, ApplicationKind, name);
  const nodes = await treeOf(kube, app);
  const allHealthy = nodes.every((n) => n.health === "Healthy");
  if (o.output === "json") io.out(toJson(nodes));
  else if (o.output === "yaml") io.out(toYaml(nodes));
  else {
    const r = appRow(app);
    io.out(`${refText(ApplicationKind, kube.namespace, name)}   ${[shortRevision(r.revision), r.synced, r.health].filter(Boolean).join("   ")}`);
    if (nodes.length === 0) io.out("└── (no objects applied yet)");
    const labels = nodes.map((n) => describeRef({ apiVersion: n.apiVersion, kind: n.kind, name: n.name, namespace: n.namespace }));
    const width = Math.max(0, ...labels.map((l) => l.length));
    nodes.forEach((n, i) => {
      const branch = i === nodes.length - 1 ? "└── " : "├── ";
      const h = paint(io.color, HEALTH_COLOUR[n.health], n.health.padEnd(11));
      const extra = [n.drifted ? paint(io.color, "yellow", "drifted") : "", n.message ? oneLine(n.message) : ""].filter(Boolean).join("; ");
      io.out(`${branch}${labels[i]!.padEnd(width)}   ${h}${extra ? `   ${extra}` : ""}`.trimEnd());
    });
  }
  return allHealthy ? Exit.ok : Exit.negative;
}
