// Read-only access to an extracted artifact that cannot leave it. Every file and directory any renderer touches goes
// through one resolver (`walkInside`, in walk.ts), which resolves a path the way the kernel does rather than lexically:
//
//   - It walks the path one component at a time from the real root, with lstat. A symlink's target is read and its
//     components are walked next, relative to the directory the link is in; `..` steps back from the *resolved*
//     directory, so `a -> b/..` is where `b` leads, then up (a lexical collapse would say "the directory of a" and
//     miss that `b` may lead anywhere). The directory it stands in is always a real directory below the root.
//   - It refuses any step out of the root (`..` at the root), absolute link targets (a repository cannot know where
//     it is extracted, so they only ever make sense as a way out), and more than 40 links (the kernel's own limit;
//     a loop). A chain that leaves the root and comes back in is refused too: it would depend on the host's layout.
//   - Links that stay inside the root are followed, as `kubectl kustomize` does: only where the walk ends counts.
//   - Reads open the resolved real path (every component a real directory, O_NOFOLLOW on the last) without blocking
//     and check with fstat that it is the regular file the walk found: FIFOs, sockets and devices are never read
//     (opening a FIFO would hang the render), and a directory where a file is expected is an error.
//
// Paths written in a repository (a kustomization's `resources`, `valuesFiles`, the Application's path) are joined to
// their base directory lexically first, as Kustomize does (filepath.Join); the result, the path that is then read,
// is what the walk checks. Errors name the file, the field and the link at fault, never a path outside the root and
// never a file's content.
//
// The extracted artifact does not change while it is rendered (the render controller extracts each artifact once
// into a directory nothing else writes), so the walk's answers are cached per render.
//
// Extraction (src/render/fetch.ts) leaves out the symlinks that leave the tree, so in the extracted tree they are
// simply absent, and a renderer would say "does not exist" about a file the repository does have (as a link out).
// Their names are kept beside the tree, in `<tree>.skipped-links.json` (outside it, where a repository cannot write);
// ArtifactRoot reads that list and treats a walk that misses at one of those names as the link it was: "outside",
// naming the link, exactly as when the link is present (a working copy given to `mooring render`).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { RenderError } from "./errors.js";
import type { RenderLimits } from "./limits.js";
import { describeFailure, kindPhrase, walkInside, type Walk, type WalkState } from "./walk.js";

export { MAX_SYMLINKS, walkInside, type EntryKind, type Walk } from "./walk.js";

/** Where extraction keeps the names of the symlinks it left out of the tree at `treeDir` (beside it, not in it). */
export function skippedLinksFile(treeDir: string): string {
  return `${path.resolve(treeDir)}.skipped-links.json`;
}

/**
 * The names in the skipped-links file of `treeDir` (empty when there is none: nothing was skipped, or the tree was
 * not extracted by Mooring). A file that is not a JSON array of strings is ignored rather than failing the render:
 * the list only improves error messages.
 */
export function readSkippedLinks(treeDir: string): Set<string> {
  let text: string;
  try {
    text = fs.readFileSync(skippedLinksFile(treeDir), "utf8");
  } catch {
    return new Set();
  }
  try {
    const names: unknown = JSON.parse(text);
    return new Set(Array.isArray(names) ? names.filter((n): n is string => typeof n === "string") : []);
  } catch {
    return new Set();
  }
}

export class ArtifactRoot {
  /** Real (symlink-resolved) absolute path of the root. */
  readonly dir: string;
  private bytesRead = 0;
  private readonly cache = new Map<string, WalkState>();
  /** Root-relative names of the symlinks extraction left out because they leave the tree. */
  private readonly skipped: Set<string>;

  /**
   * With `trace`: everything this render learnt about the tree — what each path resolved to, each probe's answer,
   * a digest of each file read and each directory listing — by "<op>:<path>". A render is a function of these and
   * its options, so a new source where `replayReads` finds them all the same renders the same objects.
   */
  readonly reads: Map<string, string> | undefined;

  constructor(
    root: string,
    readonly limits: RenderLimits,
    o: { trace?: boolean } = {},
  ) {
    this.reads = o.trace ? new Map() : undefined;
    try {
      this.dir = fs.realpathSync.native(path.resolve(root));
    } catch (err) {
      throw new RenderError(`artifact root ${root} cannot be opened: ${(err as Error).message}`, {}, { cause: err });
    }
    if (!fs.statSync(this.dir).isDirectory()) throw new RenderError(`artifact root ${root} is not a directory`);
    this.skipped = readSkippedLinks(root);
  }

  /**
   * Resolves `rel` (relative to the directory `from`, itself relative to the root) to a root-relative path with
   * forward slashes ("" is the root). Refuses absolute paths, anything that leaves the root (also through symlinks,
   * followed as the kernel does), what does not exist, FIFOs, sockets and devices, and, with `expect`, a directory
   * where a file is expected or the reverse. Errors say `<what> "<rel>" …` at `errFile` (default `from`).
   */
  resolve(rel: string, from = "", what = "path", errFile?: string, expect: "any" | "file" | "directory" = "any"): string {
    const at = errFile ?? from;
    if (rel.includes("\0")) throw new RenderError(`${what} ${JSON.stringify(rel)} contains a NUL byte`, fileOf(at));
    if (path.isAbsolute(rel) || /^[A-Za-z]:[\\/]/.test(rel)) {
      throw new RenderError(`${what} ${JSON.stringify(rel)} is absolute; paths must be relative to the artifact`, fileOf(at));
    }
    const joined = path.posix.normalize(path.posix.join(toPosix(from), toPosix(rel)));
    if (joined === ".." || joined.startsWith("../")) {
      throw new RenderError(`${what} ${JSON.stringify(rel)} escapes the artifact root`, fileOf(at));
    }
    const rootRel = joined === "." ? "" : joined.replace(/\/$/, "");
    const w = this.walk(rootRel);
    if (!w.ok) throw new RenderError(`${what} ${JSON.stringify(rel)} ${describeFailure(w, rootRel)}`, fileOf(at));
    if (w.kind !== "file" && w.kind !== "directory") {
      throw new RenderError(`${what} ${JSON.stringify(rel)} is ${kindPhrase(w.kind)}; Mooring reads only regular files and directories, so replace it with a regular file`, fileOf(at));
    }
    if (expect === "file" && w.kind === "directory") throw new RenderError(`${what} ${JSON.stringify(rel)} is a directory, not a file`, fileOf(at));
    if (expect === "directory" && w.kind === "file") throw new RenderError(`${what} ${JSON.stringify(rel)} is not a directory`, fileOf(at));
    this.reads?.set(`r:${rootRel}`, w.kind);
    return rootRel;
  }

  /**
   * Where a root-relative path leads: its root-relative real path, every symlink on the way followed ("" is the
   * root). For checks that, like Kustomize's load restriction, apply to the file a path reaches, not to its spelling.
   */
  realPath(rootRel: string): string {
    const w = this.walk(rootRel);
    if (!w.ok) throw new RenderError(describeFailure(w, rootRel), { file: rootRel || "." });
    this.reads?.set(`l:${rootRel}`, w.rel);
    return w.rel;
  }

  private walk(rootRel: string): Walk {
    const w = walkInside(this.dir, rootRel, this.cache);
    // `at` is where the walk found nothing, as a real root-relative path: the place of a left-out link when the
    // path (or a link on its way) went through it.
    if (!w.ok && w.reason === "missing" && this.skipped.has(w.at)) return { ok: false, reason: "outside", link: w.at, absolute: false, skipped: true };
    return w;
  }

  /**
   * What is at a root-relative path: "missing" (also when a directory on the way is missing), "file" or
   * "directory". Anything that resolves outside the root, a loop, a FIFO, socket or device is an error naming the
   * path, so a renderer never silently skips (or reads) what an attacker put there.
   */
  private probe(rootRel: string): "missing" | "file" | "directory" {
    const kind = this.probeOnce(rootRel);
    this.reads?.set(`p:${rootRel}`, kind);
    return kind;
  }

  private probeOnce(rootRel: string): "missing" | "file" | "directory" {
    const w = this.walk(rootRel);
    if (!w.ok) {
      if (w.reason === "missing" || w.reason === "not-a-directory") return "missing";
      throw new RenderError(describeFailure(w, rootRel), { file: rootRel || "." });
    }
    if (w.kind === "file" || w.kind === "directory") return w.kind;
    throw new RenderError(`is ${kindPhrase(w.kind)}; Mooring reads only regular files and directories, so replace it with a regular file`, { file: rootRel || "." });
  }

  exists(rootRel: string): boolean {
    return this.probe(rootRel) !== "missing";
  }

  isDir(rootRel: string): boolean {
    return this.probe(rootRel) === "directory";
  }

  isFile(rootRel: string): boolean {
    return this.probe(rootRel) === "file";
  }

  /** Raw bytes of a root-relative file, after the size limits. */
  readBytes(rootRel: string): Buffer {
    const w = this.walk(rootRel);
    if (!w.ok) throw new RenderError(describeFailure(w, rootRel), { file: rootRel });
    if (w.kind === "directory") throw new RenderError("is a directory, not a file", { file: rootRel });
    if (w.kind !== "file") throw new RenderError(`is ${kindPhrase(w.kind)}, not a regular file; Mooring reads only regular files, so replace it with one`, { file: rootRel });
    // Every component of w.real is a real directory; O_NOFOLLOW guards the last, O_NONBLOCK keeps a FIFO that
    // replaced the file from blocking the open, and fstat checks that what was opened is what the walk found.
    let fd: number;
    try {
      fd = fs.openSync(w.real, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
    } catch (err) {
      throw new RenderError(`cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`, { file: rootRel }, { cause: err });
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.ino !== w.stat.ino || st.dev !== w.stat.dev) {
        throw new RenderError("changed while it was being read; the artifact must not change during a render", { file: rootRel });
      }
      if (st.size > this.limits.maxFileBytes) {
        throw new RenderError(`file is ${st.size} bytes, over the ${this.limits.maxFileBytes}-byte limit per file`, { file: rootRel });
      }
      if (this.bytesRead + st.size > this.limits.maxTotalBytes) {
        throw new RenderError(`reading this file would exceed the ${this.limits.maxTotalBytes}-byte limit per render`, { file: rootRel });
      }
      this.bytesRead += st.size;
      // Read at most the size fstat reported, so a file that grows meanwhile cannot pass the limits.
      const buf = Buffer.alloc(st.size);
      let n = 0;
      while (n < buf.length) {
        const got = fs.readSync(fd, buf, n, buf.length - n, n);
        if (got === 0) break;
        n += got;
      }
      const out = n === buf.length ? buf : buf.subarray(0, n);
      this.reads?.set(`f:${rootRel}`, createHash("sha256").update(out).digest("hex"));
      return out;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** UTF-8 text of a root-relative file; binary content (NUL bytes, invalid UTF-8) is refused. */
  readText(rootRel: string): string {
    const buf = this.readBytes(rootRel);
    if (isBinary(buf)) throw new RenderError("is a binary file, not UTF-8 text", { file: rootRel });
    return buf.toString("utf8");
  }

  /**
   * Entries of a root-relative directory, sorted by name (byte order). Symlinks are resolved (an entry whose link
   * leaves the root is an error naming it) and listed as what they point at; FIFOs, sockets and devices are listed
   * as files, so a renderer that wants to read one gets the error saying what it is rather than skipping it.
   * Hidden entries (".git", ".github") are skipped.
   */
  list(rootRel: string): { name: string; path: string; dir: boolean }[] {
    const w = this.walk(rootRel);
    if (!w.ok) throw new RenderError(describeFailure(w, rootRel), { file: rootRel || "." });
    if (w.kind !== "directory") throw new RenderError("is not a directory", { file: rootRel || "." });
    const entries = fs.readdirSync(w.real, { withFileTypes: true });
    const out: { name: string; path: string; dir: boolean }[] = [];
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith(".")) continue;
      const rel = rootRel ? `${rootRel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) {
        const entry = this.walk(rel);
        if (!entry.ok) throw new RenderError(`entry ${JSON.stringify(e.name)} ${describeFailure(entry, rel)}`, fileOf(rootRel));
        out.push({ name: e.name, path: rel, dir: entry.kind === "directory" });
      } else {
        out.push({ name: e.name, path: rel, dir: e.isDirectory() });
      }
    }
    // A link left out at extraction is missing from readdir; listed as present it would be the error above, so
    // a renderer never silently renders the directory without it.
    const prefix = w.rel ? `${w.rel}/` : "";
    for (const s of [...this.skipped].sort()) {
      const name = s.slice(prefix.length);
      if (!s.startsWith(prefix) || name.includes("/") || name.startsWith(".")) continue;
      const rel = rootRel ? `${rootRel}/${name}` : name;
      throw new RenderError(`entry ${JSON.stringify(name)} ${describeFailure({ ok: false, reason: "outside", link: s, absolute: false, skipped: true }, rel)}`, fileOf(rootRel));
    }
    this.reads?.set(`d:${rootRel}`, out.map((e) => `${e.name}${e.dir ? "/" : ""}`).join("\0"));
    return out;
  }
}

function fileOf(from: string): { file?: string } {
  return from ? { file: from } : {};
}

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Whether `buf` is valid UTF-8 (a NUL byte is: Kustomize's generators keep such a file as text). */
export function isUtf8(buf: Buffer): boolean {
  try {
    utf8.decode(buf);
    return true;
  } catch {
    return false;
  }
}

/** A file read as text must be UTF-8 without NUL bytes. */
export function isBinary(buf: Buffer): boolean {
  return buf.includes(0) || !isUtf8(buf);
}

/**
 * Whether the tree at `rootDir` answers every read of `reads` (an earlier render's ArtifactRoot.reads) the same way:
 * then rendering it with the same options gives the same objects. Any difference, or any error (a path that now
 * leaves the tree, a FIFO, a limit), is false: render it.
 */
export function replayReads(rootDir: string, reads: Readonly<Record<string, string>>, limits: RenderLimits): boolean {
  try {
    const root = new ArtifactRoot(rootDir, limits, { trace: true });
    for (const [k, want] of Object.entries(reads)) {
      const rel = k.slice(2);
      switch (k.slice(0, 2)) {
        case "r:":
          root.resolve(rel);
          break;
        case "p:":
          root.exists(rel);
          break;
        case "l:":
          root.realPath(rel);
          break;
        case "f:":
          root.readBytes(rel);
          break;
        case "d:":
          root.list(rel);
          break;
        default:
          return false;
      }
      if (root.reads!.get(k) !== want) return false;
    }
    return true;
  } catch {
    return false;
  }
}
