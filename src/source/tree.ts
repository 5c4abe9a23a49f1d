// The artifact's entries, read straight from the fetched commit's git objects (no checkout): nothing from the
// repository is ever written to our disk as a file or followed as a link. Ignore rules (gitignore format) are
// spec.ignore on top of a default list of VCS and CI folders.
import ignore, { type Ignore } from "ignore";
import { assertSafePath, UnsafePathError, type TarEntry } from "../artifact/tarball.js";
import { SourceError } from "./errors.js";
import type { ObjectReader } from "./packindex.js";

/** Excluded from every artifact unless spec.ignore re-includes them with `!pattern`. */
export const DEFAULT_IGNORE = [
  "# VCS",
  ".git/",
  ".gitignore",
  ".gitmodules",
  ".gitattributes",
  ".hg/",
  ".svn/",
  ".bzr/",
  "# CI",
  ".github/",
  ".gitlab/",
  ".gitlab-ci.yml",
  ".circleci/",
  ".travis.yml",
  ".drone.yml",
  "appveyor.yml",
  "Jenkinsfile",
  ".buildkite/",
  "azure-pipelines.yml",
  "cloudbuild.yaml",
].join("\n");

/** The repository's own ignore file at its root, applied before spec.ignore. */
export const REPO_IGNORE_FILE = ".mooringignore";

/** Rules in order: the defaults, the repository's .mooringignore, then spec.ignore (later rules win). */
export function ignoreMatcher(specIgnore: string | undefined, repoIgnore?: string): Ignore {
  const ig = ignore().add(DEFAULT_IGNORE);
  if (repoIgnore) ig.add(repoIgnore);
  if (specIgnore) ig.add(specIgnore);
  return ig;
}

const MODE_FILE = "100644";
const MODE_EXEC = "100755";
const MODE_LINK = "120000";
const MODE_TREE = "40000";
const MODE_SUBMODULE = "160000";

export interface TreeSummary {
  entries: TarEntry[];
  /** Submodules found and left out (their content is in another repository). */
  submodules: string[];
}

interface RawTreeEntry {
  mode: string;
  name: string;
  oid: string;
}

/** Parses a raw tree object: `<mode> <name>\0<20-byte oid>` repeated. */
export function parseTree(data: Buffer, where: string): RawTreeEntry[] {
  const out: RawTreeEntry[] = [];
  let p = 0;
  while (p < data.length) {
    const sp = data.indexOf(0x20, p);
    const nul = sp < 0 ? -1 : data.indexOf(0, sp + 1);
    if (sp < 0 || nul < 0 || nul + 21 > data.length) throw new SourceError("InvalidTree", `tree ${where} is malformed`);
    out.push({ mode: data.toString("latin1", p, sp).replace(/^0+/, ""), name: data.toString("utf8", sp + 1, nul), oid: data.toString("hex", nul + 1, nul + 21) });
    p = nul + 21;
  }
  return out;
}

/**
 * Lists the files and symlinks of `commit`'s tree that survive the ignore rules. Only trees are read here; file
 * contents are read one at a time when the tarball is written. Throws SourceError(InvalidTree) for unsafe names.
 */
export async function commitEntries(objects: ObjectReader, commit: string, specIgnore?: string): Promise<TreeSummary> {
  const c = await objects.read(commit);
  const treeOid = c.type === "commit" ? c.data.toString("latin1", 0, 46).match(/^tree ([0-9a-f]{40})/)?.[1] : undefined;
  if (!treeOid) throw new SourceError("FetchFailed", `object ${commit} is not a commit`);
  const readTree = async (oid: string, where: string) => {
    const t = await objects.read(oid);
    if (t.type !== "tree") throw new SourceError("InvalidTree", `${where} is not a tree`);
    return parseTree(t.data, where);
  };
  const root = await readTree(treeOid, "/");
  const ignoreEntry = root.find((e) => e.name === REPO_IGNORE_FILE && (e.mode === MODE_FILE || e.mode === MODE_EXEC));
  const repoIgnore = ignoreEntry ? (await objects.read(ignoreEntry.oid)).data.toString("utf8") : undefined;
  const ig = ignoreMatcher(specIgnore, repoIgnore);
  const entries: TarEntry[] = [];
  const submodules: string[] = [];
  const walk = async (tree: RawTreeEntry[], prefix: string, depth: number): Promise<void> => {
    if (depth > 256) throw new SourceError("InvalidTree", `tree of commit ${commit} is nested deeper than 256 levels`);
    for (const e of tree) {
      const rel = prefix + e.name;
      try {
        if (e.name.includes("/") || e.name.toLowerCase() === ".git") throw new UnsafePathError(rel, "not a valid file name in a git tree");
        assertSafePath(rel);
      } catch (err) {
        if (err instanceof UnsafePathError) throw new SourceError("InvalidTree", `commit ${commit}: ${err.message}; rename it in the repository`);
        throw err;
      }
      if (e.mode === MODE_TREE) {
        if (!ig.ignores(rel + "/")) await walk(await readTree(e.oid, rel), rel + "/", depth + 1);
        continue;
      }
      if (ig.ignores(rel)) continue;
      if (e.mode === MODE_SUBMODULE) {
        submodules.push(rel);
      } else if (e.mode === MODE_LINK) {
        entries.push({ path: rel, type: "symlink", target: (await objects.read(e.oid)).data.toString("utf8") });
      } else if (e.mode === MODE_FILE || e.mode === MODE_EXEC) {
        const oid = e.oid;
        entries.push({ path: rel, type: "file", executable: e.mode === MODE_EXEC, size: -1, read: async () => (await objects.read(oid)).data });
      }
    }
  };
  await walk(root, "", 0);
  return { entries, submodules };
}
