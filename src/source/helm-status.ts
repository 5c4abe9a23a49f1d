// The status of HelmRepositories and HelmCharts as pure functions of where a reconcile started and how it ended:
// the reconciler (./helm-reconcile.ts) reads, runs its steps, calls these and writes the result once.
// Success: Ready=True and FetchFailed removed. Failure: Ready=False and FetchFailed=True with the failure's reason;
// the last good index or chart stays in status. A HelmChart also says whether a chart is stored (ArtifactInStorage).
import { StorageError } from "../artifact/storage.js";
import { Annotations, ConditionTypes, Reasons, type HelmChart, type HelmChartStatus, type HelmRepository } from "../api/index.js";
import { getCondition, metaTime, removeCondition, setCondition, type Condition, type KubeObject } from "../runtime/index.js";
import { scrub } from "./errors.js";
import { HelmSourceError } from "./helm-repo.js";

export type HelmRepositoryObject = HelmRepository & KubeObject;
export type HelmChartObject = HelmChart & KubeObject;
export type HelmRepositoryStatus = NonNullable<HelmRepository["status"]>;
export type { HelmChartStatus };
export type ChartArtifact = NonNullable<HelmChartStatus["artifact"]>;
export type ChartDependencyStatus = NonNullable<HelmChartStatus["dependencies"]>[number];

/** What a chart built from Git records besides its artifact (compared to decide whether to build again). */
export interface GitBuild {
  observedSourceArtifactRevision: string;
  observedSourceArtifactDigest: string;
  dependencies: ChartDependencyStatus[];
}

/** A failure as status reports it: the reason, a message without credentials, and whether a retry may help. */
export interface HelmFailure {
  reason: string;
  message: string;
  retryable: boolean;
}

/** What reading a HelmRepository found: an index (its digest and chart count), or an OCI registry that answers. */
export type RepositoryRead = { kind: "index"; digest: string; charts: number } | { kind: "registry"; message: string };

/** What fetching a HelmChart did: its Ready message, the chart stored now (if any), and what a chart from Git was built from. */
export interface ChartFetched {
  message: string;
  stored?: { artifact: ChartArtifact; chartName: string };
  git?: GitBuild;
}

/** Where a reconcile starts: the generation it answers and the clock it read. */
export interface Stamp {
  gen: number | undefined;
  now: number;
}

type Extra = Omit<Condition, "lastTransitionTime">;

/** The failure status reports for an error of these reconciles; anything else is a bug and is thrown again. */
export function helmFailure(err: unknown): HelmFailure {
  if (err instanceof HelmSourceError) return { reason: err.reason, message: scrub(err.message), retryable: err.retryable };
  if (err instanceof StorageError) return { reason: "StorageOperationFailed", message: scrub(err.message), retryable: true };
  throw err;
}

/** The status a reconcile starts from: the last one, with this generation observed and a reconcile request handled. */
export function startStatus<S extends object>(obj: KubeObject, old: S): S & { observedGeneration?: number; lastHandledReconcileAt?: string } {
  const status: S & { observedGeneration?: number; lastHandledReconcileAt?: string } = { ...old, observedGeneration: obj.metadata?.generation };
  const requested = obj.metadata?.annotations?.[Annotations.reconcileRequestedAt];
  if (requested) status.lastHandledReconcileAt = requested;
  return status;
}

/** Whether `failure` says something FetchFailed does not say yet (an event is recorded only then). */
export function isNewFailure(old: { conditions?: Condition[] }, failure: HelmFailure): boolean {
  return getCondition(old.conditions, ConditionTypes.fetchFailed)?.message !== failure.message;
}

/** HelmRepository read: the index (kept as it was when its digest is the same) or none for a registry; Ready. */
export function repositoryRead(start: HelmRepositoryStatus, read: RepositoryRead, { gen, now }: Stamp): HelmRepositoryStatus {
  const status = { ...start };
  let message: string;
  if (read.kind === "registry") {
    delete status.index;
    message = read.message;
  } else {
    if (start.index?.digest !== read.digest) status.index = { digest: read.digest, charts: read.charts, lastUpdateTime: metaTime(now) };
    message = `index with ${read.charts} chart${read.charts === 1 ? "" : "s"} (${read.digest.slice(0, 19)}…)`;
  }
  return { ...status, conditions: succeeded(status.conditions, gen, message, undefined, now) };
}

/** HelmRepository not read: Ready=False and FetchFailed; the last index stays. */
export function repositoryFailed(start: HelmRepositoryStatus, failure: HelmFailure, { gen, now }: Stamp): HelmRepositoryStatus {
  return { ...start, conditions: failed(start.conditions, gen, failure, undefined, now) };
}

/** HelmChart fetched: the chart stored now (else the last one), what it was built from, ArtifactInStorage and Ready. */
export function chartFetched(start: HelmChartStatus, fetched: ChartFetched, { gen, now }: Stamp): HelmChartStatus {
  const status: HelmChartStatus = { ...start, ...(fetched.stored ?? {}), ...(fetched.git ?? {}) };
  const inStorage: Extra = { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: `chart version ${status.artifact?.revision} is stored`, observedGeneration: gen };
  return { ...status, conditions: succeeded(status.conditions, gen, fetched.message, inStorage, now) };
}

/** HelmChart not fetched: Ready=False and FetchFailed; ArtifactInStorage says whether the last good chart is still served. */
export function chartFailed(start: HelmChartStatus, failure: HelmFailure, stored: boolean, { gen, now }: Stamp): HelmChartStatus {
  const inStorage: Extra = stored
    ? { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: `the last good chart (version ${start.artifact?.revision}) is still stored`, observedGeneration: gen }
    : { type: ConditionTypes.artifactInStorage, status: "False", reason: "NoArtifact", message: "no chart stored yet", observedGeneration: gen };
  return { ...start, conditions: failed(start.conditions, gen, failure, inStorage, now) };
}

/** The Ready message of a chart built from Git: what was stored, from which revision, with which downloaded dependencies. */
export function gitMessage(name: string, version: string, from: string, deps: ChartDependencyStatus[]): string {
  const list = deps.map((d) => `${d.name} ${d.version} from ${d.helmRepository}`).join(", ");
  return `stored chart ${name} version ${version} built from ${from}${deps.length ? `; dependencies downloaded and verified: ${list}` : ""}`;
}

/** Ready=True with `message` (and `extra`), FetchFailed removed. */
function succeeded(conditions: Condition[] | undefined, gen: number | undefined, message: string, extra: Extra | undefined, now: number): Condition[] {
  let out = setCondition(conditions, { type: ConditionTypes.ready, status: "True", reason: Reasons.succeeded, message, observedGeneration: gen }, now);
  if (extra) out = setCondition(out, extra, now);
  return removeCondition(out, ConditionTypes.fetchFailed);
}

/** Ready=False and FetchFailed=True with the failure's reason (and `extra`). */
function failed(conditions: Condition[] | undefined, gen: number | undefined, { reason, message }: HelmFailure, extra: Extra | undefined, now: number): Condition[] {
  let out = setCondition(conditions, { type: ConditionTypes.ready, status: "False", reason, message, observedGeneration: gen }, now);
  out = setCondition(out, { type: ConditionTypes.fetchFailed, status: "True", reason, message, observedGeneration: gen }, now);
  return extra ? setCondition(out, extra, now) : out;
}
