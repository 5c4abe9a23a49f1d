// Reading HelmRepositories for the Helm reconciles: their credentials and CA (Secrets read live, never cached or
// logged), an index (HTTP) or a registry (OCI), the version of a chart a range or a lock selects and how to download
// it. The network itself is ./helm-repo.ts (indexes) and ./helm-oci.ts (registries); every call is counted in stats.
import { HelmChartDefaults, HelmRepositoryDefaults, parseDuration } from "../api/index.js";
import { Kinds, type Client, type KubeObject } from "../runtime/index.js";
import { credentialsFromSecret, type Credentials } from "./credentials.js";
import { isSourceError } from "./errors.js";
import { OciClient, downloadOciChart, ociLayer, ociRef, resolveOci } from "./helm-oci.js";
import { pinnedEntry } from "./helm-deps.js";
import { HelmSourceError, downloadChart, fetchIndex, resolveVersion, type DownloadedChart, type HelmStats, type IndexEntry, type RepositoryIndex } from "./helm-repo.js";
import type { HelmChartObject, HelmRepositoryObject } from "./helm-status.js";

export type Download = () => Promise<DownloadedChart>;
/** A HelmRepository's credentials and CA bundle. */
export interface Access {
  creds?: Credentials;
  ca?: string;
}
export type ReadIndex = Access & { index: RepositoryIndex };

export const isOci = (repo: HelmRepositoryObject): boolean => repo.spec.type === "oci" || repo.spec.url.startsWith("oci://");

/** An index's digest (hex, maybe prefixed) as a storage digest: `sha256:<lowercase hex>`. */
export const sha256Of = (digest: string): string => `sha256:${digest.replace(/^sha256:/, "").toLowerCase()}`;

const timeoutOf = (repo: HelmRepositoryObject): number => parseDuration(repo.spec.timeout ?? HelmRepositoryDefaults.timeout);

export class HelmFetcher {
  constructor(
    private readonly live: Client,
    readonly stats: HelmStats,
    /** Largest chart .tgz accepted (also each dependency of a chart from Git). */
    readonly maxChartBytes: number,
  ) {}

  /** An OCI registry is Ready when its API root answers, with the credentials; the Ready message. */
  async pingRegistry(repo: HelmRepositoryObject, signal: AbortSignal): Promise<string> {
    const { client, creds } = await this.ociClient(repo, "x", signal);
    const host = ociRef(repo.spec.url, "x").host;
    this.stats.indexFetches++;
    const ping = await client.get("/v2/", { what: "index" });
    if (ping.status === 401 || ping.status === 403) throw new HelmSourceError("AuthenticationFailed", `the registry ${host} answered HTTP ${ping.status}: ${creds ? "the credentials in spec.secretRef were refused" : "it needs credentials; set spec.secretRef"}`);
    if (ping.status !== 200) throw new HelmSourceError("RepositoryUnreachable", `the registry ${host} answered HTTP ${ping.status} at /v2/`);
    return `OCI registry ${host} answers`;
  }

  /** The index of a HelmRepository (one GET), with the access it was read with. */
  async readIndex(repo: HelmRepositoryObject, signal: AbortSignal): Promise<ReadIndex> {
    const a = await this.access(repo);
    this.stats.indexFetches++;
    const { index } = await fetchIndex(repo.spec.url, { ...a, timeoutMs: timeoutOf(repo), signal });
    return { index, ...a };
  }

  /** The version spec.version selects and how to download it: from an OCI registry (tags, then the manifest's chart layer) or an index. */
  async resolveChart(repo: HelmRepositoryObject, chart: HelmChartObject, signal: AbortSignal): Promise<{ entry: { version: string; digest?: string }; download: Download }> {
    const name = chart.spec.chart;
    const range = chart.spec.version ?? HelmChartDefaults.version;
    if (isOci(repo)) {
      // The layer is downloaded only when new.
      const { client, creds } = await this.ociClient(repo, name, signal);
      this.stats.indexFetches++;
      const { tag } = await resolveOci(client, repo.spec.url, name, range, creds);
      const layer = await ociLayer(client, repo.spec.url, name, tag, creds);
      return { entry: layer, download: () => downloadOciChart(client, repo.spec.url, name, layer, this.maxChartBytes) };
    }
    const read = await this.readIndex(repo, signal);
    const entry = resolveVersion(read.index, name, range);
    return { entry, download: () => this.fromIndex(repo, read, name, entry, signal) };
  }

  /**
   * A dependency from a registry: an exact version is read as its tag (as helm: no tag listing), a range resolved
   * over the tags. The layer's digest is what `kept` is asked for before downloading.
   */
  async registryDependency(repo: HelmRepositoryObject, dep: { name: string; pinned?: string; range?: string }, signal: AbortSignal, kept: Kept): Promise<Fetched> {
    const { client, creds } = await this.ociClient(repo, dep.name, signal);
    this.stats.indexFetches++;
    const tag = dep.pinned ? dep.pinned.replace(/\+/g, "_") : (await resolveOci(client, repo.spec.url, dep.name, dep.range!, creds)).tag;
    const layer = await ociLayer(client, repo.spec.url, dep.name, tag, creds).catch((err: unknown) => {
      if (dep.pinned && err instanceof HelmSourceError && err.reason === "ChartNotFound") throw new HelmSourceError("NoMatchingVersion", `the registry has no version ${dep.pinned} of chart "${dep.name}" (${err.message})`);
      throw err;
    });
    const have = await kept(`${dep.name}-${layer.version}.tgz`, layer.layer);
    return this.haveOr(have, layer.layer, layer.version, () => downloadOciChart(client, repo.spec.url, dep.name, layer, this.maxChartBytes));
  }

  /** A dependency from an index (read once per repository by the caller): only one with a digest there can be `kept`. */
  async indexDependency(repo: HelmRepositoryObject, read: ReadIndex, dep: { name: string; pinned?: string; range?: string }, signal: AbortSignal, kept: Kept): Promise<Fetched> {
    const entry = dep.pinned ? pinnedEntry(read.index, dep.name, dep.pinned) : resolveVersion(read.index, dep.name, dep.range!);
    const digest = entry.digest ? sha256Of(entry.digest) : undefined;
    const have = digest ? await kept(`${dep.name}-${entry.version}.tgz`, digest) : undefined;
    return this.haveOr(have, digest ?? "", entry.version, () => this.fromIndex(repo, read, dep.name, entry, signal));
  }

  /** The bytes at hand (of `digest`), else the download (counted). */
  private async haveOr(have: Buffer | undefined, digest: string, version: string, download: Download): Promise<Fetched> {
    if (have) return { bytes: have, digest, version };
    const d = await download();
    this.stats.dependencyDownloads++;
    return { bytes: d.bytes, digest: d.digest, version };
  }

  private fromIndex(repo: HelmRepositoryObject, read: ReadIndex, chart: string, entry: IndexEntry, signal: AbortSignal): Promise<DownloadedChart> {
    return downloadChart(read.index, chart, entry, repo.spec.url, { creds: read.creds, ca: read.ca, timeoutMs: timeoutOf(repo), signal, maxBytes: this.maxChartBytes });
  }

  private async ociClient(repo: HelmRepositoryObject, chart: string, signal: AbortSignal): Promise<Access & { client: OciClient }> {
    const a = await this.access(repo);
    const repository = `${repo.metadata!.namespace!}/${repo.metadata!.name!}`;
    return { client: new OciClient(ociRef(repo.spec.url, chart).host, { ...a, timeoutMs: timeoutOf(repo), signal, repository }), ...a };
  }

  /** Credentials and CA of a HelmRepository (its Secrets read live, never cached or logged). */
  private async access(repo: HelmRepositoryObject): Promise<Access> {
    const ns = repo.metadata!.namespace!;
    const read = async (name: string) => (await this.live.get<KubeObject & { data?: Record<string, string> }>(Kinds.Secret, name, ns))?.data;
    const out: Access = {};
    try {
      if (repo.spec.secretRef) {
        out.creds = credentialsFromSecret(await read(repo.spec.secretRef.name), repo.spec.secretRef.name);
        if (out.creds.caCert) out.ca = out.creds.caCert;
      }
      if (repo.spec.certSecretRef) out.ca = caFromSecret(repo.spec.certSecretRef.name, await read(repo.spec.certSecretRef.name));
    } catch (err) {
      if (isSourceError(err)) throw new HelmSourceError("CredentialsInvalid", err.message);
      throw err;
    }
    return out;
  }
}

/** Bytes of a dependency already at hand (the chart stored last) for a file name and digest, or undefined. */
export type Kept = (file: string, digest: string) => Promise<Buffer | undefined>;
export interface Fetched {
  bytes: Buffer;
  digest: string;
  version: string;
}

/** The PEM bundle in ca.crt of the Secret spec.certSecretRef names. */
function caFromSecret(name: string, data: Record<string, string> | undefined): string {
  if (!data) throw new HelmSourceError("CredentialsInvalid", `Secret "${name}" named by spec.certSecretRef not found; create it or remove spec.certSecretRef`);
  const ca = data["ca.crt"] ? Buffer.from(data["ca.crt"], "base64").toString("utf8") : undefined;
  if (!ca?.includes("-----BEGIN CERTIFICATE-----")) throw new HelmSourceError("CredentialsInvalid", `Secret "${name}" named by spec.certSecretRef has no PEM certificate in key ca.crt`);
  return ca;
}
