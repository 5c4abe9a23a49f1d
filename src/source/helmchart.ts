// The HelmRepository and HelmChart controllers (docs/source.md "Helm charts"), on the runtime library.
//   HelmRepository: reads <url>/index.yaml each interval; Ready with the index's digest and chart count, or why not.
//   HelmChart:      reads its repository's index, resolves spec.chart + spec.version to the newest matching version;
//                   the same version with the same digest already stored → nothing downloaded, nothing written;
//                   else downloads the .tgz (bounded), verifies it against the index's digest, finds the chart's
//                   directory, and stores the .tgz unchanged (content-addressed) as status.artifact.
// Failures keep the last good artifact and say why (Ready=False and FetchFailed with their own reason). Status is
// written by server-side apply as mooring-source, only when it changed. A HelmChart that is gone has its
// artifacts removed when its deletion is seen.
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
import {
  Kinds,
  generationChanged,
  metaTime,
  or,
  removeCondition,
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
import { credentialsFromSecret, type Credentials } from "./credentials.js";
import { isSourceError, scrub } from "./errors.js";
import { OciClient, downloadOciChart, ociLayer, ociRef, resolveOci } from "./helm-oci.js";
import { DEFAULT_MAX_CHART_BYTES, HelmSourceError, downloadChart, fetchIndex, resolveVersion, type HelmStats, type RepositoryIndex } from "./helm-repo.js";

type HelmRepositoryObject = HelmRepository & KubeObject;
type HelmChartObject = HelmChart & KubeObject;
type ChartArtifact = NonNullable<NonNullable<HelmChart["status"]>["artifact"]>;

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

export interface HelmControllers {
  repositories: Controller;
  charts: Controller;
  stats: HelmStats;
}

const INDEX_REPO = "mooring-source/helmrepository";

/** Requests that name a HelmChart: a spec change or a reconcile request (never a status write). */
const specOrRequest: Predicate = or(generationChanged, {
  update: (o, n) => o.metadata?.annotations?.[Annotations.reconcileRequestedAt] !== n.metadata?.annotations?.[Annotations.reconcileRequestedAt],
});

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val) ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1))) : val,
  );
}

export function chartKey(obj: { metadata?: { namespace?: string; name?: string } }): ArtifactKey {
  return { kind: HelmChartKind.kind, namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
}

export function setupHelmControllers(mgr: Manager, opts: HelmControllerOptions): HelmControllers {
  const client = mgr.client;
  const events: EventRecorder = mgr.eventRecorder(FieldManagers.source);
  const stats: HelmStats = { indexFetches: 0, chartDownloads: 0 };
  const random = opts.random ?? Math.random;
  const jitter = opts.jitter ?? 0.1;
  const maxChartBytes = opts.maxChartBytes ?? DEFAULT_MAX_CHART_BYTES;
  const firstBackoff = opts.failureBackoffMs ?? 5_000;
  const failures = new Map<string, number>();
  // The artifact last stored per HelmChart: the cache may not show our own status write yet when the next reconcile
  // runs, and a stale status must not cost a second download of the same chart.
  const lastStored = new Map<string, { artifact: ChartArtifact; chartName: string; generation?: number }>();

  const every = (interval: string): Result => ({ requeueAfter: Math.round(parseDuration(interval) * (1 + jitter * random())) });
  const backoff = (key: string, interval: string): Result => {
    const n = (failures.get(key) ?? 0) + 1;
    failures.set(key, n);
    return { requeueAfter: Math.min(parseDuration(interval), firstBackoff * 2 ** Math.min(n - 1, 16)) };
  };

  /** Credentials and CA of a HelmRepository (its Secrets read live, never cached or logged). */
  const access = async (repo: HelmRepositoryObject): Promise<{ creds?: Credentials; ca?: string }> => {
    const ns = repo.metadata!.namespace!;
    const read = async (name: string) => (await client.live().get<KubeObject & { data?: Record<string, string> }>(Kinds.Secret, name, ns))?.data;
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
  };

  const isOci = (repo: HelmRepositoryObject) => repo.spec.type === "oci" || repo.spec.url.startsWith("oci://");
  const ociClient = async (repo: HelmRepositoryObject, chart: string, signal: AbortSignal) => {
    const a = await access(repo);
    const timeoutMs = parseDuration(repo.spec.timeout ?? HelmRepositoryDefaults.timeout);
    return { client: new OciClient(ociRef(repo.spec.url, chart).host, { ...a, timeoutMs, signal }), ...a };
  };
  const readIndex = async (repo: HelmRepositoryObject, signal: AbortSignal): Promise<{ index: RepositoryIndex; creds?: Credentials; ca?: string }> => {
    const a = await access(repo);
    const timeoutMs = parseDuration(repo.spec.timeout ?? HelmRepositoryDefaults.timeout);
    stats.indexFetches++;
    const { index } = await fetchIndex(repo.spec.url, { ...a, timeoutMs, signal });
    return { index, ...a };
  };

  const writeStatus = async (obj: KubeObject, before: unknown, status: Record<string, unknown>, signal: AbortSignal): Promise<void> => {
    if (stable(before ?? {}) === stable(status)) return;
    await client.applyStatus({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata!.name, namespace: obj.metadata!.namespace }, status } as KubeObject, {
      fieldManager: FieldManagers.source,
      signal,
    });
  };

  const failure = (err: unknown): HelmSourceError => {
    if (err instanceof HelmSourceError) return err;
    if (err instanceof StorageError) return new HelmSourceError("StorageOperationFailed", err.message);
    throw err;
  };

  // HelmRepository: the index, read each interval.
  const repositories = mgr
    .controller("helmrepository")
    .for(HelmRepositoryKind, { predicates: [specOrRequest] })
    .withOptions({ maxConcurrentReconciles: opts.concurrency ?? 4 })
    .build(async (req: Request, ctx: ReconcileContext): Promise<Result> => {
      const repo = await client.get<HelmRepositoryObject>(HelmRepositoryKind, req.name, req.namespace);
      if (!repo || repo.metadata?.deletionTimestamp || repo.spec.suspend) return {};
      const gen = repo.metadata?.generation;
      const prev = repo.status ?? {};
      let conditions = prev.conditions as Condition[] | undefined;
      const status: Record<string, unknown> = { ...prev };
      const interval = repo.spec.interval ?? HelmRepositoryDefaults.interval;
      const requested = repo.metadata?.annotations?.[Annotations.reconcileRequestedAt];
      if (requested) status.lastHandledReconcileAt = requested;
      status.observedGeneration = gen;
      let result: Result;
      try {
        if (isOci(repo)) {
          // An OCI registry has no index: Ready when it answers (the API root, with the credentials).
          const { client, creds } = await ociClient(repo, "x", ctx.signal);
          stats.indexFetches++;
          const ping = await client.get("/v2/", { what: "index" });
          if (ping.status === 401 || ping.status === 403) throw new HelmSourceError("AuthenticationFailed", `the registry ${ociRef(repo.spec.url, "x").host} answered HTTP ${ping.status}: ${creds ? "the credentials in spec.secretRef were refused" : "it needs credentials; set spec.secretRef"}`);
          if (ping.status !== 200) throw new HelmSourceError("RepositoryUnreachable", `the registry ${ociRef(repo.spec.url, "x").host} answered HTTP ${ping.status} at /v2/`);
          delete status.index;
          conditions = setCondition(conditions, { type: ConditionTypes.ready, status: "True", reason: Reasons.succeeded, message: `OCI registry ${ociRef(repo.spec.url, "x").host} answers`, observedGeneration: gen });
          conditions = removeCondition(conditions, ConditionTypes.fetchFailed);
          failures.delete(`r/${req.namespace}/${req.name}`);
          status.conditions = conditions;
          await writeStatus(repo, repo.status, status, ctx.signal);
          return every(interval);
        }
        const { index } = await readIndex(repo, ctx.signal);
        const charts = index.entries.size;
        const same = prev.index?.digest === index.digest;
        status.index = same ? prev.index : { digest: index.digest, charts, lastUpdateTime: metaTime(Date.now()) };
        conditions = setCondition(conditions, { type: ConditionTypes.ready, status: "True", reason: Reasons.succeeded, message: `index with ${charts} chart${charts === 1 ? "" : "s"} (${index.digest.slice(0, 19)}…)`, observedGeneration: gen });
        conditions = removeCondition(conditions, ConditionTypes.fetchFailed);
        failures.delete(`r/${req.namespace}/${req.name}`);
        result = every(interval);
      } catch (e) {
        const err = failure(e);
        const old = conditions?.find((c) => c.type === ConditionTypes.fetchFailed)?.message;
        conditions = setCondition(conditions, { type: ConditionTypes.ready, status: "False", reason: err.reason, message: err.message, observedGeneration: gen });
        conditions = setCondition(conditions, { type: ConditionTypes.fetchFailed, status: "True", reason: err.reason, message: err.message, observedGeneration: gen });
        if (old !== err.message) events.warning(repo, err.reason, "FetchIndex", err.message);
        ctx.log.info("cannot read the Helm repository index", { reason: err.reason, error: err.message });
        result = err.retryable ? backoff(`r/${req.namespace}/${req.name}`, interval) : {};
      }
      status.conditions = conditions;
      await writeStatus(repo, repo.status, status, ctx.signal);
      return result;
    });

  // HelmChart: resolve, download once per digest, verify, store.
  const charts = mgr
    .controller("helmchart")
    .for(HelmChartKind, { predicates: [specOrRequest] })
    .watches<HelmRepositoryObject>(HelmRepositoryKind, (repo) => chartsOf(`${repo.metadata?.namespace ?? ""}/${repo.metadata?.name ?? ""}`), {
      predicates: [{ update: (o, n) => o.metadata?.generation !== n.metadata?.generation || stable(o.status?.index ?? null) !== stable(n.status?.index ?? null) }],
    })
    .withOptions({ maxConcurrentReconciles: opts.concurrency ?? 4 })
    .build(async (req: Request, ctx: ReconcileContext): Promise<Result> => {
      const chart = await client.get<HelmChartObject>(HelmChartKind, req.name, req.namespace);
      const fkey = `c/${req.namespace}/${req.name}`;
      if (!chart) {
        failures.delete(fkey);
        lastStored.delete(fkey);
        await opts.storage.remove(chartKey({ metadata: { namespace: req.namespace, name: req.name } }));
        return {};
      }
      if (chart.metadata?.deletionTimestamp || chart.spec.suspend) return {};
      const gen = chart.metadata?.generation;
      const prev = { ...(chart.status ?? {}) }; // a copy: the cache's object is never changed
      let conditions = prev.conditions as Condition[] | undefined;
      const status: Record<string, unknown> = { ...prev, observedGeneration: gen };
      const requested = chart.metadata?.annotations?.[Annotations.reconcileRequestedAt];
      if (requested) status.lastHandledReconcileAt = requested;
      const interval = chart.spec.interval ?? HelmChartDefaults.interval;
      const range = chart.spec.version ?? HelmChartDefaults.version;
      const mine = lastStored.get(fkey);
      if (mine && mine.artifact.lastUpdateTime >= (prev.artifact?.lastUpdateTime ?? "")) {
        prev.artifact = mine.artifact;
        prev.chartName = mine.chartName;
        if (mine.generation !== undefined) prev.observedGeneration = Math.max(prev.observedGeneration ?? 0, mine.generation);
        status.artifact = mine.artifact;
        status.chartName = mine.chartName;
      }
      const stored = prev.artifact ? await opts.storage.exists(relPath(prev.artifact.url, opts.advertisedAddr) ?? "", prev.artifact.digest) : false;
      let result: Result;
      try {
        const repo = await client.get<HelmRepositoryObject>(HelmRepositoryKind, chart.spec.sourceRef.name, req.namespace);
        if (!repo) throw new HelmSourceError("RepositoryNotFound", `HelmRepository ${req.namespace}/${chart.spec.sourceRef.name} (spec.sourceRef) does not exist; create it or fix spec.sourceRef`);
        const a = prev.artifact;
        let entry: { version: string; digest?: string };
        let download: () => Promise<{ bytes: Buffer; digest: string; chartName: string }>;
        if (isOci(repo)) {
          // tags → version, its manifest → the chart layer's digest; the layer is downloaded only when new.
          const { client, creds } = await ociClient(repo, chart.spec.chart, ctx.signal);
          stats.indexFetches++;
          const { tag } = await resolveOci(client, repo.spec.url, chart.spec.chart, range, creds);
          const layer = await ociLayer(client, repo.spec.url, chart.spec.chart, tag, creds);
          entry = layer;
          download = () => downloadOciChart(client, repo.spec.url, chart.spec.chart, layer, maxChartBytes);
        } else {
          const { index, creds, ca } = await readIndex(repo, ctx.signal);
          const e = resolveVersion(index, chart.spec.chart, range);
          entry = e;
          const timeoutMs = parseDuration(repo.spec.timeout ?? HelmRepositoryDefaults.timeout);
          download = () => downloadChart(index, chart.spec.chart, e, repo.spec.url, { creds, ca, timeoutMs, signal: ctx.signal, maxBytes: maxChartBytes });
        }
        const unchanged = stored && a?.revision === entry.version && (!entry.digest || a.digest === `sha256:${entry.digest.replace(/^sha256:/, "").toLowerCase()}`) && prev.observedGeneration === gen;
        if (!unchanged) {
          stats.chartDownloads++;
          const got = await download();
          const art = await opts.storage.write(chartKey(chart), single(got.bytes), ".tgz");
          if (art.digest !== got.digest) throw new Error(`stored chart digest ${art.digest} differs from the downloaded ${got.digest}`);
          status.artifact = { url: artifactUrl(opts.advertisedAddr, art.path), revision: entry.version, digest: art.digest, size: art.size, lastUpdateTime: metaTime(Date.now()) };
          status.chartName = got.chartName;
          lastStored.set(fkey, { artifact: status.artifact as ChartArtifact, chartName: got.chartName, generation: gen });
          if (a?.digest !== art.digest) events.normal(chart, "NewArtifact", "FetchChart", `stored chart ${chart.spec.chart} version ${entry.version} (${art.digest})`);
        }
        const msg = `stored chart ${chart.spec.chart} version ${entry.version}${entry.digest ? ` (digest verified against the ${isOci(repo) ? "manifest" : "index"})` : ""}`;
        conditions = setCondition(conditions, { type: ConditionTypes.ready, status: "True", reason: Reasons.succeeded, message: msg, observedGeneration: gen });
        conditions = setCondition(conditions, { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: `chart version ${entry.version} is stored`, observedGeneration: gen });
        conditions = removeCondition(conditions, ConditionTypes.fetchFailed);
        failures.delete(fkey);
        result = every(interval);
      } catch (e) {
        const err = failure(e);
        const old = conditions?.find((c) => c.type === ConditionTypes.fetchFailed)?.message;
        const message = scrub(err.message);
        conditions = setCondition(conditions, { type: ConditionTypes.ready, status: "False", reason: err.reason, message, observedGeneration: gen });
        conditions = setCondition(conditions, { type: ConditionTypes.fetchFailed, status: "True", reason: err.reason, message, observedGeneration: gen });
        conditions = setCondition(conditions, stored
          ? { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: `the last good chart (version ${prev.artifact?.revision}) is still stored`, observedGeneration: gen }
          : { type: ConditionTypes.artifactInStorage, status: "False", reason: "NoArtifact", message: "no chart stored yet", observedGeneration: gen });
        if (old !== message) events.warning(chart, err.reason, "FetchChart", message);
        ctx.log.info("cannot fetch the Helm chart", { reason: err.reason, error: message });
        result = err.retryable ? backoff(fkey, interval) : {};
      }
      status.conditions = conditions;
      await writeStatus(chart, chart.status, status, ctx.signal);
      return result;
    });

  const chartInformer = mgr.cache.informerFor<HelmChartObject>(HelmChartKind);
  chartInformer.addIndexers({ [INDEX_REPO]: (c) => (c.spec?.sourceRef?.name ? [`${c.metadata?.namespace ?? ""}/${c.spec.sourceRef.name}`] : []) });
  function chartsOf(key: string): Request[] {
    return chartInformer.store.byIndex(INDEX_REPO, key).map((c) => ({ namespace: c.metadata?.namespace ?? "", name: c.metadata?.name ?? "" }));
  }

  return { repositories, charts, stats };
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
