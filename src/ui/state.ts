// The UI server's one view of the cluster: a runtime Cache (one list+watch per kind) of the Mooring kinds and the
// Applications' Events, turned into the rows the pages show and streamed as batched changes to every browser.
// Browsers never make the server read the API: every page answer comes from these stores. The live objects of an
// Application's tree are watched only while some browser looks at that Application (held informers, released when
// it looks elsewhere or goes away).
import { ApplicationKind, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, SyncPolicyKind } from "../api/kinds.js";
import { assessHealth } from "../apply/health.js";
import { refOfEntry } from "../apply/inventory.js";
import type { Logger } from "../log.js";
import { Cache, Kinds, NoKindMatchError, dropManagedFields, type Client, type Informer, type KindDescriptor, type KubeObject, type RestClient, type Selection } from "../runtime/index.js";
import type { AppDetail, PolicyView, Problem, SourceView, StreamMessage, TreeNodeView } from "./model.js";
import { appSummary, conditionViews, dependencyViews, eventViews, historyViews, keyOf, policyView, rollbackView, sourceView } from "./views.js";

type Obj = KubeObject & { spec?: any; status?: any };
/** Gets each message serialised (once, whatever the number of streams), and as is (for streams that filter it). */
type Listener = (json: string, msg: Extract<StreamMessage, { type: "changes" }>) => void;

export interface UiStateOptions {
  /** Watch only this namespace (default: all namespaces). */
  namespace?: string;
  logger: Logger;
  /** How long changes are gathered before one message goes out (default 50 ms: a relist is one message, not 1,000). */
  batchMs?: number;
  now?: () => number;
}

type SourceKind = "GitRepository" | "HelmRepository" | "HelmChart";
/** Kinds whose Pods (through ReplicaSets for Deployments) are shown under them in the tree. */
const WORKLOADS = new Set(["apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "apps/ReplicaSet", "batch/Job"]);
const MAX_CHILDREN = 50;

interface Pending {
  apps: Set<string>;
  sources: Set<string>;
  policies: Set<string>;
  details: Set<string>;
}

/** What one browser (one event stream) holds: the informers of the Application it looks at. */
interface Viewer {
  app: string | undefined;
  holds: { kind: KindDescriptor; sel: Selection }[];
}

export class UiState {
  readonly cache: Cache;
  private readonly apps: Informer<Obj>;
  private readonly policies: Informer<Obj>;
  private readonly sources: Record<SourceKind, Informer<Obj>>;
  private readonly events: Informer<Obj>;
  private listeners = new Set<Listener>();
  private pending: Pending = { apps: new Set(), sources: new Set(), policies: new Set(), details: new Set() };
  private timer: NodeJS.Timeout | undefined;
  /** What each browser was last sent, so an unchanged row is not sent again (a status write that changes nothing shown). */
  private sent = { apps: new Map<string, string>(), sources: new Map<string, string>(), policies: new Map<string, string>() };
  private viewers = new Map<string, Viewer>();
  /** Held informers already carrying our handler (one handler per informer). */
  private handled = new WeakSet<Informer>();
  private lastProblems = "";
  /** Each Application's row as JSON, per object (the cache replaces an object on every change, never mutates it). */
  private rowJson = new WeakMap<Obj, string>();
  /** The snapshot's rows, sources and policies as JSON, until something they show changes (see mark). */
  private snapshotJson: string | undefined;
  private readonly now: () => number;

  constructor(
    rest: RestClient,
    private readonly client: Client,
    private readonly opts: UiStateOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.cache = new Cache(rest, { namespace: opts.namespace, transform: dropManagedFields, logger: opts.logger });
    this.apps = this.cache.informerFor<Obj>(ApplicationKind);
    this.policies = this.cache.informerFor<Obj>(SyncPolicyKind);
    this.sources = {
      GitRepository: this.cache.informerFor<Obj>(GitRepositoryKind),
      HelmRepository: this.cache.informerFor<Obj>(HelmRepositoryKind),
      HelmChart: this.cache.informerFor<Obj>(HelmChartKind),
    };
    // Only the Applications' Events: the cluster's Pod events would be most of the traffic and none of the use.
    this.events = this.cache.informerFor<Obj>(Kinds.Event, { fieldSelector: "involvedObject.kind=Application" });
    this.wire();
  }

  private wire(): void {
    const onApp = (o: Obj, old?: Obj) => {
      const key = keyOf(o);
      this.mark("apps", key);
      this.mark("details", key);
      // A source's list of Applications and a policy's count follow the Applications that name them.
      for (const a of old ? [o, old] : [o]) {
        const ref = a.spec?.sourceRef as { kind?: string; name?: string } | undefined;
        if (ref?.name) this.mark("sources", `${ref.kind ?? "GitRepository"}/${a.metadata?.namespace}/${ref.name}`);
        if (a.spec?.syncPolicyRef?.name) this.mark("policies", `${a.metadata?.namespace}/${a.spec.syncPolicyRef.name as string}`);
      }
      // Dependents show their dependencies' readiness.
      for (const d of this.apps.store.list()) {
        if ((d.spec?.dependsOn ?? []).some((r: { name: string; namespace?: string }) => `${r.namespace ?? d.metadata?.namespace}/${r.name}` === key)) this.mark("details", keyOf(d));
      }
    };
    this.apps.addEventHandler({ onAdd: (o) => onApp(o), onUpdate: (old, o) => onApp(o, old), onDelete: (o) => onApp(o) });
    for (const [kind, inf] of Object.entries(this.sources)) {
      const mark = (o: Obj) => this.mark("sources", `${kind}/${keyOf(o)}`);
      inf.addEventHandler({ onAdd: mark, onUpdate: (_o, n) => mark(n), onDelete: mark });
    }
    const markPolicy = (o: Obj) => {
      this.mark("policies", keyOf(o));
      for (const a of this.apps.store.list()) if (a.metadata?.namespace === o.metadata?.namespace && a.spec?.syncPolicyRef?.name === o.metadata?.name) this.mark("details", keyOf(a));
    };
    this.policies.addEventHandler({ onAdd: markPolicy, onUpdate: (_o, n) => markPolicy(n), onDelete: markPolicy });
    const markEvent = (e: Obj) => {
      const io = e.involvedObject as { namespace?: string; name?: string } | undefined;
      if (io?.name) this.mark("details", `${io.namespace ?? ""}/${io.name}`);
    };
    this.events.addEventHandler({ onAdd: markEvent, onUpdate: (_o, n) => markEvent(n), onDelete: markEvent });
  }

  /** Starts the watches; resolves once the Mooring kinds are listed (or rejects when `signal` aborts first). */
  async start(signal: AbortSignal): Promise<void> {
    this.cache.start(signal);
    // Windows open and close with time, not with writes: the timeline and "allowed now" are recomputed each minute.
    const tick = setInterval(() => {
      for (const k of this.policies.store.keys()) this.mark("policies", k);
    }, 60_000);
    tick.unref();
    signal.addEventListener("abort", () => {
      clearInterval(tick);
      if (this.timer) clearTimeout(this.timer);
      for (const id of [...this.viewers.keys()]) this.forget(id);
    });
    await Promise.all([this.apps, this.policies, ...Object.values(this.sources)].map((i) => i.waitForSync(signal)));
  }

  /** Whether every pinned informer has listed its kind once (the /readyz answer). */
  synced(): boolean {
    return this.cache.hasSynced();
  }

  private mark(what: keyof Pending, key: string): void {
    if (what !== "details") this.snapshotJson = undefined;
    this.pending[what].add(key);
    this.timer ??= setTimeout(() => this.flush(), this.opts.batchMs ?? 50);
  }

  /** Informers that cannot list their kind (RBAC, a CRD not installed), for a banner rather than an empty page. */
  problems(): Problem[] {
    const out: Problem[] = [];
    const named: [string, Informer][] = [["Applications", this.apps], ["SyncPolicies", this.policies], ["Events", this.events], ...Object.entries(this.sources).map(([k, i]) => [`${k}s`, i] as [string, Informer])];
    for (const [what, inf] of named) if (inf.lastError) out.push({ what, message: inf.lastError.message });
    return out;
  }

  private flush(): void {
    this.timer = undefined;
    const p = this.pending;
    this.pending = { apps: new Set(), sources: new Set(), policies: new Set(), details: new Set() };
    const msg: Extract<StreamMessage, { type: "changes" }> = { type: "changes", apps: [], appsDeleted: [], sources: [], sourcesDeleted: [], policies: [], policiesDeleted: [], details: [...p.details], problems: undefined };
    for (const key of p.apps) {
      const o = this.apps.store.get(key);
      this.diffInto(this.sent.apps, key, o && appSummary(o), msg.apps, msg.appsDeleted);
    }
    for (const key of p.sources) {
      const [kind, ...rest] = key.split("/");
      const o = this.sources[kind as SourceKind]?.store.get(rest.join("/"));
      this.diffInto(this.sent.sources, key, o && this.sourceOf(kind as SourceKind, o), msg.sources, msg.sourcesDeleted);
    }
    for (const key of p.policies) {
      const o = this.policies.store.get(key);
      this.diffInto(this.sent.policies, key, o && this.policyOf(o), msg.policies, msg.policiesDeleted);
    }
    const problems = JSON.stringify(this.problems());
    if (problems !== this.lastProblems) {
      this.lastProblems = problems;
      msg.problems = JSON.parse(problems) as Problem[];
    }
    const empty = !msg.apps.length && !msg.appsDeleted.length && !msg.sources.length && !msg.sourcesDeleted.length && !msg.policies.length && !msg.policiesDeleted.length && !msg.details.length && !msg.problems;
    if (empty) return;
    const json = JSON.stringify(msg);
    for (const l of this.listeners) l(json, msg);
  }

  private diffInto<T>(sent: Map<string, string>, key: string, view: T | undefined, upserts: T[], deletes: string[]): void {
    if (!view) {
      if (sent.delete(key)) deletes.push(key);
      return;
    }
    const json = JSON.stringify(view);
    if (sent.get(key) === json) return;
    sent.set(key, json);
    upserts.push(view);
  }

  private appsNaming(kind: string, ns: string, name: string): string[] {
    return this.apps.store
      .list()
      .filter((a) => a.metadata?.namespace === ns && (a.spec?.sourceRef?.kind ?? "GitRepository") === kind && a.spec?.sourceRef?.name === name)
      .map((a) => a.metadata?.name ?? "")
      .sort();
  }

  private sourceOf(kind: SourceKind, o: Obj): SourceView {
    return sourceView(kind, o, this.appsNaming(kind, o.metadata?.namespace ?? "", o.metadata?.name ?? ""));
  }

  private policyOf(p: Obj): PolicyView {
    const n = this.apps.store.list().filter((a) => a.metadata?.namespace === p.metadata?.namespace && a.spec?.syncPolicyRef?.name === p.metadata?.name).length;
    return policyView(p, n, this.now());
  }

  /**
   * Everything a page needs at first, serialised (and from then on, the listener gets every change). Pages that open
   * while nothing changes share one serialisation; after a change only the changed rows are serialised again.
   */
  subscribe(stream: string, listener: Listener): { snapshot: string; unsubscribe: () => void } {
    // `sent` is left alone: a change still pending reaches every stream at the next flush, this one included.
    this.listeners.add(listener);
    const snapshot = `{"type":"snapshot","stream":${JSON.stringify(stream)},${this.snapshotParts()},"problems":${JSON.stringify(this.problems())}}`;
    return { snapshot, unsubscribe: () => this.listeners.delete(listener) };
  }

  /** The snapshot's "apps", "sources" and "policies" members as JSON (the same string until one of them changes). */
  snapshotParts(): string {
    return (this.snapshotJson ??= this.serialiseSnapshot());
  }

  private serialiseSnapshot(): string {
    const rows = this.apps.store.list().map((o) => {
      let json = this.rowJson.get(o);
      if (json === undefined) this.rowJson.set(o, (json = JSON.stringify(appSummary(o))));
      return json;
    });
    const sources: SourceView[] = Object.entries(this.sources).flatMap(([k, i]) => i.store.list().map((o) => this.sourceOf(k as SourceKind, o)));
    const policies = this.policies.store.list().map((p) => this.policyOf(p));
    return `"apps":[${rows.join(",")}],"sources":${JSON.stringify(sources)},"policies":${JSON.stringify(policies)}`;
  }

  app(key: string): Obj | undefined {
    return this.apps.store.get(key);
  }

  // -------------------------------------------------------------------------------------------------------------
  // One Application's detail, and the live objects of its tree (watched while a viewer looks at it).

  /** The detail of an Application, watching its objects on behalf of `viewer` (a stream id) until it looks elsewhere. */
  async detail(key: string, viewer: string | undefined, signal?: AbortSignal): Promise<AppDetail | undefined> {
    const app = this.apps.store.get(key);
    if (!app) return undefined;
    const ns = app.metadata?.namespace ?? "";
    const policyName = app.spec?.syncPolicyRef?.name as string | undefined;
    const policy = policyName ? this.policies.store.get(`${ns}/${policyName}`) : undefined;
    const pv = policy ? this.policyOf(policy) : undefined;
    const ref = app.spec?.sourceRef as { kind?: SourceKind; name?: string } | undefined;
    const sourceKind = (ref?.kind ?? "GitRepository") as SourceKind;
    const src = ref?.name ? this.sources[sourceKind]?.store.get(`${ns}/${ref.name}`) : undefined;
    const events = this.events.store.list().filter((e) => (e.involvedObject as { namespace?: string; name?: string } | undefined)?.name === app.metadata?.name && (e.involvedObject as { namespace?: string }).namespace === ns);
    return {
      summary: appSummary(app),
      held: app.metadata?.annotations?.["delivery.mooring.dev/rollback"] !== undefined,
      spec: {
        path: String(app.spec?.path ?? "./"),
        targetNamespace: String(app.spec?.targetNamespace ?? ns),
        serviceAccountName: String(app.spec?.serviceAccountName ?? ""),
        interval: String(app.spec?.interval ?? ""),
        renderType: String(app.spec?.render?.type ?? "auto"),
      },
      conditions: conditionViews(app),
      history: historyViews(app),
      tree: await this.tree(app, viewer, signal),
      events: eventViews(events),
      window: policyName
        ? pv
          ? { policy: policyName, automatedAllowed: pv.automatedAllowed, manualAllowed: pv.manualAllowed, message: pv.error || pv.stateMessage, nextChange: pv.nextChange }
          : { policy: policyName, automatedAllowed: false, manualAllowed: false, message: `SyncPolicy ${ns}/${policyName} not found: the controller does not sync until it exists`, nextChange: "" }
        : undefined,
      dependsOn: dependencyViews(app, (k) => this.apps.store.get(k)),
      dependents: this.apps.store
        .list()
        .filter((d) => (d.spec?.dependsOn ?? []).some((r: { name: string; namespace?: string }) => `${r.namespace ?? d.metadata?.namespace}/${r.name}` === key))
        .map(keyOf)
        .sort(),
      source: src ? this.sourceOf(sourceKind, src) : undefined,
      rollback: rollbackView(app),
    };
  }

  /** Holds an informer for a viewer (idempotent), with our handler, which marks the viewed Applications' details. */
  private hold(viewerId: string, v: Viewer, kind: KindDescriptor, sel: Selection): Informer<Obj> {
    const inf = this.cache.acquire<Obj>(kind, sel, `ui:${viewerId}`);
    if (!v.holds.some((h) => h.kind === kind && h.sel.namespace === sel.namespace)) v.holds.push({ kind, sel });
    if (!this.handled.has(inf)) {
      this.handled.add(inf);
      const touch = () => {
        for (const viewer of this.viewers.values()) if (viewer.app && viewer.holds.some((h) => h.kind === kind && h.sel.namespace === sel.namespace)) this.mark("details", viewer.app);
      };
      inf.addEventHandler({ onAdd: (_o, initial) => !initial && touch(), onUpdate: touch, onDelete: touch });
    }
    return inf;
  }

  private async tree(app: Obj, viewerId: string | undefined, signal?: AbortSignal): Promise<TreeNodeView[]> {
    const key = keyOf(app);
    const drifted = new Set<string>(app.status?.sync?.drifted ?? []);
    const entries = (app.status?.sync?.inventory ?? []) as { id: string; v: string }[];
    // Without a viewer (an API client that holds no stream) objects are read once, live, and nothing is held.
    const viewer: Viewer = viewerId ? (this.viewers.get(viewerId) ?? { app: undefined, holds: [] }) : { app: undefined, holds: [] };
    // Looking at another Application: let go of the last one's objects first. The same one: rebuild the holds and
    // release afterwards only what is no longer needed (releasing first would stop watches about to be reused).
    if (viewerId && viewer.app !== key) this.releaseAll(viewerId, viewer);
    const previous = [...viewer.holds];
    if (viewerId) {
      viewer.app = key;
      viewer.holds = [];
      this.viewers.set(viewerId, viewer);
    }
    const nodes: TreeNodeView[] = [];
    for (const e of entries) nodes.push(await this.node(e, drifted, viewerId, viewer, signal));
    // What the viewer no longer needs (the inventory lost a kind) is released.
    if (viewerId) for (const h of previous) if (!viewer.holds.some((n) => n.kind === h.kind && n.sel.namespace === h.sel.namespace)) this.cache.release(h.kind, h.sel, `ui:${viewerId}`);
    return nodes;
  }

  private async node(e: { id: string; v: string }, drifted: Set<string>, viewerId: string | undefined, viewer: Viewer, signal?: AbortSignal): Promise<TreeNodeView> {
    let ref;
    try {
      ref = refOfEntry(e);
    } catch (err) {
      return { id: e.id, apiVersion: e.v, kind: "?", namespace: "", name: e.id, health: "Unknown", message: (err as Error).message, drifted: false, children: [] };
    }
    const base = { id: e.id, apiVersion: ref.apiVersion, kind: ref.kind, namespace: ref.namespace, name: ref.name, drifted: drifted.has(e.id), children: [] as TreeNodeView[] };
    try {
      const kind = await this.client.kindOf({ apiVersion: ref.apiVersion, kind: ref.kind });
      let live: Obj | undefined;
      if (viewerId) {
        const inf = this.hold(viewerId, viewer, kind, { namespace: ref.namespace });
        await withDeadline(inf.waitForSync(signal), 15_000, `the ${kind.kind} watch has not listed yet${inf.lastError ? `: ${inf.lastError.message}` : ""}`);
        live = inf.store.get(ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name);
        if (live && WORKLOADS.has(`${kind.group}/${kind.kind}`)) base.children = await this.children(live, viewerId, viewer, ref.namespace, signal);
      } else {
        live = await this.client.get<Obj>(kind, ref.name, ref.namespace || undefined);
      }
      const h = assessHealth(live && { ...live, apiVersion: ref.apiVersion, kind: ref.kind });
      return { ...base, health: h.status, message: h.message ?? "" };
    } catch (err) {
      const message = err instanceof NoKindMatchError ? `kind ${ref.kind} (${ref.apiVersion}) is not served` : (err as Error).message;
      return { ...base, health: err instanceof NoKindMatchError ? "Missing" : "Unknown", message };
    }
  }

  /** ReplicaSets and Pods a workload owns (two levels), from informers of the namespace held for the viewer. */
  private async children(owner: Obj, viewerId: string, viewer: Viewer, ns: string, signal?: AbortSignal, depth = 0): Promise<TreeNodeView[]> {
    const out: TreeNodeView[] = [];
    const uid = owner.metadata?.uid;
    if (!uid || depth > 1) return out;
    const kinds = owner.kind === "Deployment" ? [Kinds.ReplicaSet] : [Kinds.Pod];
    for (const kind of kinds) {
      const inf = this.hold(viewerId, viewer, kind, { namespace: ns });
      await withDeadline(inf.waitForSync(signal), 15_000, `the ${kind.kind} watch has not listed yet`);
      const owned = inf.store
        .list()
        .filter((o) => (o.metadata?.ownerReferences ?? []).some((r) => r.uid === uid))
        .slice(0, MAX_CHILDREN);
      for (const o of owned) {
        const apiVersion = kind.group ? `${kind.group}/${kind.version}` : kind.version;
        const h = assessHealth({ ...o, apiVersion, kind: kind.kind });
        // A ReplicaSet scaled to 0 (an old rollout) is history, not part of what runs now.
        if (kind === Kinds.ReplicaSet && Number(o.spec?.replicas ?? 0) === 0) continue;
        const grand = kind === Kinds.ReplicaSet ? await this.children({ ...o, kind: "ReplicaSet" }, viewerId, viewer, ns, signal, depth + 1) : [];
        out.push({ id: `${ns}_${o.metadata?.name}_${kind.group}_${kind.kind}`, apiVersion, kind: kind.kind, namespace: ns, name: o.metadata?.name ?? "", health: h.status, message: h.message ?? "", drifted: false, children: grand });
      }
    }
    return out;
  }

  private releaseAll(viewerId: string, v: Viewer): void {
    for (const h of v.holds) this.cache.release(h.kind, h.sel, `ui:${viewerId}`);
    v.holds = [];
  }

  /** A stream closed: what it held is released (the last holder of an informer stops its watch). */
  forget(viewerId: string): void {
    const v = this.viewers.get(viewerId);
    if (!v) return;
    this.releaseAll(viewerId, v);
    this.viewers.delete(viewerId);
  }

  /** How many informers (watches) the UI holds now: the pinned ones plus those held for viewers. */
  watches(): number {
    return this.cache.size;
  }
}

async function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
