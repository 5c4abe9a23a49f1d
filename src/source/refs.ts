// Ref resolution: turns `spec.ref` and a remote's ref advertisement (the ls-remote equivalent) into one commit
// and the artifact revision `<branch-or-tag>@sha1:<sha>`. Pure functions, so every rule is a unit test.
import semver from "semver";
import { SourceError } from "./errors.js";

/** `GitRepository.spec.ref`: at most one field set; none means the remote's default branch (HEAD). */
export interface GitRefSpec {
  branch?: string;
  tag?: string;
  /** A semver range over tags; the highest matching tag wins. */
  semver?: string;
  /** A full 40-hex commit SHA. */
  commit?: string;
  /** A full ref name such as `refs/pull/1/head`. */
  name?: string;
}

export interface RemoteRef {
  /** The object the ref points to (for an annotated tag: the tag object). */
  oid: string;
  /** For an annotated tag, the commit it points to. */
  peeled?: string;
}

export interface RemoteRefs {
  /** Full ref name → target, e.g. `refs/heads/main`. */
  refs: Map<string, RemoteRef>;
  /** What the remote's HEAD points to (`refs/heads/main`), when it says. */
  head?: string;
  /** The server's advertised capabilities (`side-band-64k`, `shallow`, `agent=git/2.39`). */
  capabilities?: string[];
}

export type RefKind = "branch" | "tag" | "semver" | "commit" | "name" | "head";

export interface ResolvedRef {
  kind: RefKind;
  /** The full ref fetched (`refs/heads/main`, `refs/tags/v1.2.0`); undefined for a bare commit. */
  fullRef?: string;
  /** The commit the artifact is built from. */
  commit: string;
  /** `main@sha1:<sha>`, `v1.2.0@sha1:<sha>`, `refs/pull/1/head@sha1:<sha>`, or `sha1:<sha>` for a commit. */
  revision: string;
}

const SHA1 = /^[0-9a-f]{40}$/;

/** Checks the spec before any network use; a bad spec fails the same way every time. */
export function validateRefSpec(ref: GitRefSpec | undefined): void {
  if (!ref) return;
  const set = (["branch", "tag", "semver", "commit", "name"] as const).filter((k) => ref[k] !== undefined && ref[k] !== "");
  if (set.length > 1) throw new SourceError("InvalidSpec", `spec.ref sets ${set.join(" and ")}; set exactly one of branch, tag, semver, commit, name`);
  if (ref.commit !== undefined && !SHA1.test(ref.commit)) {
    throw new SourceError("InvalidSpec", `spec.ref.commit "${ref.commit}" is not a full 40-character lowercase hex SHA-1`);
  }
  if (ref.semver !== undefined && semver.validRange(ref.semver) === null) {
    throw new SourceError("InvalidSpec", `spec.ref.semver "${ref.semver}" is not a valid semver range (e.g. ">=1.2.0 <2.0.0" or "^1.2")`);
  }
  if (ref.name !== undefined && !ref.name.startsWith("refs/")) {
    throw new SourceError("InvalidSpec", `spec.ref.name "${ref.name}" is not a full ref name; it must start with refs/ (e.g. refs/heads/main)`);
  }
}

export function revisionOf(name: string | undefined, commit: string): string {
  return name ? `${name}@sha1:${commit}` : `sha1:${commit}`;
}

/** The commit named by a revision string (`main@sha1:<sha>` or `sha1:<sha>`), or undefined. */
export function commitOfRevision(revision: string | undefined): string | undefined {
  const m = revision?.match(/(?:^|@)sha1:([0-9a-f]{40})$/);
  return m?.[1];
}

/** A commit-pinned ref resolves without the network. */
export function pinnedCommit(ref: GitRefSpec | undefined): ResolvedRef | undefined {
  if (ref?.commit && SHA1.test(ref.commit)) return { kind: "commit", commit: ref.commit, revision: revisionOf(undefined, ref.commit) };
  return undefined;
}

function target(r: RemoteRef): string {
  return r.peeled ?? r.oid;
}

/** Resolves `spec.ref` against the remote's refs; throws SourceError(RefNotFound | EmptyRepository | InvalidSpec). */
export function resolveRef(ref: GitRefSpec | undefined, remote: RemoteRefs, url: string): ResolvedRef {
  validateRefSpec(ref);
  const branches = [...remote.refs.keys()].filter((r) => r.startsWith("refs/heads/"));
  if (remote.refs.size === 0 || (branches.length === 0 && ![...remote.refs.keys()].some((r) => r.startsWith("refs/")))) {
    throw new SourceError("EmptyRepository", `repository ${url} is empty (it has no branches or tags); push a commit first`);
  }
  if (ref?.branch) {
    const full = `refs/heads/${ref.branch}`;
    const r = remote.refs.get(full);
    if (!r) throw new SourceError("RefNotFound", `branch "${ref.branch}" not found in ${url}${hint(branches, "refs/heads/", "branches")}`);
    return { kind: "branch", fullRef: full, commit: target(r), revision: revisionOf(ref.branch, target(r)) };
  }
  if (ref?.tag) {
    const full = `refs/tags/${ref.tag}`;
    const r = remote.refs.get(full);
    if (!r) throw new SourceError("RefNotFound", `tag "${ref.tag}" not found in ${url}${hint(tagNames(remote), "", "tags")}`);
    return { kind: "tag", fullRef: full, commit: target(r), revision: revisionOf(ref.tag, target(r)) };
  }
  if (ref?.semver) {
    const byVersion = new Map<string, string>();
    // Sorted so that two tags with one version (v1.0.0 and 1.0.0) resolve the same way every time.
    for (const name of tagNames(remote).sort()) {
      const v = semver.valid(name);
      if (v !== null && !byVersion.has(v)) byVersion.set(v, name);
    }
    const best = semver.maxSatisfying([...byVersion.keys()], ref.semver);
    if (best === null) {
      throw new SourceError(
        "RefNotFound",
        `no tag in ${url} matches the semver range "${ref.semver}" (${byVersion.size} semver tag(s) found${byVersion.size ? ", highest " + semver.rsort([...byVersion.keys()])[0] : ""})`,
      );
    }
    const tag = byVersion.get(best)!;
    const r = remote.refs.get(`refs/tags/${tag}`)!;
    return { kind: "semver", fullRef: `refs/tags/${tag}`, commit: target(r), revision: revisionOf(tag, target(r)) };
  }
  if (ref?.name) {
    const r = remote.refs.get(ref.name);
    if (!r) throw new SourceError("RefNotFound", `ref "${ref.name}" not found in ${url}`);
    return { kind: "name", fullRef: ref.name, commit: target(r), revision: revisionOf(ref.name, target(r)) };
  }
  if (ref?.commit) return pinnedCommit(ref)!;
  // The remote's default branch.
  const headTarget = remote.head;
  if (headTarget && remote.refs.get(headTarget)) {
    const r = remote.refs.get(headTarget)!;
    const short = headTarget.replace(/^refs\/heads\//, "");
    return { kind: "head", fullRef: headTarget, commit: target(r), revision: revisionOf(short, target(r)) };
  }
  const head = remote.refs.get("HEAD");
  if (head) return { kind: "head", fullRef: "HEAD", commit: target(head), revision: revisionOf("HEAD", target(head)) };
  throw new SourceError("RefNotFound", `repository ${url} has no default branch (HEAD points nowhere); set spec.ref.branch${hint(branches, "refs/heads/", "branches")}`);
}

/** Which remote ref, if any, has this commit at its tip (a tip can be fetched shallowly from any server). */
export function refAtCommit(remote: RemoteRefs, commit: string): string | undefined {
  const names = [...remote.refs.entries()].filter(([name, r]) => name.startsWith("refs/") && target(r) === commit).map(([n]) => n);
  return names.sort()[0];
}

function tagNames(remote: RemoteRefs): string[] {
  return [...remote.refs.keys()].filter((r) => r.startsWith("refs/tags/")).map((r) => r.slice("refs/tags/".length));
}

function hint(names: string[], prefix: string, what: string): string {
  if (names.length === 0) return "";
  const shown = names.map((n) => n.slice(prefix.length)).sort().slice(0, 5);
  return ` (${what} there: ${shown.join(", ")}${names.length > 5 ? ", …" : ""})`;
}
