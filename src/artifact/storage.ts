// Artifact storage: one directory per object (`<kind>/<namespace>/<name>/`), files named by their sha256 digest.
// Writes are atomic (temp file in the same directory, fsync, rename, fsync the directory), so a reader or a
// crash never sees half an artifact, and a failed write (disk full) leaves the last good artifact in place.
// The last N artifacts per object are kept; older ones are garbage-collected after each successful write.
import { createHash, randomBytes } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import path from "node:path";

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
}

export class StorageError extends Error {
  constructor(message: string, readonly code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageError";
  }
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i;
const TEMP_PREFIX = ".tmp-";

export class ArtifactStorage {
  readonly root: string;
  readonly keep: number;
  private readonly openFile: (p: string) => Promise<StorageFile>;

  constructor(opts: StorageOptions) {
    this.root = path.resolve(opts.root);
    this.keep = Math.max(1, opts.keep ?? 2);
    this.openFile = opts.openFile ?? ((p) => open(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644));
  }

  /** Creates the root and removes temp files a crash left behind. */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await this.sweepTemp(this.root, 0);
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
  async write(key: ArtifactKey, data: AsyncIterable<Uint8Array>, ext = ".tar.gz"): Promise<StoredArtifact> {
    const dirRel = this.dirOf(key);
    const dir = this.absolute(dirRel);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`);
    const hash = createHash("sha256");
    let size = 0;
    let file: StorageFile | undefined;
    let sourceFailed = false;
    const it = data[Symbol.asyncIterator]();
    try {
      file = await this.openFile(tmp);
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await it.next();
        } catch (err) {
          sourceFailed = true;
          throw err;
        }
        if (next.done) break;
        hash.update(next.value);
        size += next.value.length;
        await file.write(next.value);
      }
      await file.sync();
      await file.close();
      file = undefined;
      const hex = hash.digest("hex");
      const name = `${hex}${ext}`;
      const final = path.join(dir, name);
      if (await exists(final)) {
        // Same bytes as an artifact we already have: keep that one, mark it newest.
        await unlink(tmp);
        const now = new Date();
        await utimes(final, now, now);
      } else {
        await rename(tmp, final);
        await fsyncDir(dir);
      }
      const stored = { path: `${dirRel}/${name}`, digest: `sha256:${hex}`, size };
      await this.gc(key, stored.path);
      return stored;
    } catch (err) {
      // Stop the producer (a tar stream waiting for us to read on): otherwise it would hold its buffers forever.
      if (!sourceFailed) await it.return?.().catch(() => {});
      await file?.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      // The producer's own failure (an unsafe tree, a read error) is not a storage problem: pass it on as it is.
      if (sourceFailed) throw err;
      const e = err as NodeJS.ErrnoException;
      if (e.code === "ENOSPC" || e.code === "EDQUOT") {
        throw new StorageError(`artifact storage ${this.root} is full (${e.code}); the previous artifact is still served; free space or enlarge the volume`, e.code, { cause: err });
      }
      if (err instanceof StorageError) throw err;
      throw new StorageError(`cannot write artifact under ${this.root}: ${e.message}`, e.code, { cause: err });
    }
  }

  /** True when a stored artifact exists (and, given a digest, still has it: a tampered or truncated file fails). */
  async exists(rel: string, digest?: string): Promise<boolean> {
    let abs: string;
    try {
      abs = this.absolute(rel);
    } catch {
      return false;
    }
    if (!(await exists(abs))) return false;
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
      names.filter((n) => !n.startsWith(".")).map(async (n) => ({ n, t: (await stat(path.join(this.absolute(dirRel), n))).mtimeMs })),
    );
    return files.sort((a, b) => b.t - a.t || (a.n < b.n ? -1 : 1)).map((f) => `${dirRel}/${f.n}`);
  }

  /** Deletes all but the newest `keep` artifacts of the object, never `current`. */
  async gc(key: ArtifactKey, current?: string): Promise<string[]> {
    const all = await this.list(key);
    const keep = new Set(all.slice(0, this.keep));
    if (current) keep.add(current);
    const removed: string[] = [];
    for (const rel of all) {
      if (keep.has(rel)) continue;
      await rm(this.absolute(rel), { force: true });
      removed.push(rel);
    }
    return removed;
  }

  /** Removes every artifact of the object (on deletion of the object). */
  async remove(key: ArtifactKey): Promise<void> {
    await rm(this.absolute(this.dirOf(key)), { recursive: true, force: true });
  }

  private async sweepTemp(dir: string, depth: number): Promise<void> {
    if (depth > 4) return;
    for (const ent of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) await this.sweepTemp(p, depth + 1);
      else if (ent.name.startsWith(TEMP_PREFIX)) await rm(p, { force: true });
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
