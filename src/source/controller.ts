// The GitRepository controller: a thin layer over SourceSyncer (./sync.ts) on the runtime library.
//   guard clauses: gone → nothing; deleting → remove its artifacts, then the finalizer; suspended → nothing
//   sync: commit-pinned + artifact present → no network; same commit → nothing to write; else fetch + store
//   status: computed once from the outcome (or the error) and written once, with server-side apply as mooring-source
// Failures keep the last good artifact in status and on disk, and say why in FetchFailed.
import { randomBytes } from "node:crypto";
import { ArtifactStorage, artifactUrl, type ArtifactKey } from "../artifact/storage.js";
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
  generationChanged,
  markReady,
  markStalled,
  or,
  metaTime,
  removeCondition,
  setCondition,
  withFinalizer,
  type Condition,
  type Controller,
  type EventRecorder,
  type KubeObject,
  type Manager,
  type Predicate,
  type ReconcileContext,
  type Request,
  type Result,
} from "../runtime/index.js";
import { credentialsFromSecret, type Credentials } from "./credentials.js";
import { SourceError, isSourceError } from "./errors.js";
import { SourceSyncer, type CurrentArtifact, type SyncOutcome } from "./sync.js";
import { pushMatches, type PushEvent, type WebhookReceiverRef } from "./webhook.js";

export interface SourceControllerOptions {
  storage: ArtifactStorage;
  /** host:port (or base URL) consumers use to download artifacts; goes into status.artifact.url. */
  advertisedAddr: string;
  maxSourceBytes?: number;
  /** Largest inflated git object (--max-object-size): a pack bomb is refused with a condition naming it. */
  maxObjectBytes?: number;
  tmpDir?: string;
  concurrency?: number;
  /** Fraction of the interval added at random to each requeue, so objects created together do not poll together (default 0.1). */
  jitter?: number;
  random?: () => number;
  /** First retry after a retryable fetch failure, doubled on each further failure up to the interval (default 5 s). */
  failureBackoffMs?: number;
  /**
   * Set when this process is one shard of several (--watch-label-selector): a push verified with the operator-wide
   * secret is matched against every GitRepository the operator may see (`namespace`: --watch-namespace), read live,
   * not only this shard's cache, so one webhook URL serves every shard; each shard picks up its own through its watch.
   */
  pushesAcrossShards?: { namespace?: string };
}

export interface SourceController {
  controller: Controller;
  syncer: SourceSyncer;
  /**
   * Requests a reconcile of the GitRepositories a push matches (the webhook receiver's onPush); returns how many.
   * With `receiver` (a push to a GitRepository's own receiver, verified with its secret) only that GitRepository
   * may match; without, only GitRepositories without a receiver of their own (spec.webhook) may.
   */
  triggerPush(event: PushEvent, receiver?: WebhookReceiverRef): Promise<number>;
}

type GitRepositoryObject = GitRepository & KubeObject;

const KIND = GitRepositoryKind.kind;

export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): ArtifactKey {
  return { kind: KIND, namespace: obj.metadata?.namespace ?? "", name: obj.metadata?.name ?? "" };
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

/** Updates that need a reconcile: a spec change, a reconcile request, the start of deletion (not our own status writes). */
export const sourceEvents: Predicate = or(
  generationChanged,
  { update: (o, n) => o.metadata?.annotations?.[Annotations.reconcileRequestedAt] !== n.metadata?.annotations?.[Annotations.reconcileRequestedAt] },
  { update: (o, n) => !o.metadata?.deletionTimestamp && !!n.metadata?.deletionTimestamp },
);

export function setupSourceController(mgr: Manager, opts: SourceControllerOptions): SourceController {
  const logger: Logger = mgr.logger.child({ controller: "source" });
  const syncer = new SourceSyncer({
    storage: opts.storage,
    logger,
    ...(opts.maxSourceBytes !== undefined ? { maxSourceBytes: opts.maxSourceBytes } : {}),
    ...(opts.maxObjectBytes !== undefined ? { maxObjectBytes: opts.maxObjectBytes } : {}),
    ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}),
  });
  const events: EventRecorder = mgr.eventRecorder(FieldManagers.source);
  const random = opts.random ?? Math.random;
  const jitter = opts.jitter ?? 0.1;
  const client = mgr.client;
  const live = client.live();

  const readCredentials = async (obj: GitRepositoryObject, signal: AbortSignal): Promise<Credentials | undefined> => {
    const ref = obj.spec.secretRef?.name;
    if (!ref) return undefined;
    // Read live: caching every Secret in the cluster would cost memory and a wider watch permission.
    const secret = await live.get<KubeObject & { data?: Record<string, string> }>(Kinds.Secret, ref, obj.metadata?.namespace, { signal });
    return credentialsFromSecret(secret ? (secret.data ?? {}) : undefined, ref);
  };

  // Consecutive retryable failures per object: a network blip is retried in seconds, not after a whole interval,
  // and a server that stays down is asked less and less often (never less than once per interval).
  const failures = new Map<string, number>();
  const firstRetryMs = opts.failureBackoffMs ?? 5_000;
  const requeue = (obj: GitRepositoryObject, failed: boolean): Result => {
    const interval = parseDuration(obj.spec.interval ?? GitRepositoryDefaults.interval);
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    if (!failed) {
      failures.delete(key);
      return { requeueAfter: Math.round(interval * (1 + jitter * random())) };
    }
    const n = (failures.get(key) ?? 0) + 1;
    failures.set(key, n);
    const delay = Math.min(interval, firstRetryMs * 2 ** Math.min(n - 1, 30));
    return { requeueAfter: Math.round(delay * (1 + jitter * random())) };
  };

  const writeStatus = async (obj: GitRepositoryObject, status: GitRepositoryStatus, signal: AbortSignal) => {
    if (JSON.stringify(status) === JSON.stringify(obj.status ?? {})) return; // nothing new: no API write
    await client.applyStatus({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata!.name, namespace: obj.metadata!.namespace }, status } as KubeObject, {
      fieldManager: FieldManagers.source,
      signal,
    });
  };

  const apply = async (obj: GitRepositoryObject, ctx: ReconcileContext): Promise<Result> => {
    if (obj.spec.suspend) {
      ctx.log.debug("suspended; not fetching");
      return {};
    }
    const gen = obj.metadata?.generation;
    const old: GitRepositoryStatus = obj.status ?? {};
    let status: GitRepositoryStatus = { ...old };
    const requested = obj.metadata?.annotations?.[Annotations.reconcileRequestedAt];
    if (requested !== undefined && requested !== old.lastHandledReconcileAt) status.lastHandledReconcileAt = requested;

    const curPath = pathOfArtifactUrl(old.artifact?.url);
    const current: CurrentArtifact | undefined =
      old.artifact && curPath ? { path: curPath, revision: old.artifact.revision, digest: old.artifact.digest } : undefined;
    const inStorage = current ? await opts.storage.exists(current.path) : false;
    const now = Date.now();
    let outcome: SyncOutcome | undefined;
    let failure: SourceError | undefined;
    try {
      const credentials = await readCredentials(obj, ctx.signal);
      outcome = await syncer.sync({
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
        force: old.observedGeneration !== gen,
        signal: ctx.signal,
      });
    } catch (err) {
      if (!isSourceError(err)) throw err; // an API or programming error: the runtime retries with backoff
      failure = err;
    }

    let conditions: Condition[] | undefined = status.conditions;
    if (outcome) {
      if (outcome.kind === "Updated") {
        status.artifact = {
          url: artifactUrl(opts.advertisedAddr, outcome.artifact.path),
          revision: outcome.artifact.revision,
          digest: outcome.artifact.digest,
          size: outcome.artifact.size,
          lastUpdateTime: metaTime(now),
        };
        if (old.artifact?.revision !== outcome.artifact.revision || old.artifact?.digest !== outcome.artifact.digest) {
          events.normal(obj, "NewArtifact", "Fetch", `stored artifact for revision ${outcome.artifact.revision} (${outcome.artifact.digest})`);
        }
      } else if (status.artifact && status.artifact.revision !== outcome.artifact.revision) {
        status.artifact = { ...status.artifact, revision: outcome.artifact.revision };
      }
      const msg = `stored artifact for revision '${status.artifact!.revision}'`;
      conditions = setCondition(conditions, { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: msg, observedGeneration: gen }, now);
      conditions = removeCondition(conditions, ConditionTypes.fetchFailed);
      status = markReady({ ...status, conditions }, gen, Reasons.succeeded, msg, now);
    } else if (failure) {
      const reason = conditionReason(failure);
      conditions = setCondition(conditions, { type: ConditionTypes.fetchFailed, status: "True", reason, message: failure.message, observedGeneration: gen }, now);
      conditions = inStorage
        ? setCondition(conditions, { type: ConditionTypes.artifactInStorage, status: "True", reason: Reasons.succeeded, message: `the last good artifact (${status.artifact!.revision}) is still served`, observedGeneration: gen }, now)
        : setCondition(
            conditions,
            {
              type: ConditionTypes.artifactInStorage,
              status: "False",
              reason: "NoArtifact",
              message: old.artifact ? `the artifact for ${old.artifact.revision} is missing from storage; it is fetched again once the fetch succeeds` : "no artifact stored yet",
              observedGeneration: gen,
            },
            now,
          );
      if (!failure.retryable) {
        status = markStalled({ ...status, conditions }, gen, reason, failure.message, now);
      } else {
        conditions = setCondition(conditions, { type: ConditionTypes.ready, status: "False", reason, message: failure.message, observedGeneration: gen }, now);
        status = { ...status, conditions, observedGeneration: gen };
      }
      events.warning(obj, reason, "Fetch", failure.message);
      ctx.log.info("fetch failed", { reason: failure.reason, error: failure.message });
    }
    await writeStatus(obj, status, ctx.signal);
    return requeue(obj, !!failure?.retryable);
  };

  const controller = mgr
    .controller("gitrepository")
    .for(GitRepositoryKind, { predicates: [sourceEvents] })
    .withOptions({ maxConcurrentReconciles: opts.concurrency ?? 4 })
    .build(async (req: Request, ctx: ReconcileContext) => {
      const obj = await client.get<GitRepositoryObject>(GitRepositoryKind, req.name, req.namespace);
      if (!obj) {
        failures.delete(`${req.namespace}/${req.name}`);
        return {};
      }
      return withFinalizer(
        client,
        obj,
        Finalizers.gitRepository,
        {
          apply: (o) => apply(o, ctx),
          cleanup: (o) => opts.storage.remove(keyOf(o)),
        },
        { signal: ctx.signal },
      );
    });

  // A push is recorded on each matching GitRepository as a reconcile request (the annotation `mooring reconcile`
  // sets), not put on this process's queue: any replica may receive the webhook, and the annotation reaches the
  // leader through its watch, so a push that lands on a replica that is not leading is still fetched.
  let pushes = 0;
  const triggerPush = async (event: PushEvent, receiver?: WebhookReceiverRef): Promise<number> => {
    // A receiver's secret speaks for its GitRepository only; the operator-wide secret for those without one, so a
    // tenant that gave its GitRepository a secret of its own is never triggered by a secret others hold.
    // The operator-wide case runs only after the signature was verified, so reading live there costs a sender
    // nothing it could abuse; a receiver's secret is looked up from this shard's cache, before any verification.
    const reader = opts.pushesAcrossShards ? live : client;
    const candidates = receiver
      ? [await client.get<GitRepositoryObject>(GitRepositoryKind, receiver.name, receiver.namespace)].filter((o): o is GitRepositoryObject => !!o?.spec?.webhook)
      : (await reader.list<GitRepositoryObject>(GitRepositoryKind, { namespace: opts.pushesAcrossShards?.namespace })).filter((o) => !o.spec?.webhook);
    // Unique per push: two replicas receiving two pushes in the same millisecond still write different values.
    const value = `webhook ${new Date().toISOString()} ${++pushes} ${randomBytes(4).toString("hex")}`;
    let n = 0;
    for (const o of candidates) {
      if (o.spec?.suspend || !pushMatches(event, o.spec.url, o.spec.ref)) continue;
      await live.patch(o, { metadata: { annotations: { [Annotations.reconcileRequestedAt]: value } } }, "merge", { fieldManager: FieldManagers.source });
      n++;
    }
    return n;
  };

  return { controller, syncer, triggerPush };
}
