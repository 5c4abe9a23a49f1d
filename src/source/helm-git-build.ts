// A HelmChart whose source is a GitRepository, built: the chart directory of the GitRepository's artifact, with each
// dependency missing from charts/ downloaded from the HelmRepository whose spec.url is the dependency's repository (or
// that `@name` names), at the version Chart.lock pins (else the newest in Chart.yaml's range), verified and
// size-bounded, and packaged. Built again only when the GitRepository's artifact, the spec or a reconcile request is
// new: a poll with nothing new reads nothing. Storing the package is the reconciler's (./helm-reconcile.ts).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DownloadError, download as downloadArtifact, sha256Digest } from "../artifact/download.js";
import { Annotations, ConditionTypes, GitRepositoryKind, HelmRepositoryKind, type GitRepository } from "../api/index.js";
import type { Client, KubeObject } from "../runtime/index.js";
import { scrub } from "./errors.js";
import { isOci, type HelmFetcher, type Fetched, type Kept, type ReadIndex } from "./helm-fetch.js";
import { normalizeRepoUrl, parseChartMeta, parseLock, planDependencies, repositoryAlias, type ChartLock, type ChartMeta, type MissingDependency } from "./helm-deps.js";
import { chartDirOf, extractDir, packageChart, treeText, vendoredNames, type TreeFile } from "./helm-git.js";
import { HelmSourceError, MAX_CHART_CONTENT_BYTES, type DownloadedChart } from "./helm-repo.js";
import type { ChartStore } from "./helm-store.js";
import { gitMessage, type ChartDependencyStatus, type GitBuild, type HelmChartObject, type HelmChartStatus, type HelmRepositoryObject } from "./helm-status.js";

type GitRepositoryObject = GitRepository & KubeObject;
type Files = Map<string, TreeFile>;
interface Dependency {
  status: ChartDependencyStatus;
  bytes: Buffer;
}
/** The GitRepository artifact a chart is built from, and how messages name what is built. */
interface Source {
  ns: string;
  name: string;
  art: { url: string; digest: string; revision: string };
  dir: string;
  what: string;
}

/** Where the build starts: the HelmChart's last status, whether its chart is still stored, the generation it answers. */
export interface GitChartStart {
  old: HelmChartStatus;
  stored: boolean;
  gen: number | undefined;
}

/** Nothing new (the Ready message as it was), or a chart to store: its package, version and what it was built from. */
export type GitChartBuild = { kind: "unchanged"; message: string } | { kind: "built"; chart: DownloadedChart; version: string; build: GitBuild; message: (version: string) => string };

export interface GitChartBuilderOptions {
  /** Largest GitRepository artifact read (default 1 GiB; written to a temporary file, not held in memory). */
  maxSourceArtifactBytes?: number;
  /** Deadline of that download (default 5 minutes). */
  sourceArtifactTimeoutMs?: number;
}

export class GitChartBuilder {
  constructor(
    private readonly client: Client,
    private readonly fetcher: HelmFetcher,
    private readonly charts: ChartStore,
    private readonly opts: GitChartBuilderOptions = {},
  ) {}

  /** The chart of `chart`'s GitRepository, unless nothing it is built from is new. */
  async build(chart: HelmChartObject, at: GitChartStart, signal: AbortSignal): Promise<GitChartBuild> {
    const src = await this.source(chart);
    const old = at.old;
    if (upToDate(chart, at, src)) {
      return { kind: "unchanged", message: gitMessage(old.chartName ?? src.dir, old.artifact?.revision ?? "", old.observedSourceArtifactRevision ?? "", old.dependencies ?? []) };
    }
    this.fetcher.stats.gitBuilds++;
    const tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-helmgit-"));
    try {
      const files = await this.sourceFiles(src, path.join(tmp, "source.tar.gz"), signal);
      const { meta, lock } = readChart(files, src);
      const repos = await this.client.list<HelmRepositoryObject>(HelmRepositoryKind, { namespace: src.ns });
      const plan = planDependencies(meta, lock, await vendoredNames(files), (name) => repos.find((r) => r.metadata?.name === name)?.spec.url, src.what);
      const deps = await this.dependencies(plan.missing, repos, src, signal, this.previousDependencies(at.stored ? old : undefined));
      checkSize(files, deps, src.what);
      const tgz = await packageChart(meta.name, files, deps.map((d) => ({ file: `${d.status.name}-${d.status.version}.tgz`, bytes: d.bytes })), src.what);
      const build: GitBuild = { observedSourceArtifactRevision: src.art.revision, observedSourceArtifactDigest: src.art.digest, dependencies: deps.map((d) => d.status) };
      const version = `${meta.version}+${shortCommit(src.art.revision)}`;
      return { kind: "built", chart: { bytes: tgz, digest: sha256Digest(tgz), chartName: meta.name }, version, build, message: (v) => gitMessage(meta.name, v, src.art.revision, build.dependencies) };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The GitRepository spec.sourceRef names, with an artifact. */
  private async source(chart: HelmChartObject): Promise<Source> {
    const ns = chart.metadata!.namespace!;
    const name = chart.spec.sourceRef.name;
    const git = await this.client.get<GitRepositoryObject>(GitRepositoryKind, name, ns);
    if (!git) throw new HelmSourceError("SourceNotFound", `GitRepository ${ns}/${name} (spec.sourceRef) does not exist; create it or fix spec.sourceRef`);
    const art = git.status?.artifact;
    if (!art?.url || !art.digest) {
      const why = git.status?.conditions?.find((c) => c.type === ConditionTypes.ready && c.status === "False")?.message;
      throw new HelmSourceError("SourceNotReady", `GitRepository ${ns}/${name} has no artifact yet${why ? `: ${why}` : ""}`);
    }
    const dir = chartDirOf(chart.spec.chart);
    return { ns, name, art: { url: art.url, digest: art.digest, revision: art.revision }, dir, what: `chart ${dir || "."} of GitRepository ${ns}/${name} at ${art.revision}` };
  }

  /** The chart directory of the GitRepository's artifact (downloaded to `file`, bounded and verified). */
  private async sourceFiles(src: Source, file: string, signal: AbortSignal): Promise<Files> {
    try {
      await downloadArtifact(src.art.url, { maxBytes: this.opts.maxSourceArtifactBytes ?? 1024 ** 3, timeoutMs: this.opts.sourceArtifactTimeoutMs ?? 300_000, signal, digest: src.art.digest, file });
    } catch (err) {
      if (!(err instanceof DownloadError)) throw err;
      throw new HelmSourceError("SourceNotReady", `cannot read the artifact of GitRepository ${src.ns}/${src.name} (${src.art.revision}): ${err.message}`, { cause: err });
    }
    return extractDir(file, src.dir, src.what);
  }

  /**
   * The dependencies in the chart stored last, by file name, read from storage once when first asked for: a rebuild
   * (a new commit) takes a dependency with the same version and digest from there instead of downloading it again.
   */
  private previousDependencies(old: HelmChartStatus | undefined): Kept {
    if (!old?.artifact || !old.chartName || !old.dependencies?.length) return () => Promise.resolve(undefined);
    const { artifact, chartName } = old;
    let files: Promise<Files | undefined> | undefined;
    return async (file, digest) => {
      files ??= this.charts.files(artifact, `${chartName}/charts`);
      const f = (await files)?.get(file);
      return f?.type === "file" && sha256Digest(f.data) === digest ? f.data : undefined;
    };
  }

  /**
   * Downloads the dependencies a chart from Git misses, each from its HelmRepository (or takes it from the chart
   * stored last when its version and digest are unchanged); every failure names the chart and the dependency.
   */
  private async dependencies(missing: MissingDependency[], repos: HelmRepositoryObject[], src: Source, signal: AbortSignal, kept: Kept): Promise<Dependency[]> {
    const indexes = new Map<string, Promise<ReadIndex>>();
    const out: Dependency[] = [];
    for (const m of missing) {
      const dep = `dependency "${m.name}" ${m.pinned ? `version ${m.pinned} (pinned by the lock file)` : `version "${m.range}"`}`;
      const repo = repositoryOf(m, repos);
      if (!repo) {
        throw new HelmSourceError(
          "DependencyRepositoryNotFound",
          `${src.what}: ${dep} comes from ${scrub(m.url)}, and no HelmRepository in namespace ${src.ns} has that spec.url; create one for it (with spec.secretRef if it needs credentials)`,
        );
      }
      let got: Fetched;
      try {
        got = await this.dependency(repo, m, indexes, signal, kept);
      } catch (err) {
        if (err instanceof HelmSourceError) throw new HelmSourceError(err.reason, `${src.what}: ${dep} from HelmRepository ${repo.metadata?.name}: ${err.message}`, { cause: err });
        throw err;
      }
      out.push({ status: { name: m.name, version: got.version, repository: m.repository, helmRepository: repo.metadata?.name ?? "", digest: got.digest }, bytes: got.bytes });
    }
    return out;
  }

  /** One dependency, from a registry or an index (each index read once per build). */
  private dependency(repo: HelmRepositoryObject, m: MissingDependency, indexes: Map<string, Promise<ReadIndex>>, signal: AbortSignal, kept: Kept): Promise<Fetched> {
    if (isOci(repo)) return this.fetcher.registryDependency(repo, m, signal, kept);
    const key = repo.metadata?.name ?? "";
    if (!indexes.has(key)) indexes.set(key, this.fetcher.readIndex(repo, signal));
    return indexes.get(key)!.then((read) => this.fetcher.indexDependency(repo, read, m, signal, kept));
  }
}

/** Whether the chart stored last was built from this artifact, for this generation and every reconcile request. */
function upToDate(chart: HelmChartObject, { old, stored, gen }: GitChartStart, src: Source): boolean {
  const requested = chart.metadata?.annotations?.[Annotations.reconcileRequestedAt];
  return stored && old.observedSourceArtifactDigest === src.art.digest && old.observedGeneration === gen && (!requested || requested === old.lastHandledReconcileAt);
}

/** Chart.yaml (with requirements.yaml for apiVersion v1) and its lock file, if any. */
function readChart(files: Files, { dir, what, ns, name, art }: Source): { meta: ChartMeta; lock?: ChartLock } {
  const at = (f: string) => (dir ? `${dir}/${f}` : f);
  const chartYaml = treeText(files, "Chart.yaml", what);
  if (chartYaml === undefined) {
    throw new HelmSourceError("ChartNotFound", `GitRepository ${ns}/${name} at ${art.revision} has no Chart.yaml in ${dir ? `${dir}/` : "its root"}; spec.chart must be the chart's directory`);
  }
  const requirements = treeText(files, "requirements.yaml", what);
  const meta = parseChartMeta(chartYaml, at("Chart.yaml"), requirements !== undefined ? { text: requirements, file: at("requirements.yaml") } : undefined);
  const lockName = meta.apiVersion === "v1" ? "requirements.lock" : "Chart.lock";
  const lockText = treeText(files, lockName, what);
  return { meta, lock: lockText !== undefined ? parseLock(lockText, at(lockName)) : undefined };
}

/** The HelmRepository a dependency comes from: the one `@name` names, else the one whose spec.url is its repository. */
function repositoryOf(m: MissingDependency, repos: HelmRepositoryObject[]): HelmRepositoryObject | undefined {
  const alias = repositoryAlias(m.repository);
  if (alias !== undefined) return repos.find((r) => r.metadata?.name === alias);
  const want = normalizeRepoUrl(m.url);
  return repos.find((r) => normalizeRepoUrl(r.spec.url) === want);
}

/** The chart's files and its dependencies together stay within what Helm reads from a chart. */
function checkSize(files: Files, deps: Dependency[], what: string): void {
  let total = [...files.values()].reduce((n, f) => n + (f.type === "file" ? f.data.length : 0), 0);
  for (const d of deps) {
    total += d.bytes.length;
    if (total > MAX_CHART_CONTENT_BYTES) throw new HelmSourceError("ChartTooLarge", `${what}: the chart with its dependencies holds more than ${MAX_CHART_CONTENT_BYTES} bytes`);
  }
}

/** The first 12 hex digits of the commit in a Git revision (`main@sha1:<hex>`), as Flux writes a chart version built from Git. */
function shortCommit(revision: string): string {
  return /sha1:([0-9a-f]{12})/.exec(revision)?.[1] ?? /([0-9a-f]{12})[0-9a-f]*$/.exec(revision)?.[1] ?? "git";
}
