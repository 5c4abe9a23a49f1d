// Helm repositories over HTTP(S), with no Kubernetes involved: read a repository's index.yaml, resolve a chart and
// a semver range to the newest matching version, download that version's .tgz (bounded while it streams),
// verify it against the index's digest and find the chart's directory inside it. Every failure is a
// HelmSourceError with its own reason; messages carry no credentials.
import { createHash } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { gunzipSync } from "node:zlib";
import semver from "semver";
import { extract as tarExtract } from "tar-stream";
import { parse as parseYaml } from "yaml";
import { authHeaders, type Credentials } from "./credentials.js";
import { scrub } from "./errors.js";

export type HelmSourceReason =
  | "RepositoryNotFound" // the HelmRepository named by spec.sourceRef does not exist
  | "CredentialsInvalid" // its Secret is missing or lacks the keys it needs
  | "RepositoryUnreachable" // connection refused, DNS, TLS, timeout, HTTP 404/5xx for the index
  | "AuthenticationFailed" // 401/403
  | "IndexInvalid" // index.yaml is not a Helm repository index
  | "ChartNotFound" // the index has no entry for the chart
  | "NoMatchingVersion" // no version of the chart satisfies spec.version
  | "ChartDownloadFailed" // the chart's URL answered an error, or is not http(s)
  | "ChartTooLarge" // the .tgz (or its content) is over the limit
  | "DigestMismatch" // the .tgz's sha256 differs from the index's digest
  | "InvalidChart" // the .tgz is not a chart archive (no <name>/Chart.yaml)
  | "StorageOperationFailed"
  // A chart from a GitRepository (./helm-git.ts):
  | "SourceNotFound" // the GitRepository named by spec.sourceRef does not exist
  | "SourceNotReady" // it has no artifact yet, or its artifact cannot be downloaded
  | "DependencyRepositoryNotFound" // no HelmRepository in the namespace matches a dependency's repository
  | "DependencyNotFound" // a dependency with no repository (or a file:// one) that is not in charts/
  | "LockOutOfSync"; // Chart.lock's digest is not that of Chart.yaml's dependencies (helm dependency build refuses)

const NOT_RETRYABLE: ReadonlySet<HelmSourceReason> = new Set([]);

export class HelmSourceError extends Error {
  constructor(
    readonly reason: HelmSourceReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HelmSourceError";
  }

  get retryable(): boolean {
    return !NOT_RETRYABLE.has(this.reason);
  }
}

export interface HelmFetchOptions {
  creds?: Credentials;
  /** PEM CA bundle that replaces the default CAs (certSecretRef, or ca.crt of secretRef). */
  ca?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface IndexEntry {
  version: string;
  digest?: string;
  urls: string[];
}

export interface RepositoryIndex {
  /** sha256:<hex> of the index.yaml bytes. */
  digest: string;
  entries: Map<string, IndexEntry[]>;
  /** Where the index was read (relative chart URLs resolve against it). */
  url: string;
}

export interface HelmStats {
  indexFetches: number;
  chartDownloads: number;
  /** Charts from Git built (the GitRepository's artifact read and packaged). */
  gitBuilds: number;
  /** Dependencies of charts from Git downloaded. */
  dependencyDownloads: number;
}

/** Largest index.yaml read (large public repositories' indexes are tens of MB). */
export const MAX_INDEX_BYTES = 64 * 1024 * 1024;
/** Default largest chart .tgz (--max-chart-size) and, as Helm's, largest uncompressed chart content. */
export const DEFAULT_MAX_CHART_BYTES = 10 * 1024 * 1024;
export const MAX_CHART_CONTENT_BYTES = 100 * 1024 * 1024;

function where(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** One GET, following up to 5 redirects (credentials only to the repository's own host), bounded in bytes and time. */
export async function httpGet(
  url: string,
  o: HelmFetchOptions & { maxBytes: number; repoHost: string; what: "index" | "chart" },
): Promise<Buffer> {
  // One controller for this request, aborted by the deadline or the caller; the caller's listener is removed after.
  const local = new AbortController();
  const timedOut = { value: false };
  const timer = setTimeout(() => {
    timedOut.value = true;
    local.abort(new Error("timeout"));
  }, o.timeoutMs);
  const onAbort = () => local.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await get(url, o, local.signal, timedOut);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
  }
}

async function get(url: string, o: HelmFetchOptions & { maxBytes: number; repoHost: string; what: "index" | "chart" }, signal: AbortSignal, timeout: { value: boolean }): Promise<Buffer> {
  let u = new URL(url);
  for (let hop = 0; ; hop++) {
    if (u.protocol !== "http:" && u.protocol !== "https:") {
      throw new HelmSourceError(o.what === "index" ? "RepositoryUnreachable" : "ChartDownloadFailed", `unsupported URL scheme ${u.protocol} in ${scrub(where(u))}`);
    }
    const headers: Record<string, string> = { "user-agent": "mooring-source-controller", ...(u.host === o.repoHost ? authHeaders(o.creds) : {}) };
    const mod = u.protocol === "https:" ? https : http;
    let res: http.IncomingMessage;
    try {
      res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = mod.request(u, { method: "GET", headers, signal, ...(u.protocol === "https:" && o.ca ? { ca: o.ca } : {}) }, resolve);
        req.on("error", reject);
        req.end();
      });
    } catch (err) {
      throw networkError(err as Error & { code?: string }, u, o.what, timeout.value, o.timeoutMs);
    }
    const code = res.statusCode ?? 0;
    if (code >= 300 && code < 400 && res.headers.location && hop < 5) {
      res.resume();
      u = new URL(res.headers.location, u);
      continue;
    }
    if (code < 200 || code >= 300) {
      res.resume();
      const what = o.what === "index" ? `the repository index ${scrub(where(u))}` : `the chart ${scrub(where(u))}`;
      if (code === 401 || code === 403) {
        throw new HelmSourceError("AuthenticationFailed", `${what} answered HTTP ${code}: ${o.creds ? "the credentials in spec.secretRef were refused" : "it needs credentials; set spec.secretRef"}`);
      }
      throw new HelmSourceError(o.what === "index" ? "RepositoryUnreachable" : "ChartDownloadFailed", `${what} answered HTTP ${code}`);
    }
    const declared = Number(res.headers["content-length"] ?? NaN);
    if (declared > o.maxBytes) {
      res.destroy();
      throw tooLarge(o.what, declared, o.maxBytes);
    }
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of res as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > o.maxBytes) {
          res.destroy();
          throw tooLarge(o.what, n, o.maxBytes);
        }
        chunks.push(c);
      }
    } catch (err) {
      if (err instanceof HelmSourceError) throw err;
      throw networkError(err as Error & { code?: string }, u, o.what, timeout.value, o.timeoutMs);
    }
    return Buffer.concat(chunks);
  }
}

function tooLarge(what: "index" | "chart", n: number, max: number): HelmSourceError {
  return what === "chart"
    ? new HelmSourceError("ChartTooLarge", `the chart is larger than the ${max}-byte limit (--max-chart-size); at least ${n} bytes`)
    : new HelmSourceError("RepositoryUnreachable", `the repository index is larger than the ${max}-byte limit; at least ${n} bytes`);
}

function networkError(err: Error & { code?: string }, u: URL, what: "index" | "chart", timedOut: boolean, timeoutMs: number): HelmSourceError {
  const reason: HelmSourceReason = what === "index" ? "RepositoryUnreachable" : "ChartDownloadFailed";
  const at = `${u.protocol}//${u.host}`;
  if (timedOut) return new HelmSourceError(reason, `${at} did not answer within ${timeoutMs} ms (spec.timeout of the HelmRepository)`, { cause: err });
  const code = err.code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new HelmSourceError(reason, `cannot resolve host ${u.hostname} (DNS ${code}); check the HelmRepository's spec.url`, { cause: err });
  if (code === "ECONNREFUSED") return new HelmSourceError(reason, `connection refused by ${at}; is the repository server running?`, { cause: err });
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new HelmSourceError(reason, `TLS verification of ${at} failed (${code}); put the server's CA as ca.crt in the Secret named by spec.certSecretRef`, { cause: err });
  }
  return new HelmSourceError(reason, `request to ${at} failed: ${code || err.message}`, { cause: err });
}

/** The index URL of a repository URL: <url>/index.yaml (a URL that already ends in .yaml is used as it is). */
export function indexUrl(repoUrl: string): string {
  if (/\.ya?ml$/.test(new URL(repoUrl).pathname)) return repoUrl;
  return repoUrl.replace(/\/*$/, "") + "/index.yaml";
}

/** Reads and parses a repository's index.yaml. */
export async function fetchIndex(repoUrl: string, o: HelmFetchOptions): Promise<{ index: RepositoryIndex; bytes: number }> {
  const url = indexUrl(repoUrl);
  const body = await httpGet(url, { ...o, maxBytes: MAX_INDEX_BYTES, repoHost: new URL(repoUrl).host, what: "index" });
  return { index: parseIndex(body, url), bytes: body.length };
}

export function parseIndex(body: Buffer, url: string): RepositoryIndex {
  let doc: unknown;
  try {
    doc = parseYaml(body.toString("utf8"), { maxAliasCount: 100, prettyErrors: false });
  } catch (err) {
    throw new HelmSourceError("IndexInvalid", `${scrub(url)} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const d = doc as { apiVersion?: unknown; entries?: unknown } | null;
  if (!d || typeof d !== "object" || typeof d.entries !== "object" || d.entries === null || Array.isArray(d.entries)) {
    throw new HelmSourceError("IndexInvalid", `${scrub(url)} is not a Helm repository index (no entries map); is spec.url the repository's base URL?`);
  }
  const entries = new Map<string, IndexEntry[]>();
  for (const [name, list] of Object.entries(d.entries as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue;
    const out: IndexEntry[] = [];
    for (const e of list as Record<string, unknown>[]) {
      if (!e || typeof e !== "object" || typeof e.version !== "string" || !Array.isArray(e.urls)) continue;
      out.push({ version: e.version, urls: e.urls.filter((x): x is string => typeof x === "string"), ...(typeof e.digest === "string" && e.digest ? { digest: e.digest } : {}) });
    }
    entries.set(name, out);
  }
  return { digest: `sha256:${createHash("sha256").update(body).digest("hex")}`, entries, url };
}

/** The newest version of `chart` satisfying `range` (npm semver; pre-releases only when the range names one). */
export function resolveVersion(index: RepositoryIndex, chart: string, range: string): IndexEntry {
  const list = index.entries.get(chart);
  if (!list || list.length === 0) {
    const names = [...index.entries.keys()];
    throw new HelmSourceError("ChartNotFound", `the repository has no chart "${chart}"${names.length ? ` (it has ${names.length} chart${names.length === 1 ? "" : "s"}, such as ${names.slice(0, 5).join(", ")})` : " (its index is empty)"}`);
  }
  let best: { v: semver.SemVer; e: IndexEntry } | undefined;
  for (const e of list) {
    const v = semver.parse(e.version, { loose: true }) ?? semver.coerce(e.version);
    if (!v || !semver.satisfies(v, range, { loose: true })) continue;
    if (!best || semver.gt(v, best.v)) best = { v, e };
  }
  if (!best) throw new HelmSourceError("NoMatchingVersion", `no version of chart "${chart}" matches "${range}" (newest: ${newestVersions(list)})`);
  return best.e;
}

/** The newest five versions of a chart's entries, for a message ("none" when no version parses). */
export function newestVersions(list: IndexEntry[]): string {
  const newest = list
    .map((e) => semver.parse(e.version, { loose: true }))
    .filter((v): v is semver.SemVer => v !== null)
    .sort(semver.rcompare)
    .slice(0, 5)
    .map((v) => v.version);
  return newest.join(", ") || "none";
}

export interface DownloadedChart {
  bytes: Buffer;
  /** sha256:<hex> of bytes. */
  digest: string;
  /** The chart's directory in the archive. */
  chartName: string;
}

/** Downloads `entry`'s .tgz, verifies its digest against the index and finds the chart's directory in it. */
export async function downloadChart(index: RepositoryIndex, chart: string, entry: IndexEntry, repoUrl: string, o: HelmFetchOptions & { maxBytes: number }): Promise<DownloadedChart> {
  const first = entry.urls[0];
  if (!first) throw new HelmSourceError("ChartDownloadFailed", `the index lists no URL for chart "${chart}" version ${entry.version}`);
  let url: URL;
  try {
    url = new URL(first, index.url);
  } catch {
    throw new HelmSourceError("ChartDownloadFailed", `the index lists an invalid URL for chart "${chart}" version ${entry.version}`);
  }
  const bytes = await httpGet(url.toString(), { ...o, repoHost: new URL(repoUrl).host, what: "chart" });
  const hex = createHash("sha256").update(bytes).digest("hex");
  if (entry.digest && entry.digest.replace(/^sha256:/, "").toLowerCase() !== hex) {
    throw new HelmSourceError(
      "DigestMismatch",
      `chart "${chart}" version ${entry.version} downloaded from ${scrub(`${url.protocol}//${url.host}${url.pathname}`)} has digest sha256:${hex}, but the index says ${entry.digest}; refusing it`,
    );
  }
  const chartName = await chartDirectory(bytes, chart, entry.version);
  return { bytes, digest: `sha256:${hex}`, chartName };
}

/** The top directory of a chart archive that holds Chart.yaml (helm package writes <name>/Chart.yaml first). */
export async function chartDirectory(tgz: Buffer, chart: string, version: string): Promise<string> {
  const what = `chart "${chart}" version ${version}`;
  let tar: Buffer;
  try {
    tar = gunzipSync(tgz, { maxOutputLength: MAX_CHART_CONTENT_BYTES });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new HelmSourceError("ChartTooLarge", `${what} holds more than ${MAX_CHART_CONTENT_BYTES} bytes once uncompressed`);
    }
    throw new HelmSourceError("InvalidChart", `${what} is not a gzip archive: ${(err as Error).message}`);
  }
  const names: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const ex = tarExtract();
    ex.on("entry", (h, stream, next) => {
      names.push(h.name);
      stream.on("end", next);
      stream.resume();
    });
    ex.on("finish", resolve);
    ex.on("error", (err: Error) => reject(new HelmSourceError("InvalidChart", `${what} is not a tar archive: ${err.message}`)));
    ex.end(tar);
  });
  const dirs = names.map((n) => n.replace(/^\.\//, "")).filter((n) => /^[^/]+\/Chart\.yaml$/.test(n)).map((n) => n.split("/")[0]!);
  if (dirs.length === 0) throw new HelmSourceError("InvalidChart", `${what} is not a chart archive: no <name>/Chart.yaml in it`);
  return dirs.includes(chart) ? chart : dirs[0]!;
}
