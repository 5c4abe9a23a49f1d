// Executing what decide() chose, beside the full sync (./sync.ts): self-heal of drifted objects, prune of objects
// that left the render, and the finalizer's cleanup when an Application is deleted. Every write is made as the
// Application's identity (ServiceAccount impersonation).
import type { Application } from "../api/application.js";
import { FieldManagers, Finalizers, Reasons } from "../api/constants.js";
import { formatDuration } from "../api/duration.js";
import type { OperatorConfig } from "../config.js";
import type { Client } from "../runtime/client.js";
import type { EventRecorder } from "../runtime/events.js";
import { removeFinalizer } from "../runtime/finalizers.js";
import { objectKey, type KubeObject } from "../runtime/kinds.js";
import type { Manager } from "../runtime/manager.js";
import type { ReconcileContext } from "../runtime/reconcile.js";
import { serviceAccountUser } from "../runtime/rest.js";
import type { StatusWriter } from "../runtime/status.js";
import { type ApplyResult, Applier } from "./applier.js";
import { type PruneResult, prune, release, waitGone } from "./prune.js";
import { type IgnoreRule, applyBody, ignoredPointers } from "./drift.js";
import { type InventoryEntry, describeRef, idOf } from "./inventory.js";
import { type Memory, rememberApplied } from "./memory.js";
import type { ApplyMetrics } from "./metrics.js";
import type { FetchRendered } from "./observe.js";
import { type AppObject, type DriftItem, type OwnedStatus, type SyncOutcome, clip, describeDrift, metaTime } from "./owned.js";
import { type EffectivePolicy, type HistoryEntry, applicationLabelValue, effectivePolicy } from "./policy.js";
import type { Artifact } from "./sync.js";
import type { SyncPolicy } from "../api/syncpolicy.js";
import type { ClusterView } from "./watches.js";
import type { HealthRules } from "./health-cel.js";

/** The operator settings the apply controller reads. */
export type ApplyConfig = Pick<OperatorConfig, "defaultServiceAccount"> & Partial<Pick<OperatorConfig, "watchNamespace" | "allowCrossNamespaceRefs" | "healthRulesFile" | "metricsMaxApplications">> & {
  /** Default health rules (else read from healthRulesFile); an Application's spec.healthCheckExprs win over them. */
  healthRules?: HealthRules;
};

/** What the apply modules act with: the manager, the cluster view, metrics, events, the clock and the status writer. */
export interface ApplyEnv {
  mgr: Manager;
  config: ApplyConfig;
  view: ClusterView;
  metrics: ApplyMetrics;
  events: EventRecorder;
  now: () => number;
  fetch: FetchRendered;
  writer: StatusWriter<OwnedStatus>;
}

/**
 * The client the Application's objects are written with: its ServiceAccount (or the default one), impersonated, on
 * the cluster of env.view. On a remote cluster (spec.kubeConfig) the kubeconfig's identity is the default: the
 * operator's --default-service-account names a ServiceAccount of this cluster, not of that one (docs/clusters.md).
 */
export function identity(env: ApplyEnv, app: Application): { client: Client; user?: string } {
  const sa = app.spec.serviceAccountName ?? (app.spec.kubeConfig ? undefined : env.config.defaultServiceAccount);
  if (!sa) return { client: env.view.client };
  const user = serviceAccountUser(app.metadata!.namespace!, sa);
  return { client: env.view.client.impersonate(user), user };
}

/** The body transform that keeps ignoreDifferences fields at their live values (a new object gets them all). */
function ignoreTransform(app: Application): ((body: KubeObject, live: KubeObject | undefined) => KubeObject) | undefined {
  const rules = app.spec.ignoreDifferences as IgnoreRule[] | undefined;
  if (!rules?.length) return undefined;
  return (body, live) => applyBody(body, live, ignoredPointers(body, rules));
}

/** An Applier acting as the Application's identity, reading live objects from the cache where it can see them. */
export function applierFor(env: ApplyEnv, app: AppObject, client: Client, o: { force: boolean; forceConflicts?: boolean; createNamespace?: string; inSync?: (body: KubeObject, live: KubeObject) => boolean }, signal: AbortSignal): Applier {
  return new Applier({
    client,
    owner: applicationLabelValue(app),
    defaultNamespace: app.spec.targetNamespace ?? app.metadata!.namespace!,
    ...(o.createNamespace ? { createNamespace: o.createNamespace } : {}),
    force: o.force,
    ...(o.forceConflicts ? { forceConflicts: true } : {}),
    fieldManager: FieldManagers.apply,
    transform: ignoreTransform(app),
    ...(o.inSync ? { inSync: o.inSync } : {}),
    lookup: (kind, n, namespace) => (env.view.visible(kind, namespace) ? env.view.cached(kind, n, namespace, signal) : client.live().get(kind, n, namespace, { signal })),
    signal,
  });
}

/** Self-heal: re-applies only the drifted objects (one request each), taking back the fields others changed. */
export async function heal(env: ApplyEnv, app: AppObject, mem: Memory, eff: EffectivePolicy, items: DriftItem[], desired: Map<string, KubeObject>, artifact: Artifact, ctx: ReconcileContext): Promise<SyncOutcome> {
  const ns = app.metadata!.namespace!;
  const name = app.metadata!.name!;
  const { client, user } = identity(env, app);
  const applier = applierFor(env, app, client, { force: eff.force, forceConflicts: true }, ctx.signal);
  env.metrics.driftDetected.inc({ namespace: ns, name }, items.length);
  const objects = items.map((d) => desired.get(d.id)!);
  let result: ApplyResult;
  try {
    result = await applier.apply(objects);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    result = { applied: [], failures: items.map((d) => ({ ref: d.ref, kind: "other" as const, message: `${describeRef(d.ref)}: ${(err as Error).message}` })) };
  }
  const byId = new Map(items.map((d) => [d.id, d]));
  for (const a of result.applied) rememberApplied(mem, idOf(a.ref), a.live, env.now(), byId.get(idOf(a.ref))?.liveRv ?? a.beforeRv);
  if (result.applied.length) {
    env.metrics.driftCorrected.inc({ namespace: ns, name }, result.applied.length);
    const done = result.applied.map((a) => byId.get(idOf(a.ref))).filter((d): d is DriftItem => !!d);
    env.events.normal(app, "DriftCorrected", "SelfHeal", clip(`re-applied drifted objects: ${done.map((d) => describeDrift(d, "re-created")).join("; ")}`));
    ctx.log.info("self-heal: drift corrected", { objects: done.map((d) => d.id) });
  }
  if (result.failures.length) {
    const message = `self-heal failed${user ? ` as ${user}` : ""}: ${result.failures.map((f) => f.message).join("; ")}`;
    env.events.warning(app, Reasons.syncFailed, "SelfHeal", clip(message));
    const at = metaTime(env.now());
    const entry: HistoryEntry = {
      revision: artifact.revision, digest: artifact.digest, startedAt: at, finishedAt: at, phase: "Failed", message: clip(message), initiatedBy: "auto", trigger: "self-heal",
      ...(artifact.commit ? { commit: artifact.commit } : {}), url: artifact.url,
      changes: { created: 0, configured: result.applied.length, unchanged: 0, pruned: 0, failed: result.failures.length },
    };
    return { kind: "failed", message, inventory: app.status?.sync?.inventory ?? [], retryable: true, entry };
  }
  return { kind: "healed", items };
}

/** Deletes inventory entries that left the render (only ours, never opted out), recording events and metrics. */
export async function pruneStale(env: ApplyEnv, app: AppObject, stale: InventoryEntry[], eff: EffectivePolicy, ctx: ReconcileContext): Promise<PruneResult> {
  const { client } = identity(env, app);
  const res = await prune(stale, { client, owner: applicationLabelValue(app), propagationPolicy: eff.propagationPolicy, signal: ctx.signal });
  if (res.pruned.length) {
    env.metrics.objectsPruned.inc({ namespace: app.metadata!.namespace!, name: app.metadata!.name! }, res.pruned.length);
    env.events.normal(app, "Pruned", "Prune", `deleted ${res.pruned.map(describeRef).join(", ")}`);
  }
  if (res.failures.length) env.events.warning(app, Reasons.pruneFailed, "Prune", res.failures.map((f) => f.message).join("; "));
  return res;
}

/**
 * A deleted Application: prune its inventory and wait (bounded) for the objects to go, or — prune off, or its
 * SyncPolicy missing — release them (the application label removed); then remove the finalizer. A failure keeps
 * the finalizer and retries. Suspended: nothing is touched.
 */
export async function finalize(env: ApplyEnv, app: AppObject, policy: { policy?: SyncPolicy; missing?: string }, ctx: ReconcileContext): Promise<void> {
  const owner = applicationLabelValue(app);
  const inventory = app.status?.sync?.inventory ?? [];
  // A missing SyncPolicy leaves the objects in place: deleting is the one thing not to do by default.
  const eff = effectivePolicy(app, policy.policy);
  const pruneOn = eff.prune && !policy.missing && !app.spec.suspend;
  const { client } = identity(env, app);
  if (pruneOn && inventory.length) {
    const res = await prune(inventory, { client, owner, propagationPolicy: eff.propagationPolicy, signal: ctx.signal });
    if (res.failures.length) throw new Error(`cannot delete the objects of Application ${objectKey(app)}: ${res.failures.map((f) => f.message).join("; ")}`);
    const left = await waitGone(client, res.pruned, eff.healthTimeoutMs, ctx.signal);
    if (res.pruned.length) env.metrics.objectsPruned.inc({ namespace: app.metadata!.namespace!, name: app.metadata!.name! }, res.pruned.length);
    if (left.length) env.events.warning(app, "PruneTimeout", "Finalize", `${left.length} object(s) still being deleted after ${formatDuration(eff.healthTimeoutMs)}: ${left.map(describeRef).join(", ")}`);
    else env.events.normal(app, "Pruned", "Finalize", `deleted ${res.pruned.length} object(s) of the deleted Application`);
    ctx.log.info("finalized: inventory deleted", { pruned: res.pruned.length, stillDeleting: left.length });
  } else if (inventory.length && !app.spec.suspend) {
    const failures = await release(inventory, { client, owner, fieldManager: FieldManagers.apply, signal: ctx.signal });
    if (failures.length) throw new Error(`cannot release the objects of Application ${objectKey(app)}: ${failures.map((f) => f.message).join("; ")}`);
    ctx.log.info("finalized: objects left in place, application label removed", { objects: inventory.length });
  }
  await removeFinalizer(env.mgr.client, app, Finalizers.application, { signal: ctx.signal });
}
