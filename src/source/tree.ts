// The artifact's entries, read straight from the fetched commit's git tree (no checkout): nothing from the
// repository is ever written to our disk as a file or followed as a link. Ignore rules (gitignore format) are
// spec.ignore on top of a default list of VCS and CI folders.
import fs from "node:fs";
import git, { Errors } from "isomorphic-git";
import ignore, { type Ignore } from "ignore";
import { assertSafePath, UnsafePathError, type TarEntry } from "../artifact/tarball.js";
import { SourceError } from "./errors.js";

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
const MODE_TREE = "040000";
const MODE_SUBMODULE = "160000";

export interface TreeSummary {
  entries: TarEntry[];
  /** Submodules found and left out (their content is in another repository). */
  submodules: string[];
}

/**
 * Lists the files and symlinks of `commit`'s tree that survive the ignore rules. Only metadata is read here; file
 * contents are read one at a time when the tarball is written. Throws SourceError(InvalidTree) for unsafe names.
 */
export async function commitEntries(gitdir: string, cache: object, commit: string, specIgnore?: string): Promise<TreeSummary> {
  const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit, cache });
  let repoIgnore: string | undefined;
  try {
    const { blob } = await git.readBlob({ fs, gitdir, oid: c.tree, filepath: REPO_IGNORE_FILE, cache });
    repoIgnore = Buffer.from(blob).toString("utf8");
  } catch (err) {
    // An unsafe tree is reported by the walk below, with the path that makes it unsafe.
    if (!(err instanceof Errors.NotFoundError) && !(err instanceof Errors.UnsafeFilepathError)) throw err;
  }
  const ig = ignoreMatcher(specIgnore, repoIgnore);
  const entries: TarEntry[] = [];
  const submodules: string[] = [];
  const walk = async (treeOid: string, prefix: string, depth: number): Promise<void> => {
    if (depth > 256) throw new SourceError("InvalidTree", `tree of commit ${commit} is nested deeper than 256 levels`);
    let tree: Awaited<ReturnType<typeof git.readTree>>["tree"];
    try {
      ({ tree } = await git.readTree({ fs, gitdir, oid: treeOid, cache }));
    } catch (err) {
      // isomorphic-git refuses to parse trees with `..`, `.git` or `/` in a name: that is the tree's fault, not ours.
      if (err instanceof Errors.UnsafeFilepathError) {
        throw new SourceError("InvalidTree", `commit ${commit}: refusing to archive a tree under "${prefix || "/"}": ${err.message}; rename the entry in the repository`);
      }
      throw err;
    }
    for (const e of tree) {
      const rel = prefix + e.path;
      try {
        assertSafePath(rel);
      } catch (err) {
        if (err instanceof UnsafePathError) throw new SourceError("InvalidTree", `commit ${commit}: ${err.message}; rename it in the repository`);
        throw err;
      }
      if (e.mode === MODE_TREE) {
        if (!ig.ignores(rel + "/")) await walk(e.oid, rel + "/", depth + 1);
        continue;
      }
      if (ig.ignores(rel)) continue;
      if (e.mode === MODE_SUBMODULE) {
        submodules.push(rel);
      } else if (e.mode === MODE_LINK) {
        const { blob } = await git.readBlob({ fs, gitdir, oid: e.oid, cache });
        entries.push({ path: rel, type: "symlink", target: Buffer.from(blob).toString("utf8") });
      } else if (e.mode === MODE_FILE || e.mode === MODE_EXEC) {
        const oid = e.oid;
        entries.push({
          path: rel,
          type: "file",
          executable: e.mode === MODE_EXEC,
          size: -1,
          read: async () => {
            const { blob } = await git.readBlob({ fs, gitdir, oid, cache });
            return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
          },
        });
      }
    }
  };
  await walk(c.tree, "", 0);
  return { entries, submodules };
}
