// The reconciles of the HelmRepository and HelmChart controllers (./helmchart.ts sets them up), in named steps:
//   guards (gone, deleting, suspended) → the last status (a StatusWriter's: the cache may not show our own last
//   write yet) → read the repository, or resolve, download or build, and store the chart → the status, computed once
//   from the result or the failure (./helm-status.ts, pure) → one status write (server-side apply as mooring-source,
//   only when the status changed) → the requeue (the interval, or a jittered backoff after a retryable failure).
// Failures keep the last good index or chart in status and on disk, and say why in FetchFailed (an event when the
// message is new). An error that is not a HelmSourceError or StorageError is a bug: thrown, no status written.
import type { ArtifactStorage } from "../artifact/storage.js";
import { FieldManagers, HelmChartDefaults, HelmChartKind, HelmRepositoryDefaults, HelmRepositoryKind, parseDuration } from "../api/index.js";
import { PollingBackoff, StatusWriter, type Condition, type EventRecorder, type KubeObject, type Manager, type ReconcileContext, type Request, type Result } from "../runtime/index.js";
import { HelmFetcher, isOci, sha256Of } from "./helm-fetch.js";
import { GitChartBuilder, type GitChartStart } from "./helm-git-build.js";
import { DEFAULT_MAX_CHART_BYTES, HelmSourceError, type DownloadedChart, type HelmStats } from "./helm-repo.js";
import { ChartStore } from "./helm-store.js";
import {
  chartFailed,
  chartFetched,
  helmFailure,
  isNewFailure,
  repositoryFailed,
  repositoryRead,
  startStatus,
  type ChartFetched,
  type HelmChartObject,
  type HelmChartStatus,
  type HelmFailure,
  type HelmRepositoryObject,
  type HelmRepositoryStatus,
  type RepositoryRead,
} from "./helm-status.js";

export type { HelmChartObject, HelmRepositoryObject } from "./helm-status.js";
export { chartKey } from "./helm-store.js";

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
  /** Fraction of each requeue added at random (default 0.1). */
  jitter?: number;
  random?: () => number;
}

/** What a HelmChart reconcile starts from: the last status, the one being built, whether its chart is still stored. */
interface ChartAttempt extends GitChartStart {
  status: HelmChartStatus;
}

export class HelmReconciler {
  readonly stats: HelmStats = { indexFetches: 0, chartDownloads: 0, gitBuilds: 0, dependencyDownloads: 0 };
  private readonly events: EventRecorder;
  private readonly fetcher: HelmFetcher;
  private readonly charts: ChartStore;
  private readonly builder: GitChartBuilder;
  private readonly repositoryStatus: StatusWriter<HelmRepositoryStatus>;
  private readonly chartStatus: StatusWriter<HelmChartStatus>;
  // A network blip is retried in seconds, not after a whole interval; a server that stays down is asked less and
  // less often (never less than once per interval).
  private readonly backoff: PollingBackoff;

  constructor(
    private readonly mgr: Manager,
    opts: HelmControllerOptions,
  ) {
    this.events = mgr.eventRecorder(FieldManagers.source);
    this.fetcher = new HelmFetcher(mgr.client.live(), this.stats, opts.maxChartBytes ?? DEFAULT_MAX_CHART_BYTES);
    this.charts = new ChartStore(opts.storage, opts.advertisedAddr);
    this.builder = new GitChartBuilder(mgr.client, this.fetcher, this.charts, opts);
    this.repositoryStatus = new StatusWriter({ client: mgr.client, fieldManager: FieldManagers.source });
    this.chartStatus = new StatusWriter({ client: mgr.client, fieldManager: FieldManagers.source });
    this.backoff = new PollingBackoff({ firstRetryMs: opts.failureBackoffMs, jitter: opts.jitter, random: opts.random });
  }

  /** HelmRepository: the index, read each interval (an OCI registry has none: Ready when it answers). */
  async repository(req: Request, ctx: ReconcileContext): Promise<Result> {
    const repo = await this.mgr.client.get<HelmRepositoryObject>(HelmRepositoryKind, req.name, req.namespace);
    const key = `${HelmRepositoryKind.kind}/${req.namespace}/${req.name}`;
    if (!repo) return this.gone(key, this.repositoryStatus, req);
    if (repo.metadata?.deletionTimestamp || repo.spec.suspend) return {};
    const old = this.repositoryStatus.current(repo);
    const start = startStatus(repo, old);
    const stamp = { gen: repo.metadata?.generation, now: Date.now() };
    const { status, failure } = await this.attempt(
      { obj: repo, old, action: "FetchIndex", log: "cannot read the Helm repository index", ctx },
      async () => repositoryRead(start, await this.read(repo, ctx.signal), stamp),
      (f) => repositoryFailed(start, f, stamp),
    );
    await this.repositoryStatus.write(repo, status, { signal: ctx.signal });
    return this.requeue(key, repo.spec.interval ?? HelmRepositoryDefaults.interval, failure);
  }

  /** HelmChart: resolve, download once per digest (or build from Git when its source is new), store. */
  async chart(req: Request, ctx: ReconcileContext): Promise<Result> {
    const chart = await this.mgr.client.get<HelmChartObject>(HelmChartKind, req.name, req.namespace);
    const key = `${HelmChartKind.kind}/${req.namespace}/${req.name}`;
    if (!chart) {
      // No finalizer: the charts of a HelmChart are removed when its deletion is seen.
      await this.charts.remove(req);
      return this.gone(key, this.chartStatus, req);
    }
    if (chart.metadata?.deletionTimestamp || chart.spec.suspend) return {};
    const at = await this.chartAttempt(chart);
    const stamp = { gen: at.gen, now: Date.now() };
    const { status, failure } = await this.attempt(
      { obj: chart, old: at.old, action: "FetchChart", log: "cannot fetch the Helm chart", ctx },
      async () => chartFetched(at.status, await this.fetchChart(chart, at, ctx.signal), stamp),
      (f) => chartFailed(at.status, f, at.stored, stamp),
    );
    await this.chartStatus.write(chart, status, { signal: ctx.signal });
    return this.requeue(key, chart.spec.interval ?? HelmChartDefaults.interval, failure);
  }

  /** An object that is gone: what is remembered of it is dropped. */
  private gone(key: string, writer: StatusWriter<object>, req: Request): Result {
    this.backoff.forget(key);
    writer.forget(req);
    return {};
  }

  /**
   * The status `step` ends in; when it fails as status can say (a HelmSourceError or StorageError), the failure and
   * its status, reported: a warning event when FetchFailed says something new, and a log line.
   */
  private async attempt<S>(at: { obj: KubeObject; old: { conditions?: Condition[] }; action: string; log: string; ctx: ReconcileContext }, step: () => Promise<S>, failed: (f: HelmFailure) => S): Promise<{ status: S; failure?: HelmFailure }> {
    try {
      return { status: await step() };
    } catch (err) {
      const failure = helmFailure(err);
      if (isNewFailure(at.old, failure)) this.events.warning(at.obj, failure.reason, at.action, failure.message);
      at.ctx.log.info(at.log, { reason: failure.reason, error: failure.message });
      return { status: failed(failure), failure };
    }
  }

  /** The index, or (OCI) whether the registry answers. */
  private async read(repo: HelmRepositoryObject, signal: AbortSignal): Promise<RepositoryRead> {
    if (isOci(repo)) return { kind: "registry", message: await this.fetcher.pingRegistry(repo, signal) };
    const { index } = await this.fetcher.readIndex(repo, signal);
    return { kind: "index", digest: index.digest, charts: index.entries.size };
  }

  private async chartAttempt(chart: HelmChartObject): Promise<ChartAttempt> {
    const old = this.chartStatus.current(chart);
    return { old, status: startStatus(chart, old), stored: await this.charts.exists(old.artifact), gen: chart.metadata?.generation };
  }

  /** The chart of spec.sourceRef: built from a GitRepository, or from a HelmRepository's index or registry. */
  private fetchChart(chart: HelmChartObject, at: ChartAttempt, signal: AbortSignal): Promise<ChartFetched> {
    return chart.spec.sourceRef.kind === "GitRepository" ? this.chartFromGit(chart, at, signal) : this.chartFromRepository(chart, at, signal);
  }

  /** Built when its source is new; stored only when the bytes differ (an unrelated commit stores nothing and re-renders nothing). */
  private async chartFromGit(chart: HelmChartObject, at: ChartAttempt, signal: AbortSignal): Promise<ChartFetched> {
    const built = await this.builder.build(chart, at, signal);
    if (built.kind === "unchanged") return { message: built.message };
    const last = at.old.artifact;
    const same = at.stored && last?.digest === built.chart.digest;
    const stored = same ? undefined : await this.store(chart, at, built.version, () => Promise.resolve(built.chart));
    return { message: built.message((stored?.artifact ?? last)?.revision ?? ""), stored, git: built.build };
  }

  /** The version spec.version selects, downloaded unless that version with that digest is what is stored. */
  private async chartFromRepository(chart: HelmChartObject, at: ChartAttempt, signal: AbortSignal): Promise<ChartFetched> {
    const ns = chart.metadata?.namespace ?? "";
    const repo = await this.mgr.client.get<HelmRepositoryObject>(HelmRepositoryKind, chart.spec.sourceRef.name, ns);
    if (!repo) throw new HelmSourceError("RepositoryNotFound", `HelmRepository ${ns}/${chart.spec.sourceRef.name} (spec.sourceRef) does not exist; create it or fix spec.sourceRef`);
    const { entry, download } = await this.fetcher.resolveChart(repo, chart, signal);
    const a = at.old.artifact;
    const unchanged = at.stored && a?.revision === entry.version && (!entry.digest || a.digest === sha256Of(entry.digest)) && at.old.observedGeneration === at.gen;
    const stored = unchanged ? undefined : await this.store(chart, at, entry.version, download);
    const verified = entry.digest ? ` (digest verified against the ${isOci(repo) ? "manifest" : "index"})` : "";
    return { message: `stored chart ${chart.spec.chart} version ${entry.version}${verified}`, stored };
  }

  /** Downloads (or takes the built) chart and stores it; an event when its digest is new. */
  private async store(chart: HelmChartObject, at: ChartAttempt, version: string, download: () => Promise<DownloadedChart>): Promise<ChartFetched["stored"]> {
    this.stats.chartDownloads++;
    const stored = await this.charts.write(chart, version, await download());
    if (at.old.artifact?.digest !== stored.artifact.digest) this.events.normal(chart, "NewArtifact", "FetchChart", `stored chart ${chart.spec.chart} version ${version} (${stored.artifact.digest})`);
    return stored;
  }

  /** The next reconcile: one interval after a success; backed off after a retryable failure; none after another. */
  private requeue(key: string, interval: string, failure: HelmFailure | undefined): Result {
    const ms = parseDuration(interval);
    if (!failure) return { requeueAfter: this.backoff.success(key, ms) };
    return failure.retryable ? { requeueAfter: this.backoff.failure(key, ms) } : {};
  }
}
