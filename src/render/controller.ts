// The render controller: Application + its GitRepository's artifact (+ referenced values) → a rendered artifact.
//   guard clauses: gone → remove its rendered artifacts; deleting → nothing (the apply controller prunes);
//                  invalid spec → Rendered=False/InvalidSpec; suspended → nothing
//   source:        sourceRef resolved (namespace defaults to the Application's; cross-namespace refused when
//                  configured); no GitRepository or no artifact yet → SourceReady=False, wait for its watch event
//   inputs:        valuesFrom / substituteFrom: ConfigMaps from the cache; Secrets read live with get at each
//                  reconcile, or (--watch-secrets) watched without their data (a digest stands in) and read live
//                  only when that digest changed

//   render:        keyed by renderCacheKey; an unchanged key with its artifact still stored does no work at all;
//                  otherwise the source is checked out (downloaded and extracted once per digest, ./fetch.ts) and
//                  rendered in a worker (renderIsolated) and the canonical JSON stored as the Application's artifact
//   status:        computed once, written once by server-side apply as mooring-render, and only when it differs
// A render failure keeps the last good artifact in status, sets Rendered=False with the renderer's message and
// records an event; the same failing input is not rendered again until something in it changes. A failure a limit
// caused (worker heap, deadline) is remembered across restarts, and so is a render the process died during
// (./crashes.ts): after two such deaths that input is refused instead of taking the restarted process down again.
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  Annotations,
  ApplicationDefaults,
  ApplicationKind,
  ConditionTypes,
  FieldManagers,
  GitRepositoryKind,
  HelmChartKind,
  InvalidObjectError,
  Reasons,
  assertValid,
  parseDuration,
  type Application,
  type ApplicationStatus,
  type GitRepository,
} from "../api/index.js";
import { ArtifactStorage, StorageError, artifactUrl, type ArtifactKey } from "../artifact/storage.js";
import {
  Kinds,
  generationChanged,
  or,
  metaTime,
  setCondition,
  type Condition,
  type Controller,
  type EventRecorder,
  type KubeObject,
  type Manager,
  type Predicate,
  type ReconcileContext,
  type Request,
  type Result,
} from "../runtime/index.js";
import { SECRETS_WITHOUT_DATA, secretDataDigest } from "../runtime/secret-view.js";
import { artifactBytes } from "./canonical.js";
import { isRenderError } from "./errors.js";
import { SourceArtifactError, SourceCache, type SourceLimits } from "./fetch.js";
import { parseValues } from "./helm.js";
import { renderCacheKey, renderOptionsFor, type ResolvedInputs } from "./application.js";
import { RenderCrashJournal, RenderGate } from "./crashes.js";
import { RenderLimitError, limitsForHeap, renderIsolated } from "./isolated.js";
import { replayReads } from "./fs.js";
import { resolveLimits } from "./limits.js";
import type { JsonMap } from "./objects.js";
import { ClusterCapabilities, type Capabilities } from "./helm/capabilities.js";
import { helmVersion } from "./helm/binary.js";
import { cacheKey } from "./canonical.js";

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
type DataObject = KubeObject & { data?: Record<string, string> };

/** The part of Application status this controller owns. */
export interface OwnedStatus {
  source?: ApplicationStatus["source"];
  render?: ApplicationStatus["render"];
  conditions?: Condition[];
}

const OWNED_CONDITIONS: readonly string[] = [ConditionTypes.sourceReady, ConditionTypes.rendered];

/** The render-specific reasons (named in the API constants). */
export const RenderReasons = {
  crossNamespaceRefForbidden: Reasons.crossNamespaceRefForbidden,
  artifactFetchFailed: Reasons.artifactFetchFailed,
  artifactInvalid: Reasons.artifactInvalid,
  valuesNotFound: Reasons.valuesNotFound,
} as const;

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

/** The owned part of a status: status.source, status.render and our two conditions only. */
export function ownedStatus(status: ApplicationStatus | undefined): OwnedStatus {
  const s = status ?? {};
  const conditions = (s.conditions ?? []).filter((c) => OWNED_CONDITIONS.includes(c.type)) as Condition[];
  return {
    ...(s.source ? { source: s.source } : {}),
    ...(s.render ? { render: s.render } : {}),
    ...(conditions.length ? { conditions } : {}),
  };
}

/** Order-insensitive (conditions by type) comparison of two owned statuses. */
export function sameOwnedStatus(a: OwnedStatus, b: OwnedStatus): boolean {
  const norm = (s: OwnedStatus) =>
    stable({ source: s.source ?? null, render: s.render ?? null, conditions: [...(s.conditions ?? [])].sort((x, y) => (x.type < y.type ? -1 : 1)) });
  return norm(a) === norm(b);
}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val) ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1))) : val,
  );
}

/** A GitRepository update matters when its artifact changed (not on every status or metadata write). */
export const gitRepositoryArtifactChanged: Predicate<GitRepositoryObject> = {
  update: (o, n) => stable(o.status?.artifact ?? null) !== stable(n.status?.artifact ?? null),
};

/** A ConfigMap/Secret update matters when its data changed (for Secrets held without data: their data digest). */
export const dataChanged: Predicate<KubeObject & { data?: unknown; binaryData?: unknown; dataDigest?: string }> = {
  update: (o, n) => stable(o.data ?? null) !== stable(n.data ?? null) || stable(o.binaryData ?? null) !== stable(n.binaryData ?? null) || o.dataDigest !== n.dataDigest,
};

// The render controller's view of Secrets: everything but the data (and the annotations that copy it), plus a digest
// of the data. The few Secrets Applications read are fetched live when their digest changes (src/runtime/secret-view.ts).
export { SECRETS_WITHOUT_DATA, secretDataDigest } from "../runtime/secret-view.js";

/** Application updates that need a render: a spec change or a reconcile request (not status writes by anyone). */
export const applicationEvents: Predicate = or(generationChanged, {
  update: (o, n) => o.metadata?.annotations?.[Annotations.reconcileRequestedAt] !== n.metadata?.annotations?.[Annotations.reconcileRequestedAt],
});

/** An input the controller could not read: a missing ConfigMap/Secret or key (not retried until it changes). */
class InputError extends Error {}

/** Renders that read more entries than this are not replayed (the memo stays small; such renders are rare). */
const MAX_TRACED_READS = 5_000;

/** What the controller remembers about an Application's last render (in memory, and on disk in cacheDir). */
type Memo =
  | {
      key: string;
      ok: true;
      path: string;
      digest: string;
      size: number;
      objects: number;
      type: string;
      /** What the render read of the source (ArtifactRoot.reads) and its key without the source digest: a new source that reads the same renders the same. */
      reads?: Record<string, string>;
      inputKey?: string;
    }
  | { key: string; ok: false; reason: string; message: string; persist?: boolean; limits?: string };

export function setupRenderController(mgr: Manager, opts: RenderControllerOptions): RenderController {
  const logger = mgr.logger.child({ controller: "render" });
  const cacheDir = path.resolve(opts.cacheDir ?? path.join(os.tmpdir(), "mooring-render"));
  if (cacheDir === opts.storage.root || cacheDir.startsWith(opts.storage.root + path.sep)) {
    throw new Error(`the render cache directory ${cacheDir} is inside the artifact storage ${opts.storage.root}, which is served over HTTP; choose another cacheDir`);
  }
  const sources = new SourceCache({ dir: path.join(cacheDir, "sources"), keep: opts.keepSources, limits: opts.sourceLimits });
  const indexDir = path.join(cacheDir, "renders");
  const events: EventRecorder = mgr.eventRecorder(FieldManagers.render);
  const client = mgr.client;
  const random = opts.random ?? Math.random;
  const jitter = opts.jitter ?? 0.1;
  const stats: RenderStats = { renders: 0, cacheHits: 0, unchanged: 0, statusWrites: 0 };
  const memos = new Map<string, Memo>();
  // Renders that never ended because the process died during them (./crashes.ts), next to the render index.
  const crashes = new RenderCrashJournal(indexDir);
  const gate = new RenderGate();
  // The limits a render runs under: a failure they caused is retried when they change.
  const heapMb = opts.renderMaxHeapMb ?? 512;
  const timeoutMs = opts.renderTimeoutMs ?? 60_000;
  const limitsKey = `heap=${heapMb}Mi,timeout=${timeoutMs}ms,output=${opts.renderMaxOutputBytes ?? "default"}`;
  const capabilities = opts.capabilities ?? new ClusterCapabilities(mgr.rest);
  // Charts (Go or Handlebars) see the target cluster (.Capabilities) and are rendered by one helm version: both go
  // into the key of a chart's render. Other renders never read them, so they are not re-rendered when a CRD appears.
  const chartInputs = async (resolved: ResolvedInputs, log: ReconcileContext["log"], signal: AbortSignal): Promise<void> => {
    try {
      resolved.capabilities = await capabilities.get(signal);
    } catch (err) {
      log.warn("cannot read the cluster's version and API versions (discovery); charts see the defaults", { error: (err as Error).message });
    }
  };
  const keyFor = (digest: string, appRef: { namespace: string; name: string }, spec: ApplicationObject["spec"], resolved: ResolvedInputs): string => {
    const base = renderCacheKey(digest, appRef, spec, resolved);
    return resolved.capabilities ? cacheKey({ base, helm: helmVersion(opts.helmBinary) }) : base;
  };

  /** The render's key with the source left out: a new source with the same reads and this key renders the same. */
  const inputKeyFor = (appRef: { namespace: string; name: string }, spec: ApplicationObject["spec"], resolved: ResolvedInputs): string => keyFor("", appRef, spec, resolved);
  const replayLimits = resolveLimits(limitsForHeap(heapMb, opts.renderMaxOutputBytes));
  /** Whether the new source answers every read of the last render as the old one did (the source is checked out once per digest anyway). */
  const readsUnchanged = (reads: Record<string, string>, url: string, digest: string, signal: AbortSignal): Promise<boolean> =>
    inCheckout(url, digest, signal, (dir) => replayReads(dir, reads, replayLimits));
  /**
   * `look` at the source's tree (checked out once per digest, shared with the render); false when it cannot be
   * checked out: the render path reports that.
   */
  const inCheckout = async (url: string, digest: string, signal: AbortSignal, look: (dir: string) => boolean): Promise<boolean> => {
    let checkout;
    try {
      checkout = await sources.checkout(url, digest, signal);
    } catch {
      return false;
    }
    try {
      return look(checkout.dir);
    } finally {
      checkout.release();
    }
  };

  /** Whether the source has a chart at `dir`. */
  const chartAt = (url: string, digest: string, dir: string, signal: AbortSignal): Promise<boolean> => inCheckout(url, digest, signal, (root) => isChartDir(root, dir));

  const keyOf = (ns: string, name: string): ArtifactKey => ({ kind: ApplicationKind.kind, namespace: ns, name });
  const memoFile = (ns: string, name: string) => path.join(indexDir, ns, `${name}.json`);

  const loadMemo = async (ns: string, name: string): Promise<Memo | undefined> => {
    const k = `${ns}/${name}`;
    const m = memos.get(k);
    if (m) return m;
    try {
      const disk = JSON.parse(await readFile(memoFile(ns, name), "utf8")) as Memo;
      // A failure is kept across restarts only when a limit stopped it (the same input hits the same limit), and
      // only under the same limits.
      if (disk && typeof disk.key === "string" && (disk.ok === true || (disk.ok === false && disk.persist === true && disk.limits === limitsKey))) {
        memos.set(k, disk);
        return disk;
      }
    } catch {
      // no index entry (first render, or a fresh cache directory): render once
    }
    return undefined;
  };

  const saveMemo = async (ns: string, name: string, m: Memo): Promise<void> => {
    memos.set(`${ns}/${name}`, m);
    // Failures are remembered in memory only (a restart tries again), except those a limit stopped (memory,
    // deadline, a render that took the process down): trying those again after a restart would only hit it again.
    if (!m.ok && !m.persist) return;
    const file = memoFile(ns, name);
    try {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      await writeFile(tmp, JSON.stringify(m));
      await rename(tmp, file);
    } catch (err) {
      logger.warn("cannot write the render index; the next restart renders this Application again", { error: (err as Error).message });
    }
  };

  const forget = async (ns: string, name: string): Promise<void> => {
    memos.delete(`${ns}/${name}`);
    await rm(memoFile(ns, name), { force: true });
    await crashes.end(ns, name);
    await opts.storage.remove(keyOf(ns, name));
  };

  // Values of the Secrets Applications read, by the data digest they were read at (only these are held).
  const secretValues = new Map<string, { digest: string; data: Record<string, string> }>();
  const readData = async (kind: "ConfigMap" | "Secret", name: string, ns: string): Promise<Record<string, string> | undefined> => {
    if (kind === "ConfigMap") {
      const cm = await client.get<DataObject>(Kinds.ConfigMap, name, ns);
      return cm ? (cm.data ?? {}) : undefined;
    }
    const k = `${ns}/${name}`;
    if (!opts.watchSecrets) {
      // No watch (and so no list/watch right on Secrets): read the Secret itself, each reconcile. Its value is held
      // only for the render; a change is picked up at the Application's next interval (or `mooring reconcile`).
      const live = await client.live().get<DataObject>(Kinds.Secret, name, ns);
      return live ? Object.fromEntries(Object.entries(live.data ?? {}).map(([key, v]) => [key, Buffer.from(v, "base64").toString("utf8")])) : undefined;
    }
    const view = mgr.cache.informerFor(Kinds.Secret, SECRETS_WITHOUT_DATA);
    if (!view.hasSynced()) await view.waitForSync();
    const seen = view.store.get(k) as (KubeObject & { dataDigest?: string }) | undefined;
    if (!seen) {
      secretValues.delete(k);
      return undefined;
    }
    const held = secretValues.get(k);
    if (held && held.digest === seen.dataDigest) return held.data; // unchanged: no request
    const live = await client.live().get<DataObject>(Kinds.Secret, name, ns);
    if (!live) return undefined;
    const data = Object.fromEntries(Object.entries(live.data ?? {}).map(([key, v]) => [key, Buffer.from(v, "base64").toString("utf8")]));
    secretValues.set(k, { digest: secretDataDigest(live.data), data });
    return data;
  };

  const resolveInputs = async (app: ApplicationObject): Promise<ResolvedInputs> => {
    const ns = app.metadata!.namespace!;
    const r = app.spec.render ?? {};
    const out: ResolvedInputs = {};
    if (r.helm?.valuesFrom?.length) {
      const values: JsonMap[] = [];
      for (const [i, ref] of r.helm.valuesFrom.entries()) {
        const key = ref.key ?? ApplicationDefaults.valuesKey;
        const data = await readData(ref.kind, ref.name, ns);
        const where = `spec.render.helm.valuesFrom[${i}]`;
        if (!data) {
          if (ref.optional) continue;
          throw new InputError(`${ref.kind} ${ns}/${ref.name} (${where}) does not exist; create it or set optional: true`);
        }
        const text = data[key];
        if (text === undefined) {
          if (ref.optional) continue;
          throw new InputError(`${ref.kind} ${ns}/${ref.name} (${where}) has no key "${key}"; add it or set key to one of: ${Object.keys(data).join(", ") || "(none)"}`);
        }
        values.push(parseValues(text, `${ref.kind}/${ref.name}[${key}]`));
      }
      out.valuesFrom = values;
    }
    if (r.substituteFrom?.length) {
      const vars: Record<string, string> = {};
      for (const [i, ref] of r.substituteFrom.entries()) {
        const data = await readData(ref.kind, ref.name, ns);
        if (!data) {
          if (ref.optional) continue;
          throw new InputError(`${ref.kind} ${ns}/${ref.name} (spec.render.substituteFrom[${i}]) does not exist; create it or set optional: true`);
        }
        Object.assign(vars, data);
      }
      out.substituteFrom = vars;
    }
    return out;
  };

  const requeueAfter = (app: ApplicationObject, cap?: number): Result => {
    let interval = parseDuration(app.spec.interval ?? ApplicationDefaults.interval);
    if (cap !== undefined) interval = Math.min(interval, cap);
    return { requeueAfter: Math.round(interval * (1 + jitter * random())) };
  };

  const writeStatus = async (app: ApplicationObject, next: OwnedStatus, signal: AbortSignal): Promise<boolean> => {
    if (sameOwnedStatus(ownedStatus(app.status), next)) return false; // nothing new: no API write
    await client.applyStatus(
      { apiVersion: app.apiVersion, kind: app.kind, metadata: { name: app.metadata!.name, namespace: app.metadata!.namespace }, status: next } as KubeObject,
      { fieldManager: FieldManagers.render, signal },
    );
    stats.statusWrites++;
    return true;
  };

  const reconcile = async (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const app = await client.get<ApplicationObject>(ApplicationKind, req.name, req.namespace);
    if (!app) {
      await forget(req.namespace, req.name);
      return {};
    }
    if (app.metadata?.deletionTimestamp) return {}; // the apply controller prunes; the artifact goes with the object
    const ns = app.metadata!.namespace!;
    const name = app.metadata!.name!;
    const gen = app.metadata?.generation;
    const now = Date.now();
    const current = ownedStatus(app.status);
    let conditions = current.conditions;
    const cond = (type: string, status: "True" | "False", reason: string, message: string) => {
      conditions = setCondition(conditions, { type, status, reason, message, observedGeneration: gen }, now);
    };
    const finish = async (result: Result): Promise<Result> => {
      await writeStatus(app, { ...(current.source ? { source: current.source } : {}), ...(current.render ? { render: current.render } : {}), ...(conditions?.length ? { conditions } : {}) }, ctx.signal);
      return result;
    };

    try {
      assertValid({ apiVersion: app.apiVersion, kind: app.kind, metadata: { name, namespace: ns }, spec: app.spec } as Application);
    } catch (err) {
      if (!(err instanceof InvalidObjectError)) throw err;
      cond(ConditionTypes.rendered, "False", Reasons.invalidSpec, err.message);
      return finish({}); // only a spec change can fix it, and that is an event
    }
    if (app.spec.suspend) {
      ctx.log.debug("suspended; not rendering");
      return {};
    }

    // The source.
    const ref = app.spec.sourceRef;
    const srcNs = ref.namespace ?? ns;
    // Checked before the GitRepository is read: a tenant must not learn whether another namespace's source exists,
    // nor render (and so read through its artifact) another tenant's repository.
    if (srcNs !== ns && !opts.allowCrossNamespaceRefs) {
      cond(
        ConditionTypes.sourceReady,
        "False",
        RenderReasons.crossNamespaceRefForbidden,
        `spec.sourceRef.namespace names ${ref.kind} ${srcNs}/${ref.name} in another namespace, and cross-namespace references are refused unless the operator runs with --allow-cross-namespace-refs (Helm value allowCrossNamespaceRefs); put the ${ref.kind} in namespace ${ns}`,
      );
      return finish({});
    }
    // A HelmChart's artifact is the chart's .tgz: the chart is its directory <status.chartName>, spec.path inside it.
    const srcKind = ref.kind === "HelmChart" ? HelmChartKind : GitRepositoryKind;
    let repo: (GitRepositoryObject & { status?: { chartName?: string } }) | undefined;
    try {
      repo = await client.get<GitRepositoryObject>(srcKind, ref.name, srcNs);
    } catch (err) {
      // A namespace-scoped operator cannot see other namespaces: say so rather than retrying forever.
      cond(ConditionTypes.sourceReady, "False", Reasons.sourceNotFound, `cannot read ${srcKind.kind} ${srcNs}/${ref.name}: ${(err as Error).message}`);
      return finish(requeueAfter(app));
    }
    if (!repo) {
      cond(ConditionTypes.sourceReady, "False", Reasons.sourceNotFound, `${srcKind.kind} ${srcNs}/${ref.name} (spec.sourceRef) does not exist; create it or fix spec.sourceRef`);
      return finish(requeueAfter(app));
    }
    const art = repo.status?.artifact;
    if (!art?.url || !art.digest) {
      const why = repo.status?.conditions?.find((c) => c.type === ConditionTypes.ready && c.status === "False")?.message;
      cond(
        ConditionTypes.sourceReady,
        "False",
        Reasons.sourceNotReady,
        `${srcKind.kind} ${srcNs}/${ref.name} has no artifact yet${why ? `: ${why}` : "; waiting for the source controller to fetch it"}`,
      );
      return finish(requeueAfter(app, 60_000));
    }
    cond(ConditionTypes.sourceReady, "True", Reasons.succeeded, `artifact for revision '${art.revision}' (${art.digest})`);
    const chartDir = ref.kind === "HelmChart" ? (repo.status?.chartName ?? "") : undefined;
    const spec = chartDir !== undefined ? { ...app.spec, path: chartPath(chartDir, app.spec.path) } : app.spec;

    // The inputs from the cluster.
    let resolved: ResolvedInputs;
    try {
      resolved = await resolveInputs(app);
    } catch (err) {
      if (!(err instanceof InputError) && !isRenderError(err)) throw err;
      const reason = err instanceof InputError ? RenderReasons.valuesNotFound : Reasons.renderFailed;
      if (ownedStatus(app.status).conditions?.find((c) => c.type === ConditionTypes.rendered)?.message !== err.message) {
        events.warning(app, reason, "Render", err.message);
      }
      cond(ConditionTypes.rendered, "False", reason, err.message);
      return finish(requeueAfter(app));
    }

    // Render, unless this exact input was rendered (or failed) before.
    const appRef = { namespace: ns, name };
    let memo = await loadMemo(ns, name);
    const r = app.spec.render;
    if (chartDir !== undefined || r?.type === "helm" || r?.helm?.engine === "go" || (memo?.ok && memo.type === "helm")) await chartInputs(resolved, ctx.log, ctx.signal);
    let key = keyFor(art.digest, appRef, spec, resolved);
    if (memo?.key !== key && !resolved.capabilities && (await chartAt(art.url, art.digest, spec.path ?? ApplicationDefaults.path, ctx.signal))) {
      // A chart found by type auto: its key includes what charts see, so that the memo, the crash journal and the
      // render all use the same key (comparing without them rendered it again at every reconcile and restart).
      await chartInputs(resolved, ctx.log, ctx.signal);
      key = keyFor(art.digest, appRef, spec, resolved);
    }
    if (memo?.key === key && memo.ok && !(await opts.storage.exists(memo.path))) memo = undefined; // collected: publish it again
    let rendered = false;
    if (memo?.key === key) {
      stats.cacheHits++;
    } else if (memo?.ok && memo.reads && memo.inputKey === inputKeyFor(appRef, spec, resolved) && (await opts.storage.exists(memo.path)) && (await readsUnchanged(memo.reads, art.url, art.digest, ctx.signal))) {
      // A new commit that changed nothing this render reads (another Application's directory): the same objects.
      stats.unchanged++;
      memo = { ...memo, key };
      await saveMemo(ns, name, memo);
      ctx.log.debug("source changed, nothing this Application renders from did; the last render stands", { revision: art.revision });
    } else {
      rendered = true;
      const crashed = await crashes.crashed(ns, name, key, limitsKey);
      if (crashes.gaveUp(crashed)) {
        // This input took the process down every time it was rendered: do not try it again (a crash loop).
        memo = {
          key,
          ok: false,
          reason: Reasons.renderFailed,
          message: `rendering this input stopped the operator ${crashed!.attempts} times (out of memory, or killed in the middle of the render; last at ${crashed!.startedAt}); it is not rendered again until the Application, its source or its values change, or the render limits do (worker heap ${heapMb} MiB: --render-worker-heap, deadline ${timeoutMs} ms)`,
          persist: true,
          limits: limitsKey,
        };
      } else {
        // A suspect renders alone, so that if the process dies again the render that killed it is known.
        if (crashed) ctx.log.warn("the last render of this input never ended (the process stopped during it); trying once more, alone", { attempts: crashed.attempts, since: crashed.startedAt });
        memo = await gate.run(crashed !== undefined, () => renderOnce(app, spec, key, art.url, art.digest, resolved, ctx));
      }
      await saveMemo(ns, name, memo);
    }
    if (memo.ok) {
      const artifact = { url: artifactUrl(opts.advertisedAddr, memo.path), digest: memo.digest, revision: art.revision, size: memo.size };
      const prev = current.render;
      const same = prev?.artifact && stable(prev.artifact) === stable(artifact) && prev.objects === memo.objects;
      current.source = { revision: art.revision, digest: art.digest };
      current.render = same ? prev : { artifact, objects: memo.objects, lastRenderedAt: metaTime(now) };
      if (rendered && !same) events.normal(app, "Rendered", "Render", `rendered ${memo.objects} objects from revision ${art.revision} (${memo.digest})`);
      cond(ConditionTypes.rendered, "True", Reasons.succeeded, `rendered ${memo.objects} objects (${memo.type}) from '${spec.path ?? ApplicationDefaults.path}' at revision '${art.revision}'`);
    } else {
      if (rendered) events.warning(app, memo.reason, "Render", memo.message);
      if (memo.reason === RenderReasons.artifactInvalid) cond(ConditionTypes.sourceReady, "False", memo.reason, memo.message);
      else cond(ConditionTypes.rendered, "False", memo.reason, memo.message);
    }
    return finish(requeueAfter(app));
  };

  /** Checks out the source and renders; returns the outcome to remember (throws Retry for a problem that is not the input's). */
  const renderOnce = async (
    app: ApplicationObject,
    spec: ApplicationObject["spec"],
    key: string,
    url: string,
    digest: string,
    resolved: ResolvedInputs,
    ctx: ReconcileContext,
  ): Promise<Memo> => {
    const ns = app.metadata!.namespace!;
    const name = app.metadata!.name!;
    let checkout;
    try {
      checkout = await sources.checkout(url, digest, ctx.signal);
    } catch (err) {
      if (!(err instanceof SourceArtifactError)) throw err;
      if (!err.retryable) return { key, ok: false, reason: RenderReasons.artifactInvalid, message: err.message };
      throw new Retry(ConditionTypes.sourceReady, RenderReasons.artifactFetchFailed, err.message);
    }
    try {
      // A chart found only now (type auto, first render of this path): its key includes what charts see.
      if (!resolved.capabilities && isChartDir(checkout.dir, spec.path ?? ApplicationDefaults.path)) {
        await chartInputs(resolved, ctx.log, ctx.signal);
        key = keyFor(digest, { namespace: ns, name }, spec, resolved);
      }
      // An upgrade render once the Application has been applied (Helm's IsUpgrade, upgrade hooks). Not part of the
      // key: the first render after the install would otherwise render again, as an upgrade, with no new input.
      const { path: renderPath, options } = renderOptionsFor({ namespace: ns, name }, spec, { ...resolved, ...(appliedBefore(app) ? { isUpgrade: true } : {}) });
      // helm gets the render's own deadline, so it never outlives the render it belongs to.
      if (options.helm) options.helm = { ...options.helm, timeoutMs, deadlineAt: Date.now() + timeoutMs, ...(opts.helmBinary ? { helmBinary: opts.helmBinary } : {}) };
      const { scope: _scope, ...isolated } = options;
      stats.renders++;
      const started = Date.now();
      // The marker outlives the process if the process dies during the render (./crashes.ts).
      await crashes.begin(ns, name, key, limitsKey);
      let result;
      try {
        result = await renderIsolated(
          checkout.dir,
          renderPath,
          { ...isolated, traceReads: true, ...(opts.clusterScopedKinds ? { clusterScopedKinds: opts.clusterScopedKinds } : {}) },
          // Workers are reused within a namespace only (./worker-pool.ts).
          { timeoutMs, maxHeapMb: heapMb, reuseKey: ns, ...(opts.renderMaxOutputBytes ? { maxOutputBytes: opts.renderMaxOutputBytes } : {}) },
        );
      } finally {
        await crashes.end(ns, name);
      }
      const bytes = artifactBytes(result.objects);
      const stored = await opts.storage.write(keyOf(ns, name), single(bytes), ".json");
      if (stored.digest !== result.digest) {
        // The renderer's digest and the bytes we serve must agree (the apply controller verifies the latter).
        throw new Error(`rendered artifact of Application ${ns}/${name}: stored digest ${stored.digest} differs from the render's ${result.digest}`);
      }
      ctx.log.info("rendered", { objects: result.objects.length, type: result.type, digest: stored.digest, ms: Date.now() - started });
      const reads = result.reads && Object.keys(result.reads).length <= MAX_TRACED_READS ? { reads: result.reads, inputKey: inputKeyFor({ namespace: ns, name }, spec, resolved) } : {};
      return { key, ok: true, path: stored.path, digest: stored.digest, size: stored.size, objects: result.objects.length, type: result.type, ...reads };
    } catch (err) {
      // Out of memory or past the deadline: the same input hits the same limit, so remember it across restarts.
      if (err instanceof RenderLimitError) return { key, ok: false, reason: Reasons.renderFailed, message: err.message, persist: true, limits: limitsKey };
      if (isRenderError(err)) return { key, ok: false, reason: Reasons.renderFailed, message: err.message };
      if (ctx.signal.aborted) throw err;
      // Not the repository's fault (a worker crash, a full disk): say so, keep the last artifact, retry with backoff.
      const storage = err instanceof StorageError;
      throw new Retry(ConditionTypes.rendered, storage ? Reasons.storageOperationFailed : Reasons.renderFailed, storage ? err.message : `render of Application ${ns}/${name} failed: ${(err as Error).message}`);
    } finally {
      checkout.release();
    }
  };

  const builder = mgr
    .controller("render")
    .for(ApplicationKind, { predicates: [applicationEvents] })
    .watches<GitRepositoryObject>(GitRepositoryKind, (repo) => appsBy(INDEX_SOURCE, `${repo.metadata?.namespace ?? ""}/${repo.metadata?.name ?? ""}`), {
      predicates: [gitRepositoryArtifactChanged],
    })
    // HelmCharts: their artifact is the chart (sourceRef.kind HelmChart); same index (namespace/name) as GitRepositories.
    .watches<GitRepositoryObject>(HelmChartKind, (c) => appsBy(INDEX_SOURCE, `${c.metadata?.namespace ?? ""}/${c.metadata?.name ?? ""}`), {
      predicates: [gitRepositoryArtifactChanged],
    })
    .watches(Kinds.ConfigMap, (cm) => appsBy(INDEX_INPUTS, `ConfigMap/${cm.metadata?.namespace ?? ""}/${cm.metadata?.name ?? ""}`), { predicates: [dataChanged] });
  // Watching Secrets needs list/watch on every Secret of the cluster (the data is dropped, but the right is granted):
  // only when asked for (--watch-secrets); otherwise they are read with get when an Application reconciles.
  if (opts.watchSecrets) {
    builder.watches(Kinds.Secret, (s) => appsBy(INDEX_INPUTS, `Secret/${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`), { predicates: [dataChanged], selection: SECRETS_WITHOUT_DATA });
  }
  const controller = builder
    .withOptions({ maxConcurrentReconciles: opts.concurrency ?? 4 })
    .build(async (req: Request, ctx: ReconcileContext) => {
      try {
        return await reconcile(req, ctx);
      } catch (err) {
        if (!(err instanceof Retry)) throw err;
        ctx.log.info("render not possible now; retrying with backoff", { reason: err.reason, error: err.message });
        // Reading the object again is cheap (cache); the message goes into the condition and the runtime backs off.
        const app = await client.get<ApplicationObject>(ApplicationKind, req.name, req.namespace);
        if (app) {
          const owned = ownedStatus(app.status);
          const previous = owned.conditions?.find((c) => c.type === err.type);
          const conditions = setCondition(owned.conditions, { type: err.type, status: "False", reason: err.reason, message: err.message, observedGeneration: app.metadata?.generation });
          if (err.type === ConditionTypes.rendered && previous?.message !== err.message) events.warning(app, err.reason, "Render", err.message);
          await writeStatus(app, { ...owned, conditions }, ctx.signal);
        }
        return { requeue: true };
      }
    });

  // After build(): the builder picked the Application informer (and its shard selection); index that one.
  const apps = mgr.cache.informerFor<ApplicationObject>(ApplicationKind);
  apps.addIndexers({ [INDEX_SOURCE]: sourceIndexKeys, [INDEX_INPUTS]: inputIndexKeys });
  function appsBy(index: string, value: string): Request[] {
    return apps.store.byIndex(index, value).map((a) => ({ namespace: a.metadata?.namespace ?? "", name: a.metadata?.name ?? "" }));
  }

  // Applications deleted while the operator was down left their artifacts behind: remove them once the caches know
  // every Application (a leader-only runnable starts after the caches synced).
  if (opts.sweepOrphans ?? !mgr.shardLabelSelector) {
    mgr.addRunnable(async () => {
      const removed = await sweepOrphans(opts.storage, async (ns, name) => Boolean(await client.get(ApplicationKind, name, ns)), forget).catch((err: unknown) => {
        logger.warn("cannot sweep rendered artifacts of deleted Applications", { error: (err as Error).message });
        return [];
      });
      if (removed.length) logger.info("removed rendered artifacts of deleted Applications", { count: removed.length });
    });
  }

  return { controller, sources, stats };
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

/** A failure that is not the input's fault: reported in condition `type`, retried with backoff, not remembered. */
class Retry extends Error {
  constructor(
    readonly type: string,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The apply controller has applied this Application before (an install happened): renders are upgrades. */
export function appliedBefore(app: { status?: ApplicationStatus }): boolean {
  const sync = app.status?.sync;
  return Boolean(sync?.lastAppliedAt || sync?.inventory?.length);
}

/** spec.path of an Application rendering a HelmChart: relative to the chart's directory in the .tgz. */
function chartPath(chartDir: string, p: string | undefined): string {
  const rest = (p ?? "./").replace(/^(\.\/)+/, "").replace(/^\.$/, "");
  return rest ? `${chartDir}/${rest}` : chartDir;
}

/** Whether `dir` (a path in an extracted checkout) is a chart directory. */
function isChartDir(root: string, dir: string): boolean {
  const p = path.resolve(root, dir, "Chart.yaml");
  return p.startsWith(path.resolve(root) + path.sep) && existsSync(p);
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
