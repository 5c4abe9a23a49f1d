// Who is asking: the UI's three ways to know the signed-in user, and the client their actions run with.
//   local  `mooring ui` on a laptop: the user is the kubeconfig's identity, and actions use the kubeconfig as is.
//   token  a Kubernetes bearer token (a sign-in form, or an Authorization header), verified with a TokenReview;
//          actions impersonate the user and groups the API server answered.
//   proxy  a trusted proxy (oauth2-proxy, say) in front names the user in a header; requests from anywhere else are
//          refused, so no one can claim a name by setting the header themselves. Actions impersonate that user.
// Either way an action is done with the user's own rights: the UI can never do what kubectl would refuse them.
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";
import type { Client, RestClient } from "../runtime/index.js";

export type AuthMode = "local" | "token" | "proxy";
export const AUTH_MODES: readonly AuthMode[] = ["local", "token", "proxy"];

export interface Identity {
  user: string;
  groups: string[];
}

export interface AuthOptions {
  mode: AuthMode;
  /** proxy: the header naming the user (default X-Forwarded-User) and the groups (comma-separated, may repeat). */
  userHeader?: string;
  groupsHeader?: string;
  /** proxy: addresses (CIDRs or single IPs) requests must come from. */
  trustedProxies?: string[];
  /** token: how long a session lasts (default 8 h; the token's own expiry is checked again at each action). */
  sessionTtlMs?: number;
  now?: () => number;
}

export const SESSION_COOKIE = "mooring_ui_session";

/** A request the server cannot attribute to a user, with why (the answer's 401 message). */
export class Unauthenticated extends Error {}

/** Parses "10.0.0.0/8,127.0.0.1" into a BlockList; a bad entry is an error naming it (at start-up, not per request). */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const e = raw.trim();
    if (!e) continue;
    const [addr, bits, ...extra] = e.split("/");
    const family = isIP(addr ?? "");
    if (!family || extra.length) throw new Error(`--trusted-proxy "${e}" is not an IP address or CIDR (such as 10.0.0.0/8 or 127.0.0.1)`);
    const type = family === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(addr!, type);
    else {
      // Decimal digits only: Number("") is 0, so "10.0.0.0/" would otherwise trust every address (/0).
      const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (!Number.isInteger(prefix) || prefix > (family === 6 ? 128 : 32)) throw new Error(`--trusted-proxy "${e}" has an invalid prefix length`);
      list.addSubnet(addr!, prefix, type);
    }
  }
  return list;
}

/** The remote address as BlockList checks it (IPv4-mapped IPv6, as Node reports IPv4 peers on dual-stack sockets). */
function peerAddress(req: IncomingMessage): { addr: string; type: "ipv4" | "ipv6" } | undefined {
  const a = req.socket.remoteAddress;
  if (!a) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return { addr: mapped[1]!, type: "ipv4" };
  return { addr: a, type: isIP(a) === 6 ? "ipv6" : "ipv4" };
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

interface Session extends Identity {
  expires: number;
}

export class Authenticator {
  private readonly sessions = new Map<string, Session>();
  /** Bearer tokens on API requests, verified once a minute at most (by hash: the token itself is never kept). */
  private readonly reviewed = new Map<string, Session>();
  private readonly proxies: BlockList;
  private readonly now: () => number;

  constructor(
    readonly opts: AuthOptions,
    private readonly rest: RestClient,
    private readonly local: Identity,
  ) {
    this.now = opts.now ?? Date.now;
    this.proxies = trustedProxyList(opts.trustedProxies ?? []);
    if (opts.mode === "proxy" && !(opts.trustedProxies ?? []).some((p) => p.trim())) {
      throw new Error("--auth=proxy needs --trusted-proxy: the addresses of the proxy allowed to name the user (anyone else could set the header)");
    }
  }

  /** The user of a request, or an Unauthenticated error saying why not. */
  async identify(req: IncomingMessage): Promise<Identity> {
    switch (this.opts.mode) {
      case "local":
        return this.local;
      case "proxy":
        return this.fromProxy(req);
      case "token":
        return this.fromToken(req);
    }
  }

  private fromProxy(req: IncomingMessage): Identity {
    const peer = peerAddress(req);
    if (!peer || !this.proxies.check(peer.addr, peer.type)) throw new Unauthenticated(`requests must come through the trusted proxy (this one came from ${req.socket.remoteAddress ?? "an unknown address"})`);
    const userHeader = (this.opts.userHeader ?? "X-Forwarded-User").toLowerCase();
    const user = req.headers[userHeader];
    const name = Array.isArray(user) ? user[0] : user;
    if (!name) throw new Unauthenticated(`the proxy sent no ${this.opts.userHeader ?? "X-Forwarded-User"} header`);
    const raw = req.headers[(this.opts.groupsHeader ?? "X-Forwarded-Groups").toLowerCase()];
    const groups = (Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap((g) => g.split(",")).map((g) => g.trim()).filter(Boolean);
    return { user: name, groups };
  }

  private async fromToken(req: IncomingMessage): Promise<Identity> {
    const auth = req.headers.authorization;
    if (auth?.startsWith("Bearer ")) {
      const token = auth.slice(7).trim();
      const h = createHash("sha256").update(token).digest("hex");
      const cached = this.reviewed.get(h);
      if (cached && cached.expires > this.now()) return cached;
      const id = await this.review(token);
      this.reviewed.set(h, { ...id, expires: this.now() + 60_000 });
      return id;
    }
    const sid = cookie(req, SESSION_COOKIE);
    const s = sid ? this.sessions.get(sid) : undefined;
    if (!s) throw new Unauthenticated("sign in with a Kubernetes token");
    if (s.expires <= this.now()) {
      this.sessions.delete(sid!);
      throw new Unauthenticated("the session expired: sign in again");
    }
    return s;
  }

  /** Asks the API server who a token belongs to (TokenReview, with the UI's own credentials). */
  async review(token: string): Promise<Identity> {
    const answer = await this.rest.request<{ status?: { authenticated?: boolean; user?: { username?: string; groups?: string[] }; error?: string } }>("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
    });
    const s = answer.status;
    if (!s?.authenticated || !s.user?.username) throw new Unauthenticated(`the API server did not accept the token${s?.error ? `: ${s.error}` : ""}`);
    return { user: s.user.username, groups: s.user.groups ?? [] };
  }

  /** token mode: a session for a token the API server accepts; returns the cookie value. */
  async signIn(token: string): Promise<{ session: string; identity: Identity }> {
    const identity = await this.review(token);
    const session = randomBytes(32).toString("base64url");
    this.sessions.set(session, { ...identity, expires: this.now() + (this.opts.sessionTtlMs ?? 8 * 3_600_000) });
    return { session, identity };
  }

  signOut(req: IncomingMessage): void {
    const sid = cookie(req, SESSION_COOKIE);
    if (sid) this.sessions.delete(sid);
  }

  /** The client an action runs with: the kubeconfig itself locally, else the process impersonating the user. */
  clientFor(id: Identity, processClient: Client): Client {
    if (this.opts.mode === "local") return processClient;
    return processClient.impersonate(id.user, id.groups.length ? id.groups : undefined);
  }
}

/** The kubeconfig's own identity, as the API server sees it (SelfSubjectReview), for the header of the page. */
export async function localIdentity(rest: RestClient): Promise<Identity> {
  try {
    const r = await rest.request<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    return { user: r.status?.userInfo?.username ?? "(kubeconfig user)", groups: r.status?.userInfo?.groups ?? [] };
  } catch {
    // Older API servers have no SelfSubjectReview: the name is cosmetic here, rights are the API server's business.
    return { user: "(kubeconfig user)", groups: [] };
  }
}
