// Talking to a git server with isomorphic-git: list the remote's refs (one GET of info/refs, the ls-remote
// equivalent) and shallow-fetch one commit into a temporary git directory. Both run under one deadline
// (spec.timeout) and one byte limit, through our own transport (./http.ts); failures become SourceErrors.
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import git, { Errors } from "isomorphic-git";
import { authHeaders, secretValues, type Credentials } from "./credentials.js";
import { SourceError, redactUrl, scrub } from "./errors.js";
import { Transport, type TransportStats } from "./http.js";
import { fetchPack, supportsStreamingPack } from "./pack.js";
import type { ObjectReader } from "./packindex.js";
import { refAtCommit, type RemoteRefs, type ResolvedRef } from "./refs.js";
import { timeoutSignal } from "../runtime/timeout.js";

export interface GitOptions {
  credentials?: Credentials;
  /** Whole-operation deadline in ms (spec.timeout). */
  timeoutMs: number;
  /** Abort a download larger than this many bytes. */
  maxBytes?: number;
  /** Refuse a pack whose objects inflate past this many bytes each (./packindex.ts; default 64 MiB). */
  maxObjectBytes?: number;
  /** Cancels the operation (controller shutdown). */
  signal?: AbortSignal;
  /** Parent directory for temporary git directories (default: the OS temp dir). */
  tmpDir?: string;
  /** Receives the transport's counters when the operation ends (benchmarks, tests). */
  onStats?: (stats: TransportStats) => void;
}

/** A fetched commit in a temporary git directory; `dispose` removes it. */
export interface FetchedCommit {
  gitdir: string;
  commit: string;
  /** Reads the fetched objects (our pack store, or isomorphic-git for its own fetch). */
  objects: ObjectReader;
  dispose(): Promise<void>;
}

/**
 * Runs `op` with a transport bound to a deadline; whatever `op` is doing when the deadline passes, the caller gets
 * a Timeout error at once (isomorphic-git cannot be interrupted mid-indexing, so `op` is left to settle alone,
 * its transport aborted, and its result dropped).
 */
async function withTransport<T>(url: string, opts: GitOptions, what: string, op: (t: Transport) => Promise<T>, onAbandon?: () => Promise<void>): Promise<T> {
  const deadline = timeoutSignal(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
  const transport = new Transport({
    signal,
    headers: authHeaders(opts.credentials),
    ...(opts.credentials?.caCert ? { ca: opts.credentials.caCert } : {}),
    ...(opts.maxBytes !== undefined ? { maxResponseBytes: opts.maxBytes } : {}),
  });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(transport.failure ?? abortError(signal, deadline, opts.timeoutMs, what, url));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const work = op(transport);
  // The loser of the race below must not become an unhandled rejection.
  work.catch(() => {});
  aborted.catch(() => {});
  try {
    return await Promise.race([work, aborted]);
  } catch (err) {
    // If `op` is still running (CPU-bound indexing past the deadline), clean up after it once it settles.
    if (onAbandon) void work.then(onAbandon, onAbandon).catch(() => {});
    throw classify(transport.failure ?? (signal.aborted ? abortError(signal, deadline, opts.timeoutMs, what, url) : err), url, what, opts.credentials);
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
    opts.onStats?.({ ...transport.stats });
    transport.close();
  }
}

function abortError(signal: AbortSignal, deadline: AbortSignal, timeoutMs: number, what: string, url: string): SourceError {
  if (signal.reason instanceof SourceError) return signal.reason;
  if (deadline.aborted) return new SourceError("Timeout", `${what} ${redactUrl(url)} did not finish within the timeout of ${timeoutMs / 1000}s; raise spec.timeout or check the server`);
  return new SourceError("FetchFailed", `${what} ${redactUrl(url)} was cancelled`);
}

/** Maps isomorphic-git and network errors to SourceErrors whose messages carry no credentials. */
export function classify(err: unknown, url: string, what: string, creds?: Credentials): SourceError {
  const secrets = secretValues(creds);
  const clean = (s: string) => scrub(s, secrets);
  const where = redactUrl(url);
  if (err instanceof SourceError) return new SourceError(err.reason, clean(err.message), { cause: err });
  if (err instanceof Errors.HttpError) {
    const status = err.data.statusCode;
    if (status === 401 || status === 403) {
      const has = creds?.basic || creds?.bearerToken ? "the credentials in spec.secretRef were refused" : "no credentials were given; set spec.secretRef";
      return new SourceError("AuthenticationFailed", `${what} ${where} failed: HTTP ${status} ${err.data.statusMessage}: ${has}`);
    }
    if (status === 404) return new SourceError("FetchFailed", `${what} ${where} failed: HTTP 404: no git repository at this URL; check spec.url`);
    if (status >= 500) return new SourceError("Unreachable", `${what} ${where} failed: the server answered HTTP ${status} ${err.data.statusMessage}`);
    return new SourceError("FetchFailed", `${what} ${where} failed: HTTP ${status} ${err.data.statusMessage}`);
  }
  if (err instanceof Errors.SmartHttpError) {
    return new SourceError("FetchFailed", `${what} ${where} failed: the server does not speak the git smart HTTP protocol; check spec.url`);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new SourceError("FetchFailed", `${what} ${where} failed: ${clean(msg)}`, { cause: err });
}

/** Lists the remote's refs with annotated tags peeled and HEAD's target: one HTTP request (protocol v1). */
export async function listRemoteRefs(url: string, opts: GitOptions): Promise<RemoteRefs> {
  return withTransport(url, opts, "listing refs of", async (http) => {
    // Protocol v1: the advertisement is one GET and carries refs, peeled tags, HEAD's target and capabilities.
    const info = await git.getRemoteInfo2({ http, url, protocolVersion: 1 });
    const capabilities = Object.entries(info.capabilities).map(([k, v]) => (v === true ? k : `${k}=${String(v)}`));
    const out: RemoteRefs = { refs: new Map(), capabilities };
    for (const r of info.refs ?? []) {
      if (r.ref === "HEAD" && r.target) out.head = r.target;
      out.refs.set(r.ref, { oid: r.oid, ...(r.peeled ? { peeled: r.peeled } : {}) });
    }
    return out;
  });
}

/**
 * Fetches the resolved commit with depth 1 into a new temporary git directory. A commit that is no ref's tip is
 * asked for by SHA (servers that allow it answer with depth 1); otherwise the default branch's history is fetched
 * and searched, as `git clone` + `git checkout <sha>` would.
 */
export async function fetchCommit(url: string, resolved: ResolvedRef, remote: RemoteRefs | undefined, opts: GitOptions): Promise<FetchedCommit> {
  const gitdir = await mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), "mooring-fetch-"));
  const packLimits = opts.maxObjectBytes !== undefined ? { maxObjectBytes: opts.maxObjectBytes } : {};
  const cache = {};
  let objects: ObjectReader | undefined;
  const dispose = async () => {
    await objects?.close().catch(() => {});
    await rm(gitdir, { recursive: true, force: true });
  };
  try {
    await git.init({ fs, gitdir, bare: true, defaultBranch: "main" });
    // fetch records what it got under refs/remotes/origin/*, so it needs a remote with a refspec.
    await git.addRemote({ fs, gitdir, remote: "origin", url: redactUrl(url) });
    const commit = await withTransport(url, opts, "fetching", async (http) => {
      const tipRef = resolved.fullRef ?? (remote ? refAtCommit(remote, resolved.commit) : undefined);
      if (remote && supportsStreamingPack(remote.capabilities, 1)) {
        const caps = remote.capabilities!;
        const tipOid = tipRef ? remote.refs.get(tipRef)?.oid : undefined;
        if (tipOid) {
          objects = (await fetchPack(http, url, gitdir, tipOid, caps, 1, packLimits)).store;
          return peel(objects, tipOid);
        }
        try {
          objects = (await fetchPack(http, url, gitdir, resolved.commit, caps, 1, packLimits)).store;
          return resolved.commit;
        } catch (err) {
          if (!(err instanceof SourceError && err.reason === "RefNotFound") || http.failure) throw err;
        }
        // The server refused a want for an unadvertised SHA: fetch the default branch's history and look there.
        const head = remote.head ? remote.refs.get(remote.head) : remote.refs.get("HEAD");
        if (!head) throw new SourceError("RefNotFound", `commit ${resolved.commit} is not a ref's tip and ${redactUrl(url)} has no default branch to search`);
        objects = (await fetchPack(http, url, gitdir, head.oid, caps, undefined, packLimits)).store;
        return resolved.commit;
      }
      // Servers that do not advertise side-band/shallow: isomorphic-git's own fetch (its own discovery request).
      objects = isomorphicReader(gitdir, cache);
      if (tipRef) {
        const res = await git.fetch({ fs, http, gitdir, url, ref: tipRef, singleBranch: true, depth: 1, tags: false, cache });
        return peel(objects, res.fetchHead ?? resolved.commit);
      }
      try {
        await git.fetch({ fs, http, gitdir, url, ref: resolved.commit, singleBranch: true, depth: 1, tags: false, cache });
        return resolved.commit;
      } catch (err) {
        if (err instanceof SourceError || http.failure) throw err;
        // The server refused a want for an unadvertised SHA: fetch the default branch in full and look there.
        await git.fetch({ fs, http, gitdir, url, ref: "HEAD", singleBranch: true, tags: false, cache });
        return resolved.commit;
      }
    }, dispose);
    if (!objects || !(await hasCommit(objects, commit))) {
      throw new SourceError("RefNotFound", `commit ${commit} not found in ${redactUrl(url)} (not on any ref's tip nor in the default branch's history)`);
    }
    return { gitdir, commit, objects, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function peel(objects: ObjectReader, oid: string): Promise<string> {
  // An annotated tag's object: follow it to the commit (bounded: tags of tags are rare but legal).
  for (let i = 0; i < 10; i++) {
    const { type, data } = await objects.read(oid);
    if (type !== "tag") return oid;
    const m = data.toString("utf8", 0, Math.min(data.length, 100)).match(/^object ([0-9a-f]{40})/);
    if (!m) throw new SourceError("FetchFailed", `tag object ${oid} has no target`);
    oid = m[1]!;
  }
  throw new SourceError("FetchFailed", `tag chain at ${oid} is deeper than 10 levels`);
}

async function hasCommit(objects: ObjectReader, oid: string): Promise<boolean> {
  try {
    return (await objects.read(oid)).type === "commit";
  } catch {
    return false;
  }
}

/** Objects through isomorphic-git (for packs its own fetch wrote). */
function isomorphicReader(gitdir: string, cache: object): ObjectReader {
  return {
    read: async (oid) => {
      const r = await git.readObject({ fs, gitdir, oid, cache, format: "content" });
      const o = r.object as Uint8Array;
      return { type: r.type, data: Buffer.from(o.buffer, o.byteOffset, o.byteLength) };
    },
    close: async () => {},
  };
}
