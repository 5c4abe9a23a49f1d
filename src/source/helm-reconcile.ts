// The reconciles of the HelmRepository and HelmChart controllers (./helmchart.ts sets them up): both start from the
// last status, end in one status write, and report a failure the same way (Ready=False and FetchFailed with the
// failure's reason, an event when the message is new, a retry backed off up to the interval when it may pass).
import { artifactUrl, type ArtifactStorage, type ArtifactKey, StorageError } from "../artifact/storage.js";
import {
  Annotations,
  ConditionTypes,
  FieldManagers,
  HelmChartDefaults,
  HelmChartKind,
  HelmRepositoryDefaults,
  HelmRepositoryKind,
  Reasons,
  parseDuration,
  type HelmChart,
  type HelmRepository,
} from "../api/index.js";
import { Kinds, metaTime, removeCondition, setCondition, type Condition, type EventRecorder, type KubeObject, type Manager, type ReconcileContext, type Request, type Result } from "../runtime/index.js";
import { credentialsFromSecret, type Credentials } from "./credentials.js";
import { isSourceError, scrub } from "./errors.js";
import { OciClient, downloadOciChart, ociLayer, ociRef, resolveOci } from "./helm-oci.js";
import { DEFAULT_MAX_CHART_BYTES, HelmSourceError, downloadChart, fetchIndex, resolveVersion, type HelmStats, type RepositoryIndex } from "./helm-repo.js";

export type HelmRepositoryObject = HelmRepository & KubeObject;
export type HelmChartObject = HelmChart & KubeObject;
type ChartArtifact = NonNullable<NonNullable<HelmChart["status"]>["artifact"]>;
type Status = Record<string, unknown>;
type Download = () => Promise<{ bytes: Buffer; digest: string; chartName: string }>;

export interface HelmControllerOptions {
  storage: ArtifactStorage;
  /** host:port (or base URL) consumers use to download artifacts. */
  advertisedAddr: string;
  /** Largest chart .tgz accepted (--max-chart-size, default 10 MiB). */
  maxChartBytes?: number;
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
  readonly stats: HelmStats = { indexFetches: 0, chartDownloads: 0 };
  private readonly events: EventRecorder;
  private readonly failures = new Map<string, number>();
  // The artifact last stored per HelmChart: the cache may not show our own status write yet when the next reconcile
  // runs, and a stale status must not cost a second download of the same chart.
  private readonly lastStored = new Map<string, { artifact: ChartArtifact; chartName: string; generation?: number }>();

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
    }
    const stored = prev.artifact ? await this.opts.storage.exists(relPath(prev.artifact.url, this.opts.advertisedAddr) ?? "", prev.artifact.digest) : false;
    let result: Result;
    try {
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

/** The storage-relative path of an artifact URL this controller built (undefined for another server's). */
function relPath(url: string, advertisedAddr: string): string | undefined {
  const base = artifactUrl(advertisedAddr, "");
  if (!url.startsWith(base)) return undefined;
  return url.slice(base.length).split("/").map(decodeURIComponent).join("/");
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
