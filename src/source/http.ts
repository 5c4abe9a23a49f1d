// The HTTP transport isomorphic-git uses, on Node's http/https: a custom CA per repository, one AbortSignal for
// the whole operation, a cap on response bytes that aborts a too-large download while it streams (before any of
// it reaches the disk), and counters for tests and benchmarks. Network failures become SourceErrors whose
// messages carry no credentials.
import http from "node:http";
import https from "node:https";
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";
import { SourceError, redactUrl } from "./errors.js";

export interface TransportOptions {
  /** PEM CA bundle trusted for https URLs (in addition to nothing else: a custom CA replaces the defaults). */
  ca?: string;
  /** Aborts every request of this transport (the whole-operation timeout). */
  signal?: AbortSignal;
  /** Abort once response bodies of this transport exceed this many bytes. */
  maxResponseBytes?: number;
  /** Extra headers on every request (credentials); never logged. */
  headers?: Record<string, string>;
  /** Redirects followed for GET requests (credentials are dropped when the host changes). */
  maxRedirects?: number;
}

export interface TransportStats {
  requests: number;
  bytesIn: number;
}

export class Transport implements HttpClient {
  readonly stats: TransportStats = { requests: 0, bytesIn: 0 };
  /** Set when this transport aborted an operation itself (size limit); the fetch reports it instead of the symptom. */
  failure: SourceError | undefined;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly httpsAgent: https.Agent;
  private readonly local = new AbortController();
  private readonly signal: AbortSignal;

  constructor(private readonly opts: TransportOptions = {}) {
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4, ...(opts.ca ? { ca: opts.ca } : {}) });
    this.signal = opts.signal ? AbortSignal.any([opts.signal, this.local.signal]) : this.local.signal;
  }

  /** True once the operation's deadline passed, it was cancelled, or the size limit hit. */
  get aborted(): boolean {
    return this.signal.aborted;
  }

  /** Aborts in-flight requests with a reason of our own (used by the size limit). */
  abort(err: SourceError): void {
    this.failure ??= err;
    this.local.abort(err);
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  async request(req: GitHttpRequest): Promise<GitHttpResponse> {
    const body = req.body ? await collectBody(req.body) : undefined;
    let url = req.url;
    let headers: Record<string, string> = { ...(req.headers ?? {}), ...(this.opts.headers ?? {}) };
    const maxRedirects = this.opts.maxRedirects ?? 5;
    for (let hop = 0; ; hop++) {
      const res = await this.once(req.method ?? "GET", url, headers, body);
      const location = res.headers.location;
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location && (req.method ?? "GET") === "GET" && hop < maxRedirects) {
        res.resume();
        const next = new URL(location, url);
        if (next.host !== new URL(url).host) headers = { ...(req.headers ?? {}) };
        url = next.toString();
        continue;
      }
      return {
        url,
        method: req.method ?? "GET",
        statusCode: res.statusCode ?? 0,
        statusMessage: res.statusMessage ?? "",
        headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")])),
        body: this.count(res, new URL(url)),
      };
    }
  }

  private once(method: string, url: string, headers: Record<string, string>, body: Buffer | undefined): Promise<http.IncomingMessage> {
    this.stats.requests++;
    this.signal.throwIfAborted();
    const u = new URL(url);
    const isHttps = u.protocol === "https:";
    if (!isHttps && u.protocol !== "http:") {
      return Promise.reject(new SourceError("InvalidSpec", `unsupported URL scheme ${u.protocol} in ${redactUrl(url)}; use https:// (or http://)`));
    }
    const h: Record<string, string> = { ...headers, "user-agent": "mooring-source-controller" };
    if (body) h["content-length"] = String(body.length);
    return new Promise((resolve, reject) => {
      const r = (isHttps ? https : http).request(
        u,
        { method, headers: h, agent: isHttps ? this.httpsAgent : this.httpAgent, signal: this.signal },
        resolve,
      );
      r.on("error", (err) => reject(this.networkError(err, u)));
      r.end(body);
    });
  }

  private async *count(res: http.IncomingMessage, u: URL): AsyncIterableIterator<Uint8Array> {
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        this.stats.bytesIn += chunk.length;
        if (this.opts.maxResponseBytes !== undefined && this.stats.bytesIn > this.opts.maxResponseBytes) {
          const err = new SourceError(
            "SizeLimitExceeded",
            `download exceeded the size limit of ${this.opts.maxResponseBytes} bytes and was aborted; the repository is larger than this controller accepts`,
          );
          this.abort(err);
          res.destroy();
          throw err;
        }
        yield chunk;
      }
    } catch (err) {
      throw this.failure ?? this.networkError(err as Error, u);
    }
  }

  private networkError(err: Error & { code?: string }, u: URL): Error {
    if (err instanceof SourceError) return err;
    if (this.signal.aborted) {
      const reason: unknown = this.signal.reason;
      if (reason instanceof SourceError) return reason;
      return new SourceError("Timeout", "the operation timed out", { cause: err });
    }
    const where = `${u.protocol}//${u.host}`;
    const code = err.code ?? "";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new SourceError("Unreachable", `cannot resolve host ${u.hostname} (DNS ${code}); check spec.url`, { cause: err });
    if (code === "ECONNREFUSED") return new SourceError("Unreachable", `connection refused by ${where}; is the git server running?`, { cause: err });
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return new SourceError("Unreachable", `TLS verification of ${where} failed (${code}); add the server's CA as ca.crt in the Secret named by spec.secretRef`, { cause: err });
    }
    return new SourceError("Unreachable", `request to ${where} failed: ${code || err.message}`, { cause: err });
  }
}

async function collectBody(body: AsyncIterableIterator<Uint8Array> | Iterable<Uint8Array> | Uint8Array): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  const parts: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}
