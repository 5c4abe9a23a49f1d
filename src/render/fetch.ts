// Source artifacts for the render controller: download a GitRepository's tar.gz by URL, check its sha256 against
// the digest in the GitRepository's status, and extract it once per digest into a local cache that renders read.
//   download: streamed to a temp file while hashing, bounded in size and time; a mismatch is never extracted
//   extract:  (extract.ts) plain names only (no `..`, absolute paths, NUL); files and directories first, symlinks
//             last (so no file is ever written through one), symlinks pointing outside the tree skipped (also
//             chains of links that each look inside, checked as the kernel resolves them once all exist); bounded
//             entry count and total size; into a temp directory renamed into place, so a half tree is never
//             seen. The names of the links left out are kept beside the tree (`<digest>.skipped-links.json`,
//             ./fs.ts), so a render that needs one says it is a link leaving the repository rather than that the
//             file does not exist
//   cache:    one directory per digest, shared by every Application on that artifact, least recently used
//             ones removed beyond `keep` (never one a render is reading)
//   sharing:  the directory is os.tmpdir()/mooring-render-cache, which every operator process on a host shares
//             unless each has a /tmp of its own (a Pod has; `make run` next to tests has not). Temporaries carry
//             their process's pid, and a starting cache removes only those of processes that are gone; two
//             processes extracting one digest at once both succeed (the tree is the same, by its digest)
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { DownloadError, type DownloadFailure, causeText, download } from "../artifact/download.js";
import { extractTarGz } from "./extract.js";
import { skippedLinksFile } from "./fs.js";
import { DEFAULT_SOURCE_LIMITS, SourceArtifactError, type SourceLimits } from "./source-limits.js";

export { extractTarGz, symlinkStaysInside, unsafeEntryName, type ExtractResult } from "./extract.js";
export { DEFAULT_SOURCE_LIMITS, SourceArtifactError, type SourceLimits } from "./source-limits.js";

const DIGEST = /^sha256:([a-f0-9]{64})$/;

export function digestHex(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new SourceArtifactError(`source artifact digest "${digest}" is not of the form sha256:<64 hex digits>`, false);
  return m[1]!;
}

/** The render controller's words for a failed source download, and whether the same artifact may work later. */
function sourceFailure(url: string, f: DownloadFailure): SourceArtifactError {
  switch (f.kind) {
    case "unreachable":
      return new SourceArtifactError(`cannot download the source artifact ${url}: ${causeText(f.cause)}; is the source controller's artifact server reachable?`, true, { cause: f.cause });
    case "status":
      return new SourceArtifactError(`downloading the source artifact ${url} answered HTTP ${f.status}; the source controller may have replaced it — retrying with the GitRepository's current artifact`, true);
    case "tooLarge":
      return new SourceArtifactError(f.declared !== undefined ? `source artifact ${url} is ${f.declared} bytes, over the ${f.limit}-byte limit` : `source artifact ${url} is over the ${f.limit}-byte limit`, false);
    case "interrupted":
      return new SourceArtifactError(`download of the source artifact ${url} was interrupted: ${causeText(f.cause)}`, true, { cause: f.cause });
    case "digest":
      return new SourceArtifactError(`source artifact ${url} has digest ${f.actual}, not the ${f.expected} named in the GitRepository's status; it was replaced or corrupted in transit — retrying`, true);
  }
}

/**
 * Downloads `url` to `file`, verifying size and sha256 `digest` (src/artifact/download.ts); removes the file on any
 * failure. Returns the size.
 */
export async function downloadArtifact(url: string, digest: string, file: string, o: { signal?: AbortSignal; limits?: Partial<SourceLimits> } = {}): Promise<number> {
  const limits = { ...DEFAULT_SOURCE_LIMITS, ...(o.limits ?? {}) };
  digestHex(digest);
  try {
    const got = await download(url, { file, digest, maxBytes: limits.maxDownloadBytes, timeoutMs: limits.timeoutMs, signal: o.signal });
    return got.size;
  } catch (err) {
    if (err instanceof DownloadError) throw sourceFailure(url, err.failure);
    throw err;
  }
}

export interface SourceCacheOptions {
  /** Directory the cache owns (created; leftovers of an earlier run are removed). */
  dir: string;
  /** Extracted trees kept when not in use (default 16). */
  keep?: number;
  limits?: Partial<SourceLimits>;
}

export interface CheckedOut {
  /** The extracted tree: render from here. */
  dir: string;
  /** True when this call downloaded and extracted it (false: it was cached). */
  fetched: boolean;
  /** Let the cache collect the tree again; call when the render finished. */
  release(): void;
}

/** Extracted source artifacts by digest: each downloaded and extracted once, shared, collected when unused. */
export class SourceCache {
  readonly dir: string;
  private readonly keep: number;
  private readonly limits: Partial<SourceLimits>;
  private readonly inUse = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<void>>();
  private initialized: Promise<void> | undefined;
  /** This cache's temporaries are `.tmp-<pid>-<token>-<random>`: whose they are, to the other caches on the host. */
  private readonly token = randomBytes(4).toString("hex");
  /** Downloads and extractions done (for tests and metrics). */
  fetches = 0;

  constructor(o: SourceCacheOptions) {
    this.dir = path.resolve(o.dir);
    this.keep = Math.max(1, o.keep ?? 16);
    this.limits = o.limits ?? {};
    LIVE_TOKENS.add(this.token);
  }

  /** Creates the directory and removes the temporaries a process left when it died (never another's in flight). */
  private init(): Promise<void> {
    this.initialized ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      for (const n of await readdir(this.dir)) {
        if (n.startsWith(".tmp-") && (await abandonedTemporary(this.dir, n))) await rm(path.join(this.dir, n), { recursive: true, force: true });
      }
    })();
    return this.initialized;
  }

  /** The extracted tree of the artifact at `url` with `digest`, downloading it first when it is not cached. */
  async checkout(url: string, digest: string, signal?: AbortSignal): Promise<CheckedOut> {
    await this.init();
    const hex = digestHex(digest);
    const dir = path.join(this.dir, hex);
    this.inUse.set(hex, (this.inUse.get(hex) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const n = (this.inUse.get(hex) ?? 1) - 1;
      if (n <= 0) this.inUse.delete(hex);
      else this.inUse.set(hex, n);
    };
    try {
      let fetched = false;
      if (!(await isDir(dir))) {
        let p = this.inflight.get(hex);
        if (!p) {
          fetched = true;
          p = this.fetch(url, digest, dir, signal).finally(() => this.inflight.delete(hex));
          this.inflight.set(hex, p);
        }
        await p;
      } else {
        const now = new Date();
        await utimes(dir, now, now).catch(() => {}); // most recently used
      }
      if (fetched) await this.gc();
      return { dir, fetched, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  private async fetch(url: string, digest: string, dir: string, signal?: AbortSignal): Promise<void> {
    const tmp = path.join(this.dir, `.tmp-${process.pid}-${this.token}-${randomBytes(8).toString("hex")}`);
    const file = `${tmp}.tar.gz`;
    try {
      await downloadArtifact(url, digest, file, { signal, limits: this.limits });
      const extracted = await extractTarGz(file, path.join(tmp, "tree"), { limits: this.limits, what: url });
      if (extracted.skippedSymlinks.length > 0) {
        // In place before the tree, so whoever sees the tree sees the list. One digest is one tree and one list, so
        // replacing a list another process (or an earlier run whose tree was collected) left is harmless.
        const list = `${tmp}.skipped-links.json`;
        await writeFile(list, JSON.stringify([...extracted.skippedSymlinks].sort()));
        await rename(list, skippedLinksFile(dir));
      }
      try {
        await rename(path.join(tmp, "tree"), dir);
      } catch (err) {
        // Another process sharing the directory renamed its extraction of this digest first: the same tree.
        const code = (err as NodeJS.ErrnoException).code;
        if (!((code === "ENOTEMPTY" || code === "EEXIST") && (await isDir(dir)))) throw err;
      }
      this.fetches++;
    } finally {
      await rm(file, { force: true });
      await rm(`${tmp}.skipped-links.json`, { force: true });
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Removes the least recently used trees beyond `keep`, never one in use. */
  async gc(): Promise<string[]> {
    const names = (await readdir(this.dir)).filter((n) => /^[a-f0-9]{64}$/.test(n));
    if (names.length <= this.keep) return [];
    const withTime = await Promise.all(names.map(async (n) => ({ n, t: (await stat(path.join(this.dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
    withTime.sort((a, b) => b.t - a.t);
    const removed: string[] = [];
    for (const { n } of withTime.slice(this.keep)) {
      if (this.inUse.has(n) || this.inflight.has(n)) continue;
      await rm(path.join(this.dir, n), { recursive: true, force: true });
      await rm(skippedLinksFile(path.join(this.dir, n)), { force: true });
      removed.push(n);
    }
    return removed;
  }
}

/** Tokens of the SourceCaches of this process (two caches of one process may share a directory, as in tests). */
const LIVE_TOKENS = new Set<string>();

/**
 * A temporary nobody will finish: of a process that is gone, or of this process but of no cache alive in it (an
 * earlier incarnation: a restarted container gets the same pid). A name without a pid (written by the release
 * before) counts once untouched for an hour, far longer than the download deadline and any extraction.
 */
async function abandonedTemporary(dir: string, name: string): Promise<boolean> {
  const m = /^\.tmp-(\d+)-([a-f0-9]{8})-/.exec(name);
  if (m) {
    const pid = Number(m[1]);
    return pid === process.pid ? !LIVE_TOKENS.has(m[2]!) : !processAlive(pid);
  }
  const st = await lstat(path.join(dir, name)).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > LEGACY_TEMPORARY_MS;
}

const LEGACY_TEMPORARY_MS = 60 * 60 * 1000;

/** Whether a process with this pid exists (EPERM: it does, as another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
