// The reconciles of the HelmRepository and HelmChart controllers (./helmchart.ts sets them up): both start from the
// last status, end in one status write, and report a failure the same way (Ready=False and FetchFailed with the
// failure's reason, an event when the message is new, a retry backed off up to the interval when it may pass).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DownloadError, download as downloadArtifact, sha256Digest } from "../artifact/download.js";
import { artifactUrl, type ArtifactStorage, type ArtifactKey, StorageError } from "../artifact/storage.js";
import {
  Annotations,
  ConditionTypes,
  FieldManagers,
  GitRepositoryKind,
  HelmChartDefaults,
  HelmChartKind,
  HelmRepositoryDefaults,
  HelmRepositoryKind,
  Reasons,
  parseDuration,
  type GitRepository,
  type HelmChart,
  type HelmRepository,
} from "../api/index.js";
import { Kinds, metaTime, removeCondition, setCondition, type Condition, type EventRecorder, type KubeObject, type Manager, type ReconcileContext, type Request, type Result } from "../runtime/index.js";
import { credentialsFromSecret, type Credentials } from "./credentials.js";
import { isSourceError, scrub } from "./errors.js";
import { OciClient, downloadOciChart, ociLayer, ociRef, resolveOci } from "./helm-oci.js";
import { normalizeRepoUrl, parseChartMeta, parseLock, pinnedEntry, planDependencies, repositoryAlias, type MissingDependency } from "./helm-deps.js";
import { chartDirOf, extractDir, packageChart, treeText, vendoredNames, type TreeFile } from "./helm-git.js";
import { DEFAULT_MAX_CHART_BYTES, HelmSourceError, MAX_CHART_CONTENT_BYTES, downloadChart, fetchIndex, resolveVersion, type HelmStats, type RepositoryIndex } from "./helm-repo.js";

export type HelmRepositoryObject = HelmRepository & KubeObject;
export type HelmChartObject = HelmChart & KubeObject;
type GitRepositoryObject = GitRepository & KubeObject;
type ChartDependencyStatus = NonNullable<NonNullable<HelmChart["status"]>["dependencies"]>[number];
/** What a chart built from Git records besides its artifact (compared to decide whether to build again). */
interface GitBuild {
  observedSourceArtifactRevision: string;
  observedSourceArtifactDigest: string;
  dependencies: ChartDependencyStatus[];
}
type ChartArtifact = NonNullable<NonNullable<HelmChart["status"]>["artifact"]>;
type Status = Record<string, unknown>;
type Download = () => Promise<{ bytes: Buffer; digest: string; chartName: string }>;

export interface HelmControllerOptions {
  storage: ArtifactStorage;
  /** host:port (or base URL) consumers use to download artifacts. */
  advertisedAddr: string;
  /** Largest chart .tgz accepted (--max-chart-size, default 10 MiB); also each dependency of a chart from Git. */
  maxChartBytes?: number;
  /** Largest GitRepository artifact read to build a chart from Git (default 1 GiB; written to a temporary file, not held in memory). */
  maxSourceArtifactBytes?: number;
  /** Deadline of that download (default 5 minutes). */
  sourceArtifactTimeoutMs?: number;
  concurrency?: number;
  /** First retry after a retryable failure, doubled up to the interval (default 5 s). */
  failureBackoffMs?: number;
  jitter?: number;
  random?: () => number;
}

export function chartKey(obj: { metadata?: { namespace?: string; name?: string } }): ArtifactKey {
  return { kind: HelmChartKind.kind, namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
}

/** JSON with object keys sorted: two statuses compare equal whatever order their fields were set in. */
export function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val) ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1))) : val,
  );
}

/** The status a reconcile starts from: the last one, with this generation observed and a reconcile request handled. */
function nextStatus(obj: KubeObject & { status?: object }): Status {
  const status: Status = { ...(obj.status ?? {}), observedGeneration: obj.metadata?.generation };
  const requested = obj.metadata?.annotations?.[Annotations.reconcileRequestedAt];
  if (requested) status.lastHandledReconcileAt = requested;
  return status;
}

const isOci = (repo: HelmRepositoryObject) => repo.spec.type === "oci" || repo.spec.url.startsWith("oci://");

/** A failure this controller reports in status (anything else is a bug, and throws). */
function failure(err: unknown): HelmSourceError {
  if (err instanceof HelmSourceError) return err;
  if (err instanceof StorageError) return new HelmSourceError("StorageOperationFailed", err.message);
  throw err;
}

export class HelmReconciler {
  readonly stats: HelmStats = { indexFetches: 0, chartDownloads: 0, gitBuilds: 0, dependencyDownloads: 0 };
  private readonly events: EventRecorder;
  private readonly failures = new Map<string, number>();
  // The artifact last stored per HelmChart: the cache may not show our own status write yet when the next reconcile
  // runs, and a stale status must not cost a second download of the same chart.
  private readonly lastStored = new Map<string, { artifact: ChartArtifact; chartName: string; generation?: number; git?: GitBuild }>();

  constructor(
    private readonly mgr: Manager,
    private readonly opts: HelmControllerOptions,
  ) {
    this.events = mgr.eventRecorder(FieldManagers.source);
  }

  /** HelmRepository: the index, read each interval (an OCI registry has none: Ready when it answers). */
  async repository(req: Request, ctx: ReconcileContext): Promise<Result> {
    const repo = await this.mgr.client.get<HelmRepositoryObject>(HelmRepositoryKind, req.name, req.namespace);
    if (!repo || repo.metadata?.deletionTimestamp || repo.spec.suspend) return {};
    const gen = repo.metadata?.generation;
    const status = nextStatus(repo);
    let conditions = repo.status?.conditions as Condition[] | undefined;
    const interval = repo.spec.interval ?? HelmRepositoryDefaults.interval;
    const fkey = `r/${req.namespace}/${req.name}`;
    let result: Result;
    try {
      let message: string;
      if (isOci(repo)) {
        message = await this.pingRegistry(repo, ctx.signal);
        delete status.index;
      } else {
        const { index } = await this.readIndex(repo, ctx.signal);
        const charts = index.entries.size;
        const same = repo.status?.index?.digest === index.digest;
        status.index = same ? repo.status?.index : { digest: index.digest, charts, lastUpdateTime: metaTime(Date.now()) };
        message = `index with ${charts} chart${charts === 1 ? "" : "s"} (${index.digest.slice(0, 19)}…)`;
      }
      conditions = this.succeeded(conditions, fkey, gen, message);
      result = this.every(interval);
    } catch (e) {
      const err = failure(e);
      ({ conditions, result } = this.failed({ obj: repo, conditions, fkey, gen, interval }, err, err.message, "FetchIndex"));
      ctx.log.info("cannot read the Helm repository index", { reason: err.reason, error: err.message });
    }
    status.conditions = conditions;
    await this.writeStatus(repo, status, ctx.signal);
    return result;
  }

  /** HelmChart: resolve, download once per digest, verify, store. */
  async chart(req: Request, ctx: ReconcileContext): Promise<Result> {
    const chart = await this.mgr.client.get<HelmChartObject>(HelmChartKind, req.name, req.namespace);
    const fkey = `c/${req.namespace}/${req.name}`;
    if (!chart) {
      this.failures.delete(fkey);
      this.lastStored.delete(fkey);
      await this.opts.storage.remove(chartKey({ metadata: { namespace: req.namespace, name: req.name } }));
      return {};
    }
    if (chart.metadata?.deletionTimestamp || chart.spec.suspend) return {};
    const gen = chart.metadata?.generation;
    const prev = { ...(chart.status ?? {}) }; // a copy: the cache's object is never changed
    let conditions = prev.conditions as Condition[] | undefined;
    const status = nextStatus(chart);
    const interval = chart.spec.interval ?? HelmChartDefaults.interval;
    const mine = this.lastStored.get(fkey);
    if (mine && mine.artifact.lastUpdateTime >= (prev.artifact?.lastUpdateTime ?? "")) {
      prev.artifact = mine.artifact;
      prev.chartName = mine.chartName;
      if (mine.generation !== undefined) prev.observedGeneration = Math.max(prev.observedGeneration ?? 0, mine.generation);
      status.artifact = mine.artifact;
      status.chartName = mine.chartName;
      if (mine.git) {
        Object.assign(prev, mine.git);
        Object.assign(status, mine.git);
      }
    }
    const stored = prev.artifact ? await this.opts.storage.exists(relPath(prev.artifact.url, this.opts.advertisedAddr) ?? "", prev.artifact.digest) : false;
    let result: Result;
    try {
      if (chart.spec.sourceRef.kind === "GitRepository") {
        const msg = await this.gitChart(chart, { fkey, status, prev, stored, gen }, ctx.signal);
        const inStorage = { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: `chart version ${String(status.artifact && (status.artifact as ChartArtifact).revision)} is stored`, observedGeneration: gen } as const;
        conditions = this.succeeded(conditions, fkey, gen, msg, inStorage);
        result = this.every(interval);
        status.conditions = conditions;
        await this.writeStatus(chart, status, ctx.signal);
        return result;
      }
      const repo = await this.mgr.client.get<HelmRepositoryObject>(HelmRepositoryKind, chart.spec.sourceRef.name, req.namespace);
      if (!repo) throw new HelmSourceError("RepositoryNotFound", `HelmRepository ${req.namespace}/${chart.spec.sourceRef.name} (spec.sourceRef) does not exist; create it or fix spec.sourceRef`);
      const { entry, download } = await this.resolve(repo, chart, ctx.signal);
      const a = prev.artifact;
      const unchanged = stored && a?.revision === entry.version && (!entry.digest || a.digest === `sha256:${entry.digest.replace(/^sha256:/, "").toLowerCase()}`) && prev.observedGeneration === gen;
      if (!unchanged) await this.store(chart, { fkey, status, version: entry.version, previousDigest: a?.digest }, download);
      const msg = `stored chart ${chart.spec.chart} version ${entry.version}${entry.digest ? ` (digest verified against the ${isOci(repo) ? "manifest" : "index"})` : ""}`;
      const inStorage = { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: `chart version ${entry.version} is stored`, observedGeneration: gen } as const;
      conditions = this.succeeded(conditions, fkey, gen, msg, inStorage);
      result = this.every(interval);
    } catch (e) {
      const err = failure(e);
      const message = scrub(err.message);
      const inStorage = stored
        ? ({ type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: `the last good chart (version ${prev.artifact?.revision}) is still stored`, observedGeneration: gen } as const)
        : ({ type: ConditionTypes.artifactInStorage, status: "False", reason: "NoArtifact", message: "no chart stored yet", observedGeneration: gen } as const);
      ({ conditions, result } = this.failed({ obj: chart, conditions, fkey, gen, interval }, err, message, "FetchChart", inStorage));
      ctx.log.info("cannot fetch the Helm chart", { reason: err.reason, error: message });
    }
    status.conditions = conditions;
    await this.writeStatus(chart, status, ctx.signal);
    return result;
  }

  /**
   * A HelmChart whose source is a GitRepository: the chart directory of its artifact, with each dependency missing
   * from charts/ downloaded from the HelmRepository whose spec.url is the dependency's repository (or that `@name`
   * names), at the version Chart.lock pins (else the newest in Chart.yaml's range), verified and size-bounded;
   * packaged and stored. Built again only when the GitRepository's artifact, the spec or a reconcile request is
   * new: a poll with nothing new reads nothing. Returns the Ready message.
   */
  private async gitChart(
    chart: HelmChartObject,
    at: { fkey: string; status: Status; prev: NonNullable<HelmChartObject["status"]> & Partial<GitBuild>; stored: boolean; gen: number | undefined },
    signal: AbortSignal,
  ): Promise<string> {
    const ns = chart.metadata!.namespace!;
    const src = chart.spec.sourceRef.name;
    const git = await this.mgr.client.get<GitRepositoryObject>(GitRepositoryKind, src, ns);
    if (!git) throw new HelmSourceError("SourceNotFound", `GitRepository ${ns}/${src} (spec.sourceRef) does not exist; create it or fix spec.sourceRef`);
    const art = git.status?.artifact;
    if (!art?.url || !art.digest) {
      const why = git.status?.conditions?.find((c) => c.type === ConditionTypes.ready && c.status === "False")?.message;
      throw new HelmSourceError("SourceNotReady", `GitRepository ${ns}/${src} has no artifact yet${why ? `: ${why}` : ""}`);
    }
    const dir = chartDirOf(chart.spec.chart);
    const what = `chart ${dir || "."} of GitRepository ${ns}/${src} at ${art.revision}`;
    const requested = chart.metadata?.annotations?.[Annotations.reconcileRequestedAt];
    const prev = at.prev;
    if (at.stored && prev.observedSourceArtifactDigest === art.digest && prev.observedGeneration === at.gen && (!requested || requested === prev.lastHandledReconcileAt)) {
      return gitMessage(prev.chartName ?? dir, prev.artifact?.revision ?? "", prev.observedSourceArtifactRevision ?? "", prev.dependencies ?? []);
    }
    this.stats.gitBuilds++;
    const tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-helmgit-"));
    try {
      const file = path.join(tmp, "source.tar.gz");
      try {
        await downloadArtifact(art.url, { maxBytes: this.opts.maxSourceArtifactBytes ?? 1024 ** 3, timeoutMs: this.opts.sourceArtifactTimeoutMs ?? 300_000, signal, digest: art.digest, file });
      } catch (err) {
        if (!(err instanceof DownloadError)) throw err;
        throw new HelmSourceError("SourceNotReady", `cannot read the artifact of GitRepository ${ns}/${src} (${art.revision}): ${err.message}`, { cause: err });
      }
      const files = await extractDir(file, dir, what);
      const chartYaml = treeText(files, "Chart.yaml", what);
      if (chartYaml === undefined) {
        throw new HelmSourceError("ChartNotFound", `GitRepository ${ns}/${src} at ${art.revision} has no Chart.yaml in ${dir ? `${dir}/` : "its root"}; spec.chart must be the chart's directory`);
      }
      const at2 = (f: string) => (dir ? `${dir}/${f}` : f);
      const requirements = treeText(files, "requirements.yaml", what);
      const meta = parseChartMeta(chartYaml, at2("Chart.yaml"), requirements !== undefined ? { text: requirements, file: at2("requirements.yaml") } : undefined);
      const lockName = meta.apiVersion === "v1" ? "requirements.lock" : "Chart.lock";
      const lockText = treeText(files, lockName, what);
      const lock = lockText !== undefined ? parseLock(lockText, at2(lockName)) : undefined;
      const repos = await this.mgr.client.list<HelmRepositoryObject>(HelmRepositoryKind, { namespace: ns });
      const plan = planDependencies(meta, lock, await vendoredNames(files), (name) => repos.find((r) => r.metadata?.name === name)?.spec.url, what);
      const deps = await this.dependencies(plan.missing, repos, ns, what, signal, this.previousDependencies(at.stored ? prev : undefined));
      let total = [...files.values()].reduce((n, f) => n + (f.type === "file" ? f.data.length : 0), 0);
      for (const d of deps) {
        total += d.bytes.length;
        if (total > MAX_CHART_CONTENT_BYTES) throw new HelmSourceError("ChartTooLarge", `${what}: the chart with its dependencies holds more than ${MAX_CHART_CONTENT_BYTES} bytes`);
      }
      const tgz = await packageChart(meta.name, files, deps.map((d) => ({ file: `${d.status.name}-${d.status.version}.tgz`, bytes: d.bytes })), what);
      const digest = sha256Digest(tgz);
      const version = `${meta.version}+${shortCommit(art.revision)}`;
      const build: GitBuild = { observedSourceArtifactRevision: art.revision, observedSourceArtifactDigest: art.digest, dependencies: deps.map((d) => d.status) };
      // The same chart and dependencies make the same bytes: an unrelated commit stores nothing and re-renders nothing.
      if (!(at.stored && prev.artifact?.digest === digest)) {
        await this.store(chart, { fkey: at.fkey, status: at.status, version, previousDigest: prev.artifact?.digest }, () => Promise.resolve({ bytes: tgz, digest, chartName: meta.name }));
      }
      Object.assign(at.status, build);
      const mine = this.lastStored.get(at.fkey);
      if (mine) mine.git = build;
      else if (prev.artifact && prev.chartName) this.lastStored.set(at.fkey, { artifact: prev.artifact, chartName: prev.chartName, generation: at.gen, git: build });
      return gitMessage(meta.name, (at.status.artifact as ChartArtifact).revision, art.revision, build.dependencies);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * The dependencies in the chart stored last, by file name, read from storage once when first asked for: a rebuild
   * (a new commit) takes a dependency with the same version and digest from there instead of downloading it again.
   */
  private previousDependencies(prev: { artifact?: ChartArtifact; chartName?: string; dependencies?: ChartDependencyStatus[] } | undefined): (file: string, digest: string) => Promise<Buffer | undefined> {
    const rel = prev?.artifact ? relPath(prev.artifact.url, this.opts.advertisedAddr) : undefined;
    if (!rel || !prev?.chartName || !prev.dependencies?.length) return () => Promise.resolve(undefined);
    let files: Promise<Map<string, TreeFile> | undefined> | undefined;
    return async (file, digest) => {
      files ??= extractDir(this.opts.storage.absolute(rel), `${prev.chartName}/charts`, "the stored chart").catch(() => undefined);
      const f = (await files)?.get(file);
      return f?.type === "file" && sha256Digest(f.data) === digest ? f.data : undefined;
    };
  }

  /**
   * Downloads the dependencies a chart from Git misses, each from its HelmRepository (or takes it from the chart
   * stored last when its version and digest are unchanged); every failure names the chart and the dependency.
   */
  private async dependencies(
    missing: MissingDependency[],
    repos: HelmRepositoryObject[],
    ns: string,
    what: string,
    signal: AbortSignal,
    stored: (file: string, digest: string) => Promise<Buffer | undefined>,
  ): Promise<{ status: ChartDependencyStatus; bytes: Buffer }[]> {
    const maxBytes = this.opts.maxChartBytes ?? DEFAULT_MAX_CHART_BYTES;
    const indexes = new Map<string, Promise<{ index: RepositoryIndex; creds?: Credentials; ca?: string }>>();
    const out: { status: ChartDependencyStatus; bytes: Buffer }[] = [];
    for (const m of missing) {
      const alias = repositoryAlias(m.repository);
      const want = normalizeRepoUrl(m.url);
      const repo = alias !== undefined ? repos.find((r) => r.metadata?.name === alias) : repos.find((r) => normalizeRepoUrl(r.spec.url) === want);
      const dep = `dependency "${m.name}" ${m.pinned ? `version ${m.pinned} (pinned by the lock file)` : `version "${m.range}"`}`;
      if (!repo) {
        throw new HelmSourceError(
          "DependencyRepositoryNotFound",
          `${what}: ${dep} comes from ${scrub(m.url)}, and no HelmRepository in namespace ${ns} has that spec.url; create one for it (with spec.secretRef if it needs credentials)`,
        );
      }
      const from = `${what}: ${dep} from HelmRepository ${repo.metadata?.name}`;
      try {
        let got: { bytes: Buffer; digest: string; version: string };
        if (isOci(repo)) {
          const { client, creds } = await this.ociClient(repo, m.name, signal);
          this.stats.indexFetches++;
          // As helm: an exact version is read as its tag, with no tag listing.
          const tag = m.pinned ? m.pinned.replace(/\+/g, "_") : (await resolveOci(client, repo.spec.url, m.name, m.range!, creds)).tag;
          const layer = await ociLayer(client, repo.spec.url, m.name, tag, creds).catch((err: unknown) => {
            if (m.pinned && err instanceof HelmSourceError && err.reason === "ChartNotFound") throw new HelmSourceError("NoMatchingVersion", `the registry has no version ${m.pinned} of chart "${m.name}" (${err.message})`);
            throw err;
          });
          const kept = await stored(`${m.name}-${layer.version}.tgz`, layer.layer);
          const d = kept ? { bytes: kept, digest: layer.layer } : await downloadOciChart(client, repo.spec.url, m.name, layer, maxBytes);
          got = { bytes: d.bytes, digest: d.digest, version: layer.version };
          if (!kept) this.stats.dependencyDownloads++;
        } else {
          const key = repo.metadata?.name ?? "";
          if (!indexes.has(key)) indexes.set(key, this.readIndex(repo, signal));
          const { index, creds, ca } = await indexes.get(key)!;
          const e = m.pinned ? pinnedEntry(index, m.name, m.pinned) : resolveVersion(index, m.name, m.range!);
          const timeoutMs = parseDuration(repo.spec.timeout ?? HelmRepositoryDefaults.timeout);
          // Only a dependency the index gives a digest for is taken from the stored chart (that digest is checked).
          const indexDigest = e.digest ? `sha256:${e.digest.replace(/^sha256:/, "").toLowerCase()}` : undefined;
          const kept = indexDigest ? await stored(`${m.name}-${e.version}.tgz`, indexDigest) : undefined;
          const d = kept ? { bytes: kept, digest: indexDigest! } : await downloadChart(index, m.name, e, repo.spec.url, { creds, ca, timeoutMs, signal, maxBytes });
          got = { bytes: d.bytes, digest: d.digest, version: e.version };
          if (!kept) this.stats.dependencyDownloads++;
        }
        out.push({ status: { name: m.name, version: got.version, repository: m.repository, helmRepository: repo.metadata?.name ?? "", digest: got.digest }, bytes: got.bytes });
      } catch (err) {
        if (err instanceof HelmSourceError) throw new HelmSourceError(err.reason, `${from}: ${err.message}`, { cause: err });
        throw err;
      }
    }
    return out;
  }

  /** The version spec.version selects and how to download it: from an OCI registry (tags, then the manifest's chart layer) or an index. */
  private async resolve(repo: HelmRepositoryObject, chart: HelmChartObject, signal: AbortSignal): Promise<{ entry: { version: string; digest?: string }; download: Download }> {
    const range = chart.spec.version ?? HelmChartDefaults.version;
    const maxChartBytes = this.opts.maxChartBytes ?? DEFAULT_MAX_CHART_BYTES;
    if (isOci(repo)) {
      // The layer is downloaded only when new.
      const { client, creds } = await this.ociClient(repo, chart.spec.chart, signal);
      this.stats.indexFetches++;
      const { tag } = await resolveOci(client, repo.spec.url, chart.spec.chart, range, creds);
      const layer = await ociLayer(client, repo.spec.url, chart.spec.chart, tag, creds);
      return { entry: layer, download: () => downloadOciChart(client, repo.spec.url, chart.spec.chart, layer, maxChartBytes) };
    }
    const { index, creds, ca } = await this.readIndex(repo, signal);
    const e = resolveVersion(index, chart.spec.chart, range);
    const timeoutMs = parseDuration(repo.spec.timeout ?? HelmRepositoryDefaults.timeout);
    return { entry: e, download: () => downloadChart(index, chart.spec.chart, e, repo.spec.url, { creds, ca, timeoutMs, signal, maxBytes: maxChartBytes }) };
  }

  /** Downloads the chart, stores it (verified against the downloaded digest) and records it in `status`. */
  private async store(chart: HelmChartObject, at: { fkey: string; status: Status; version: string; previousDigest: string | undefined }, download: Download): Promise<void> {
    this.stats.chartDownloads++;
    const got = await download();
    const art = await this.opts.storage.write(chartKey(chart), single(got.bytes), ".tgz");
    if (art.digest !== got.digest) throw new Error(`stored chart digest ${art.digest} differs from the downloaded ${got.digest}`);
    const artifact: ChartArtifact = { url: artifactUrl(this.opts.advertisedAddr, art.path), revision: at.version, digest: art.digest, size: art.size, lastUpdateTime: metaTime(Date.now()) };
    at.status.artifact = artifact;
    at.status.chartName = got.chartName;
    this.lastStored.set(at.fkey, { artifact, chartName: got.chartName, generation: chart.metadata?.generation });
    if (at.previousDigest !== art.digest) this.events.normal(chart, "NewArtifact", "FetchChart", `stored chart ${chart.spec.chart} version ${at.version} (${art.digest})`);
  }

  /** Ready=True with `message` (and `extra`), FetchFailed removed, the failure count reset. */
  private succeeded(conditions: Condition[] | undefined, fkey: string, gen: number | undefined, message: string, extra?: Omit<Condition, "lastTransitionTime">): Condition[] {
    let out = setCondition(conditions, { type: ConditionTypes.ready, status: "True", reason: Reasons.succeeded, message, observedGeneration: gen });
    if (extra) out = setCondition(out, extra);
    this.failures.delete(fkey);
    return removeCondition(out, ConditionTypes.fetchFailed);
  }

  /** Ready=False and FetchFailed=True with the failure's reason (and `extra`); a warning when the message is new; the retry. */
  private failed(
    at: { obj: KubeObject; conditions: Condition[] | undefined; fkey: string; gen: number | undefined; interval: string },
    err: HelmSourceError,
    message: string,
    action: string,
    extra?: Omit<Condition, "lastTransitionTime">,
  ): { conditions: Condition[]; result: Result } {
    const old = at.conditions?.find((c) => c.type === ConditionTypes.fetchFailed)?.message;
    let conditions = setCondition(at.conditions, { type: ConditionTypes.ready, status: "False", reason: err.reason, message, observedGeneration: at.gen });
    conditions = setCondition(conditions, { type: ConditionTypes.fetchFailed, status: "True", reason: err.reason, message, observedGeneration: at.gen });
    if (extra) conditions = setCondition(conditions, extra);
    if (old !== message) this.events.warning(at.obj, err.reason, action, message);
    return { conditions, result: err.retryable ? this.backoff(at.fkey, at.interval) : {} };
  }

  private every(interval: string): Result {
    return { requeueAfter: Math.round(parseDuration(interval) * (1 + (this.opts.jitter ?? 0.1) * (this.opts.random ?? Math.random)())) };
  }

  private backoff(key: string, interval: string): Result {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return { requeueAfter: Math.min(parseDuration(interval), (this.opts.failureBackoffMs ?? 5_000) * 2 ** Math.min(n - 1, 16)) };
  }

  /** Credentials and CA of a HelmRepository (its Secrets read live, never cached or logged). */
  private async access(repo: HelmRepositoryObject): Promise<{ creds?: Credentials; ca?: string }> {
    const ns = repo.metadata!.namespace!;
    const read = async (name: string) => (await this.mgr.client.live().get<KubeObject & { data?: Record<string, string> }>(Kinds.Secret, name, ns))?.data;
    const out: { creds?: Credentials; ca?: string } = {};
    try {
      if (repo.spec.secretRef) {
        out.creds = credentialsFromSecret(await read(repo.spec.secretRef.name), repo.spec.secretRef.name);
        if (out.creds.caCert) out.ca = out.creds.caCert;
      }
      if (repo.spec.certSecretRef) {
        const name = repo.spec.certSecretRef.name;
        const data = await read(name);
        const ca = data?.["ca.crt"] ? Buffer.from(data["ca.crt"], "base64").toString("utf8") : undefined;
        if (!data) throw new HelmSourceError("CredentialsInvalid", `Secret "${name}" named by spec.certSecretRef not found; create it or remove spec.certSecretRef`);
        if (!ca?.includes("-----BEGIN CERTIFICATE-----")) throw new HelmSourceError("CredentialsInvalid", `Secret "${name}" named by spec.certSecretRef has no PEM certificate in key ca.crt`);
        out.ca = ca;
      }
    } catch (err) {
      if (isSourceError(err)) throw new HelmSourceError("CredentialsInvalid", err.message);
      throw err;
    }
    return out;
  }

  private async ociClient(repo: HelmRepositoryObject, chart: string, signal: AbortSignal) {
    const a = await this.access(repo);
    const timeoutMs = parseDuration(repo.spec.timeout ?? HelmRepositoryDefaults.timeout);
    return { client: new OciClient(ociRef(repo.spec.url, chart).host, { ...a, timeoutMs, signal }), ...a };
  }

  /** An OCI registry is Ready when its API root answers, with the credentials; the Ready message. */
  private async pingRegistry(repo: HelmRepositoryObject, signal: AbortSignal): Promise<string> {
    const { client, creds } = await this.ociClient(repo, "x", signal);
    const host = ociRef(repo.spec.url, "x").host;
    this.stats.indexFetches++;
    const ping = await client.get("/v2/", { what: "index" });
    if (ping.status === 401 || ping.status === 403) throw new HelmSourceError("AuthenticationFailed", `the registry ${host} answered HTTP ${ping.status}: ${creds ? "the credentials in spec.secretRef were refused" : "it needs credentials; set spec.secretRef"}`);
    if (ping.status !== 200) throw new HelmSourceError("RepositoryUnreachable", `the registry ${host} answered HTTP ${ping.status} at /v2/`);
    return `OCI registry ${host} answers`;
  }

  private async readIndex(repo: HelmRepositoryObject, signal: AbortSignal): Promise<{ index: RepositoryIndex; creds?: Credentials; ca?: string }> {
    const a = await this.access(repo);
    const timeoutMs = parseDuration(repo.spec.timeout ?? HelmRepositoryDefaults.timeout);
    this.stats.indexFetches++;
    const { index } = await fetchIndex(repo.spec.url, { ...a, timeoutMs, signal });
    return { index, ...a };
  }

  /** Status by server-side apply as mooring-source, only when it differs from the object's. */
  private async writeStatus(obj: KubeObject & { status?: object }, status: Status, signal: AbortSignal): Promise<void> {
    if (stable(obj.status ?? {}) === stable(status)) return;
    await this.mgr.client.applyStatus({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata!.name, namespace: obj.metadata!.namespace }, status } as KubeObject, {
      fieldManager: FieldManagers.source,
      signal,
    });
  }
}

/** The Ready message of a chart built from Git: what was stored, from which revision, with which downloaded dependencies. */
function gitMessage(name: string, version: string, from: string, deps: ChartDependencyStatus[]): string {
  const list = deps.map((d) => `${d.name} ${d.version} from ${d.helmRepository}`).join(", ");
  return `stored chart ${name} version ${version} built from ${from}${deps.length ? `; dependencies downloaded and verified: ${list}` : ""}`;
}

/** The first 12 hex digits of the commit in a Git revision (`main@sha1:<hex>`), as Flux writes a chart version built from Git. */
function shortCommit(revision: string): string {
  return /sha1:([0-9a-f]{12})/.exec(revision)?.[1] ?? /([0-9a-f]{12})[0-9a-f]*$/.exec(revision)?.[1] ?? "git";
}

/** The storage-relative path of an artifact URL this controller built (undefined for another server's). */
function relPath(url: string, advertisedAddr: string): string | undefined {
  const base = artifactUrl(advertisedAddr, "");
  if (!url.startsWith(base)) return undefined;
  return url.slice(base.length).split("/").map(decodeURIComponent).join("/");
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
