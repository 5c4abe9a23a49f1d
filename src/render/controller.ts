// The render controller: Application + its source's artifact (+ referenced values) → a rendered artifact.
// Reconcile, for one Application:
//   guards:  gone → remove its rendered artifacts and render memory; deleting → nothing (the apply controller prunes);
//   steps:   validate the spec (assertValid) → suspended? nothing → the source (./source-ref.ts: sourceRef resolved,
//            cross-namespace refused unless allowed, its artifact) → the inputs (./inputs.ts: valuesFrom and
//            substituteFrom from ConfigMaps and Secrets) → render or skip (./render-step.ts: keyed by the inputs; an
//            unchanged key, or a new source whose reads replay the same, does no work; else check out, render in a
//            worker, store the canonical JSON);
//   status:  each step returns a result or throws a typed error; ./outcome.ts maps either to the owned status part
//            (status.source, status.render, SourceReady and Rendered), purely and in one place, and a StatusWriter
//            writes it ONCE, in `finally`, by server-side apply as mooring-render, only when it differs from what this
//            controller last wrote (or, before its first write, from what the object shows).
// A render failure keeps the last good artifact in status, sets Rendered=False with the renderer's message and
// records an event; the same failing input is not rendered again until something in it changes. A failure that is
// not the input's (the artifact server, the disk, a worker crash) is reported in its condition and retried with
// backoff. Any other error (an API error, an abort) leaves the status as it is; the runtime retries.
import { readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Annotations, ApplicationDefaults, ApplicationKind, FieldManagers, GitRepositoryKind, HelmChartKind, assertValid, parseDuration, type Application, type GitRepository } from "../api/index.js";
import type { ArtifactStorage } from "../artifact/storage.js";
import {
  Kinds,
  annotationChanged,
  generationChanged,
  jittered,
  or,
  type Controller,
  type EventRecorder,
  type Informer,
  type KubeObject,
  type Manager,
  type Predicate,
  type ReconcileContext,
  type Request,
  type Result,
} from "../runtime/index.js";
import { SECRETS_WITHOUT_DATA } from "../runtime/secret-view.js";
import { StatusWriter, stableJson } from "../runtime/status.js";
import { RenderCrashJournal } from "./crashes.js";
import { SourceCache, type SourceLimits } from "./fetch.js";
import { ClusterCapabilities, type Capabilities } from "./helm/capabilities.js";
import { InputReader } from "./inputs.js";
import { type Prioritized, changedFirst, orderedEnqueue } from "./changed-first.js";
import { DEFAULT_RENDER_WORKERS, limitsForHeap, setRenderWorkers } from "./isolated.js";
import { resolveLimits } from "./limits.js";
import { RenderMemory } from "./memo.js";
import { type OwnedStatus, type Recheck, type RenderOutcome, type SourceArtifact, outcomeOf, ownedStatus, renderStatus } from "./outcome.js";
import { RenderStep, renderedKey } from "./render-step.js";
import { SecretMask } from "./redact.js";
import { resolveSource } from "./source-ref.js";

export { type OwnedStatus, RenderReasons, ownedStatus, sameOwnedStatus } from "./outcome.js";
export { appliedBefore } from "./render-step.js";

export interface RenderControllerOptions {
  /** Where rendered artifacts are stored (its own instance; may share the root with the source controller's). */
  storage: ArtifactStorage;
  /** host:port (or base URL) consumers use to download artifacts; goes into status.render.artifact.url. */
  advertisedAddr: string;
  /** Working directory for extracted source artifacts and the render index; never under the storage root
   * (the artifact server would serve it). Default: <tmpdir>/mooring-render. */
  cacheDir?: string;
  /** Accept a sourceRef in another namespace (OperatorConfig.allowCrossNamespaceRefs); refused by default. */
  allowCrossNamespaceRefs?: boolean;
  concurrency?: number;
  /**
   * Render workers alive at once, busy or idle (--render-workers, default 2): each is a V8 isolate of ~25 MiB, and
   * on a small node two CPU-bound renders at once already use the cores; reconciles beyond it that must render wait.
   */
  renderWorkers?: number;
  /** Per-render deadline and worker heap cap (defaults 60 s, 512 MiB). */
  renderTimeoutMs?: number;
  renderMaxHeapMb?: number;
  /** Largest rendered output (default: a quarter of the worker heap, at most 128 MiB; --max-rendered-size). */
  renderMaxOutputBytes?: number;
  /**
   * Watch Secrets (through the data-less view) so a change to one an Application reads re-renders it at once; needs
   * list/watch on Secrets cluster-wide (--watch-secrets, Helm value rbac.render.watchSecrets). Default false: the
   * Secrets Applications read are fetched with get at each reconcile (their interval, or `mooring reconcile`).
   */
  watchSecrets?: boolean;
  /** Custom kinds known to be cluster-scoped, as "group|Kind". */
  clusterScopedKinds?: string[];
  /** Extracted source trees kept while unused (default 16). */
  keepSources?: number;
  sourceLimits?: Partial<SourceLimits>;
  /** At start, remove stored artifacts of Applications that no longer exist (default: true unless the manager is
   * sharded, where another shard's Applications are invisible here). */
  sweepOrphans?: boolean;
  /** Fraction of the interval added at random to each requeue (default 0.1). */
  jitter?: number;
  random?: () => number;
  /** helm binary for Go-template charts (--helm-binary). */
  helmBinary?: string;
  /** The target cluster's version and API versions for charts (default: read from the manager's API server by discovery, cached 5 min). */
  capabilities?: { get(signal?: AbortSignal): Promise<Capabilities> };
}

export interface RenderStats {
  /** Renders run (cache misses that reached the renderer). */
  renders: number;
  /** Reconciles answered from the render cache. */
  cacheHits: number;
  /** New source revisions that changed nothing this Application's render reads: its last render stands, not re-run. */
  unchanged: number;
  /** Status writes made. */
  statusWrites: number;
}

export interface RenderController {
  controller: Controller;
  sources: SourceCache;
  stats: RenderStats;
}

type ApplicationObject = Application & KubeObject;
type GitRepositoryObject = GitRepository & KubeObject;

const INDEX_SOURCE = "mooring-render/source";
const INDEX_INPUTS = "mooring-render/inputs";

/** Index value of a GitRepository an Application renders: "<namespace>/<name>". */
export function sourceIndexKeys(app: ApplicationObject): string[] {
  const ref = app.spec?.sourceRef;
  if (!ref?.name) return [];
  return [`${ref.namespace ?? app.metadata?.namespace ?? ""}/${ref.name}`];
}

/** Index values of the ConfigMaps/Secrets an Application reads: "<Kind>/<namespace>/<name>". */
export function inputIndexKeys(app: ApplicationObject): string[] {
  const ns = app.metadata?.namespace ?? "";
  const r = app.spec?.render;
  const refs = [...(r?.helm?.valuesFrom ?? []), ...(r?.substituteFrom ?? [])];
  return [...new Set(refs.map((x) => `${x.kind}/${ns}/${x.name}`))];
}

/** A GitRepository update matters when its artifact changed (not on every status or metadata write). */
export const gitRepositoryArtifactChanged: Predicate<GitRepositoryObject> = {
  update: (o, n) => stableJson(o.status?.artifact ?? null) !== stableJson(n.status?.artifact ?? null),
};

/** A ConfigMap/Secret update matters when its data changed (for Secrets held without data: their data digest). */
export const dataChanged: Predicate<KubeObject & { data?: unknown; binaryData?: unknown; dataDigest?: string }> = {
  update: (o, n) => stableJson(o.data ?? null) !== stableJson(n.data ?? null) || stableJson(o.binaryData ?? null) !== stableJson(n.binaryData ?? null) || o.dataDigest !== n.dataDigest,
};

// The render controller's view of Secrets: everything but the data (and the annotations that copy it), plus a digest
// of the data. The few Secrets Applications read are fetched live when their digest changes (src/runtime/secret-view.ts).
export { SECRETS_WITHOUT_DATA, secretDataDigest } from "../runtime/secret-view.js";

/** Application updates that need a render: a spec change or a reconcile request (not status writes by anyone). */
export const applicationEvents: Predicate = or(generationChanged, annotationChanged(Annotations.reconcileRequestedAt));

/** What the reconciler works with, built once by setupRenderController. */
interface RenderDeps {
  mgr: Manager;
  opts: RenderControllerOptions;
  storage: ArtifactStorage;
  step: RenderStep;
  inputs: InputReader;
  memory: RenderMemory;
  crashes: RenderCrashJournal;
  writer: StatusWriter<OwnedStatus>;
  events: EventRecorder;
  stats: RenderStats;
}

/** What the steps saw before one failed: the source, and the strings of the Secrets read (./redact.ts). */
type Seen = { source?: SourceArtifact; mask: SecretMask };

class RenderReconciler {
  constructor(private readonly d: RenderDeps) {}

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result> {
    const app = await this.d.mgr.client.get<ApplicationObject>(ApplicationKind, req.name, req.namespace);
    if (!app) {
      await this.forget(req.namespace, req.name);
      return {};
    }
    if (app.metadata?.deletionTimestamp) return {}; // the apply controller prunes; the artifact goes with the object
    // The source found before a step failed: a later failure still says SourceReady=True. The Secrets' strings read.
    const seen: Seen = { mask: new SecretMask() };
    let outcome: RenderOutcome;
    try {
      outcome = await this.steps(app, seen, ctx);
    } catch (err) {
      const failed = outcomeOf(err, seen.source);
      if (!failed) throw err; // none of ours (an API error, an abort): the status stays, the runtime retries
      outcome = failed;
    }
    // The one place a render's message is masked: before any log, event or status (a chart may quote a Secret's value).
    outcome = seen.mask.outcome(outcome);
    if (outcome.kind === "retry") ctx.log.info("render not possible now; retrying with backoff", { reason: outcome.reason, error: outcome.message });
    return this.resultOf(app, await this.publish(app, outcome, ctx));
  }

  /** Validate → suspended? → source → inputs → render or skip. Each throws a typed error (./outcome.ts) when it cannot go on. */
  private async steps(app: ApplicationObject, seen: Seen, ctx: ReconcileContext): Promise<RenderOutcome> {
    const { namespace, name } = app.metadata!;
    assertValid({ apiVersion: app.apiVersion, kind: app.kind, metadata: { name, namespace }, spec: app.spec } as Application);
    if (app.spec.suspend) {
      ctx.log.debug("suspended; not rendering");
      return { kind: "suspended" };
    }
    const source = await resolveSource(this.d.mgr.client, app, this.d.opts.allowCrossNamespaceRefs ?? false);
    seen.source = { revision: source.artifact.revision, digest: source.artifact.digest };
    const resolved = await this.d.inputs.resolve(app, seen.mask);
    return this.d.step.run(app, source, resolved, ctx);
  }

  /** The one status write (skipped when nothing changed) and the outcome's event; returns when to look again. */
  private async publish(app: ApplicationObject, outcome: RenderOutcome, ctx: ReconcileContext): Promise<Recheck> {
    const { status, event, recheck } = renderStatus(this.d.writer.current(app), outcome, { generation: app.metadata?.generation, now: Date.now() });
    if (event?.type === "Warning") this.d.events.warning(app, event.reason, "Render", event.message);
    else if (event) this.d.events.normal(app, event.reason, "Render", event.message);
    if (await this.d.writer.write(app, status, { signal: ctx.signal })) this.d.stats.statusWrites++;
    return recheck;
  }

  private resultOf(app: ApplicationObject, recheck: Recheck): Result {
    switch (recheck.kind) {
      case "onChange":
        return {};
      case "backoff":
        return { requeue: true };
      case "interval": {
        let interval = parseDuration(app.spec.interval ?? ApplicationDefaults.interval);
        if (recheck.capMs !== undefined) interval = Math.min(interval, recheck.capMs);
        return { requeueAfter: jittered(interval, this.d.opts.jitter, this.d.opts.random) };
      }
    }
  }

  /** Everything kept for an Application that is gone: render memory, crash marker, stored artifacts, last status. */
  async forget(ns: string, name: string): Promise<void> {
    await this.d.memory.forget(ns, name);
    await this.d.crashes.end(ns, name);
    await this.d.storage.remove(renderedKey(ns, name));
    this.d.writer.forget({ namespace: ns, name });
  }
}

export function setupRenderController(mgr: Manager, opts: RenderControllerOptions): RenderController {
  const cacheDir = path.resolve(opts.cacheDir ?? path.join(os.tmpdir(), "mooring-render"));
  if (cacheDir === opts.storage.root || cacheDir.startsWith(opts.storage.root + path.sep)) {
    throw new Error(`the render cache directory ${cacheDir} is inside the artifact storage ${opts.storage.root}, which is served over HTTP; choose another cacheDir`);
  }
  const logger = mgr.logger.child({ controller: "render" });
  const sources = new SourceCache({ dir: path.join(cacheDir, "sources"), keep: opts.keepSources, limits: opts.sourceLimits });
  const indexDir = path.join(cacheDir, "renders");
  const stats: RenderStats = { renders: 0, cacheHits: 0, unchanged: 0, statusWrites: 0 };
  // One pool per process (./isolated.ts): the bound is the process's, as the chart sizes the container by it.
  setRenderWorkers(opts.renderWorkers ?? DEFAULT_RENDER_WORKERS);
  // The limits a render runs under: a failure they caused is retried when they change.
  const heapMb = opts.renderMaxHeapMb ?? 512;
  const timeoutMs = opts.renderTimeoutMs ?? 60_000;
  const limitsKey = `heap=${heapMb}Mi,timeout=${timeoutMs}ms,output=${opts.renderMaxOutputBytes ?? "default"}`;
  const memory = new RenderMemory(indexDir, limitsKey, logger);
  // Renders that never ended because the process died during them (./crashes.ts), next to the render index.
  const crashes = new RenderCrashJournal(indexDir);
  const step = new RenderStep({
    storage: opts.storage,
    advertisedAddr: opts.advertisedAddr,
    sources,
    memory,
    crashes,
    capabilities: opts.capabilities ?? new ClusterCapabilities(mgr.rest),
    heapMb,
    timeoutMs,
    maxOutputBytes: opts.renderMaxOutputBytes,
    limitsKey,
    clusterScopedKinds: opts.clusterScopedKinds,
    helmBinary: opts.helmBinary,
    stats,
  });
  const reconciler = new RenderReconciler({
    mgr,
    opts,
    storage: opts.storage,
    step,
    inputs: new InputReader(mgr, opts.watchSecrets ?? false),
    memory,
    crashes,
    writer: new StatusWriter<OwnedStatus>({ client: mgr.client, fieldManager: FieldManagers.render, ownedOf: (o) => ownedStatus((o as ApplicationObject).status) }),
    events: mgr.eventRecorder(FieldManagers.render),
    stats,
  });
  // A new commit: the Applications it changed are reconciled first (./changed-first.ts).
  const replayLimits = resolveLimits(limitsForHeap(heapMb, opts.renderMaxOutputBytes));
  const controller = buildController(mgr, opts, reconciler, (reqs, art, emit) => changedFirst(reqs, art, { memory, sources, replayLimits }, emit));
  if (opts.sweepOrphans ?? !mgr.shardLabelSelector) addOrphanSweep(mgr, opts.storage, reconciler, logger);
  return { controller, sources, stats };
}

/**
 * Applications deleted while the operator was down left their artifacts behind: remove them once the caches know
 * every Application (a leader-only runnable starts after the caches synced).
 */
function addOrphanSweep(mgr: Manager, storage: RenderControllerOptions["storage"], reconciler: RenderReconciler, logger: Manager["logger"]): void {
  mgr.addRunnable(async () => {
    const exists = async (ns: string, name: string) => Boolean(await mgr.client.get(ApplicationKind, name, ns));
    const removed = await sweepOrphans(storage, exists, (ns, name) => reconciler.forget(ns, name)).catch((err: unknown) => {
      logger.warn("cannot sweep rendered artifacts of deleted Applications", { error: (err as Error).message });
      return [];
    });
    if (removed.length) logger.info("removed rendered artifacts of deleted Applications", { count: removed.length });
  });
}

/** The controller and its watches: Applications, the sources they name and the ConfigMaps/Secrets they read (indexed). */
function buildController(
  mgr: Manager,
  opts: RenderControllerOptions,
  reconciler: RenderReconciler,
  order: (reqs: Request[], artifact: { url?: string; digest?: string } | undefined, emit: (p: Prioritized) => void) => Promise<void>,
): Controller {
  // Set after build(), before any event can arrive (the manager starts the watches).
  const apps: { informer?: Informer<ApplicationObject>; controller?: Controller } = {};
  const appsBy = (index: string, value: string): Request[] =>
    (apps.informer?.store.byIndex(index, value) ?? []).map((a) => ({ namespace: a.metadata?.namespace ?? "", name: a.metadata?.name ?? "" }));
  const nsName = (o: KubeObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
  const builder = mgr
    .controller("render")
    .for(ApplicationKind, { predicates: [applicationEvents] })
    .watches<GitRepositoryObject>(
      GitRepositoryKind,
      orderedEnqueue<GitRepositoryObject>(
        nsName,
        (repo) => {
          const reqs = appsBy(INDEX_SOURCE, nsName(repo));
          return { reqs, ordered: (emit) => order(reqs, repo.status?.artifact, emit) };
        },
        (r, priority) => apps.controller?.enqueue(r, priority),
      ),
      { predicates: [gitRepositoryArtifactChanged] },
    )
    // HelmCharts: their artifact is the chart (sourceRef.kind HelmChart); same index (namespace/name) as GitRepositories.
    .watches<GitRepositoryObject>(HelmChartKind, (c) => appsBy(INDEX_SOURCE, nsName(c)), { predicates: [gitRepositoryArtifactChanged] })
    .watches(Kinds.ConfigMap, (cm) => appsBy(INDEX_INPUTS, `ConfigMap/${nsName(cm)}`), { predicates: [dataChanged] });
  // Watching Secrets needs list/watch on every Secret of the cluster (the data is dropped, but the right is granted):
  // only when asked for (--watch-secrets); otherwise they are read with get when an Application reconciles.
  if (opts.watchSecrets) {
    builder.watches(Kinds.Secret, (s) => appsBy(INDEX_INPUTS, `Secret/${nsName(s)}`), { predicates: [dataChanged], selection: SECRETS_WITHOUT_DATA });
  }
  const controller = builder.withOptions({ maxConcurrentReconciles: opts.concurrency ?? 4 }).build((req, ctx) => reconciler.reconcile(req, ctx));
  apps.controller = controller;
  // After build(): the builder picked the Application informer (and its shard selection); index that one.
  apps.informer = mgr.cache.informerFor<ApplicationObject>(ApplicationKind);
  apps.informer.addIndexers({ [INDEX_SOURCE]: sourceIndexKeys, [INDEX_INPUTS]: inputIndexKeys });
  return controller;
}

/**
 * Removes the stored artifacts of every Application `exists` says is gone; an Application it cannot judge (it
 * throws, e.g. a namespace outside the cache) is left alone. Returns "<namespace>/<name>" of those removed.
 */
export async function sweepOrphans(
  storage: ArtifactStorage,
  exists: (ns: string, name: string) => Promise<boolean>,
  remove: (ns: string, name: string) => Promise<void>,
): Promise<string[]> {
  const root = storage.absolute(ApplicationKind.kind.toLowerCase());
  const removed: string[] = [];
  const list = async (dir: string) => (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory() && !d.name.startsWith(".")).map((d) => d.name);
  for (const ns of await list(root)) {
    for (const name of await list(path.join(root, ns))) {
      let there: boolean;
      try {
        there = await exists(ns, name);
      } catch {
        continue;
      }
      if (there) continue;
      await remove(ns, name);
      removed.push(`${ns}/${name}`);
    }
  }
  return removed;
}

