// Artifact storage: one directory per object (`<kind>/<namespace>/<name>/`), files named by their sha256 digest and
// a random token (`<sha256>.<token><ext>`): the token makes a URL impossible to guess from the content (a public
// repository's deterministic tarball has a digest anyone can compute), and the artifact server serves nothing
// without one. Writes are atomic (temp file in the same directory, fsync, rename, fsync the directory), so a reader
// or a crash never sees half an artifact, and a failed write (disk full, or past `maxBytes`) leaves the last good
// artifact in place. The last N artifacts per object are kept; older ones are garbage-collected after each write.
import { createHash, randomBytes } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import path from "node:path";
import { formatSize } from "../units.js";

export interface ArtifactKey {
  kind: string;
  namespace: string;
  name: string;
}

export interface StoredArtifact {
  /** Path relative to the storage root, with `/` separators: what the artifact server serves. */
  path: string;
  /** `sha256:<hex>` of the file's bytes. */
  digest: string;
  size: number;
}

/** The file operations storage writes through; tests inject failures (ENOSPC) here. */
export interface StorageFile {
  write(data: Uint8Array): Promise<unknown>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface StorageOptions {
  root: string;
  /** Artifacts kept per object (the newest; default 2 so a consumer mid-download of the previous one finishes). */
  keep?: number;
  /** Opens a new file for writing; default: fs.promises.open(path, "wx"). */
  openFile?: (path: string) => Promise<StorageFile>;
  /**
   * Most bytes the whole root may hold (--max-storage-size; the chart sets it under the volume's sizeLimit, which the
   * kubelet enforces by evicting the Pod). A write that would pass it fails with StorageError EDQUOT instead.
   * Every ArtifactStorage of one process on the same root shares the count.
   */
  maxBytes?: number;
}

export class StorageError extends Error {
  constructor(message: string, readonly code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageError";
  }
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i;
const TEMP_PREFIX = ".tmp-";
/** `<sha256 hex>.<token: 32 base64url characters (192 random bits)><ext>`. */
const ARTIFACT_NAME = /^([a-f0-9]{64})\.([A-Za-z0-9_-]{32})(\.[a-z0-9][a-z0-9.]*)$/;

/** True for the file name of a stored artifact (digest and token); anything else is never served. */
export function isArtifactName(name: string): boolean {
  return ARTIFACT_NAME.test(name);
}

function newToken(): string {
  return randomBytes(24).toString("base64url");
}

/** Bytes held under each storage root by this process's ArtifactStorages (shared: all-in-one runs two on one root). */
class Usage {
  used = 0;
  constructor(readonly ready: Promise<void>) {}
}
const usageByRoot = new Map<string, Usage>();

async function treeSize(dir: string, depth = 0): Promise<number> {
  if (depth > 6) return 0;
  let total = 0;
  for (const ent of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) total += await treeSize(p, depth + 1);
    else if (ent.isFile()) total += (await stat(p).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

/** One write in progress: its temp file, and the bytes it holds in the usage count until they are kept or given back. */
interface PendingWrite {
  tmp: string;
  usage: Usage;
  counted: number;
  /** The data stream itself failed: not a storage problem, and the producer needs no stopping. */
  sourceFailed: boolean;
  /** Open until synced and closed. */
  file?: StorageFile;
}

export class ArtifactStorage {
  readonly root: string;
  readonly keep: number;
  readonly maxBytes: number | undefined;
  private readonly openFile: (p: string) => Promise<StorageFile>;

  constructor(opts: StorageOptions) {
    this.root = path.resolve(opts.root);
    this.keep = Math.max(1, opts.keep ?? 2);
    this.maxBytes = opts.maxBytes;
    this.openFile = opts.openFile ?? ((p) => open(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644));
  }

  /**
   * Creates the root and removes temp files a crash left behind, and files that are not artifacts of this format
   * (an older version's artifacts, named without a token: their URLs would be guessable; they are fetched again).
   */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await this.sweep(this.root, 0);
    await this.usage().ready;
  }

  /** Bytes stored under the root, as this process counts them. */
  async usedBytes(): Promise<number> {
    const u = this.usage();
    await u.ready;
    return u.used;
  }

  private usage(): Usage {
    let u = usageByRoot.get(this.root);
    if (!u) {
      const fresh: Usage = new Usage(treeSize(this.root).then((n) => void (fresh.used += n)));
      usageByRoot.set(this.root, (u = fresh));
    }
    return u;
  }

  /** The directory of an object's artifacts, relative to the root. */
  dirOf(key: ArtifactKey): string {
    for (const part of [key.kind, key.namespace, key.name]) {
      if (!NAME.test(part)) throw new StorageError(`invalid artifact key part "${part}"`, undefined);
    }
    return `${key.kind.toLowerCase()}/${key.namespace}/${key.name}`;
  }

  /** The absolute path of a stored artifact (validated to stay inside the root). */
  absolute(rel: string): string {
    const abs = path.resolve(this.root, rel);
    if (!abs.startsWith(this.root + path.sep)) throw new StorageError(`artifact path "${rel}" is outside the storage root`, undefined);
    return abs;
  }

  /**
   * Writes a stream as the object's newest artifact, named by its digest, and collects older ones beyond `keep`.
   * Throws StorageError (with `code`, e.g. ENOSPC) and leaves existing artifacts untouched on failure.
   */
  async write(key: ArtifactKey, data: AsyncIterable<Uint8Array>, ext = ".tar.gz", o: { retain?: ReadonlySet<string> } = {}): Promise<StoredArtifact> {
    const dirRel = this.dirOf(key);
    const dir = this.absolute(dirRel);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`);
    const usage = this.usage();
    await usage.ready;
    const w: PendingWrite = { tmp, usage, counted: 0, sourceFailed: false };
    const it = data[Symbol.asyncIterator]();
    try {
      w.file = await this.openFile(tmp);
      const { hex, size } = await this.copyToTemp(it, w);
      const name = await this.keepTemp(dir, w, hex, ext);
      const stored = { path: `${dirRel}/${name}`, digest: `sha256:${hex}`, size };
      await this.gc(key, stored.path, o.retain);
      return stored;
    } catch (err) {
      return this.abandon(w, it, err);
    }
  }

  /** Streams the data into the temp file, counting it against maxBytes as it comes; the file is synced and closed. */
  private async copyToTemp(it: AsyncIterator<Uint8Array>, w: PendingWrite): Promise<{ hex: string; size: number }> {
    const hash = createHash("sha256");
    let size = 0;
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await it.next();
      } catch (err) {
        w.sourceFailed = true;
        throw err;
      }
      if (next.done) break;
      hash.update(next.value);
      size += next.value.length;
      w.usage.used += next.value.length;
      w.counted += next.value.length;
      if (this.maxBytes !== undefined && w.usage.used > this.maxBytes) {
        throw new StorageError(
          `artifact storage ${this.root} would grow past its limit of ${formatSize(this.maxBytes)} (--max-storage-size, set by the chart from storage.sizeLimit); the previous artifact is still served; raise storage.sizeLimit or remove unused objects`,
          "EDQUOT",
        );
      }
      await w.file!.write(next.value);
    }
    await w.file!.sync();
    await w.file!.close();
    w.file = undefined;
    return { hex: hash.digest("hex"), size };
  }

  /** Renames the temp file to its artifact name, or, with the same bytes already stored, keeps that one: the name. */
  private async keepTemp(dir: string, w: PendingWrite, hex: string, ext: string): Promise<string> {
    const existing = (await readdir(dir)).find((n) => n.startsWith(`${hex}.`) && n.endsWith(ext) && ARTIFACT_NAME.exec(n)?.[3] === ext);
    const name = existing ?? `${hex}.${newToken()}${ext}`;
    const final = path.join(dir, name);
    if (existing) {
      // Same bytes as an artifact we already have: keep that one (and its URL), mark it newest.
      await unlink(w.tmp);
      w.usage.used -= w.counted;
      w.counted = 0;
      const now = new Date();
      await utimes(final, now, now);
    } else {
      await rename(w.tmp, final);
      w.counted = 0;
      await fsyncDir(dir);
    }
    return name;
  }

  /** Undoes a failed write (producer stopped, temp file removed, its bytes given back) and throws why it failed. */
  private async abandon(w: PendingWrite, it: AsyncIterator<Uint8Array>, err: unknown): Promise<never> {
    // Stop the producer (a tar stream waiting for us to read on): otherwise it would hold its buffers forever.
    if (!w.sourceFailed) await it.return?.().catch(() => {});
    await w.file?.close().catch(() => {});
    await rm(w.tmp, { force: true }).catch(() => {});
    w.usage.used -= w.counted;
    // The producer's own failure (an unsafe tree, a read error) is not a storage problem: pass it on as it is.
    if (w.sourceFailed) throw err;
    if (err instanceof StorageError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOSPC" || e.code === "EDQUOT") {
      throw new StorageError(`artifact storage ${this.root} is full (${e.code}); the previous artifact is still served; free space or enlarge the volume`, e.code, { cause: err });
    }
    throw new StorageError(`cannot write artifact under ${this.root}: ${e.message}`, e.code, { cause: err });
  }

  /** True when a stored artifact exists (and, given a digest, still has it: a tampered or truncated file fails). */
  async exists(rel: string, digest?: string): Promise<boolean> {
    let abs: string;
    try {
      abs = this.absolute(rel);
    } catch {
      return false;
    }
    if (!isArtifactName(path.basename(abs)) || !(await exists(abs))) return false;
    if (digest === undefined) return true;
    return (await this.digestOf(rel)) === digest;
  }

  async digestOf(rel: string): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(this.absolute(rel)) as AsyncIterable<Buffer>) hash.update(chunk);
    return `sha256:${hash.digest("hex")}`;
  }

  /** The object's artifacts, newest first. */
  async list(key: ArtifactKey): Promise<string[]> {
    const dirRel = this.dirOf(key);
    let names: string[];
    try {
      names = await readdir(this.absolute(dirRel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const files = await Promise.all(
      names.filter((n) => isArtifactName(n)).map(async (n) => ({ n, t: (await stat(path.join(this.absolute(dirRel), n))).mtimeMs })),
    );
    return files.sort((a, b) => b.t - a.t || (a.n < b.n ? -1 : 1)).map((f) => `${dirRel}/${f.n}`);
  }

  /**
   * Deletes all but the newest `keep` artifacts of the object, never `current`, nor one whose digest is in `retain`
   * (`sha256:<hex>`: the rendered artifacts an Application's history still names).
   */
  async gc(key: ArtifactKey, current?: string, retain?: ReadonlySet<string>): Promise<string[]> {
    const all = await this.list(key);
    const keep = new Set(all.slice(0, this.keep));
    if (current) keep.add(current);
    const removed: string[] = [];
    for (const rel of all) {
      if (keep.has(rel)) continue;
      const hex = ARTIFACT_NAME.exec(path.basename(rel))?.[1];
      if (hex && retain?.has(`sha256:${hex}`)) continue;
      await this.removeFile(this.absolute(rel));
      removed.push(rel);
    }
    return removed;
  }

  /** Removes every artifact of the object (on deletion of the object). */
  async remove(key: ArtifactKey): Promise<void> {
    const dir = this.absolute(this.dirOf(key));
    const size = await treeSize(dir);
    await rm(dir, { recursive: true, force: true });
    const u = this.usage();
    await u.ready;
    u.used = Math.max(0, u.used - size);
  }

  private async removeFile(abs: string): Promise<void> {
    const size = (await stat(abs).catch(() => undefined))?.size ?? 0;
    await rm(abs, { force: true });
    const u = this.usage();
    await u.ready;
    u.used = Math.max(0, u.used - size);
  }

  /** Removes temp files (at any depth) and files that are not token-named artifacts (at an artifact's depth). */
  private async sweep(dir: string, depth: number): Promise<void> {
    if (depth > 4) return;
    for (const ent of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) await this.sweep(p, depth + 1);
      else if (ent.name.startsWith(TEMP_PREFIX) || (depth === 3 && !isArtifactName(ent.name))) await rm(p, { force: true });
    }
  }
}

/** The URL consumers use to download an artifact: `http://<advertised host:port>/<path>`. */
export function artifactUrl(advertisedAddr: string, rel: string): string {
  const base = /^https?:\/\//.test(advertisedAddr) ? advertisedAddr.replace(/\/+$/, "") : `http://${advertisedAddr}`;
  return `${base}/${rel.split("/").map(encodeURIComponent).join("/")}`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  // Makes the rename durable; some filesystems refuse fsync on a directory, which is fine to ignore.
  const fh = await open(dir, constants.O_RDONLY).catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => {});
  await fh.close();
}
