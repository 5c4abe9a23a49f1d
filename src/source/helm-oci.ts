// Helm charts in OCI registries (oci://host/path, as `helm push` stores them), with no Kubernetes involved: list
// a chart's tags, resolve a semver range, read the version's manifest and download its chart layer, each verified
// by digest. Auth: credentials as basic auth, or a bearer token, or the registry's token flow (a 401 with
// `WWW-Authenticate: Bearer realm=…` answered by asking the realm for a token with the credentials, only over HTTPS
// and within the registry's domain: ./oci-realm.ts). Failures are HelmSourceErrors with the same reasons as HTTP
// repositories; messages carry no credentials.
import { createHash } from "node:crypto";
import http from "node:http";
import https from "node:https";
import semver from "semver";
import { authHeaders, type Credentials } from "./credentials.js";
import { scrub } from "./errors.js";
import { HelmSourceError, chartDirectory, type DownloadedChart, type HelmFetchOptions, type IndexEntry } from "./helm-repo.js";
import { checkRealm } from "./oci-realm.js";

const CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json";
const MAX_SMALL = 4 * 1024 * 1024;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** oci://host[:port]/path + chart → the registry's base URL and the repository name. */
export function ociRef(url: string, chart: string): { base: string; host: string; name: string } {
  const u = new URL(url.replace(/^oci:/, "https:"));
  const name = `${u.pathname.replace(/^\/+|\/+$/g, "")}/${chart}`.replace(/^\//, "");
  return { base: `https://${u.host}`, host: u.host, name };
}

export class OciClient {
  private token: string | undefined;

  constructor(
    private readonly host: string,
    /** `repository`: the HelmRepository (namespace/name) whose registry this is, named in refusals. */
    private readonly o: HelmFetchOptions & { repository?: string },
  ) {}

  private once(url: URL, headers: Record<string, string>, maxBytes: number, signal: AbortSignal, what: "index" | "chart"): Promise<Answer> {
    const mod = url.protocol === "https:" ? https : http;
    return new Promise<Answer>((resolve, reject) => {
      const req = mod.request(url, { method: "GET", headers: { "user-agent": "mooring-source-controller", ...headers }, signal, ...(url.protocol === "https:" && this.o.ca ? { ca: this.o.ca } : {}) }, (res) => {
        const declared = Number(res.headers["content-length"] ?? NaN);
        if (declared > maxBytes && (res.statusCode ?? 0) < 300) {
          res.destroy();
          reject(tooLarge(what, declared, maxBytes));
          return;
        }
        const chunks: Buffer[] = [];
        let n = 0;
        res.on("data", (c: Buffer) => {
          n += c.length;
          if (n > maxBytes) {
            res.destroy();
            reject(tooLarge(what, n, maxBytes));
            return;
          }
          chunks.push(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
  }

  /** GET with the registry's auth (token flow on a Bearer challenge), redirects (credentials only to the registry). */
  async get(pathOrUrl: string, o: { accept?: string; maxBytes?: number; what: "index" | "chart"; signal?: AbortSignal }): Promise<Answer> {
    const local = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      local.abort();
    }, this.o.timeoutMs);
    const onAbort = () => local.abort();
    this.o.signal?.addEventListener("abort", onAbort, { once: true });
    let u = new URL(pathOrUrl, `https://${this.host}`);
    try {
      for (let hop = 0, authTried = false; ; hop++) {
        const own = u.host === this.host;
        const headers: Record<string, string> = { ...(o.accept ? { accept: o.accept } : {}), ...(own ? this.auth() : {}) };
        let a: Answer;
        try {
          a = await this.once(u, headers, o.maxBytes ?? MAX_SMALL, local.signal, o.what);
        } catch (err) {
          if (err instanceof HelmSourceError) throw err;
          throw network(err as Error & { code?: string }, u, o.what, timedOut, this.o.timeoutMs);
        }
        if (a.status === 401 && own && !authTried) {
          authTried = true;
          if (await this.authenticate(String(a.headers["www-authenticate"] ?? ""), local.signal)) continue;
        }
        if (a.status >= 300 && a.status < 400 && a.headers.location && hop < 5) {
          u = new URL(a.headers.location, u);
          continue;
        }
        return a;
      }
    } finally {
      clearTimeout(timer);
      this.o.signal?.removeEventListener("abort", onAbort);
    }
  }

  private auth(): Record<string, string> {
    if (this.token) return { authorization: `Bearer ${this.token}` };
    return authHeaders(this.o.creds);
  }

  /** Answers a challenge: Basic → the credentials (already sent if any); Bearer → a token from the realm. */
  private async authenticate(challenge: string, signal: AbortSignal): Promise<boolean> {
    const m = /^Bearer\s+(.*)$/i.exec(challenge);
    if (!m) return false;
    const params = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!.toLowerCase(), x[2]!]));
    if (!params.realm) return false;
    const checked = checkRealm(params.realm, this.host, Boolean(this.o.creds?.basic));
    if ("refused" in checked) throw new HelmSourceError("AuthenticationFailed", `${this.o.repository ? `HelmRepository ${this.o.repository}: ` : ""}the registry ${this.host} ${checked.refused}`);
    const realm = checked.url;
    if (params.service) realm.searchParams.set("service", params.service);
    if (params.scope) realm.searchParams.set("scope", params.scope);
    let a: Answer;
    try {
      a = await this.once(realm, this.o.creds?.basic ? authHeaders({ basic: this.o.creds.basic }) : {}, MAX_SMALL, signal, "index");
    } catch (err) {
      if (err instanceof HelmSourceError) throw err;
      throw network(err as Error & { code?: string }, realm, "index", false, this.o.timeoutMs);
    }
    if (a.status !== 200) return false;
    try {
      const j = JSON.parse(a.body.toString("utf8")) as { token?: string; access_token?: string };
      this.token = j.token ?? j.access_token;
    } catch {
      return false;
    }
    return Boolean(this.token);
  }
}

function tooLarge(what: "index" | "chart", n: number, max: number): HelmSourceError {
  return what === "chart"
    ? new HelmSourceError("ChartTooLarge", `the chart is larger than the ${max}-byte limit (--max-chart-size); at least ${n} bytes`)
    : new HelmSourceError("RepositoryUnreachable", `an answer of the registry is larger than ${max} bytes`);
}

function network(err: Error & { code?: string }, u: URL, what: "index" | "chart", timedOut: boolean, timeoutMs: number): HelmSourceError {
  const reason = what === "index" ? "RepositoryUnreachable" : "ChartDownloadFailed";
  const at = `${u.protocol}//${u.host}`;
  if (timedOut) return new HelmSourceError(reason, `${at} did not answer within ${timeoutMs} ms (spec.timeout of the HelmRepository)`, { cause: err });
  const code = err.code ?? "";
  if (code === "ECONNREFUSED") return new HelmSourceError(reason, `connection refused by ${at}; is the registry running?`, { cause: err });
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new HelmSourceError(reason, `cannot resolve host ${u.hostname} (DNS ${code}); check the HelmRepository's spec.url`, { cause: err });
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|EPROTO/.test(code)) {
    return new HelmSourceError(reason, `TLS to ${at} failed (${code}); put the registry's CA as ca.crt in the Secret named by spec.certSecretRef`, { cause: err });
  }
  return new HelmSourceError(reason, `request to ${at} failed: ${code || err.message}`, { cause: err });
}

function failed(a: Answer, what: string, creds: Credentials | undefined, notFound: HelmSourceError["reason"]): HelmSourceError {
  if (a.status === 401 || a.status === 403) {
    return new HelmSourceError("AuthenticationFailed", `${what} answered HTTP ${a.status}: ${creds ? "the credentials in spec.secretRef were refused" : "it needs credentials; set spec.secretRef"}`);
  }
  return new HelmSourceError(a.status === 404 ? notFound : "RepositoryUnreachable", `${what} answered HTTP ${a.status}`);
}

/** Tags of oci://…/chart as versions (Helm writes '+' as '_' in tags), the newest satisfying `range`. */
export async function resolveOci(client: OciClient, url: string, chart: string, range: string, creds?: Credentials): Promise<{ version: string; tag: string }> {
  const { name } = ociRef(url, chart);
  const a = await client.get(`/v2/${name}/tags/list`, { what: "index" });
  if (a.status !== 200) throw failed(a, `the registry's tag list of ${scrub(name)}`, creds, "ChartNotFound");
  let tags: string[];
  try {
    tags = ((JSON.parse(a.body.toString("utf8")) as { tags?: unknown }).tags as string[] | null) ?? [];
  } catch {
    throw new HelmSourceError("IndexInvalid", `the tag list of ${name} is not JSON`);
  }
  if (!Array.isArray(tags) || tags.length === 0) throw new HelmSourceError("ChartNotFound", `the registry has no tags for chart "${chart}" (${name})`);
  let best: { v: semver.SemVer; tag: string } | undefined;
  for (const tag of tags) {
    const v = semver.parse(String(tag).replace(/_/g, "+"), { loose: true });
    if (!v || !semver.satisfies(v, range, { loose: true })) continue;
    if (!best || semver.gt(v, best.v)) best = { v, tag: String(tag) };
  }
  if (!best) {
    const newest = tags.map((t) => semver.parse(String(t).replace(/_/g, "+"), { loose: true })).filter((v): v is semver.SemVer => v !== null).sort(semver.rcompare).slice(0, 5).map((v) => v.version);
    throw new HelmSourceError("NoMatchingVersion", `no version of chart "${chart}" matches "${range}" (newest: ${newest.join(", ") || "none"})`);
  }
  return { version: best.v.version, tag: best.tag };
}

/** The chart layer of a version's manifest: its digest and size (the manifest itself verified by its digest). */
export async function ociLayer(client: OciClient, url: string, chart: string, tag: string, creds?: Credentials): Promise<IndexEntry & { size: number; layer: string }> {
  const { name } = ociRef(url, chart);
  const a = await client.get(`/v2/${name}/manifests/${tag}`, { accept: MANIFEST_TYPES, what: "index" });
  if (a.status !== 200) throw failed(a, `the manifest of ${name}:${tag}`, creds, "ChartNotFound");
  const said = String(a.headers["docker-content-digest"] ?? "");
  const got = `sha256:${createHash("sha256").update(a.body).digest("hex")}`;
  if (said && said !== got) throw new HelmSourceError("DigestMismatch", `the manifest of ${name}:${tag} has digest ${got}, but the registry says ${said}; refusing it`);
  let layers: { mediaType?: string; digest?: string; size?: number }[];
  try {
    layers = (JSON.parse(a.body.toString("utf8")) as { layers?: typeof layers }).layers ?? [];
  } catch {
    throw new HelmSourceError("InvalidChart", `the manifest of ${name}:${tag} is not JSON`);
  }
  const layer = layers.find((l) => l.mediaType === CHART_LAYER);
  if (!layer?.digest || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) throw new HelmSourceError("InvalidChart", `${name}:${tag} is not a Helm chart (no ${CHART_LAYER} layer)`);
  return { version: tag.replace(/_/g, "+"), digest: layer.digest.slice(7), urls: [], size: layer.size ?? 0, layer: layer.digest };
}

/** Downloads the chart layer, verifies its digest and finds the chart's directory. */
export async function downloadOciChart(client: OciClient, url: string, chart: string, layer: { layer: string; size: number; version: string }, maxBytes: number): Promise<DownloadedChart> {
  const { name } = ociRef(url, chart);
  if (layer.size > maxBytes) throw new HelmSourceError("ChartTooLarge", `the chart is larger than the ${maxBytes}-byte limit (--max-chart-size); the manifest says ${layer.size} bytes`);
  const a = await client.get(`/v2/${name}/blobs/${layer.layer}`, { what: "chart", maxBytes });
  if (a.status !== 200) throw new HelmSourceError("ChartDownloadFailed", `the chart layer of ${name} answered HTTP ${a.status}`);
  const digest = `sha256:${createHash("sha256").update(a.body).digest("hex")}`;
  if (digest !== layer.layer) {
    throw new HelmSourceError("DigestMismatch", `chart "${chart}" version ${layer.version} from the registry has digest ${digest}, but its manifest says ${layer.layer}; refusing it`);
  }
  return { bytes: a.body, digest, chartName: await chartDirectory(a.body, chart, layer.version) };
}
