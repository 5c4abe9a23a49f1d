// The reconcile of the GitRepository controller (./controller.ts sets it up), in named steps:
//   guards (gone, deleting, suspended) → the last artifact → credentials + fetch (SourceSyncer) → the status, computed
//   once from the outcome or the failure → one status write (a StatusWriter: server-side apply as mooring-source,
//   only when the status changed) → the requeue.
// Failures keep the last good artifact in status and on disk, and say why in FetchFailed.
import { artifactUrl, type ArtifactKey } from "../artifact/storage.js";
import {
  Annotations,
  ConditionTypes,
  Finalizers,
  FieldManagers,
  GitRepositoryDefaults,
  GitRepositoryKind,
  Reasons,
  parseDuration,
  type GitRepository,
  type GitRepositoryStatus,
} from "../api/index.js";
import type { Logger } from "../log.js";
import {
  Kinds,
  markReady,
  markStalled,
  metaTime,
  PollingBackoff,
  removeCondition,
  setCondition,
  StatusWriter,
  withFinalizer,
  type Client,
  type Condition,
  type EventRecorder,
  type KubeObject,
  type Manager,
  type ReconcileContext,
  type Request,
  type Result,
} from "../runtime/index.js";
import type { SourceControllerOptions } from "./controller.js";
import { credentialsFromSecret, type Credentials } from "./credentials.js";
import { SourceError, isSourceError } from "./errors.js";
import { SourceSyncer, type CurrentArtifact, type SyncOutcome } from "./sync.js";

export type GitRepositoryObject = GitRepository & KubeObject;

/** What one reconcile started from: the last status, a copy to build the next one in, and the clock it read. */
interface Attempt {
  obj: GitRepositoryObject;
  gen: number | undefined;
  old: GitRepositoryStatus;
  status: GitRepositoryStatus;
  /** Whether the last artifact (old.artifact) is still on disk. */
  inStorage: boolean;
  now: number;
}

export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): ArtifactKey {
  return { kind: GitRepositoryKind.kind, namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
}

/** The storage path of an artifact URL we issued (its path part), or undefined for a foreign URL. */
export function pathOfArtifactUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).pathname).replace(/^\/+/, "") || undefined;
  } catch {
    return undefined;
  }
}

/** The condition reason for a SourceError: the API's names where they exist, the precise reason otherwise. */
export function conditionReason(err: SourceError): string {
  switch (err.reason) {
    case "AuthenticationFailed":
      return Reasons.authenticationFailed;
    case "RefNotFound":
      return Reasons.refNotFound;
    case "InvalidSpec":
      return Reasons.invalidSpec;
    case "StorageFailed":
      return Reasons.storageOperationFailed;
    case "FetchFailed":
      return Reasons.gitOperationFailed;
    default:
      return err.reason;
  }
}

/** The artifact status names, as SourceSyncer knows it (its storage path), or undefined when there is none of ours. */
function currentArtifact(old: GitRepositoryStatus): CurrentArtifact | undefined {
  const path = pathOfArtifactUrl(old.artifact?.url);
  return old.artifact && path ? { path, revision: old.artifact.revision, digest: old.artifact.digest, ...(old.artifact.commit ? { commit: old.artifact.commit } : {}) } : undefined;
}

/** The status a reconcile starts from: the last one (`old`), with a reconcile request handled. */
function startStatus(obj: GitRepositoryObject, old: GitRepositoryStatus): GitRepositoryStatus {
  const status: GitRepositoryStatus = { ...old };
  const requested = obj.metadata?.annotations?.[Annotations.reconcileRequestedAt];
  if (requested !== undefined && requested !== old.lastHandledReconcileAt) status.lastHandledReconcileAt = requested;
  return status;
}

export class GitReconciler {
  readonly syncer: SourceSyncer;
  private readonly events: EventRecorder;
  private readonly live: Client;
  private readonly writer: StatusWriter<GitRepositoryStatus>;
  // A network blip is retried in seconds, not after a whole interval; a server that stays down is asked less and
  // less often (never less than once per interval).
  private readonly backoff: PollingBackoff;

  constructor(
    private readonly mgr: Manager,
    private readonly opts: SourceControllerOptions,
    logger: Logger,
  ) {
    this.syncer = new SourceSyncer({
      storage: opts.storage,
      logger,
      ...(opts.maxSourceBytes !== undefined ? { maxSourceBytes: opts.maxSourceBytes } : {}),
      ...(opts.maxObjectBytes !== undefined ? { maxObjectBytes: opts.maxObjectBytes } : {}),
      ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}),
    });
    this.events = mgr.eventRecorder(FieldManagers.source);
    this.backoff = new PollingBackoff({ firstRetryMs: opts.failureBackoffMs, jitter: opts.jitter, random: opts.random });
    this.live = mgr.client.live();
    this.writer = new StatusWriter<GitRepositoryStatus>({ client: mgr.client, fieldManager: FieldManagers.source });
  }

  /** Guards: gone → forget it; deleting → remove its artifacts, then the finalizer; else apply. */
  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result> {
    const client = this.mgr.client;
    const obj = await client.get<GitRepositoryObject>(GitRepositoryKind, req.name, req.namespace);
    if (!obj) {
      this.backoff.forget(`${req.namespace}/${req.name}`);
      this.writer.forget(req);
      return {};
    }
    return withFinalizer(
      client,
      obj,
      Finalizers.gitRepository,
      {
        apply: (o) => this.apply(o, ctx),
        cleanup: (o) => this.opts.storage.remove(keyOf(o)),
      },
      { signal: ctx.signal },
    );
  }

  /** Suspended → nothing; else fetch, then one status write from the outcome (or the failure), then the requeue. */
  private async apply(obj: GitRepositoryObject, ctx: ReconcileContext): Promise<Result> {
    if (obj.spec.suspend) {
      ctx.log.debug("suspended; not fetching");
      return {};
    }
    // The status as last written: the cache may not show this controller's own last write yet.
    const old: GitRepositoryStatus = this.writer.current(obj);
    const current = currentArtifact(old);
    const attempt: Attempt = {
      obj,
      gen: obj.metadata?.generation,
      old,
      status: startStatus(obj, old),
      inStorage: current ? await this.opts.storage.exists(current.path) : false,
      now: Date.now(),
    };
    let outcome: SyncOutcome | undefined;
    let failure: SourceError | undefined;
    try {
      outcome = await this.fetch(obj, old, current, ctx.signal);
    } catch (err) {
      if (!isSourceError(err)) throw err; // an API or programming error: the runtime retries with backoff
      failure = err;
    }
    const status = outcome ? this.stored(attempt, outcome) : this.fetchFailed(attempt, failure!);
    if (failure) ctx.log.info("fetch failed", { reason: failure.reason, error: failure.message });
    await this.writer.write(obj, status, { signal: ctx.signal });
    return this.requeue(obj, !!failure?.retryable);
  }

  /** Credentials, then SourceSyncer: commit-pinned + artifact present → no network; same commit → nothing to write. */
  private async fetch(obj: GitRepositoryObject, old: GitRepositoryStatus, current: CurrentArtifact | undefined, signal: AbortSignal): Promise<SyncOutcome> {
    const credentials = await this.readCredentials(obj, signal);
    return this.syncer.sync({
      key: keyOf(obj),
      spec: {
        url: obj.spec.url,
        ...(obj.spec.ref ? { ref: obj.spec.ref } : {}),
        ...(obj.spec.ignore !== undefined ? { ignore: obj.spec.ignore } : {}),
        timeoutMs: parseDuration(obj.spec.timeout ?? GitRepositoryDefaults.timeout),
      },
      ...(credentials ? { credentials } : {}),
      ...(current ? { current } : {}),
      // A new generation may change ignore rules: the same commit can make a different artifact.
      force: old.observedGeneration !== obj.metadata?.generation,
      signal,
    });
  }

  private async readCredentials(obj: GitRepositoryObject, signal: AbortSignal): Promise<Credentials | undefined> {
    const ref = obj.spec.secretRef?.name;
    if (!ref) return undefined;
    // Read live: caching every Secret in the cluster would cost memory and a wider watch permission.
    const secret = await this.live.get<KubeObject & { data?: Record<string, string> }>(Kinds.Secret, ref, obj.metadata?.namespace, { signal });
    return credentialsFromSecret(secret ? (secret.data ?? {}) : undefined, ref);
  }

  /** The status after a successful sync: the artifact (new, or its revision renamed), ArtifactInStorage, Ready. */
  private stored(at: Attempt, outcome: SyncOutcome): GitRepositoryStatus {
    const { obj, gen, old, now } = at;
    const status = at.status;
    if (outcome.kind === "Updated") {
      status.artifact = {
        url: artifactUrl(this.opts.advertisedAddr, outcome.artifact.path),
        revision: outcome.artifact.revision,
        digest: outcome.artifact.digest,
        size: outcome.artifact.size,
        lastUpdateTime: metaTime(now),
        ...(outcome.artifact.commit ? { commit: outcome.artifact.commit } : {}),
      };
      if (old.artifact?.revision !== outcome.artifact.revision || old.artifact?.digest !== outcome.artifact.digest) {
        const c = outcome.artifact.commit;
        const by = c ? `: "${c.message.split("\n", 1)[0]!.slice(0, 200)}" by ${c.author}` : "";
        this.events.normal(obj, "NewArtifact", "Fetch", `stored artifact for revision ${outcome.artifact.revision} (${outcome.artifact.digest})${by}`);
      }
    } else if (status.artifact && status.artifact.revision !== outcome.artifact.revision) {
      status.artifact = { ...status.artifact, revision: outcome.artifact.revision };
    }
    const msg = `stored artifact for revision '${status.artifact!.revision}'`;
    let conditions = setCondition(status.conditions, { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: msg, observedGeneration: gen }, now);
    conditions = removeCondition(conditions, ConditionTypes.fetchFailed);
    return markReady({ ...status, conditions }, gen, Reasons.succeeded, msg, now);
  }

  /** The status after a failed sync: FetchFailed, whether the last good artifact is still served, Stalled or Ready=False (and no Stalled). */
  private fetchFailed(at: Attempt, failure: SourceError): GitRepositoryStatus {
    const { obj, gen, now } = at;
    const status = at.status;
    const reason = conditionReason(failure);
    let conditions: Condition[] = setCondition(status.conditions, { type: ConditionTypes.fetchFailed, status: "True", reason, message: failure.message, observedGeneration: gen }, now);
    conditions = setCondition(conditions, this.artifactCondition(at), now);
    this.events.warning(obj, reason, "Fetch", failure.message);
    if (!failure.retryable) return markStalled({ ...status, conditions }, gen, reason, failure.message, now);
    conditions = setCondition(conditions, { type: ConditionTypes.ready, status: "False", reason, message: failure.message, observedGeneration: gen }, now);
    // Retried by itself: the Stalled of an earlier failure no longer holds (kstatus would still read Failed).
    conditions = removeCondition(conditions, ConditionTypes.stalled);
    return { ...status, conditions, observedGeneration: gen };
  }

  /** ArtifactInStorage after a failure: the last good artifact is still served, or there is none on disk. */
  private artifactCondition({ gen, old, status, inStorage }: Attempt): Omit<Condition, "lastTransitionTime"> {
    if (inStorage) {
      return { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: `the last good artifact (${status.artifact!.revision}) is still served`, observedGeneration: gen };
    }
    return {
      type: ConditionTypes.artifactInStorage,
      status: "False",
      reason: "NoArtifact",
      message: old.artifact ? `the artifact for ${old.artifact.revision} is missing from storage; it is fetched again once the fetch succeeds` : "no artifact stored yet",
      observedGeneration: gen,
    };
  }

  /** The next reconcile: one interval after a success, backed off from failureBackoffMs after a retryable failure. */
  private requeue(obj: GitRepositoryObject, failed: boolean): Result {
    const interval = parseDuration(obj.spec.interval ?? GitRepositoryDefaults.interval);
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    return { requeueAfter: failed ? this.backoff.failure(key, interval) : this.backoff.success(key, interval) };
  }
}
