// The webhook receiver: a push to the git host is applied in seconds instead of at the next poll. Accepts
// GitHub (X-Hub-Signature-256), GitLab (X-Gitlab-Token) and a generic form (X-Mooring-Signature-256: HMAC-SHA256
// of the body), verifies it in constant time against a secret, caps the body size, and hands the push's
// repository URLs and ref to a callback that triggers the matching GitRepositories.
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

export interface WebhookOptions {
  /** The shared secret; read on each request so a rotated Secret takes effect. Undefined: reject everything. */
  secret: () => Promise<string | undefined> | string | undefined;
  /** Called for each verified push; returns how many objects were triggered (reported to the sender). */
  onPush: (event: PushEvent) => Promise<number> | number;
  /** Largest accepted body (default 1 MiB). */
  maxBodyBytes?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_WEBHOOK_BODY = 1024 * 1024;

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

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(header(req, "content-length") ?? "0");
  if (declared > limit) return Promise.reject(new HttpFailure(413, `body larger than ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new HttpFailure(413, `body larger than ${limit} bytes`));
        return;
      }
      parts.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
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

export function webhookHandler(opts: WebhookOptions): http.RequestListener {
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BODY;
  return (req, res) => {
    const reply = (status: number, body: Record<string, unknown>) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body) + "\n");
    };
    const handle = async () => {
      if (req.method !== "POST") throw new HttpFailure(405, "use POST");
      const body = await readBody(req, limit);
      const secret = await opts.secret();
      if (!secret) throw new HttpFailure(503, "webhook secret not configured");
      const provider = detect(req);
      if (!verify(provider, req, body, secret)) throw new HttpFailure(401, "signature mismatch");
      const eventName = provider === "github" ? header(req, "x-github-event") : provider === "gitlab" ? header(req, "x-gitlab-event") : "push";
      const event = parsePush(provider, eventName, parseJson(req, body));
      if (!event) return reply(202, { ignored: eventName ?? "unknown event" });
      const triggered = await opts.onPush(event);
      opts.logger?.info("webhook push received", { provider, ref: event.ref, urls: event.urls, triggered });
      reply(202, { triggered });
    };
    handle().catch((err: unknown) => {
      if (err instanceof HttpFailure) {
        if (err.status === 401) opts.logger?.warn("webhook rejected: signature mismatch", { remote: req.socket.remoteAddress });
        if (!res.headersSent) reply(err.status, { error: err.message });
        if (err.status === 413) req.socket.destroySoon?.();
        return;
      }
      opts.logger?.error("webhook handling failed", { error: (err as Error).message });
      if (!res.headersSent) reply(500, { error: "internal error" });
    });
  };
}
