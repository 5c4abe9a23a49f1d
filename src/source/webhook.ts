// The webhook receiver: a push to the git host is applied in seconds instead of at the next poll. Accepts
// GitHub (X-Hub-Signature-256), GitLab (X-Gitlab-Token) and a generic form (X-Mooring-Signature-256: HMAC-SHA256
// of the body), verifies it in constant time against a secret, and hands the push's repository URLs and ref to a
// callback that triggers the matching GitRepositories.
//
// Two kinds of receivers share the port:
//   /hook/<namespace>/<name>  a GitRepository's own (spec.webhook.secretRef, a Secret in its namespace): a push
//                             verified with that secret triggers that GitRepository only, so one tenant's secret can
//                             never trigger another tenant's objects;
//   any other path            the operator-wide secret (--webhook-secret), which triggers the matching
//                             GitRepositories that have no receiver of their own.
// Every request is bounded before any secret is read: one body size (413), one read deadline (408), and a number
// of requests handled at once (429). A refused signature is logged with the receiver and the sender's address,
// never the body or a header value.
import { createHmac, timingSafeEqual } from "node:crypto";
import type http from "node:http";
import type { Logger } from "../log.js";
import type { GitRefSpec } from "./refs.js";

export type WebhookProvider = "github" | "gitlab" | "generic";

export interface PushEvent {
  provider: WebhookProvider;
  /** Every URL the payload names for the repository (clone, web, ssh), normalized by `normalizeRepoUrl`. */
  urls: string[];
  /** The full pushed ref, e.g. `refs/heads/main` or `refs/tags/v1.0.0`. */
  ref: string;
  branch?: string;
  tag?: string;
}

/** A GitRepository with a receiver of its own: the one object a push to /hook/<namespace>/<name> may trigger. */
export interface WebhookReceiverRef {
  namespace: string;
  name: string;
}

export interface WebhookOptions {
  /** The operator-wide secret; read on each request so a rotated Secret takes effect. Undefined: 503. */
  secret: () => Promise<string | undefined> | string | undefined;
  /**
   * The secret of a GitRepository's own receiver (its spec.webhook.secretRef), or a reason it has none (no such
   * GitRepository, no spec.webhook, no Secret or no key): the reason is logged, the sender only gets 401.
   */
  receiverSecret?: (ref: WebhookReceiverRef) => Promise<{ secret: string } | { missing: string }>;
  /**
   * Called for each verified push; returns how many objects were triggered (reported to the sender). `receiver` is
   * set for a push to a GitRepository's own receiver: only that GitRepository may be triggered.
   */
  onPush: (event: PushEvent, receiver?: WebhookReceiverRef) => Promise<number> | number;
  /** Largest accepted body (default 1 MiB). */
  maxBodyBytes?: number;
  /** Requests handled at once; more are answered 429 (default 16). */
  maxConcurrent?: number;
  /** How long a sender may take to send its body (default 10 s): a slow sender holds one of maxConcurrent. */
  bodyTimeoutMs?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_WEBHOOK_BODY = 1024 * 1024;
export const DEFAULT_MAX_WEBHOOK_CONCURRENT = 16;
export const DEFAULT_WEBHOOK_BODY_TIMEOUT_MS = 10_000;

/** The path of a GitRepository's own receiver. */
export function receiverPath(ref: WebhookReceiverRef): string {
  return `/hook/${ref.namespace}/${ref.name}`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Which receiver a request path names: a GitRepository's own (/hook/<namespace>/<name>), the operator-wide one
 * (any path outside /hook/…/…, as before per-GitRepository receivers existed), or none (a malformed /hook/ path).
 */
export function routeOf(url: string | undefined): { receiver: WebhookReceiverRef } | "operator" | undefined {
  let pathname: string;
  try {
    pathname = new URL(url ?? "/", "http://receiver").pathname;
  } catch {
    return undefined;
  }
  if (!pathname.startsWith("/hook/")) return "operator";
  const parts = pathname.slice("/hook/".length).replace(/\/$/, "").split("/");
  if (parts.length !== 2) return parts.length === 1 && parts[0] === "" ? "operator" : undefined;
  const [namespace, name] = parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return "";
    }
  }) as [string, string];
  if (namespace.length > 63 || !DNS_LABEL.test(namespace) || name.length > 253 || !DNS_SUBDOMAIN.test(name)) return undefined;
  return { receiver: { namespace, name } };
}

/** Host and path of a repository URL, lower-cased, without scheme, credentials, `.git` or trailing slash. */
export function normalizeRepoUrl(url: string): string {
  let s = url.trim();
  const scp = s.match(/^([^@/:]+@)?([^:/]+):(?!\/\/)(.+)$/); // git@host:owner/repo.git
  if (scp && !/^[a-z]+:\/\//i.test(s)) s = `ssh://${scp[2]}/${scp[3]}`;
  try {
    const u = new URL(s);
    s = `${u.hostname}${u.port && !["80", "443", "22"].includes(u.port) ? ":" + u.port : ""}${u.pathname}`;
  } catch {
    // leave as is: compared literally
  }
  return s.toLowerCase().replace(/\/+$/, "").replace(/\.git$/, "");
}

/** Whether a push should trigger a GitRepository with this url and ref. */
export function pushMatches(event: PushEvent, url: string, ref: GitRefSpec | undefined): boolean {
  if (!event.urls.includes(normalizeRepoUrl(url))) return false;
  if (!ref || Object.values(ref).every((v) => v === undefined || v === "")) return event.branch !== undefined; // default branch: any branch push may be it
  if (ref.branch) return event.branch === ref.branch;
  if (ref.tag) return event.tag === ref.tag;
  if (ref.semver) return event.tag !== undefined;
  if (ref.name) return event.ref === ref.name;
  return false; // a pinned commit never changes
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare equal-length buffers so the time taken does not reveal where they differ (the length is not secret).
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

function hmacHex(secret: string, body: Buffer): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

class HttpFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readBody(req: http.IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(header(req, "content-length") ?? "0");
  if (declared > limit) return Promise.reject(new HttpFailure(413, `body larger than ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const stop = (err: HttpFailure) => {
      clearTimeout(timer);
      req.removeAllListeners("data");
      req.resume();
      reject(err);
    };
    const timer = setTimeout(() => stop(new HttpFailure(408, `body not received within ${timeoutMs} ms`)), timeoutMs);
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop(new HttpFailure(413, `body larger than ${limit} bytes`));
      parts.push(chunk);
    });
    req.on("end", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function detect(req: http.IncomingMessage): WebhookProvider {
  if (header(req, "x-github-event")) return "github";
  if (header(req, "x-gitlab-event")) return "gitlab";
  return "generic";
}

function verify(provider: WebhookProvider, req: http.IncomingMessage, body: Buffer, secret: string): boolean {
  switch (provider) {
    case "github": {
      const sig = header(req, "x-hub-signature-256") ?? "";
      return safeEqual(sig, `sha256=${hmacHex(secret, body)}`);
    }
    case "gitlab":
      return safeEqual(header(req, "x-gitlab-token") ?? "", secret);
    case "generic": {
      const sig = header(req, "x-mooring-signature-256") ?? header(req, "x-signature-256") ?? "";
      return safeEqual(sig, `sha256=${hmacHex(secret, body)}`);
    }
  }
}

function parseJson(req: http.IncomingMessage, body: Buffer): Record<string, any> {
  let text = body.toString("utf8");
  // GitHub can send application/x-www-form-urlencoded with the JSON in `payload`.
  if ((header(req, "content-type") ?? "").startsWith("application/x-www-form-urlencoded")) {
    text = new URLSearchParams(text).get("payload") ?? "";
  }
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, any>;
  } catch {
    // fall through
  }
  throw new HttpFailure(400, "body is not a JSON object");
}

/** Extracts the push from a verified payload; undefined for events that are not pushes (ping, issues, …). */
export function parsePush(provider: WebhookProvider, eventName: string | undefined, payload: Record<string, any>): PushEvent | undefined {
  const str = (v: unknown) => (typeof v === "string" && v ? [v] : []);
  let ref: unknown;
  let urls: string[];
  switch (provider) {
    case "github":
      if (eventName !== "push") return undefined;
      ref = payload.ref;
      urls = [...str(payload.repository?.clone_url), ...str(payload.repository?.html_url), ...str(payload.repository?.ssh_url), ...str(payload.repository?.url)];
      break;
    case "gitlab":
      if (eventName !== "Push Hook" && eventName !== "Tag Push Hook") return undefined;
      ref = payload.ref;
      urls = [
        ...str(payload.project?.git_http_url),
        ...str(payload.project?.web_url),
        ...str(payload.project?.git_ssh_url),
        ...str(payload.repository?.git_http_url),
        ...str(payload.repository?.homepage),
      ];
      break;
    case "generic":
      ref = payload.ref ?? (typeof payload.branch === "string" ? `refs/heads/${payload.branch}` : typeof payload.tag === "string" ? `refs/tags/${payload.tag}` : undefined);
      urls = str(payload.url);
      break;
  }
  if (typeof ref !== "string" || !ref.startsWith("refs/") || urls.length === 0) throw new HttpFailure(400, "push payload lacks a repository URL or a full ref");
  const event: PushEvent = { provider, urls: [...new Set(urls.map(normalizeRepoUrl))], ref };
  if (ref.startsWith("refs/heads/")) event.branch = ref.slice("refs/heads/".length);
  if (ref.startsWith("refs/tags/")) event.tag = ref.slice("refs/tags/".length);
  return event;
}

/** The HMAC secret a request is verified with: its GitRepository receiver's, else the operator-wide one. */
async function secretFor(opts: WebhookOptions, receiver: WebhookReceiverRef | undefined, where: string, req: http.IncomingMessage): Promise<string> {
  if (!receiver) {
    const secret = await opts.secret();
    if (!secret) throw new HttpFailure(503, "webhook secret not configured");
    return secret;
  }
  const found = opts.receiverSecret ? await opts.receiverSecret(receiver) : { missing: "per-GitRepository receivers are not enabled" };
  if ("missing" in found) {
    // The sender learns nothing about which GitRepositories exist or have receivers: the same 401 as a
    // wrong signature. The operator's log says why.
    opts.logger?.warn("webhook rejected: no receiver secret", { receiver: where, reason: found.missing, remote: req.socket.remoteAddress });
    throw new HttpFailure(401, "signature mismatch");
  }
  return found.secret;
}

export function webhookHandler(opts: WebhookOptions): http.RequestListener {
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BODY;
  const maxConcurrent = opts.maxConcurrent ?? DEFAULT_MAX_WEBHOOK_CONCURRENT;
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? DEFAULT_WEBHOOK_BODY_TIMEOUT_MS;
  let inFlight = 0;
  return (req, res) => {
    const reply = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body) + "\n");
    };
    // Guards before anything is read: the method, the route, and the number of requests in progress.
    if (req.method !== "POST") return reply(405, { error: "use POST" });
    const route = routeOf(req.url);
    if (!route) return reply(404, { error: "no receiver at this path: use /hook/<namespace>/<gitrepository> or /hook" });
    if (inFlight >= maxConcurrent) {
      opts.logger?.warn("webhook refused: too many requests at once", { limit: maxConcurrent, remote: req.socket.remoteAddress });
      // The body is not read: close the connection rather than drain it.
      return reply(429, { error: "too many requests; retry later" }, { "retry-after": "1", connection: "close" });
    }
    inFlight++;
    const receiver = route === "operator" ? undefined : route.receiver;
    const where = receiver ? `GitRepository ${receiver.namespace}/${receiver.name}` : "operator-wide";
    const handle = async () => {
      const body = await readBody(req, limit, bodyTimeoutMs);
      const secret = await secretFor(opts, receiver, where, req);
      const provider = detect(req);
      if (!verify(provider, req, body, secret)) {
        opts.logger?.warn("webhook rejected: signature mismatch", { receiver: where, provider, remote: req.socket.remoteAddress });
        throw new HttpFailure(401, "signature mismatch");
      }
      const eventName = provider === "github" ? header(req, "x-github-event") : provider === "gitlab" ? header(req, "x-gitlab-event") : "push";
      const event = parsePush(provider, eventName, parseJson(req, body));
      if (!event) return reply(202, { ignored: eventName ?? "unknown event" });
      const triggered = await opts.onPush(event, receiver);
      opts.logger?.info("webhook push received", { receiver: where, provider, ref: event.ref, urls: event.urls, triggered });
      reply(202, { triggered });
    };
    handle()
      .catch((err: unknown) => {
        if (err instanceof HttpFailure) {
          const close = err.status === 413 || err.status === 408;
          if (!res.headersSent) reply(err.status, { error: err.message }, close ? { connection: "close" } : {});
          if (close) req.socket.destroySoon?.();
          return;
        }
        opts.logger?.error("webhook handling failed", { receiver: where, error: (err as Error).message });
        if (!res.headersSent) reply(500, { error: "internal error" });
      })
      .finally(() => inFlight--);
  };
}
