// Read-only access to an extracted artifact that cannot leave it: every path is resolved against the root,
// `..`, absolute paths and symlinks pointing outside are refused, and sizes are checked before reading.
import * as fs from "node:fs";
import * as path from "node:path";
import { RenderError } from "./errors.js";
import type { RenderLimits } from "./limits.js";

export class ArtifactRoot {
  /** Real (symlink-resolved) absolute path of the root. */
  readonly dir: string;
  private bytesRead = 0;

  constructor(
    root: string,
    readonly limits: RenderLimits,
  ) {
    try {
      this.dir = fs.realpathSync(path.resolve(root));
    } catch (err) {
      throw new RenderError(`artifact root ${root} cannot be opened: ${(err as Error).message}`, {}, { cause: err });
    }
    if (!fs.statSync(this.dir).isDirectory()) throw new RenderError(`artifact root ${root} is not a directory`);
  }

  /**
   * Resolves `rel` (relative to the directory `from`, itself relative to the root) to a root-relative path with
   * forward slashes ("" is the root). Refuses absolute paths and anything that leaves the root, also via symlinks.
   */
  resolve(rel: string, from = "", what = "path", errFile?: string): string {
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
    const abs = path.join(this.dir, rootRel);
    let real: string;
    try {
      real = fs.realpathSync(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        // A dangling symlink is reported as escaping when its target is outside, else as missing.
        const target = this.danglingTarget(abs);
        if (target !== undefined && !this.inside(target)) {
          throw new RenderError(`${what} ${JSON.stringify(rel)} is a symlink pointing outside the artifact`, fileOf(at));
        }
        throw new RenderError(`${what} ${JSON.stringify(rel)} does not exist (looked for ${rootRel || "."})`, fileOf(at), { cause: err });
      }
      throw new RenderError(`${what} ${JSON.stringify(rel)} cannot be read: ${(err as Error).message}`, fileOf(at), { cause: err });
    }
    if (!this.inside(real)) {
      throw new RenderError(`${what} ${JSON.stringify(rel)} is a symlink pointing outside the artifact`, fileOf(at));
    }
    return rootRel;
  }

  private danglingTarget(abs: string): string | undefined {
    try {
      return path.resolve(path.dirname(abs), fs.readlinkSync(abs));
    } catch {
      return undefined;
    }
  }

  private inside(real: string): boolean {
    return real === this.dir || real.startsWith(this.dir + path.sep);
  }

  abs(rootRel: string): string {
    return path.join(this.dir, rootRel);
  }

  exists(rootRel: string): boolean {
    return fs.existsSync(this.abs(rootRel));
  }

  isDir(rootRel: string): boolean {
    try {
      return fs.statSync(this.abs(rootRel)).isDirectory();
    } catch {
      return false;
    }
  }

  isFile(rootRel: string): boolean {
    try {
      return fs.statSync(this.abs(rootRel)).isFile();
    } catch {
      return false;
    }
  }

  /** Raw bytes of a root-relative file, after the size limits. */
  readBytes(rootRel: string): Buffer {
    const abs = this.abs(rootRel);
    const st = fs.statSync(abs);
    if (!st.isFile()) throw new RenderError("is not a regular file", { file: rootRel });
    if (st.size > this.limits.maxFileBytes) {
      throw new RenderError(`file is ${st.size} bytes, over the ${this.limits.maxFileBytes}-byte limit per file`, { file: rootRel });
    }
    if (this.bytesRead + st.size > this.limits.maxTotalBytes) {
      throw new RenderError(`reading this file would exceed the ${this.limits.maxTotalBytes}-byte limit per render`, { file: rootRel });
    }
    this.bytesRead += st.size;
    return fs.readFileSync(abs);
  }

  /** UTF-8 text of a root-relative file; binary content (NUL bytes, invalid UTF-8) is refused. */
  readText(rootRel: string): string {
    const buf = this.readBytes(rootRel);
    if (isBinary(buf)) throw new RenderError("is a binary file, not UTF-8 text", { file: rootRel });
    return buf.toString("utf8");
  }

  /**
   * Entries of a root-relative directory, sorted by name (byte order), symlinks checked against the root.
   * Hidden entries (".git", ".github") are skipped.
   */
  list(rootRel: string): { name: string; path: string; dir: boolean }[] {
    const entries = fs.readdirSync(this.abs(rootRel), { withFileTypes: true });
    const out: { name: string; path: string; dir: boolean }[] = [];
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith(".")) continue;
      const rel = rootRel ? `${rootRel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) {
        const resolved = this.resolve(e.name, rootRel, "symlink");
        out.push({ name: e.name, path: rel, dir: this.isDir(resolved) });
      } else if (e.isDirectory() || e.isFile()) {
        out.push({ name: e.name, path: rel, dir: e.isDirectory() });
      }
    }
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

export function isBinary(buf: Buffer): boolean {
  if (buf.includes(0)) return true;
  try {
    utf8.decode(buf);
    return false;
  } catch {
    return true;
  }
}
