// Resolving a path inside an extracted artifact the way the kernel does, without ever looking outside it (the rules
// are in fs.ts's header): one component at a time from the real root, with lstat, links followed relative to the
// directory they are in, `..` from the resolved directory; out of the root, absolute targets and loops refused.
import * as fs from "node:fs";
import * as path from "node:path";

/** Most symlinks one resolution may follow: Linux's MAXSYMLINKS. */
export const MAX_SYMLINKS = 40;

/** What is at the end of a walk. */
export type EntryKind = "file" | "directory" | "FIFO" | "socket" | "character device" | "block device" | "unknown";

/** The outcome of resolving a root-relative path. */
export type Walk =
  | { ok: true; /** Absolute real path (no symlink in it). */ real: string; /** Root-relative real path. */ rel: string; stat: fs.Stats; kind: EntryKind }
  | { ok: false; reason: "missing"; /** Root-relative real path of the first component that does not exist. */ at: string }
  | { ok: false; reason: "not-a-directory"; /** Root-relative real path of the component that is not a directory. */ at: string }
  | {
      ok: false;
      reason: "outside";
      /** Root-relative path of the link whose target leaves the root. */ link: string;
      absolute: boolean;
      /** The link was left out at extraction (it is absent from the tree; its target is not known here). */ skipped?: boolean;
    }
  | { ok: false; reason: "loop"; /** Root-relative path of the link that went over the limit. */ link: string }
  | { ok: false; reason: "unreadable"; at: string; code: string };

export type WalkFailure = Exclude<Walk, { ok: true }>;

export interface WalkState {
  stack: string[];
  stats: fs.Stats[];
}

export function kindOf(st: fs.Stats): EntryKind {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isFIFO()) return "FIFO";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice()) return "character device";
  if (st.isBlockDevice()) return "block device";
  return "unknown";
}

/**
 * Resolves `rootRel` (a root-relative path with forward slashes, no `..`, "" for the root) inside `rootReal` (the
 * root's real path) with the kernel's semantics, without ever looking outside the root. `cache` maps lexical
 * directory prefixes to where they resolved, for trees that do not change.
 */
export function walkInside(rootReal: string, rootRel: string, cache?: Map<string, WalkState>): Walk {
  const userParts = rootRel.split("/").filter((p) => p !== "" && p !== ".");
  const { state, start } = resume(userParts, cache);
  // Each pending component remembers the link whose target it came from (undefined: the path asked for).
  const pending: { name: string; link?: string }[] = userParts.slice(start).map((name) => ({ name }));
  let done = start;
  let links = 0;
  const here = (...more: string[]): string => [...state.stack, ...more].join("/");
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part.link === undefined && cache && done > start) cache.set(userParts.slice(0, done).join("/"), copy(state));
    if (part.link === undefined) done++;
    if (part.name === "" || part.name === ".") continue;
    if (part.name === "..") {
      // Only a link target can hold `..` here (paths asked for are lexically clean), so a link is to blame.
      if (state.stack.length === 0) return { ok: false, reason: "outside", link: part.link ?? ".", absolute: false };
      state.stack.pop();
      state.stats.pop();
      continue;
    }
    const abs = path.join(rootReal, ...state.stack, part.name);
    const st = lstatStep(abs, state, part.name);
    if ("ok" in st) return st;
    if (st.isSymbolicLink()) {
      const link = here(part.name);
      if (++links > MAX_SYMLINKS) return { ok: false, reason: "loop", link };
      const target = linkTarget(abs, link);
      if (!Array.isArray(target)) return target;
      pending.unshift(...target.map((name) => ({ name, link })));
      continue;
    }
    if (pending.length > 0 && !st.isDirectory()) return { ok: false, reason: "not-a-directory", at: here(part.name) };
    state.stack.push(part.name);
    state.stats.push(st);
  }
  const stat = state.stats.at(-1) ?? fs.statSync(rootReal);
  if (cache && stat.isDirectory() && userParts.length > 0) cache.set(userParts.join("/"), copy(state));
  return { ok: true, real: path.join(rootReal, ...state.stack), rel: state.stack.join("/"), stat, kind: kindOf(stat) };
}

function copy(state: WalkState): WalkState {
  return { stack: [...state.stack], stats: [...state.stats] };
}

/** Where the walk of `userParts` starts: after the longest prefix `cache` knows, else at the root. */
function resume(userParts: string[], cache: Map<string, WalkState> | undefined): { state: WalkState; start: number } {
  if (cache) {
    for (let i = userParts.length; i > 0; i--) {
      const hit = cache.get(userParts.slice(0, i).join("/"));
      if (hit) return { state: copy(hit), start: i };
    }
  }
  return { state: { stack: [], stats: [] }, start: 0 };
}

/** lstat of the component `name` (at `abs`) in the directory the walk stands in, or why the walk ends there. */
function lstatStep(abs: string, state: WalkState, name: string): fs.Stats | WalkFailure {
  try {
    return fs.lstatSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    if (code === "ENOENT") return { ok: false, reason: "missing", at: [...state.stack, name].join("/") };
    if (code === "ENOTDIR") return { ok: false, reason: "not-a-directory", at: state.stack.join("/") };
    return { ok: false, reason: "unreadable", at: [...state.stack, name].join("/"), code };
  }
}

/** The components of the target of the symlink at `abs` (`link`, root-relative), or why it cannot be followed. */
function linkTarget(abs: string, link: string): string[] | WalkFailure {
  let target: string;
  try {
    target = fs.readlinkSync(abs);
  } catch (err) {
    return { ok: false, reason: "unreadable", at: link, code: (err as NodeJS.ErrnoException).code ?? "EIO" };
  }
  if (target === "") return { ok: false, reason: "missing", at: link };
  if (path.posix.isAbsolute(target) || path.isAbsolute(target)) return { ok: false, reason: "outside", link, absolute: true };
  return target.split("/");
}

/** Why a walk failed, as the end of a sentence whose subject is the path asked for. */
export function describeFailure(w: WalkFailure, rootRel: string): string {
  switch (w.reason) {
    case "outside":
      if (w.skipped) {
        return (
          `resolves outside the source root: ${w.link} is a symlink that leaves the repository (left out when the source artifact was extracted, so it is never followed); ` +
          "Mooring reads only files inside the repository, so point the link at a relative path that stays inside it, or copy the file in"
        );
      }
      return (
        `resolves outside the source root: ${w.link} is a symlink pointing outside it${w.absolute ? " (absolute link targets are never followed)" : ""}; ` +
        "Mooring reads only files inside the repository, so point the link at a relative path that stays inside it, or copy the file in"
      );
    case "loop":
      return `cannot be resolved: more than ${MAX_SYMLINKS} symlinks were followed (a symlink loop at ${w.link}?); fix the link`;
    case "missing":
      return `does not exist (looked for ${rootRel || "."})`;
    case "not-a-directory":
      return `does not exist (looked for ${rootRel || "."}, but ${w.at} is not a directory)`;
    case "unreadable":
      return `cannot be read (${w.code} at ${w.at})`;
  }
}

/** What an entry that is neither a file nor a directory is, for messages ("a FIFO"). */
export function kindPhrase(kind: EntryKind): string {
  return kind === "unknown" ? "not a regular file" : `a ${kind}`;
}
