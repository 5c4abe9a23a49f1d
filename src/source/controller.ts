// The GitRepository controller: a thin layer over SourceSyncer (./sync.ts) on the runtime library. Its reconcile
// (guards → fetch → one status write) is GitReconciler (./git-reconcile.ts); this file sets it up, says which events
// wake it, and turns webhook pushes into reconcile requests.
import { randomBytes } from "node:crypto";
import type { ArtifactStorage } from "../artifact/storage.js";
import { Annotations, FieldManagers, GitRepositoryKind } from "../api/index.js";
import { annotationChanged, generationChanged, or, type Client, type Controller, type Manager, type Predicate } from "../runtime/index.js";
import { GitReconciler, type GitRepositoryObject } from "./git-reconcile.js";
import type { SourceSyncer } from "./sync.js";
import { pushMatches, type PushEvent, type WebhookReceiverRef } from "./webhook.js";

export { conditionReason, keyOf, pathOfArtifactUrl } from "./git-reconcile.js";

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

/** Updates that need a reconcile: a spec change, a reconcile request, the start of deletion (not our own status writes). */
export const sourceEvents: Predicate = or(
  generationChanged,
  annotationChanged(Annotations.reconcileRequestedAt),
  { update: (o, n) => !o.metadata?.deletionTimestamp && !!n.metadata?.deletionTimestamp },
);

export function setupSourceController(mgr: Manager, opts: SourceControllerOptions): SourceController {
  const reconciler = new GitReconciler(mgr, opts, mgr.logger.child({ controller: "source" }));
  const controller = mgr
    .controller("gitrepository")
    .for(GitRepositoryKind, { predicates: [sourceEvents] })
    .withOptions({ maxConcurrentReconciles: opts.concurrency ?? 4 })
    .build((req, ctx) => reconciler.reconcile(req, ctx));
  return { controller, syncer: reconciler.syncer, triggerPush: pushTrigger(mgr.client, opts) };
}

/**
 * The webhook receiver's onPush. A push is recorded on each matching GitRepository as a reconcile request (the
 * annotation `mooring reconcile` sets), not put on this process's queue: any replica may receive the webhook, and
 * the annotation reaches the leader through its watch, so a push that lands on a replica that is not leading is
 * still fetched.
 */
function pushTrigger(client: Client, opts: SourceControllerOptions): SourceController["triggerPush"] {
  const live = client.live();
  let pushes = 0;
  return async (event: PushEvent, receiver?: WebhookReceiverRef): Promise<number> => {
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
}
