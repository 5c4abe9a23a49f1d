// Extracting a source artifact's tar.gz (fetch.ts's `extract`): plain names only (no `..`, absolute paths, NUL);
// files and directories first, symlinks last (so no file is ever written through one), symlinks pointing outside the
// tree skipped (also chains of links that each look inside, checked as the kernel resolves them once all exist);
// bounded entry count and total size.
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, realpath, symlink, unlink } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import tar from "tar-stream";
import { DEFAULT_SOURCE_LIMITS, SourceArtifactError, type SourceLimits } from "./source-limits.js";
import { walkInside } from "./walk.js";

/** Why an entry name is unsafe, or undefined when it is a relative path of plain names. */
export function unsafeEntryName(name: string): string | undefined {
  if (name.length === 0) return "empty name";
  if (name.includes("\0")) return "NUL in name";
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name) || name.includes("\\")) return "absolute or non-POSIX path";
  for (const part of name.split("/")) if (part === "." || part === "..") return `path component "${part}"`;
  return undefined;
}

/** True when a symlink at `entry` (root-relative) pointing at `target` stays inside the root. */
export function symlinkStaysInside(entry: string, target: string): boolean {
  if (target.length === 0 || target.includes("\0") || path.posix.isAbsolute(target)) return false;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(entry), target));
  return resolved !== ".." && !resolved.startsWith("../");
}

export interface ExtractResult {
  files: number;
  bytes: number;
  /** Symlinks left out because they point outside the tree (root-relative names; SourceCache keeps them beside it). */
  skippedSymlinks: string[];
}

/** Extracts a tar.gz file into `dir` (which must not exist or be empty) under the safety rules above. */
export async function extractTarGz(file: string, dir: string, o: { limits?: Partial<SourceLimits>; what?: string } = {}): Promise<ExtractResult> {
  const x: Extraction = {
    dir,
    limits: { ...DEFAULT_SOURCE_LIMITS, ...(o.limits ?? {}) },
    what: o.what ?? file,
    links: [],
    result: { files: 0, bytes: 0, skippedSymlinks: [] },
  };
  await mkdir(dir, { recursive: true });
  await unpack(file, x);
  // Symlinks last: every file above was written through real directories only.
  const created = await placeSymlinks(x);
  await removeLeavingLinks(x, created);
  return x.result;
}

/** One extraction under way: where, under which limits, what it has written, the symlinks it keeps for last. */
interface Extraction {
  dir: string;
  limits: SourceLimits;
  /** The artifact, for messages. */
  what: string;
  links: { name: string; target: string }[];
  result: ExtractResult;
}

/** An entry of the archive as tar-stream reads it (its header, and its content as a stream). */
type TarEntry = ReturnType<typeof tar.extract> extends AsyncIterable<infer E> ? E : never;

/** The archive's fault: the same artifact will never extract. */
function invalid(x: Extraction, msg: string): SourceArtifactError {
  return new SourceArtifactError(`source artifact ${x.what}: ${msg}`, false);
}

/** Streams the archive: directories and files written, symlinks collected; entry count and size bounded. */
async function unpack(file: string, x: Extraction): Promise<void> {
  const extract = tar.extract();
  let entries = 0;
  const consume = async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = h.name.replace(/\/+$/, "");
      if (++entries > x.limits.maxEntries) throw invalid(x, `more than ${x.limits.maxEntries} entries`);
      const bad = unsafeEntryName(name);
      if (bad) throw invalid(x, `refusing entry "${h.name}": ${bad}`);
      await writeEntry(x, entry, name);
    }
  };
  try {
    await Promise.all([pipeline(createReadStream(file), zlib.createGunzip(), extract), consume()]);
  } catch (err) {
    extract.destroy();
    if (err instanceof SourceArtifactError) throw err;
    if (localIoError(err)) throw new SourceArtifactError(`source artifact ${x.what} could not be extracted here (${(err as Error).message}); retrying`, true, { cause: err });
    throw invalid(x, `cannot be extracted: ${(err as Error).message}`);
  }
}

/** One entry (`name`, already checked): a directory or file written, a symlink kept for later, anything else skipped. */
async function writeEntry(x: Extraction, entry: TarEntry, name: string): Promise<void> {
  const h = entry.header;
  const abs = path.join(x.dir, ...name.split("/"));
  switch (h.type) {
    case "directory":
      await mkdir(abs, { recursive: true });
      entry.resume();
      break;
    case "file":
    case "contiguous-file": {
      x.result.bytes += h.size ?? 0;
      if (x.result.bytes > x.limits.maxExtractedBytes) throw invalid(x, `extracted size over the ${x.limits.maxExtractedBytes}-byte limit`);
      await mkdir(path.dirname(abs), { recursive: true });
      // "wx": a duplicate entry fails instead of overwriting, and O_EXCL never follows a planted symlink.
      await pipeline(entry, createWriteStream(abs, { flags: "wx", mode: (h.mode ?? 0o644) & 0o111 ? 0o755 : 0o644 }));
      x.result.files++;
      break;
    }
    case "symlink":
      x.links.push({ name, target: h.linkname ?? "" });
      entry.resume();
      break;
    default:
      // Hard links, devices, FIFOs: nothing a renderer needs, and hard links could alias files outside.
      entry.resume();
  }
}

/** Creates the symlinks that look inside the tree (lexically), through real directories only; the others are skipped. */
async function placeSymlinks(x: Extraction): Promise<{ name: string; abs: string }[]> {
  const created: { name: string; abs: string }[] = [];
  for (const l of x.links) {
    if (!symlinkStaysInside(l.name, l.target)) {
      x.result.skippedSymlinks.push(l.name);
      continue;
    }
    // Through real directories only: a link under another link (which Git cannot even hold) could otherwise be
    // planted wherever that link leads, outside the tree.
    if (!(await mkdirNoFollow(x.dir, path.posix.dirname(l.name)))) {
      x.result.skippedSymlinks.push(l.name);
      continue;
    }
    const abs = path.join(x.dir, ...l.name.split("/"));
    try {
      await symlink(l.target, abs);
    } catch (err) {
      if (localIoError(err)) throw new SourceArtifactError(`source artifact ${x.what}: symlink "${l.name}" could not be created here (${(err as Error).message}); retrying`, true, { cause: err });
      throw invalid(x, `cannot create symlink "${l.name}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    created.push({ name: l.name, abs });
  }
  return created;
}

/**
 * The check in placeSymlinks is lexical, one link at a time, and so cannot see a chain: `d -> .` and `q -> d/..` both
 * look inside, yet the kernel resolves q to the tree's parent. With every link in place, resolve each as the kernel
 * does and remove those that leave the tree (all found first, so a link is judged with the links it goes through
 * still in place). The renderers' resolver refuses them anyway; this keeps them out of the cache altogether.
 */
async function removeLeavingLinks(x: Extraction, created: { name: string; abs: string }[]): Promise<void> {
  if (created.length === 0) return;
  const real = await realpath(x.dir);
  const leaving = created.filter((l) => {
    const w = walkInside(real, l.name);
    return !w.ok && w.reason === "outside";
  });
  for (const l of leaving) {
    await unlink(l.abs);
    x.result.skippedSymlinks.push(l.name);
  }
}

/**
 * Errors of this machine's file system, not of the archive: the file or the temp directory gone (another process
 * cleaning up), a full disk, no file descriptors, no permission. A later try may work, so they are never remembered
 * as an invalid artifact. Not among them: errors of the gzip or tar stream (no syscall), and EEXIST, ENOTDIR,
 * EISDIR, ENAMETOOLONG and ELOOP, which the archive's own entries cause (a duplicate, a file where a directory goes).
 */
const LOCAL_ERRNO = new Set(["ENOENT", "ENOSPC", "EDQUOT", "EIO", "EMFILE", "ENFILE", "EACCES", "EPERM", "EROFS", "ENOMEM", "EBUSY", "EAGAIN", "ESTALE", "EINTR"]);

function localIoError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  return typeof e?.syscall === "string" && typeof e.code === "string" && LOCAL_ERRNO.has(e.code);
}

/** Creates `rel` (a plain relative path, "." for `root`) below `root`, one component at a time, never through a symlink; false when a component is not a real directory. */
async function mkdirNoFollow(root: string, rel: string): Promise<boolean> {
  let at = root;
  for (const part of rel === "." ? [] : rel.split("/")) {
    at = path.join(at, part);
    try {
      if (!(await lstat(at)).isDirectory()) return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await mkdir(at);
    }
  }
  return true;
}
