// The UI's HTTP server: the static bundle (built from src/ui/client by `make ui`), a JSON API over the shared cache
// (src/ui/state.ts) and one Server-Sent Events stream per page. Every request is attributed to a user first
// (src/ui/auth.ts); actions then run with that user's rights, or are refused in read-only mode.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describeError } from "../cli/kube.js";
import type { Logger } from "../log.js";
import type { Client, KubeConfig } from "../runtime/index.js";
import { runAction } from "./actions.js";
import { Authenticator, SESSION_COOKIE, Unauthenticated, type Identity } from "./auth.js";
import { StaticAssets, negotiate, streamCompressor } from "./compress.js";
import { ACTIONS, type ActionName, type DiffView, type WhoAmI } from "./model.js";
import type { UiState } from "./state.js";
import { ScopedSerialiser, Visibility, cachedNamespaces, filterDetail, namesUnreviewed, shows, subjectAccessReviewer, type Scope } from "./visibility.js";

export interface UiServerOptions {
  state: UiState;
  auth: Authenticator;
  /** The process's client (reads, diffs) and its kubeconfig. */
  client: Client;
  kc: KubeConfig;
  readOnly: boolean;
  /** The built bundle: index.html, app.js, app.css. */
  assetsDir: string;
  /** The operator's --default-service-account, for diffs of Applications that name none (as `mooring diff`). */
  defaultServiceAccount: string;
  logger: Logger;
  /** What each user may see (default: SubjectAccessReviews with the process's client, answers kept 30 s). */
  visibility?: Visibility;
}

const ASSETS: Record<string, string> = { "/": "index.html", "/index.html": "index.html", "/app.js": "app.js", "/app.css": "app.css" };
export const ASSET_FILES = [...new Set(Object.values(ASSETS))];
const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const MAX_BODY = 64 * 1024;

/** Where the bundle is: dist/ui beside the compiled code, or the repository's dist/ui when run from sources. */
export function defaultAssetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, "../../ui"), path.resolve(here, "../../dist/ui")];
  return candidates.find((d) => existsSync(path.join(d, "app.js"))) ?? candidates[candidates.length - 1]!;
}

const SECURITY_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { ...SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...headers });
  res.end(text);
}

const problem = (res: ServerResponse, code: number, message: string) => send(res, code, { error: message });

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "the request body is not JSON");
  }
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Writes (POST, DELETE) must carry X-Requested-By and, when the browser names an Origin, come from this server's:
 * a page of another site cannot send either without a CORS preflight, which this server never answers.
 */
function checkWriteOrigin(req: IncomingMessage): void {
  if (req.headers["x-requested-by"] !== "mooring-ui") throw new HttpError(403, "writes need the header X-Requested-By: mooring-ui");
  const origin = req.headers.origin;
  if (origin && origin !== "null") {
    let host = "";
    try {
      host = new URL(origin).host;
    } catch {
      /* not a URL: refused below */
    }
    if (host !== req.headers.host) throw new HttpError(403, `cross-origin write refused (Origin ${origin})`);
  }
}

export class UiServer {
  private server: http.Server | undefined;
  /** How to end each open event stream (through its compressor, when it has one). */
  private streams = new Set<() => void>();
  private readonly assets: StaticAssets;
  private readonly visibility: Visibility;
  private readonly serialiser = new ScopedSerialiser();

  constructor(private readonly o: UiServerOptions) {
    this.assets = new StaticAssets(o.assetsDir);
    this.visibility = o.visibility ?? new Visibility({ mode: o.auth.opts.mode, review: subjectAccessReviewer(o.client.rest), logger: o.logger });
  }

  /** What `id` may see now (every kind, every namespace in local mode, or for a user who may list them all). */
  private scopeOf(id: Identity): Promise<Scope> {
    return this.visibility.scope(id, () => cachedNamespaces(this.o.state.cache));
  }

  /** Listens on host:port (port 0: any free one); resolves with the URL. */
  async listen(host: string, port: number): Promise<string> {
    void this.assets.warm(ASSET_FILES);
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as { port: number };
    return `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
  }

  async close(): Promise<void> {
    for (const end of this.streams) end();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://ui.invalid");
    const p = url.pathname;
    try {
      if (p === "/healthz") return send(res, 200, { ok: true });
      if (p === "/readyz") return this.o.state.synced() ? send(res, 200, { ok: true }) : problem(res, 503, "the cache has not listed every kind yet");
      if (req.method === "GET" && ASSETS[p]) return await this.asset(req, res, ASSETS[p]);
      if (!p.startsWith("/api/")) return problem(res, 404, `no page at ${p}`);
      if (p === "/api/session") return await this.session(req, res);
      let id: Identity;
      try {
        id = await this.o.auth.identify(req);
      } catch (err) {
        if (err instanceof Unauthenticated) return problem(res, 401, err.message);
        throw err;
      }
      await this.api(req, res, url, id);
    } catch (err) {
      if (err instanceof HttpError) return problem(res, err.code, err.message);
      this.o.logger.error("UI request failed", { path: p, error: describeError(err) });
      if (!res.headersSent) problem(res, 500, describeError(err));
      else res.end();
    }
  }

  private async asset(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
    let a;
    try {
      a = await this.assets.get(file, negotiate(req.headers["accept-encoding"]));
    } catch {
      return problem(res, 500, `the UI bundle is missing (${path.join(this.o.assetsDir, file)}): build it with 'make ui'`);
    }
    // no-cache: the browser asks each time, and a new bundle is picked up at once; an unchanged one costs a 304.
    const headers = { ...SECURITY_HEADERS, "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream", "Cache-Control": "no-cache", ETag: a.etag, Vary: "Accept-Encoding" };
    if (req.headers["if-none-match"]?.split(",").some((t) => t.trim() === a.etag)) {
      res.writeHead(304, headers);
      return void res.end();
    }
    res.writeHead(200, { ...headers, ...(a.encoding ? { "Content-Encoding": a.encoding } : {}) });
    res.end(a.body);
  }

  /** token mode: POST {token} signs in (a TokenReview), DELETE signs out. */
  private async session(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === "DELETE") {
      checkWriteOrigin(req);
      this.o.auth.signOut(req);
      return send(res, 200, { ok: true }, { "Set-Cookie": `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` });
    }
    if (req.method !== "POST") return problem(res, 405, "POST a token to sign in, DELETE to sign out");
    checkWriteOrigin(req);
    if (this.o.auth.opts.mode !== "token") return problem(res, 400, `this UI identifies users by ${this.o.auth.opts.mode === "proxy" ? "its proxy's header" : "the kubeconfig"}; there is nothing to sign in to`);
    const body = (await readBody(req)) as { token?: unknown };
    if (typeof body.token !== "string" || !body.token.trim()) throw new HttpError(400, "send {\"token\": \"<a Kubernetes bearer token>\"}");
    try {
      const { session, identity } = await this.o.auth.signIn(body.token.trim());
      this.o.logger.info("UI sign-in", { user: identity.user });
      return send(res, 200, this.whoami(identity), { "Set-Cookie": `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict` });
    } catch (err) {
      if (err instanceof Unauthenticated) return problem(res, 401, err.message);
      throw err;
    }
  }

  private whoami(id: Identity): WhoAmI {
    return { user: id.user, groups: id.groups, mode: this.o.auth.opts.mode, readOnly: this.o.readOnly, signInRequired: false };
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL, id: Identity): Promise<void> {
    const p = url.pathname;
    if (req.method === "GET" && p === "/api/whoami") return send(res, 200, this.whoami(id));
    if (req.method === "GET" && p === "/api/stream") return this.stream(req, res, id, await this.scopeOf(id));
    const m = /^\/api\/apps\/([^/]+)\/([^/]+)(?:\/(diff|actions)(?:\/([a-z]+))?)?$/.exec(p);
    if (!m) return problem(res, 404, `no API at ${p}`);
    const [ns, name, sub, action] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), m[3], m[4]];
    const key = `${ns}/${name}`;
    // An Application the user may not list is answered as one that does not exist: its name does not leak.
    const scope = req.method === "GET" ? await this.scopeOf(id) : undefined;
    if (scope && !shows(scope, "applications", ns)) return problem(res, 404, `Application ${key} not found`);
    if (req.method === "GET" && !sub) {
      const detail = await this.o.state.detail(key, url.searchParams.get("stream") ?? undefined);
      return detail ? send(res, 200, filterDetail(detail, scope!)) : problem(res, 404, `Application ${key} not found`);
    }
    if (req.method === "GET" && sub === "diff") return this.diff(res, ns, name);
    if (req.method === "POST" && sub === "actions" && action) return this.action(req, res, id, action, ns, name);
    return problem(res, 405, `${req.method} ${p} is not supported`);
  }

  private async action(req: IncomingMessage, res: ServerResponse, id: Identity, action: string, ns: string, name: string): Promise<void> {
    checkWriteOrigin(req);
    if (!ACTIONS.includes(action as ActionName)) return problem(res, 404, `unknown action "${action}"; use ${ACTIONS.join(", ")}`);
    if (this.o.readOnly) return send(res, 403, { ok: false, message: "this UI is read-only (started with --read-only): use mooring or kubectl, or ask for a UI with actions enabled" });
    const body = (await readBody(req)) as { to?: unknown };
    if (body.to !== undefined && !(Number.isInteger(body.to) && (body.to as number) > 0)) throw new HttpError(400, `"to" must be a history entry's number, got ${JSON.stringify(body.to)}`);
    const client = this.o.auth.clientFor(id, this.o.client);
    const result = await runAction(action as ActionName, client, this.o.kc, ns, name, { to: body.to as number | undefined });
    this.o.logger.info("UI action", { user: id.user, action, application: `${ns}/${name}`, ok: result.ok });
    send(res, result.ok ? 200 : /not allowed \(HTTP 403\)/.test(result.message) ? 403 : 409, result);
  }

  /** What a sync would change, as `mooring diff` computes it (dry runs as the Application's identity). */
  private async diff(res: ServerResponse, ns: string, name: string): Promise<void> {
    const { diffApplication } = await import("../cli/diff.js");
    try {
      const { diffs } = await diffApplication(this.o.client, { namespace: ns, name, context: 3, showSecrets: false, defaultServiceAccount: this.o.defaultServiceAccount });
      const views: DiffView[] = diffs.map((d) => ({
        id: d.id,
        change: d.change,
        patch: "patch" in d && typeof d.patch === "string" ? d.patch : "",
        note: "note" in d && typeof d.note === "string" ? d.note : "",
        message: "message" in d && typeof d.message === "string" ? d.message : "",
      }));
      send(res, 200, views);
    } catch (err) {
      problem(res, 409, describeError(err));
    }
  }

  /**
   * Server-Sent Events: the snapshot (serialised once per change of the cache, shared by every stream), then the
   * changes. Compressed when the browser accepts it, every message flushed as it is written. A user who may not list
   * everything gets them filtered (serialised once per distinct scope); their scope is asked again now and then and
   * when an object appears in a namespace not asked about yet, and a changed scope sends a new snapshot.
   */
  private stream(req: IncomingMessage, res: ServerResponse, id: Identity, initial: Scope): void {
    const streamId = randomBytes(12).toString("base64url");
    const enc = negotiate(req.headers["accept-encoding"]);
    res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", Connection: "keep-alive", "X-Accel-Buffering": "no", Vary: "Accept-Encoding", ...(enc ? { "Content-Encoding": enc } : {}) });
    const z = enc ? streamCompressor(enc) : undefined;
    z?.pipe(res);
    z?.on("error", () => res.destroy());
    const out: { write(s: string): unknown } = z ?? res;
    const write = (json: string) => out.write(`data: ${json}\n\n`);
    out.write("retry: 2000\n\n");
    let scope = initial;
    let closed = false;
    const scoped = () => `{"type":"snapshot","stream":${JSON.stringify(streamId)},${this.serialiser.snapshot(this.o.state.snapshotParts(), scope)},"problems":${JSON.stringify(this.o.state.problems())}}`;
    let asking = false;
    const rescope = () => {
      if (asking || closed) return;
      asking = true;
      void this.scopeOf(id).then((next) => {
        asking = false;
        if (closed) return;
        // Kept even when it shows the same: it knows the namespaces asked about since (no review again for them).
        const changed = next.key !== scope.key;
        scope = next;
        if (changed) write(scoped());
      });
    };
    const { snapshot, unsubscribe } = this.o.state.subscribe(streamId, (json, msg) => {
      if (scope.all) return write(json);
      if (namesUnreviewed(msg, scope)) rescope();
      const mine = this.serialiser.change(msg, scope);
      if (mine) write(mine);
    });
    write(scope.all ? snapshot : scoped());
    const end = () => (z ? z.end() : res.end());
    this.streams.add(end);
    // A comment now and then keeps proxies from closing a quiet stream.
    const keepAlive = setInterval(() => out.write(": keep-alive\n\n"), 25_000);
    // Rights change: asked again a few times per answer's lifetime, so a grant or a revocation shows within it.
    const recheck = this.visibility.filtering ? setInterval(rescope, Math.max(1_000, this.visibility.ttlMs / 3)) : undefined;
    const done = () => {
      closed = true;
      clearInterval(keepAlive);
      clearInterval(recheck);
      unsubscribe();
      this.o.state.forget(streamId);
      this.streams.delete(end);
      z?.destroy();
    };
    req.on("close", done);
  }
}
