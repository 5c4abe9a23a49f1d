// Deterministic tar.gz: the same set of entries always produces the same bytes, so the same tree has the same
// digest. Entries are sorted by path and written with a fixed mtime, uid/gid 0, no user/group names, and modes
// 0644 or 0755. Symlinks are stored as links (their target is data, never followed); unsafe names are refused.
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import zlib from "node:zlib";
import tar from "tar-stream";

export type TarEntry =
  | { path: string; type: "file"; executable: boolean; size: number; read: () => Promise<Buffer> }
  | { path: string; type: "symlink"; target: string };

/** The fixed mtime of every entry (1980-01-01, the zip epoch, so no tool shows a zero date as "invalid"). */
export const FIXED_MTIME = new Date("1980-01-01T00:00:00Z");

export class UnsafePathError extends Error {
  constructor(readonly entryPath: string, why: string) {
    super(`refusing to archive "${entryPath}": ${why}`);
    this.name = "UnsafePathError";
  }
}

/** Throws UnsafePathError unless `p` is a relative path of plain names (no `.`, `..`, empty parts, NUL). */
export function assertSafePath(p: string): void {
  if (p.length === 0) throw new UnsafePathError(p, "empty path");
  if (p.startsWith("/")) throw new UnsafePathError(p, "absolute path");
  if (p.includes("\0")) throw new UnsafePathError(p, "NUL in name");
  for (const part of p.split("/")) {
    if (part === "" || part === "." || part === "..") throw new UnsafePathError(p, `path component "${part}" is not allowed`);
  }
}

/** Byte order of UTF-8 paths, the same on every machine and locale. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Streams a deterministic tar.gz of `entries` (sorted here; file contents read one at a time, so memory holds one
 * file, not the tree). The returned stream errors if an entry is unsafe or a read fails.
 */
export function writeTarGz(entries: TarEntry[], opts: { gzipLevel?: number } = {}): Readable {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  const pack = tar.pack();
  const gzip = zlib.createGzip({ level: opts.gzipLevel ?? 6 });
  const out = new PassThrough();
  pack.pipe(gzip).pipe(out);
  gzip.on("error", (err) => out.destroy(err));
  pack.on("error", (err: Error) => out.destroy(err));
  // A consumer that stops reading (a failed disk write) must not leave the producer waiting for drain forever.
  out.on("close", () => {
    if (!pack.destroyed) pack.destroy();
  });
  const fill = async () => {
    let previous: string | undefined;
    for (const e of sorted) {
      assertSafePath(e.path);
      if (e.path === previous) throw new UnsafePathError(e.path, "duplicate path");
      previous = e.path;
      const common = { name: e.path, mtime: FIXED_MTIME, uid: 0, gid: 0, uname: "", gname: "" };
      if (e.type === "symlink") {
        await addEntry(pack, { ...common, type: "symlink", linkname: e.target, mode: 0o777 });
      } else {
        const data = await e.read();
        await addEntry(pack, { ...common, type: "file", mode: e.executable ? 0o755 : 0o644, size: data.length }, data);
      }
    }
    pack.finalize();
  };
  // The failure is reported once, on the returned stream; the pack and gzip are torn down quietly.
  fill().catch((err: unknown) => {
    out.destroy(err as Error);
    pack.destroy();
    gzip.destroy();
  });
  return out;
}

// tar-stream's entry callback fires once the pack stream has taken the data (it waits for drain), so awaiting
// it keeps one file in memory at a time.
async function addEntry(pack: tar.Pack, header: Parameters<tar.Pack["entry"]>[0], data?: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (data) pack.entry(header, data, done);
    else pack.entry(header, done);
  });
}

/**
 * Entries of a directory on disk, by lstat: symlinks become link entries and are never followed; anything that is
 * not a regular file, directory or symlink is skipped. `include(rel, isDir)` filters (ignore rules).
 */
export async function directoryEntries(root: string, include: (rel: string, isDir: boolean) => boolean = () => true): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      const st = await lstat(abs);
      if (st.isDirectory()) {
        if (include(r, true)) await walk(r);
      } else if (st.isSymbolicLink()) {
        if (include(r, false)) out.push({ path: r, type: "symlink", target: await readlink(abs) });
      } else if (st.isFile()) {
        if (include(r, false)) out.push({ path: r, type: "file", executable: (st.mode & 0o111) !== 0, size: st.size, read: () => readFile(abs) });
      }
    }
  };
  await walk("");
  return out;
}
