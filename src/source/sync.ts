// One GitRepository sync, independent of Kubernetes: resolve the ref, decide whether anything changed, fetch,
// archive and store. The controller is a thin layer over `syncSource`: it reads the spec and Secret, calls this,
// and writes the outcome to status.
//
//   commit-pinned ref, artifact present → no network at all
//   ref listing says the commit is the current artifact's → "Unchanged" (one ref listing, no pack download)
//   otherwise → shallow fetch, tar.gz from the git tree, atomic write, GC of old artifacts → "Updated"
import { ArtifactStorage, StorageError, type ArtifactKey, type StoredArtifact } from "../artifact/storage.js";
import { writeTarGz } from "../artifact/tarball.js";
import type { CommitMetadata } from "../api/gitrepository.js";
import type { Logger } from "../log.js";
import type { Credentials } from "./credentials.js";
import { SourceError } from "./errors.js";
import { fetchCommit, listRemoteRefs, type GitOptions } from "./git.js";
import { parseCommit } from "./git-commit.js";
import { commitOfRevision, pinnedCommit, resolveRef, validateRefSpec, type GitRefSpec, type ResolvedRef } from "./refs.js";
import { commitEntries } from "./tree.js";

export interface SourceSpec {
  url: string;
  ref?: GitRefSpec;
  /** gitignore-format rules excluded from the artifact. */
  ignore?: string;
  timeoutMs: number;
}

/** What status.artifact says today (if anything). */
export interface CurrentArtifact {
  path: string;
  revision: string;
  digest: string;
  /** The commit's author, committer, message and time, as status.artifact.commit shows them. */
  commit?: CommitMetadata;
}

export interface SyncInput {
  key: ArtifactKey;
  spec: SourceSpec;
  credentials?: Credentials;
  current?: CurrentArtifact;
  /** Rebuild even if the commit is unchanged (spec.ignore changed: the same commit makes a different artifact). */
  force?: boolean;
  signal?: AbortSignal;
}

export type SyncOutcome =
  | { kind: "Unchanged"; resolved: ResolvedRef; artifact: CurrentArtifact & { size?: number }; network: boolean }
  | { kind: "Updated"; resolved: ResolvedRef; artifact: StoredArtifact & { revision: string; commit?: CommitMetadata }; submodules: string[] };

export interface SyncerOptions {
  storage: ArtifactStorage;
  /** Abort a fetch that downloads more than this many bytes (default 512 MiB). */
  maxSourceBytes?: number;
  /** Refuse a git object that inflates past this many bytes (default 64 MiB): a pack bomb fails, never an OOM. */
  maxObjectBytes?: number;
  /** Parent of temporary git directories. */
  tmpDir?: string;
  logger?: Logger;
  /** Test and benchmark hook: the transport counters of each git operation. */
  onStats?: GitOptions["onStats"];
}

export const DEFAULT_MAX_SOURCE_BYTES = 512 * 1024 * 1024;

export class SourceSyncer {
  constructor(private readonly opts: SyncerOptions) {}

  async sync(input: SyncInput): Promise<SyncOutcome> {
    const { spec, current } = input;
    validateRefSpec(spec.ref);
    const gitOpts: GitOptions = {
      timeoutMs: spec.timeoutMs,
      maxBytes: this.opts.maxSourceBytes ?? DEFAULT_MAX_SOURCE_BYTES,
      ...(this.opts.maxObjectBytes !== undefined ? { maxObjectBytes: this.opts.maxObjectBytes } : {}),
      ...(input.credentials ? { credentials: input.credentials } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
      ...(this.opts.tmpDir ? { tmpDir: this.opts.tmpDir } : {}),
      ...(this.opts.onStats ? { onStats: this.opts.onStats } : {}),
    };
    // An artifact stored before commit metadata was recorded keeps going without it: the next commit brings it.
    const haveCurrent = async (commit: string) =>
      !input.force && current !== undefined && commitOfRevision(current.revision) === commit && (await this.opts.storage.exists(current.path));

    const pinned = pinnedCommit(spec.ref);
    if (pinned && (await haveCurrent(pinned.commit))) {
      return { kind: "Unchanged", resolved: pinned, artifact: current!, network: false };
    }
    const remote = await listRemoteRefs(spec.url, gitOpts);
    const resolved = resolveRef(spec.ref, remote, spec.url);
    if (await haveCurrent(resolved.commit)) {
      // The revision string can change without the commit changing (e.g. a second tag on the same commit).
      return { kind: "Unchanged", resolved, artifact: { ...current!, revision: resolved.revision }, network: true };
    }

    const fetched = await fetchCommit(spec.url, resolved, remote, gitOpts);
    try {
      // A branch can move between the listing and the fetch: the artifact is named by what was fetched.
      const actual: ResolvedRef =
        fetched.commit === resolved.commit ? resolved : { ...resolved, commit: fetched.commit, revision: resolved.revision.replace(/sha1:[0-9a-f]{40}$/, `sha1:${fetched.commit}`) };
      const { entries, submodules } = await commitEntries(fetched.objects, actual.commit, spec.ignore);
      if (submodules.length) this.opts.logger?.info("submodules are not included in the artifact", { url: spec.url, submodules });
      let stored: StoredArtifact;
      try {
        stored = await this.opts.storage.write(input.key, writeTarGz(entries));
      } catch (err) {
        if (err instanceof StorageError) throw new SourceError("StorageFailed", err.message, { cause: err });
        throw err;
      }
      const metadata = parseCommit((await fetched.objects.read(actual.commit)).data);
      return { kind: "Updated", resolved: actual, artifact: { ...stored, revision: actual.revision, ...(metadata ? { commit: metadata } : {}) }, submodules };
    } finally {
      await fetched.dispose();
    }
  }
}
