// The HTTP layer every runtime request goes through: the KubeConfig's TLS and credentials, keep-alive connections,
// a client-side QPS/burst limit, optional impersonation, typed API errors, and line-delimited watch streams.
// Our own streaming (instead of client-node's Watch) lets the watcher see every way a stream can end
// (server close, ECONNRESET, silence) and decide itself what to do next.
import http from "node:http";
import https from "node:https";
import { type Clock, realClock } from "./clock.js";
import { type ExportableKubeConfig, KubeConfig } from "./kubeconfig.js";
import { TokenBucket } from "./ratelimit.js";

/** The Kubernetes `Status` object an API error carries. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: Record<string, unknown>;
}

/** An error answered by the API server (or a transport failure, code 0). Test with isNotFound() & co, not by name. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: ApiStatus,
    readonly method: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`${method} ${path}: ${code ? `HTTP ${code} ${status.reason ?? ""}`.trim() : "request failed"}: ${status.message ?? "no message"}`, options);
  }
  get reason(): string | undefined {
    return this.status.reason;
  }
}

const hasCode = (err: unknown, code: number) => err instanceof ApiError && err.code === code;
export const isNotFound = (err: unknown): boolean => hasCode(err, 404);
export const isConflict = (err: unknown): boolean => hasCode(err, 409) && (err as ApiError).reason !== "AlreadyExists";
export const isAlreadyExists = (err: unknown): boolean => err instanceof ApiError && err.reason === "AlreadyExists";
export const isGone = (err: unknown): boolean => hasCode(err, 410);
/** The resourceVersion asked for is older than the server keeps (410 Gone, or reason Expired: "too old resource version"). */
export const isResourceExpired = (err: unknown): boolean => isGone(err) || (err instanceof ApiError && err.reason === "Expired");
/**
 * The resourceVersion asked for is newer than the server has seen (a watch cache behind etcd, or an RV from another
 * cluster): apimachinery's IsTooLargeResourceVersion — a Timeout (504) carrying the cause ResourceVersionTooLarge —
 * plus the message client-go's reflector still matches for API servers before 1.18.6, which set no cause.
 */
export function isTooLargeResourceVersion(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false;
  const causes = (err.status.details as { causes?: { type?: string; message?: string }[] } | undefined)?.causes ?? [];
  if (causes.some((c) => c.type === "ResourceVersionTooLarge")) return true;
  if (err.code !== 504 && err.reason !== "Timeout") return false;
  return causes.some((c) => c.message === "Too large resource version") || (err.status.message ?? "").includes("Too large resource version");
}
export const isInvalid = (err: unknown): boolean => hasCode(err, 422);
export const isForbidden = (err: unknown): boolean => hasCode(err, 403);
/** Network failures and 5xx/429 answers: worth retrying later. */
export const isTransient = (err: unknown): boolean => err instanceof ApiError && (err.code === 0 || err.code === 429 || err.code >= 500);

export interface RestOptions {
  /** Client-side limit on requests per second (default 20, like controller-runtime). */
  qps?: number;
  /** Requests allowed at once above the QPS (default 30). */
  burst?: number;
  /** User to impersonate, e.g. `system:serviceaccount:ns:name` (see serviceAccountUser). */
  impersonateUser?: string;
  impersonateGroups?: string[];
  userAgent?: string;
  /** Timeout for ordinary (non-watch) requests, ms (default 60 s). */
  requestTimeoutMs?: number;
  clock?: Clock;
  /** Called after each request with its method and HTTP code (0 for transport errors); feeds rest_client_requests_total. */
  onRequest?: (method: string, code: number, host: string) => void;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

function queryString(q: RequestOptions["query"]): string {
  if (!q) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}

interface Shared {
  agent: http.Agent;
  /** TLS options the agent was built with (an exec plugin's client certificate is added per credential). */
  tls?: https.AgentOptions;
  /** The agent for the exec plugin's current client certificate, rebuilt when the plugin hands out another. */
  execAgent?: { cert: Buffer; agent: https.Agent };
  limiter: TokenBucket;
  headers?: { at: number; value: Record<string, string | string[]> };
}

/** One line of a watch stream. */
export interface RawWatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: any;
}

export class RestClient {
  readonly server: URL;
  private readonly shared: Shared;
  private readonly clock: Clock;
  private readonly timeoutMs: number;

  private constructor(
    readonly kubeConfig: KubeConfig,
    private readonly opts: RestOptions,
    shared?: Shared,
  ) {
    this.server = new URL(kubeConfig.requireCluster().server);
    this.clock = opts.clock ?? realClock;
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.shared = shared ?? { ...this.makeAgent(), limiter: new TokenBucket(opts.qps ?? 20, opts.burst ?? 30, this.clock) };
  }

  /** From our KubeConfig, or from client-node's (anything with `exportConfig()`), converted once. */
  static fromKubeConfig(kc: KubeConfig | ExportableKubeConfig, opts: RestOptions = {}): RestClient {
    return new RestClient(KubeConfig.from(kc), opts);
  }

  /** A client that acts as `user` (sharing connections and the rate limit with this one). */
  impersonate(user: string, groups?: string[]): RestClient {
    return new RestClient(this.kubeConfig, { ...this.opts, impersonateUser: user, impersonateGroups: groups }, this.shared);
  }

  /** Closes idle keep-alive connections (call at shutdown). */
  close(): void {
    this.shared.agent.destroy();
    this.shared.execAgent?.agent.destroy();
  }

  private makeAgent(): { agent: http.Agent; tls?: https.AgentOptions } {
    if (this.server.protocol === "http:") return { agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) };
    // Build the TLS agent once from the kubeconfig so connections are reused (a fresh agent per request leaks sockets).
    // Certificate files are read here, so a missing one fails the constructor, not some later request.
    const tls = { keepAlive: true, maxSockets: 64, ...this.kubeConfig.tlsOptions() };
    return { agent: new https.Agent(tls), tls };
  }

  /** The agent for the next request: the kubeconfig's, or one carrying the exec plugin's current client certificate. */
  private async agent(): Promise<http.Agent> {
    if (!this.shared.tls || !this.kubeConfig.user?.exec) return this.shared.agent;
    const cert = await this.kubeConfig.execTls(); // cached until the credential expires; a failure fails this request only
    if (!cert?.cert) return this.shared.agent;
    const cur = this.shared.execAgent;
    if (cur && cur.cert.equals(cert.cert)) return cur.agent;
    const agent = new https.Agent({ ...this.shared.tls, ...cert });
    this.shared.execAgent = { cert: cert.cert, agent };
    return agent;
  }

  private async authHeaders(): Promise<Record<string, string | string[]>> {
    // Tokens from files and exec plugins rotate; re-read them at most every 10 s.
    const cached = this.shared.headers;
    const now = this.clock.now();
    if (cached && now - cached.at < 10_000) return cached.value;
    const value = await this.kubeConfig.authHeaders();
    this.shared.headers = { at: now, value };
    return value;
  }

  private async start(method: string, path: string, o: RequestOptions, watch: boolean): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
    try {
      return await this.startOnce(method, path, o, watch);
    } catch (err) {
      // A kept-alive socket the server closed while idle fails the next write (EPIPE) or read (ECONNRESET) before
      // the request reached the server; one retry on a fresh socket is what Node's docs advise. POST is left out:
      // it is the one verb whose repetition is not harmless.
      const cause = (err as { cause?: NodeJS.ErrnoException & { reusedSocket?: boolean } }).cause;
      if (method !== "POST" && cause?.reusedSocket && (cause.code === "ECONNRESET" || cause.code === "EPIPE") && !o.signal?.aborted) {
        return await this.startOnce(method, path, o, watch);
      }
      throw err;
    }
  }

  private async startOnce(method: string, path: string, o: RequestOptions, watch: boolean): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
    await this.shared.limiter.take(o.signal);
    const headers: Record<string, string | string[]> = { ...(await this.authHeaders()), Accept: "application/json" };
    headers["User-Agent"] = this.opts.userAgent ?? "mooring-runtime";
    if (this.opts.impersonateUser) {
      // A client impersonating someone replaces the kubeconfig's own `as`/`as-groups` entirely.
      headers["Impersonate-User"] = this.opts.impersonateUser;
      delete headers["Impersonate-Group"];
    }
    if (this.opts.impersonateGroups?.length) headers["Impersonate-Group"] = this.opts.impersonateGroups;
    let payload: Buffer | undefined;
    if (o.body !== undefined) {
      payload = Buffer.from(typeof o.body === "string" ? o.body : JSON.stringify(o.body));
      headers["Content-Type"] = o.contentType ?? "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const base = this.server.pathname.replace(/\/$/, "");
    const mod = this.server.protocol === "http:" ? http : https;
    const agent = await this.agent();
    return await new Promise((resolve, reject) => {
      const req = mod.request(
        {
          protocol: this.server.protocol,
          hostname: this.server.hostname.replace(/^\[(.*)\]$/, "$1"), // IPv6 literals come bracketed from URL
          port: this.server.port,
          method,
          path: base + path + queryString(o.query),
          headers,
          agent,
          signal: o.signal,
          timeout: watch ? undefined : this.timeoutMs,
        },
        (res) => {
          if (res.statusCode === 401) {
            // Expired or revoked credentials: read token files and ask exec plugins again on the next request.
            this.shared.headers = undefined;
            this.kubeConfig.forgetCredentials();
          }
          resolve({ res, req });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on("error", (err) => reject(new ApiError(0, { message: err.message }, method, path, { cause: Object.assign(err, { reusedSocket: req.reusedSocket }) })));
      req.end(payload);
    });
  }

  private report(method: string, code: number): void {
    this.opts.onRequest?.(method, code, this.server.host);
  }

  /** One request; resolves with the decoded JSON body, rejects with ApiError for non-2xx answers and network failures. */
  async request<T = any>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    let res: http.IncomingMessage;
    try {
      ({ res } = await this.start(method, path, o, false));
    } catch (err) {
      this.report(method, 0);
      throw err;
    }
    const chunks: Buffer[] = [];
    try {
      for await (const c of res) chunks.push(c as Buffer);
    } catch (err) {
      this.report(method, 0);
      throw new ApiError(0, { message: `response interrupted: ${(err as Error).message}` }, method, path, { cause: err });
    }
    const code = res.statusCode ?? 0;
    this.report(method, code);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: any = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = { message: text.slice(0, 500) };
    }
    if (code < 200 || code >= 300) throw new ApiError(code, (body as ApiStatus) ?? {}, method, path);
    return body as T;
  }

  /**
   * Opens a watch stream and yields its events. The iterator ends when the server closes the stream; it throws
   * ApiError on a non-2xx answer or a broken connection. Aborting `signal` destroys the connection.
   */
  async *watch(path: string, o: RequestOptions = {}): AsyncGenerator<RawWatchEvent> {
    let res: http.IncomingMessage;
    let req: http.ClientRequest;
    try {
      ({ res, req } = await this.start("GET", path, { ...o, query: { ...o.query, watch: true } }, true));
    } catch (err) {
      this.report("WATCH", 0);
      throw err;
    }
    const code = res.statusCode ?? 0;
    this.report("WATCH", code);
    if (code < 200 || code >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      let status: ApiStatus = {};
      try {
        status = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ApiStatus;
      } catch {
        /* not JSON */
      }
      throw new ApiError(code, status, "WATCH", path);
    }
    try {
      for await (const ev of watchEvents(res, () => res.complete)) yield ev;
    } catch (err) {
      if (o.signal?.aborted) return;
      if (err instanceof MalformedWatchEvent) throw new ApiError(0, { message: err.message }, "WATCH", path);
      throw new ApiError(0, { message: `watch stream broken: ${(err as Error).message}` }, "WATCH", path, { cause: err });
    } finally {
      // Never hand a half-read watch socket back to the pool.
      req.destroy();
    }
    if (!res.complete && !o.signal?.aborted) throw new ApiError(0, { message: "watch stream ended before the server finished it" }, "WATCH", path);
  }
}

/** A watch line that is not JSON. Its message never quotes the line: it may hold a Secret's data. */
class MalformedWatchEvent extends Error {}

/**
 * Splits a watch body into events, one JSON document per line. The bytes are decoded with one streaming UTF-8
 * decoder: HTTP chunks end anywhere, also inside a multi-byte character, and decoding each chunk on its own would
 * turn both halves into U+FFFD (a corrupted value in the cache, then false drift or a wrong value applied).
 * A last line without its newline is parsed only when `complete()` says the server finished the body.
 */
export async function* watchEvents(chunks: AsyncIterable<Uint8Array | string>, complete: () => boolean = () => true): AsyncGenerator<RawWatchEvent> {
  const decoder = new TextDecoder("utf-8");
  let rest = "";
  let lineNo = 0;
  const parse = (line: string): RawWatchEvent => {
    lineNo++;
    try {
      return JSON.parse(line) as RawWatchEvent;
    } catch {
      throw new MalformedWatchEvent(`watch event ${lineNo} is not valid JSON (${line.length} characters)`);
    }
  };
  for await (const chunk of chunks) {
    rest += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line) yield parse(line);
    }
  }
  rest = (rest + decoder.decode()).trim();
  if (rest && complete()) yield parse(rest);
}
