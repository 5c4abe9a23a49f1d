// Pure functions from the objects in the cache to what the UI shows (src/ui/model.ts): one row per Application,
// source and SyncPolicy, and an Application's detail. No I/O here, so every rule is unit-tested on plain objects.
import type { KubeObject } from "../runtime/index.js";
import { describeWindow, windowState, type SyncWindow } from "../policy/windows.js";
import type { AppDetail, AppSummary, ConditionView, DependencyView, EventView, HealthState, HistoryView, PolicyView, SourceView, SyncState, WindowSegment } from "./model.js";

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}
type Obj = KubeObject & { spec?: any; status?: any };

const SYNC: readonly string[] = ["Synced", "OutOfSync", "Unknown"];
const HEALTH: readonly string[] = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"];

export const keyOf = (o: KubeObject): string => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
const conds = (o: Obj): Cond[] => (Array.isArray(o.status?.conditions) ? (o.status.conditions as Cond[]) : []);
const cond = (o: Obj, type: string): Cond | undefined => conds(o).find((c) => c.type === type);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
/** Messages are shown on one line in lists; the detail page shows them whole. */
const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim();

export function conditionViews(o: Obj): ConditionView[] {
  return conds(o).map((c) => ({ type: c.type, status: c.status, reason: str(c.reason), message: str(c.message), lastTransitionTime: str(c.lastTransitionTime) }));
}

/** The sync state as `mooring get apps` shows it: status.sync.status, else read from the Synced condition. */
function syncOf(app: Obj): SyncState {
  const s = str(app.status?.sync?.status);
  if (SYNC.includes(s)) return s as SyncState;
  const c = cond(app, "Synced");
  return c?.status === "True" ? "Synced" : c?.status === "False" ? "OutOfSync" : "Unknown";
}

interface Commit {
  author?: string;
  message?: string;
}

const subject = (c: Commit | undefined): string => str(c?.message).split("\n", 1)[0]!.trim();

/** The commit of the revision synced: its history entry's, else the render's when it rendered that revision. */
function syncedCommit(app: Obj, history: Record<string, unknown>[]): Commit | undefined {
  const revision = str(app.status?.sync?.revision);
  const entry = history.find((h) => h.revision === revision && h.commit);
  if (entry) return entry.commit as Commit;
  const art = app.status?.render?.artifact as { revision?: string; commit?: Commit } | undefined;
  return art?.revision === revision ? art.commit : undefined;
}

export function appSummary(app: Obj): AppSummary {
  const ready = cond(app, "Ready");
  const stalled = cond(app, "Stalled");
  const reconciling = cond(app, "Reconciling");
  const suspended = app.spec?.suspend === true;
  const history = Array.isArray(app.status?.history) ? (app.status.history as Record<string, unknown>[]) : [];
  const last = history[0];
  let message = stalled?.status === "True" ? str(stalled.message) : str(ready?.message);
  if (suspended) message = message ? `suspended; ${message}` : "suspended";
  const health = str(app.status?.health?.status);
  const sourceRef = app.spec?.sourceRef as { kind?: string; name?: string } | undefined;
  const commit = syncedCommit(app, history);
  return {
    key: keyOf(app),
    namespace: app.metadata?.namespace ?? "",
    name: app.metadata?.name ?? "",
    labels: { ...(app.metadata?.labels ?? {}) },
    sync: syncOf(app),
    health: (HEALTH.includes(health) ? health : "Unknown") as HealthState,
    ready: ready?.status ?? "Unknown",
    message: oneLine(message),
    revision: str(app.status?.sync?.revision),
    commitSubject: subject(commit),
    commitAuthor: str(commit?.author),
    renderedRevision: str(app.status?.source?.revision),
    lastSyncAt: str(last?.finishedAt) || str(app.status?.sync?.lastAppliedAt),
    lastSyncPhase: str(last?.phase),
    lastSyncMessage: oneLine(str(last?.message)),
    suspended,
    reconciling: reconciling?.status === "True",
    stalled: stalled?.status === "True",
    source: sourceRef ? `${sourceRef.kind ?? "GitRepository"}/${sourceRef.name ?? ""}` : "",
    syncPolicy: str(app.spec?.syncPolicyRef?.name),
    resourceVersion: app.metadata?.resourceVersion ?? "",
  };
}

export function historyViews(app: Obj): HistoryView[] {
  const history = Array.isArray(app.status?.history) ? (app.status.history as Record<string, unknown>[]) : [];
  return history.map((h) => ({
    id: typeof h.id === "number" ? h.id : 0,
    trigger: str(h.trigger) || (h.initiatedBy === "manual" ? "manual" : "automated"),
    commitSubject: subject(h.commit as Commit | undefined),
    commitAuthor: str((h.commit as Commit | undefined)?.author),
    rollbackable: h.phase === "Succeeded" && Boolean(h.url) && Boolean(h.digest),
    revision: str(h.revision), phase: str(h.phase), initiatedBy: str(h.initiatedBy), startedAt: str(h.startedAt), finishedAt: str(h.finishedAt), message: str(h.message) }));
}

/** core/v1 Events about one object, newest first (the recorder writes events.k8s.io/v1; core/v1 reads them too). */
export function eventViews(events: readonly Obj[], limit = 50): EventView[] {
  const seen = (e: Obj) => str(e.lastTimestamp) || str((e as { eventTime?: string }).eventTime) || str((e as { series?: { lastObservedTime?: string } }).series?.lastObservedTime) || str(e.metadata?.creationTimestamp);
  return events
    .map((e) => ({
      type: str(e.type),
      reason: str(e.reason),
      message: str(e.message) || str((e as { note?: string }).note),
      count: typeof e.count === "number" ? e.count : ((e as { series?: { count?: number } }).series?.count ?? 1),
      lastSeen: seen(e),
    }))
    .sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0))
    .slice(0, limit);
}

function gitRef(ref: Record<string, string> | undefined): string {
  if (!ref) return "HEAD";
  for (const k of ["branch", "tag", "semver", "commit", "name"]) if (ref[k]) return `${k} ${ref[k]}`;
  return "HEAD";
}

/** A source of any of the three kinds, and the Applications that name it. */
export function sourceView(kind: SourceView["kind"], o: Obj, applications: string[]): SourceView {
  const ready = cond(o, "Ready");
  const stalled = cond(o, "Stalled");
  const fetchFailed = cond(o, "FetchFailed");
  const artifact = o.status?.artifact as { revision?: string; digest?: string; lastUpdateTime?: string; url?: string } | undefined;
  const index = o.status?.index as { digest?: string; charts?: number; lastUpdateTime?: string } | undefined;
  let url = str(o.spec?.url);
  let ref = "";
  if (kind === "GitRepository") ref = gitRef(o.spec?.ref);
  if (kind === "HelmChart") {
    url = `${str(o.spec?.sourceRef?.kind)}/${str(o.spec?.sourceRef?.name)}`;
    ref = `${str(o.spec?.chart)}${o.spec?.version ? ` ${str(o.spec.version)}` : ""}`;
  }
  const problem = stalled?.status === "True" ? stalled : fetchFailed?.status === "True" ? fetchFailed : undefined;
  return {
    key: `${kind}/${keyOf(o)}`,
    kind,
    namespace: o.metadata?.namespace ?? "",
    name: o.metadata?.name ?? "",
    url,
    ref,
    revision: str(artifact?.revision) || (index ? `${index.charts ?? 0} charts` : ""),
    lastFetch: str(artifact?.lastUpdateTime) || str(index?.lastUpdateTime),
    artifact: str(artifact?.digest) || str(index?.digest),
    ready: ready?.status ?? "Unknown",
    message: oneLine(str(problem?.message) || str(ready?.message)),
    suspended: o.spec?.suspend === true,
    applications,
  };
}

const DAY = 86_400_000;

/**
 * Each window's open periods between `from` and `from + spanMs`, from the same evaluator the controllers use: a
 * window alone is open from its openedAt to its closesAt, and its nextChange is its next opening.
 */
export function windowSegments(windows: readonly SyncWindow[], from: number, spanMs = 7 * DAY, maxPerWindow = 200): WindowSegment[] {
  const to = from + spanMs;
  const segments: WindowSegment[] = [];
  windows.forEach((w, index) => {
    let t = from;
    for (let i = 0; i < maxPerWindow && t < to; i++) {
      const s = windowState([w], t, { horizonMs: to - t + DAY });
      const open = s.open[0];
      if (open) {
        const end = open.closesAt?.getTime() ?? to;
        segments.push({ kind: w.kind, index, start: new Date(Math.max(open.openedAt.getTime(), from)).toISOString(), end: new Date(Math.min(end, to)).toISOString() });
        if (end <= t) break;
        t = end;
      } else {
        const next = s.nextChange?.getTime();
        if (next === undefined || next <= t) break;
        t = next;
      }
    }
  });
  return segments;
}

export function policyView(p: Obj, applications: number, now: number, spanMs = 7 * DAY): PolicyView {
  const windows = (Array.isArray(p.spec?.windows) ? p.spec.windows : []) as SyncWindow[];
  const ready = cond(p, "Ready");
  const automated = p.spec?.automated as { enabled?: boolean; prune?: boolean; selfHeal?: boolean } | undefined;
  const view: PolicyView = {
    key: keyOf(p),
    namespace: p.metadata?.namespace ?? "",
    name: p.metadata?.name ?? "",
    automated: automated?.enabled !== false,
    prune: automated?.prune !== false,
    selfHeal: automated?.selfHeal !== false,
    windows: windows.map((w, i) => ({ kind: w.kind, schedule: w.schedule, duration: w.duration, timeZone: w.timeZone ?? "UTC", manualSync: w.manualSync === true, description: describeWindow(w, i) })),
    automatedAllowed: true,
    manualAllowed: true,
    stateMessage: "",
    nextChange: "",
    segments: [],
    from: new Date(now).toISOString(),
    to: new Date(now + spanMs).toISOString(),
    ready: ready?.status ?? "Unknown",
    readyMessage: str(ready?.message),
    applications,
    error: "",
  };
  try {
    const s = windowState(windows, now);
    view.automatedAllowed = s.automatedAllowed;
    view.manualAllowed = s.manualAllowed;
    view.stateMessage = s.message;
    view.nextChange = s.nextChange?.toISOString() ?? "";
    view.segments = windowSegments(windows, now, spanMs);
  } catch (err) {
    view.error = `the windows cannot be evaluated: ${(err as Error).message}`;
  }
  return view;
}

export function dependencyViews(app: Obj, lookup: (key: string) => Obj | undefined): DependencyView[] {
  const deps = (Array.isArray(app.spec?.dependsOn) ? app.spec.dependsOn : []) as { name: string; namespace?: string }[];
  return deps.map((d) => {
    const key = `${d.namespace ?? app.metadata?.namespace ?? ""}/${d.name}`;
    const dep = lookup(key);
    const ready = dep ? cond(dep, "Ready") : undefined;
    return { key, exists: Boolean(dep), ready: ready?.status ?? "Unknown", message: dep ? oneLine(str(ready?.message)) : "not found" };
  });
}

/** status.rollback, when the Application is (or was) rolled back. */
export function rollbackView(app: Obj): AppDetail["rollback"] {
  const r = app.status?.rollback as { phase?: string; id?: number; revision?: string; message?: string } | undefined;
  if (!r?.phase) return undefined;
  return { phase: str(r.phase), id: typeof r.id === "number" ? r.id : 0, revision: str(r.revision), message: str(r.message) };
}
