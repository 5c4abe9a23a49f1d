// `mooring get <kind> [name]` and `mooring events <app>`: what the controllers say about each Mooring object, read
// live from the API server (./get-commands.ts adds them to the program).
//   - get: one row per object, kubectl's names for the kinds (plural, singular, short names), -A, -o wide adds
//     columns, -o json|yaml print the rows (a stable shape for scripts; `kubectl get -o json` gives whole objects).
//     READY and MESSAGE mean the same for every kind: the Ready condition, and the Stalled message when stalled,
//     else Ready's, prefixed with "suspended;" when spec.suspend is set (a SyncPolicy has no Ready: its WindowOpen).
//   - events: the events.k8s.io Events of an Application and of its sources (GitRepository, HelmChart and that
//     chart's HelmRepository), oldest first so the newest is next to the prompt, as `kubectl events` orders them.
import { ConditionTypes, SyncPolicyDefaults, type Application } from "../api/index.js";
import { AlertKind, ApplicationKind, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, ProviderKind, SyncPolicyKind } from "../api/kinds.js";
import { KIND_DEFINITIONS } from "../api/crd.js";
import { Kinds, NoKindMatchError, type Condition, type KindDescriptor, type KubeObject } from "../runtime/index.js";
import { oneLine, shortRevision, table, toJson, toYaml } from "./format.js";
import { CliError, Exit, type ExitCode, type Io, type Kube } from "./kube.js";
import { appRow } from "./ops.js";

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
type Value = string | number | boolean;

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const rec = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const conditionsOf = (o: Obj) => (Array.isArray(o.status?.conditions) ? (o.status.conditions as Condition[]) : []);
const cond = (o: Obj, type: string) => conditionsOf(o).find((c) => c.type === type);

// ---------------------------------------------------------------------------------------------------------------
// Durations as kubectl prints them (k8s.io/apimachinery's HumanDuration): "45s", "3m20s", "5h", "2d3h", "1y30d".

export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  if (h < 24 * 365 * 8) return `${Math.floor(h / 24 / 365)}y${Math.floor(h / 24) % 365}d`;
  return `${Math.floor(h / 24 / 365)}y`;
}

/** The age of a timestamp at `now`, or "<unknown>" for a missing or unreadable one. */
export function ageOf(time: string | undefined, now: number): string {
  const t = time ? Date.parse(time) : NaN;
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now - t);
}

// ---------------------------------------------------------------------------------------------------------------
// The kinds and their columns.

interface Column {
  /** The table header (capitals). */
  header: string;
  /** The key of the value in -o json|yaml rows. */
  key: string;
  /** Shown only with -o wide (always in json and yaml). */
  wide?: boolean;
  value(o: Obj): Value;
  /** The value as a table cell, when it differs from String(value). */
  cell?(v: Value): string;
}

export interface GetKind {
  kind: KindDescriptor;
  /** Every name `mooring get` accepts for the kind, lower case. */
  names: readonly string[];
  /** Columns between NAME and READY. */
  columns: readonly Column[];
  /** Whether the kind has a Ready condition (all but SyncPolicy). */
  ready: boolean;
  /** Whether spec.suspend exists (a suspended object says so in MESSAGE, and rows have `suspended`). */
  suspendable: boolean;
}

const col = (header: string, key: string, value: (o: Obj) => Value, more: Partial<Column> = {}): Column => ({ header, key, value, ...more });
const revision = (value: (o: Obj) => string) => col("REVISION", "revision", value, { cell: (v) => shortRevision(String(v)) });
const interval = (dflt: string) => col("INTERVAL", "interval", (o) => str(o.spec?.interval) || dflt, { wide: true });
const suspendedCol = col("SUSPENDED", "suspended", (o) => o.spec?.suspend === true, { wide: true });

function gitRef(ref: Record<string, unknown>): string {
  for (const k of ["commit", "tag", "semver", "name", "branch"]) if (str(ref[k])) return `${k} ${str(ref[k])}`;
  return "HEAD";
}

/** A URL without what may carry a credential (user info, path, query): a Provider's address can be a Slack webhook. */
function originOnly(address: string): string {
  try {
    return new URL(address).origin;
  } catch {
    return address ? "(not a URL)" : "";
  }
}

/** Names from the CRD (plural, singular, short names, each also as <name>.<group>), and `extra`. */
function namesOf(kind: KindDescriptor, extra: string[]): string[] {
  const def = KIND_DEFINITIONS.find((d) => d.descriptor.kind === kind.kind && d.descriptor.group === kind.group)!;
  const base = [def.descriptor.plural, def.singular, ...def.shortNames];
  return [...new Set([...base, ...extra, ...[def.descriptor.plural, def.singular].map((n) => `${n}.${kind.group}`)])];
}

export const GET_KINDS: readonly GetKind[] = [
  {
    kind: GitRepositoryKind,
    names: namesOf(GitRepositoryKind, ["gitrepos"]),
    columns: [
      col("URL", "url", (o) => str(o.spec?.url)),
      revision((o) => str(rec(o.status?.artifact).revision)),
      col("REF", "ref", (o) => gitRef(rec(o.spec?.ref)), { wide: true }),
      interval("1m"),
      suspendedCol,
    ],
    ready: true,
    suspendable: true,
  },
  {
    kind: HelmRepositoryKind,
    names: namesOf(HelmRepositoryKind, ["helmrepos"]),
    columns: [
      col("URL", "url", (o) => str(o.spec?.url)),
      col("TYPE", "type", (o) => str(o.spec?.type) || "default", { wide: true }),
      col("CHARTS", "charts", (o) => (typeof rec(o.status?.index).charts === "number" ? (rec(o.status?.index).charts as number) : ""), { wide: true }),
      interval("10m"),
      suspendedCol,
    ],
    ready: true,
    suspendable: true,
  },
  {
    kind: HelmChartKind,
    names: namesOf(HelmChartKind, ["helmcharts", "hcs"]),
    columns: [
      col("CHART", "chart", (o) => str(o.spec?.chart)),
      col("VERSION", "version", (o) => str(o.spec?.version) || "*"),
      revision((o) => str(rec(o.status?.artifact).revision)),
      col("SOURCE", "source", (o) => `${str(rec(o.spec?.sourceRef).kind)}/${str(rec(o.spec?.sourceRef).name)}`, { wide: true }),
      interval("10m"),
      suspendedCol,
    ],
    ready: true,
    suspendable: true,
  },
  {
    kind: ApplicationKind,
    names: namesOf(ApplicationKind, ["apps", "app"]),
    // The same values as `mooring get apps` has always printed (./ops.ts appRow).
    columns: [
      revision((o) => appRow(o as Application & KubeObject).revision),
      col("SYNCED", "synced", (o) => appRow(o as Application & KubeObject).synced),
      col("HEALTH", "health", (o) => appRow(o as Application & KubeObject).health),
      col("SOURCE", "source", (o) => {
        const ref = rec(o.spec?.sourceRef);
        return `${str(ref.kind)}/${str(ref.namespace) ? `${str(ref.namespace)}/` : ""}${str(ref.name)}`;
      }, { wide: true }),
      col("POLICY", "syncPolicy", (o) => str(rec(o.spec?.syncPolicyRef).name), { wide: true }),
      col("PATH", "path", (o) => str(o.spec?.path), { wide: true }),
      suspendedCol,
    ],
    ready: true,
    suspendable: true,
  },
  {
    kind: SyncPolicyKind,
    names: namesOf(SyncPolicyKind, ["syncpolicies", "policy", "policies"]),
    columns: [
      col("AUTOMATED", "automated", (o) => (rec(o.spec?.automated).enabled as boolean | undefined) ?? SyncPolicyDefaults.automated.enabled),
      col("WINDOW", "window", (o) => {
        const w = cond(o, ConditionTypes.windowOpen);
        return w?.status === "True" ? "open" : w?.status === "False" ? "closed" : "Unknown";
      }),
      col("APPS", "applications", (o) => (typeof o.status?.applications === "number" ? o.status.applications : "")),
      col("SELF-HEAL", "selfHeal", (o) => (rec(o.spec?.automated).selfHeal as boolean | undefined) ?? SyncPolicyDefaults.automated.selfHeal, { wide: true }),
      col("PRUNE", "prune", (o) => (rec(o.spec?.automated).prune as boolean | undefined) ?? SyncPolicyDefaults.automated.prune, { wide: true }),
      col("WINDOWS", "windows", (o) => (Array.isArray(o.spec?.windows) ? o.spec.windows.length : 0), { wide: true }),
      col("NEXT CHANGE", "nextWindowChange", (o) => str(o.status?.nextWindowChange), { wide: true }),
    ],
    ready: false,
    suspendable: false,
  },
  {
    kind: ProviderKind,
    names: namesOf(ProviderKind, []),
    columns: [
      col("TYPE", "type", (o) => str(o.spec?.type)),
      col("DELIVERED", "delivered", (o) => cond(o, ConditionTypes.delivered)?.status ?? ""),
      col("ADDRESS", "address", (o) => originOnly(str(o.spec?.address)), { wide: true }),
      col("CHANNEL", "channel", (o) => str(o.spec?.channel), { wide: true }),
      col("LAST DELIVERY", "lastDelivery", (o) => {
        const d = rec(o.status?.lastDelivery);
        return str(d.result) ? `${str(d.result)} ${str(d.event)} ${str(d.object)}`.trim() : "";
      }, { wide: true }),
      suspendedCol,
    ],
    ready: true,
    suspendable: true,
  },
  {
    kind: AlertKind,
    names: namesOf(AlertKind, []),
    columns: [
      col("PROVIDER", "provider", (o) => str(rec(o.spec?.providerRef).name)),
      col("DELIVERED", "delivered", (o) => cond(o, ConditionTypes.delivered)?.status ?? ""),
      col("SEVERITY", "severity", (o) => str(o.spec?.eventSeverity) || "info", { wide: true }),
      col("SOURCES", "sources", (o) => (Array.isArray(o.spec?.eventSources) ? (o.spec.eventSources as Record<string, unknown>[]).map((s) => `${str(s.kind)}/${str(s.name)}`).join(",") : ""), { wide: true }),
      col("EVENTS", "eventKinds", (o) => (Array.isArray(o.spec?.eventKinds) && o.spec.eventKinds.length ? (o.spec.eventKinds as string[]).join(",") : "*"), { wide: true }),
      suspendedCol,
    ],
    ready: true,
    suspendable: true,
  },
];

/** The kind a user typed (any of its names, any case), or a CliError listing the kinds. */
export function getKindByName(name: string): GetKind {
  const n = name.toLowerCase();
  const k = GET_KINDS.find((g) => g.names.includes(n));
  if (!k) throw new CliError(`unknown kind "${name}"; use one of ${GET_KINDS.map((g) => `${g.kind.plural} (${g.names.filter((x) => x !== g.kind.plural && !x.includes(".")).join(", ")})`).join(", ")}`);
  return k;
}

/** "Applications", "SyncPolicies": the kind's name for a human. */
const plural = (kind: KindDescriptor) => (kind.kind.endsWith("y") ? `${kind.kind.slice(0, -1)}ies` : `${kind.kind}s`);

export type GetOutput = "table" | "wide" | "json" | "yaml";
export type Row = Record<string, Value>;

/** One object as a row: namespace, name, the kind's columns, ready, suspended (when it can be), message, created. */
export function rowOf(k: GetKind, o: Obj): Row {
  const row: Row = { namespace: o.metadata?.namespace ?? "", name: o.metadata?.name ?? "" };
  for (const c of k.columns) row[c.key] = c.value(o);
  const stalled = cond(o, ConditionTypes.stalled);
  let message: string;
  if (k.ready) {
    const ready = cond(o, ConditionTypes.ready);
    row.ready = ready?.status ?? "Unknown";
    message = stalled?.status === "True" ? stalled.message : (ready?.message ?? "");
  } else {
    message = cond(o, ConditionTypes.windowOpen)?.message ?? "";
  }
  if (k.suspendable) {
    row.suspended = o.spec?.suspend === true;
    if (row.suspended) message = message ? `suspended; ${message}` : "suspended";
  }
  row.message = oneLine(message);
  row.created = o.metadata?.creationTimestamp ?? "";
  return row;
}

/** The table of `rows` (already sorted). */
export function rowsTable(k: GetKind, objs: readonly Obj[], o: { allNamespaces: boolean; wide: boolean; now: number }): string {
  const cols = k.columns.filter((c) => o.wide || !c.wide);
  const headers = [...(o.allNamespaces ? ["NAMESPACE"] : []), "NAME", ...cols.map((c) => c.header), ...(o.wide ? ["AGE"] : []), ...(k.ready ? ["READY"] : []), "MESSAGE"];
  const cells = objs.map((obj) => {
    const r = rowOf(k, obj);
    return [
      ...(o.allNamespaces ? [String(r.namespace)] : []),
      String(r.name),
      ...cols.map((c) => (c.cell ? c.cell(r[c.key]!) : String(r[c.key]))),
      ...(o.wide ? [ageOf(String(r.created), o.now)] : []),
      ...(k.ready ? [String(r.ready)] : []),
      String(r.message),
    ];
  });
  return table(headers, cells);
}

function noKind(k: GetKind, err: NoKindMatchError): CliError {
  return new CliError(`the cluster does not serve ${k.kind.kind} (${k.kind.group}/${k.kind.version}): install Mooring's CRDs (the Helm chart, or 'make install'); ${err.message}`, Exit.error, { cause: err });
}

const byNamespaceAndName = (a: Obj, b: Obj) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`);

/** `mooring get <kind> [name]`: always exits 0 (2 on errors, a named object not found included). */
export async function getObjects(kube: Kube, kindName: string, name: string | undefined, o: { allNamespaces: boolean; output: GetOutput; now?: number }, io: Io): Promise<ExitCode> {
  const k = getKindByName(kindName);
  if (name && o.allNamespaces) throw new CliError("a name cannot be given with -A/--all-namespaces; name the namespace with -n");
  let objs: Obj[];
  try {
    if (name) {
      const one = await kube.client.get<Obj>(k.kind, name, kube.namespace);
      if (!one) throw new CliError(`${k.kind.kind} ${kube.namespace}/${name} not found; check the name and -n/--namespace`);
      objs = [one];
    } else {
      objs = await kube.client.list<Obj>(k.kind, o.allNamespaces ? {} : { namespace: kube.namespace });
    }
  } catch (err) {
    if (err instanceof NoKindMatchError) throw noKind(k, err);
    throw err;
  }
  objs.sort(byNamespaceAndName);
  if (o.output === "json") io.out(toJson(objs.map((x) => rowOf(k, x))));
  else if (o.output === "yaml") io.out(toYaml(objs.map((x) => rowOf(k, x))));
  else if (objs.length === 0) io.err(o.allNamespaces ? `No ${plural(k.kind)} found.` : `No ${plural(k.kind)} found in ${kube.namespace} namespace.`);
  else io.out(rowsTable(k, objs, { allNamespaces: o.allNamespaces, wide: o.output === "wide", now: o.now ?? Date.now() }));
  return Exit.ok;
}

// ---------------------------------------------------------------------------------------------------------------
// events

export interface EventRow {
  /** When it last happened (series.lastObservedTime, else eventTime, else the deprecated timestamps). */
  time: string;
  /** When it first happened (eventTime), when it happened more than once. */
  firstTime: string;
  count: number;
  type: string;
  reason: string;
  object: { kind: string; namespace: string; name: string };
  action: string;
  reportingController: string;
  message: string;
}

interface EventV1 extends KubeObject {
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
  deprecatedCount?: number;
  deprecatedFirstTimestamp?: string;
  deprecatedLastTimestamp?: string;
  type?: string;
  reason?: string;
  action?: string;
  note?: string;
  reportingController?: string;
  regarding?: { apiVersion?: string; kind?: string; namespace?: string; name?: string };
}

export function eventRow(e: EventV1): EventRow {
  const first = str(e.eventTime) || str(e.deprecatedFirstTimestamp) || str(e.metadata?.creationTimestamp);
  const last = str(e.series?.lastObservedTime) || str(e.deprecatedLastTimestamp) || first;
  const count = e.series?.count ?? e.deprecatedCount ?? 1;
  return {
    time: last,
    firstTime: first,
    count,
    type: str(e.type),
    reason: str(e.reason),
    object: { kind: str(e.regarding?.kind), namespace: str(e.regarding?.namespace), name: str(e.regarding?.name) },
    action: str(e.action),
    reportingController: str(e.reportingController),
    message: str(e.note),
  };
}

/** Oldest first, so the newest is last (next to the prompt); equal times by object, then reason. */
const byTime = (a: EventRow, b: EventRow) => Date.parse(a.time) - Date.parse(b.time) || `${a.object.kind}/${a.object.name}/${a.reason}`.localeCompare(`${b.object.kind}/${b.object.name}/${b.reason}`);

interface Ref {
  kind: KindDescriptor;
  namespace: string;
  name: string;
}

/** The Application and its sources: its sourceRef, and for a HelmChart the chart's own source. */
async function objectsOf(kube: Kube, app: Obj): Promise<Ref[]> {
  const ns = app.metadata!.namespace!;
  const refs: Ref[] = [{ kind: ApplicationKind, namespace: ns, name: app.metadata!.name! }];
  const src = rec(app.spec?.sourceRef);
  const srcKind = ({ GitRepository: GitRepositoryKind, HelmChart: HelmChartKind } as Record<string, KindDescriptor>)[str(src.kind)];
  if (!srcKind || !str(src.name)) return refs;
  const srcRef = { kind: srcKind, namespace: str(src.namespace) || ns, name: str(src.name) };
  refs.push(srcRef);
  if (srcKind === HelmChartKind) {
    const chart = await kube.client.get<Obj>(HelmChartKind, srcRef.name, srcRef.namespace);
    const inner = rec(chart?.spec?.sourceRef);
    const innerKind = ({ GitRepository: GitRepositoryKind, HelmRepository: HelmRepositoryKind } as Record<string, KindDescriptor>)[str(inner.kind)];
    if (innerKind && str(inner.name)) refs.push({ kind: innerKind, namespace: srcRef.namespace, name: str(inner.name) });
  }
  return refs;
}

/** The events.k8s.io Events about one object (by kind and name in its namespace; the API group checked here). */
async function eventsAbout(kube: Kube, ref: Ref): Promise<EventRow[]> {
  const events = await kube.client.list<EventV1>(Kinds.EventV1, { namespace: ref.namespace, fieldSelector: `regarding.kind=${ref.kind.kind},regarding.name=${ref.name}` });
  return events.filter((e) => str(e.regarding?.apiVersion).split("/")[0] === ref.kind.group).map(eventRow);
}

/** `mooring events <app>`: exits 0 (2 when the Application does not exist, or on errors). */
export async function appEvents(kube: Kube, name: string, o: { output: "table" | "json" | "yaml"; now?: number }, io: Io): Promise<ExitCode> {
  const app = await kube.client.get<Obj>(ApplicationKind, name, kube.namespace);
  if (!app) throw new CliError(`Application ${kube.namespace}/${name} not found; check the name and -n/--namespace`);
  const refs = await objectsOf(kube, app);
  const rows = (await Promise.all(refs.map((r) => eventsAbout(kube, r)))).flat().sort(byTime);
  if (o.output === "json") io.out(toJson(rows));
  else if (o.output === "yaml") io.out(toYaml(rows));
  else if (rows.length === 0) io.err(`No events found for ${refs.map((r) => `${r.kind.kind} ${r.namespace}/${r.name}`).join(", ")}.`);
  else {
    const now = o.now ?? Date.now();
    const ns = kube.namespace;
    const seen = (r: EventRow) => (r.count > 1 ? `${ageOf(r.time, now)} (x${r.count} over ${ageOf(r.firstTime, now)})` : ageOf(r.time, now));
    const object = (r: EventRow) => `${r.object.kind}/${r.object.namespace && r.object.namespace !== ns ? `${r.object.namespace}/` : ""}${r.object.name}`;
    io.out(table(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], rows.map((r) => [seen(r), r.type, r.reason, object(r), oneLine(r.message)])));
  }
  return Exit.ok;
}
