// The apply controller: makes the cluster match each Application's rendered artifact.
//
// Reconcile, for one Application (never told why it was called; it reads the current state every time):
//   deleting → finalize (prune the inventory and wait, or release the claim) → remove the finalizer;
//   no finalizer → add it (that write triggers the next reconcile);
//   resolve the SyncPolicy, the identity (ServiceAccount impersonation) and the spec checks;
//   decide whether to sync: new rendered digest, new generation, drift (self-heal) or a manual request, gated by
//   automation, suspend and the retry schedule (history-based, so a restart resumes it);
//   sync = download + verify → apply in order → prune (or later, when pruneLast) → history, events, metrics;
//   assess health from the informer cache (watch events, never polling), apply the health timeout;
//   write status by server-side apply under `mooring-sync` ONLY when the owned part of it changed.
// A reconcile with nothing new (same digest, no drift) sends no request at all to the API server.
import { type Application, ApplicationDefaults, type HealthStatus, type SyncStatus } from "../api/application.js";
import { Annotations, ConditionTypes, FieldManagers, Finalizers, Labels, Reasons } from "../api/constants.js";
import { formatDuration, parseDuration } from "../api/duration.js";
import { ownerOf } from "../api/ownership.js";
import { ApplicationKind, SyncPolicyKind } from "../api/kinds.js";
import type { SyncPolicy } from "../api/syncpolicy.js";
import { canonicalJson } from "../render/canonical.js";
import type { OperatorConfig } from "../config.js";
import type { Client } from "../runtime/client.js";
import { type Condition, getCondition, removeCondition, setCondition } from "../runtime/conditions.js";
import type { Controller } from "../runtime/controller.js";
import type { EventRecorder } from "../runtime/events.js";
import { addFinalizer, hasFinalizer, isDeleting, removeFinalizer } from "../runtime/finalizers.js";
import type { Informer } from "../runtime/informer.js";
import { type KindDescriptor, type KubeObject, objectKey } from "../runtime/kinds.js";
import type { Manager } from "../runtime/manager.js";
import type { ReconcileContext, Request, Result } from "../runtime/reconcile.js";
import { requestKey } from "../runtime/reconcile.js";
import { serviceAccountUser } from "../runtime/rest.js";
import { NoKindMatchError } from "../runtime/restmapper.js";
import { syncGate } from "../policy/windows.js";
import { type AppliedObject, type ApplyResult, Applier, type PruneResult, prune, release, waitGone } from "./applier.js";
import { dependenciesOf, dependencyKey, findCycle, notReadyReason } from "./depends.js";
import { type IgnoreRule, applyBody, groupWaves, ignoredPointers, objectDrift } from "./drift.js";
import { fetchRendered } from "./artifact.js";
import { type Health, type NamedHealth, aggregateHealth, assessHealth, healthCheckNamespace, healthCheckOutside } from "./health.js";
import { type InventoryEntry, type ObjectRef, describeRef, idOf, inventoryOf, refOf, refOfEntry, staleEntries } from "./inventory.js";
import { applyMetrics, type ApplyMetrics } from "./metrics.js";
import {
  type EffectivePolicy, type HistoryEntry, applicationLabelValue, consecutiveFailures, effectivePolicy, emptyRenderRefusal, manualMarker, manualRequestHandled,
  pushHistory, retryDelay, settleInterrupted, IN_PROGRESS,
} from "./policy.js";

export const APPLY_CONTROLLER_NAME = "apply";
const OWNED_CONDITIONS = [ConditionTypes.synced, ConditionTypes.healthy, ConditionTypes.ready, ConditionTypes.reconciling, ConditionTypes.stalled] as const;
/** Every object Mooring applies carries this label; one label-selected informer per kind serves every Application. */
const APPLIED_SELECTOR = Labels.application;

/** The operator settings the apply controller reads. */
export type ApplyConfig = Pick<OperatorConfig, "defaultServiceAccount"> & Partial<Pick<OperatorConfig, "watchNamespace" | "allowCrossNamespaceRefs">>;

export interface ApplyControllerDeps {
  /** Downloads and verifies a rendered artifact (tests may wrap it). */
  fetchRendered?: (url: string, digest: string, signal: AbortSignal) => Promise<KubeObject[]>;
  /** Clock for timestamps and timeouts (ms since epoch). */
  now?: () => number;
  /** How long a reconcile waits for a kind's watch cache before reporting WatchFailed (default 15 s). */
  cacheSyncTimeoutMs?: number;
}

interface OwnedStatus {
  /** The generation this controller last acted on (docs/api.md: the apply controller's). */
  observedGeneration?: number;
  /** The last reconcile request (mooring.dev/reconcile-requested-at) handled: what `mooring reconcile --wait` waits for. */
  lastHandledReconcileAt?: string;
  sync: { status: SyncStatus; revision?: string; lastAppliedAt?: string; inventory: InventoryEntry[]; drifted?: string[] };
  health: { status: HealthStatus; message?: string };
  history: HistoryEntry[];
  conditions: Condition[];
}

/** What this process knows of one applied object. */
interface Known {
  uid?: string;
  generation?: number;
  /** resourceVersion of the last state seen to match what was applied (compared for equality only). */
  rv?: string;
  /** When this process last applied it (0: only observed). */
  at: number;
  /**
   * resourceVersion of the state this process last overwrote (the object before its apply, or the drifted state
   * self-heal corrected): the cache still showing it is only lagging behind the write, not drift.
   */
  staleRv?: string;
}

/** A managed object whose live state no longer holds what was applied. */
interface DriftItem {
  id: string;
  ref: ObjectRef;
  missing: boolean;
  /** JSON pointers of the changed fields (a few). */
  fields: string[];
  liveRv?: string;
}

/** How long after its own apply a managed object missing from the cache is taken for the cache lagging (a create not seen yet). */
const OWN_WRITE_GRACE_MS = 3_000;
/** Name of the Application informer index: "namespace/name" of each dependency. */
const DEPENDS_INDEX = "mooring.dependsOn";
/** Synced reasons that report a state rather than a sync still to do (drift, a window, a dependency). */
const SOFT_SYNC_REASONS = new Set<string>([Reasons.outOfSync, Reasons.syncWindowClosed, Reasons.dependencyNotReady]);

/** What this process remembers between reconciles of one Application (rebuilt from status after a restart). */
interface Memory {
  /** What this process knows of each applied object (by inventory id). */
  applied: Map<string, Known>;
  /**
   * The rendered objects (namespaces resolved) of the last successfully applied digest, by inventory id: drift is
   * measured against them. Held as JSON text and parsed when used: a string costs a fraction of the object graph,
   * and at 1,000 Applications these copies were a large part of the heap.
   */
  desired?: { digest: string; json: string };
  /** When loading `desired` last failed (it is not retried on every watch event). */
  desiredFailedAt?: number;
  /** A sync in waves waiting for a wave's health: where to resume. */
  waves?: { digest: string; next: number; since: number; applied: AppliedObject[]; waveOf: Map<string, number> };
  /** The Application's uid: a re-created Application starts with a fresh memory. */
  uid?: string;
  /**
   * The owned status as last written. This controller is its only writer, so it is the truth even while the cache
   * still shows an older object (a stale read must never re-run a sync or drop a history entry).
   */
  lastOwned?: OwnedStatus;
  /** Failures before this time do not count towards the retry limit (a spec change or manual request resets it). */
  retryResetAt: number;
  /** Manual-sync requests already handled (also recorded in history). */
  handledManual?: string;
  /** Inventory ids of the last successfully applied render (only ids are kept: renders can be large). */
  rendered?: { digest: string; ids: Set<string> };
  /** Health-check informers registered for this Application. */
  healthChecks: Set<string>;
}

type SyncOutcome =
  | { kind: "none" }
  | { kind: "healed"; items: DriftItem[] }
  | { kind: "blocked"; reason: string; message: string; retryAt?: number }
  | { kind: "waiting"; message: string; inventory: InventoryEntry[]; deadline: number }
  | { kind: "succeeded"; result: ApplyResult; pruned: PruneResult | undefined; inventory: InventoryEntry[]; entry: HistoryEntry }
  | { kind: "failed"; message: string; inventory: InventoryEntry[]; entry: HistoryEntry; retryable: boolean };

/** An informer the apply controller needs did not sync in time (often: the operator may not list the kind). */
class WatchNotReadyError extends Error {}

const ms = (t: string | undefined) => (t ? Date.parse(t) : NaN);

/** Status messages stay readable (and far below the schema's 32 KiB limit). */
function clip(text: string, max = 4000): string {
  return text.length > max ? `${text.slice(0, max - 20)}… (${text.length - max + 20} more characters)` : text;
}

function metaTime(t: number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function desiredObjects(json: string): Map<string, KubeObject> {
  return new Map(JSON.parse(json) as [string, KubeObject][]);
}

/** Request for the Application that owns an applied object (its annotation, or the label of older objects). */
function requestForLabel(obj: KubeObject): Request[] {
  const owner = ownerOf(obj);
  return owner ? [owner] : [];
}

export class ApplyReconciler {
  readonly metrics: ApplyMetrics;
  private controller!: Controller;
  private readonly memory = new Map<string, Memory>();
  private readonly watched = new Set<string>();
  private readonly events: EventRecorder;
  private readonly now: () => number;
  private readonly cacheSyncTimeoutMs: number;
  private readonly fetch: (url: string, digest: string, signal: AbortSignal) => Promise<KubeObject[]>;

  constructor(
    private readonly mgr: Manager,
    private readonly config: ApplyConfig,
    deps: ApplyControllerDeps = {},
  ) {
    this.metrics = applyMetrics(mgr.metrics.registry);
    this.events = mgr.eventRecorder("mooring-apply");
    this.now = deps.now ?? Date.now;
    this.cacheSyncTimeoutMs = deps.cacheSyncTimeoutMs ?? 15_000;
    this.fetch = deps.fetchRendered ?? ((url, digest, signal) => fetchRendered(url, digest, { signal }));
  }

  attach(controller: Controller): void {
    this.controller = controller;
  }

  private mem(key: string): Memory {
    let m = this.memory.get(key);
    if (!m) this.memory.set(key, (m = { applied: new Map(), retryResetAt: 0, healthChecks: new Set() }));
    return m;
  }

  /** The shared label-selected informer of a kind, watched by this controller (registered once). */
  private async appliedInformer(kind: KindDescriptor, signal: AbortSignal): Promise<Informer> {
    const inf = this.mgr.cache.informerFor(kind, { labelSelector: APPLIED_SELECTOR });
    const key = `${kind.group}/${kind.version}/${kind.kind}`;
    if (!this.watched.has(key)) {
      this.watched.add(key);
      this.controller.watch(inf, requestForLabel);
    }
    await this.waitSynced(inf, kind, signal);
    return inf;
  }

  /**
   * Waits for an informer's first list, but not forever: an informer the operator's identity may not list retries
   * its 403 indefinitely, and waiting on it would hold a worker and leave the Application without a word.
   */
  private async waitSynced(inf: Informer, kind: KindDescriptor, signal: AbortSignal): Promise<void> {
    if (inf.hasSynced()) return;
    const bound = AbortSignal.any([signal, AbortSignal.timeout(this.cacheSyncTimeoutMs)]);
    try {
      // Already failing (a 403 keeps failing): say so now rather than hold a worker for the whole bound.
      if (inf.lastError) throw inf.lastError;
      await inf.waitForSync(bound);
    } catch (err) {
      if (signal.aborted) throw err;
      const resource = kind.group ? `${kind.plural}.${kind.group}` : kind.plural;
      const why = inf.lastError ? `the operator cannot list ${resource}: ${inf.lastError.message}` : `the ${kind.kind} cache has not synced yet`;
      throw new WatchNotReadyError(`${why}; health and drift of ${kind.kind} objects are read from a watch with the operator's own identity, which needs get/list/watch on ${resource} (Helm values rbac.apply.clusterRead or rbac.apply.extraRules)`);
    }
  }

  /** Whether the cache can see objects of this kind in this namespace (--watch-namespace restricts namespaced kinds). */
  private visible(kind: KindDescriptor, namespace: string | undefined): boolean {
    const watched = this.config.watchNamespace;
    return !kind.namespaced || !watched || namespace === watched;
  }

  private async cached(kind: KindDescriptor, name: string, namespace: string | undefined, signal: AbortSignal): Promise<KubeObject | undefined> {
    const inf = await this.appliedInformer(kind, signal);
    return inf.store.get(kind.namespaced ? `${namespace}/${name}` : name);
  }

  /** Kind of an inventory entry, or undefined when the API no longer serves it. */
  private async kindOf(ref: ObjectRef): Promise<KindDescriptor | undefined> {
    try {
      return await this.mgr.mapper.kindFor(ref.apiVersion, ref.kind);
    } catch (err) {
      if (err instanceof NoKindMatchError) return undefined;
      throw err;
    }
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result> {
    const key = requestKey(req);
    let app = await this.mgr.client.get<Application & KubeObject>(ApplicationKind, req.name, req.namespace);
    if (app) {
      if (this.memory.get(key)?.uid !== app.metadata?.uid) this.memory.delete(key);
      const m = this.mem(key);
      m.uid = app.metadata?.uid;
      if (m.lastOwned) app = overlayOwned(app, m.lastOwned);
    }
    if (!app) {
      this.memory.delete(key);
      this.metrics.forget(req.namespace, req.name);
      return {};
    }
    if (isDeleting(app)) {
      if (hasFinalizer(app, Finalizers.application)) await this.finalize(app, ctx);
      return {};
    }
    if (!hasFinalizer(app, Finalizers.application)) {
      await addFinalizer(this.mgr.client, app, Finalizers.application, { signal: ctx.signal });
      return {};
    }
    try {
      return await this.sync(app, key, ctx);
    } catch (err) {
      if (!(err instanceof WatchNotReadyError)) throw err;
      // Say so on the Application, and look again soon (the informer keeps retrying meanwhile).
      const generation = app.metadata?.generation;
      // The status as last written, which may be this sync's write-ahead record: the inventory it added must stay.
      const owned = this.mem(key).lastOwned ?? this.currentOwned(app);
      const conditions = setCondition(owned.conditions ?? [], { type: ConditionTypes.ready, status: "False", reason: Reasons.watchFailed, message: clip(err.message), observedGeneration: generation }, this.now());
      await this.writeStatus(app, { ...owned, conditions }, ctx);
      ctx.log.warn("cannot watch the Application's objects", { key, error: err.message });
      return { requeueAfter: 10_000 };
    }
  }

  private identity(app: Application): { client: Client; user?: string } {
    const sa = app.spec.serviceAccountName ?? this.config.defaultServiceAccount;
    if (!sa) return { client: this.mgr.client };
    const user = serviceAccountUser(app.metadata!.namespace!, sa);
    return { client: this.mgr.client.impersonate(user), user };
  }

  private async policyOf(app: Application): Promise<{ policy?: SyncPolicy; missing?: string }> {
    const ref = app.spec.syncPolicyRef;
    if (!ref) return {};
    const policy = await this.mgr.client.get<SyncPolicy & KubeObject>(SyncPolicyKind, ref.name, app.metadata!.namespace);
    return policy ? { policy } : { missing: ref.name };
  }

  /**
   * The first reference of the spec that leaves the Application's namespace, or undefined: spec.sourceRef.namespace,
   * spec.dependsOn[].namespace, and spec.healthChecks outside the namespace and its targetNamespace (health is read
   * with the operator's identity). Refused unless --allow-cross-namespace-refs, as Flux's multi-tenancy lockdown:
   * a tenant must not render another tenant's source, wait on (and so learn the state of) another tenant's
   * Application, or read the health of objects it cannot see.
   */
  private async crossNamespaceRef(app: Application): Promise<string | undefined> {
    if (this.config.allowCrossNamespaceRefs) return undefined;
    const ns = app.metadata!.namespace!;
    const refused = (what: string) =>
      `${what}; cross-namespace references are refused unless the operator runs with --allow-cross-namespace-refs (Helm value allowCrossNamespaceRefs)`;
    const src = app.spec.sourceRef;
    if (src.namespace && src.namespace !== ns) return refused(`spec.sourceRef.namespace names ${src.kind} ${src.namespace}/${src.name} in another namespace`);
    const deps = app.spec.dependsOn ?? [];
    const d = deps.findIndex((x) => x.namespace && x.namespace !== ns);
    if (d >= 0) return refused(`spec.dependsOn[${d}] names Application ${deps[d]!.namespace}/${deps[d]!.name} in another namespace`);
    const checks = app.spec.healthChecks ?? [];
    for (let i = 0; i < checks.length; i++) {
      const hc = checks[i]!;
      const kind = await this.kindOf({ apiVersion: hc.apiVersion, kind: hc.kind, name: hc.name, namespace: healthCheckNamespace(app, hc) });
      const outside = healthCheckOutside(app, hc, i, kind?.namespaced);
      if (outside) return refused(outside);
    }
    return undefined;
  }

  private async finalize(app: Application & KubeObject, ctx: ReconcileContext): Promise<void> {
    const owner = applicationLabelValue(app);
    const inventory = app.status?.sync?.inventory ?? [];
    const { policy, missing } = await this.policyOf(app);
    // A missing SyncPolicy leaves the objects in place: deleting is the one thing not to do by default.
    const eff = effectivePolicy(app, policy);
    const pruneOn = eff.prune && !missing && !app.spec.suspend;
    const { client } = this.identity(app);
    if (pruneOn && inventory.length) {
      const res = await prune(inventory, { client, owner, propagationPolicy: eff.propagationPolicy, signal: ctx.signal });
      if (res.failures.length) throw new Error(`cannot delete the objects of Application ${objectKey(app)}: ${res.failures.map((f) => f.message).join("; ")}`);
      const left = await waitGone(client, res.pruned, eff.healthTimeoutMs, ctx.signal);
      if (res.pruned.length) this.metrics.objectsPruned.inc({ namespace: app.metadata!.namespace!, name: app.metadata!.name! }, res.pruned.length);
      if (left.length) this.events.warning(app, "PruneTimeout", "Finalize", `${left.length} object(s) still being deleted after ${formatDuration(eff.healthTimeoutMs)}: ${left.map(describeRef).join(", ")}`);
      else this.events.normal(app, "Pruned", "Finalize", `deleted ${res.pruned.length} object(s) of the deleted Application`);
      ctx.log.info("finalized: inventory deleted", { pruned: res.pruned.length, stillDeleting: left.length });
    } else if (inventory.length && !app.spec.suspend) {
      const failures = await release(inventory, { client, owner, fieldManager: FieldManagers.apply, signal: ctx.signal });
      if (failures.length) throw new Error(`cannot release the objects of Application ${objectKey(app)}: ${failures.map((f) => f.message).join("; ")}`);
      ctx.log.info("finalized: objects left in place, application label removed", { objects: inventory.length });
    }
    await removeFinalizer(this.mgr.client, app, Finalizers.application, { signal: ctx.signal });
    this.memory.delete(requestKey({ namespace: app.metadata!.namespace!, name: app.metadata!.name! }));
    this.metrics.forget(app.metadata!.namespace!, app.metadata!.name!);
  }

  private async sync(app: Application & KubeObject, key: string, ctx: ReconcileContext): Promise<Result> {
    const now = this.now();
    const mem = this.mem(key);
    const generation = app.metadata?.generation;
    const status = app.status ?? {};
    const history = settleInterrupted((status.history ?? []) as HistoryEntry[]);
    const inventory = status.sync?.inventory ?? [];
    const conditions = ((status.conditions ?? []) as Condition[]).filter((c) => (OWNED_CONDITIONS as readonly string[]).includes(c.type));
    const cond = (list: Condition[], type: string, s: Condition["status"], reason: string, message: string) =>
      setCondition(list, { type, status: s, reason, message: clip(message), observedGeneration: generation }, now);

    // Guards that stop before any sync: each ends with a status (written only if it changed).
    const crossRef = await this.crossNamespaceRef(app);
    const { policy, missing } = await this.policyOf(app);
    const problem = crossRef ?? (missing ? `SyncPolicy ${app.metadata!.namespace}/${missing} does not exist; create it or fix spec.syncPolicyRef` : undefined);
    if (problem) {
      const reason = crossRef ? Reasons.crossNamespaceRefForbidden : Reasons.syncPolicyNotFound;
      let c = cond(conditions, ConditionTypes.ready, "False", reason, problem);
      c = cond(c, ConditionTypes.stalled, "True", reason, problem);
      c = removeCondition(c, ConditionTypes.reconciling);
      await this.writeStatus(app, { ...this.currentOwned(app), conditions: c }, ctx);
      return {};
    }
    const eff = effectivePolicy(app, policy);
    const artifact = status.render?.artifact;

    let outcome: SyncOutcome = { kind: "none" };
    let wait: number | undefined;
    let stalledMessage: string | undefined;
    let stalledReason: string = Reasons.syncFailed;
    let pendingMessage: string | undefined;
    /** When the next retry is due: the message names this instant, so waiting reconciles write nothing new. */
    let retryAt: number | undefined;
    /** Nothing left to do: the last sync holds and no object drifted (a drift report or a blocked heal is over). */
    let settled = false;
    const syncedCond = getCondition(conditions, ConditionTypes.synced);
    const lastSuccess = history.find((h) => h.phase === "Succeeded");
    const desired = app.spec.suspend || !artifact ? undefined : await this.desiredFor(app, mem, artifact, lastSuccess?.digest, ctx);
    const drift = app.spec.suspend ? { items: [] as DriftItem[] } : await this.detectDrift(app, inventory, mem, desired, ctx.signal);
    if (drift.recheckAt !== undefined) wait = Math.max(50, drift.recheckAt - now);
    const drifted = drift.items.map((d) => d.id).sort();
    const driftText = drift.items.map((d) => `${describeRef(d.ref)} (${d.missing ? "deleted" : d.fields.join(", ")})`).join("; ");

    if (app.spec.suspend) {
      pendingMessage = undefined;
    } else if (!artifact) {
      pendingMessage = "waiting for the render controller to publish the rendered artifact";
    } else {
      const request = app.metadata?.annotations?.[Annotations.syncRequestedAt];
      // A manual request always syncs (also in automated mode, where it restarts exhausted retries).
      const manualPending = !!request && mem.handledManual !== request && !manualRequestHandled(history, request);
      const genChanged = syncedCond !== undefined && syncedCond.observedGeneration !== generation;
      if (genChanged || manualPending) mem.retryResetAt = now;
      const digestChanged = artifact.digest !== lastSuccess?.digest;
      const wavesPending = mem.waves?.digest === artifact.digest;
      // A full sync is due for a new render or spec, a failure to retry, or waves to resume. Drift alone (with the
      // applied objects known) is corrected object by object: self-heal.
      const needsFull =
        digestChanged || genChanged || wavesPending || syncedCond === undefined || (syncedCond.status !== "True" && !SOFT_SYNC_REASONS.has(syncedCond.reason)) || (drifted.length > 0 && !desired);
      const heal = !needsFull && drifted.length > 0;
      settled = !needsFull && !heal && !manualPending;
      let want = manualPending || (needsFull && eff.automated) || (heal && eff.automated && eff.selfHeal);
      if (!eff.automated && (needsFull || heal) && !manualPending) pendingMessage = `automated sync is off; waiting for a manual sync (annotate ${Annotations.syncRequestedAt})${heal ? `; drifted: ${driftText}` : ""}`;
      else if (heal && !eff.selfHeal && !manualPending) pendingMessage = `drifted from the applied revision, not corrected because selfHeal is off: ${driftText}`;
      // Stalled on this digest (retries exhausted, or a failure no retry can fix): stays so until something changes.
      const stalled = getCondition(conditions, ConditionTypes.stalled);
      if (want && needsFull && !manualPending && !genChanged && stalled?.status === "True" && stalled.reason === Reasons.syncFailed && history[0]?.phase === "Failed" && history[0].digest === artifact.digest) {
        want = false;
        stalledMessage = stalled.message;
      }
      // The retry schedule: consecutive failures of this digest since the last reset, read from history.
      if (want && !manualPending) {
        const failures = consecutiveFailures(history.filter((h) => ms(h.startedAt) >= Math.floor(mem.retryResetAt / 1000) * 1000 || mem.retryResetAt === 0), artifact.digest);
        if (failures > 0) {
          const delay = retryDelay(failures, eff.retry);
          if (delay === undefined) {
            want = false;
            stalledMessage = `sync failed ${failures} time(s), retries exhausted (limit ${eff.retry.limit}); waiting for a new render, a spec change or a manual sync. Last error: ${history[0]?.message ?? "unknown"}`;
          } else {
            const due = ms(history[0]?.finishedAt ?? history[0]?.startedAt) + delay;
            if (due > now) {
              want = false;
              wait = due - now;
              retryAt = due;
            }
          }
        }
      }
      // Sync windows: self-heal is an automated sync; a manual request passes when the windows allow manual syncs.
      if (want) {
        const gate = syncGate(policy?.spec?.windows, now, manualPending ? "manual" : "auto");
        if (!gate.allowed) {
          want = false;
          const at = gate.retryAt?.getTime();
          outcome = { kind: "blocked", reason: gate.reason, message: `${gate.message}${drifted.length ? `; drifted: ${driftText}` : ""}`, retryAt: at };
          if (at !== undefined) wait = Math.min(wait ?? Infinity, Math.max(50, at - now + 10));
        }
      }
      // dependsOn: every dependency Ready at its current generation and revision before a (full) sync.
      if (want && !heal && app.spec.dependsOn?.length) {
        const dep = this.dependencyProblem(app);
        if (dep) {
          want = false;
          if (dep.cycle) {
            stalledMessage = dep.message;
            stalledReason = Reasons.dependencyNotReady;
          }
          outcome = { kind: "blocked", reason: Reasons.dependencyNotReady, message: dep.message };
        }
      }
      if (want) {
        const manual = manualPending ? request : undefined;
        if (heal && !manual) outcome = await this.heal(app, mem, eff, drift.items, desired!, ctx);
        else outcome = await this.runSync(app, key, mem, eff, artifact, inventory, manual, ctx);
        if (manual) mem.handledManual = manual;
      }
    }

    // Compose the owned status.
    let nextInventory = inventory;
    let nextHistory = history;
    let syncStatus: SyncStatus = status.sync?.status ?? "Unknown";
    let revision = status.sync?.revision;
    let lastAppliedAt = status.sync?.lastAppliedAt;
    let c = conditions;
    let freshObjects: Map<string, KubeObject> | undefined;
    // Blocked and waiting states keep the Synced condition's observedGeneration: the generation is not synced yet.
    const syncedKeepGen = (s: Condition["status"], reason: string, message: string) =>
      setCondition(c, { type: ConditionTypes.synced, status: s, reason, message: clip(message), observedGeneration: syncedCond?.observedGeneration }, now);

    if (outcome.kind === "succeeded") {
      nextInventory = outcome.inventory;
      nextHistory = pushHistory(history, outcome.entry);
      syncStatus = "Synced";
      revision = outcome.entry.revision;
      lastAppliedAt = outcome.entry.finishedAt;
      c = cond(c, ConditionTypes.synced, "True", Reasons.succeeded, outcome.entry.message ?? "applied");
      freshObjects = new Map(outcome.result.applied.map((a) => [idOf(a.ref), a.live]));
    } else if (outcome.kind === "healed") {
      syncStatus = "Synced";
      if (syncedCond?.status !== "True") c = cond(c, ConditionTypes.synced, "True", Reasons.succeeded, `drift corrected: ${outcome.items.map((d) => describeRef(d.ref)).join(", ")}`);
    } else if (outcome.kind === "blocked") {
      syncStatus = "OutOfSync";
      c = syncedKeepGen("False", outcome.reason, outcome.message);
      if (outcome.reason !== getCondition(conditions, ConditionTypes.synced)?.reason) this.events.normal(app, outcome.reason, "Sync", clip(outcome.message));
    } else if (outcome.kind === "waiting") {
      nextInventory = outcome.inventory;
      syncStatus = "OutOfSync";
      c = syncedKeepGen("False", Reasons.progressing, outcome.message);
      wait = Math.min(wait ?? Infinity, Math.max(50, Math.min(outcome.deadline - now + 100, 30_000)));
    } else if (outcome.kind === "failed") {
      nextInventory = outcome.inventory;
      nextHistory = pushHistory(history, outcome.entry);
      syncStatus = "OutOfSync";
      c = cond(c, ConditionTypes.synced, "False", Reasons.syncFailed, outcome.message);
      const failures = consecutiveFailures(nextHistory.filter((h) => ms(h.startedAt) >= Math.floor(mem.retryResetAt / 1000) * 1000 || mem.retryResetAt === 0), outcome.entry.digest!);
      const delay = outcome.retryable ? retryDelay(failures, eff.retry) : undefined;
      if (delay === undefined) stalledMessage = outcome.retryable ? `sync failed ${failures} time(s), retries exhausted (limit ${eff.retry.limit}); waiting for a new render, a spec change or a manual sync: ${outcome.message}` : outcome.message;
      else {
        retryAt = ms(outcome.entry.finishedAt) + delay;
        wait = Math.max(50, retryAt - now);
      }
    } else if (pendingMessage && !app.spec.suspend) {
      if (artifact) syncStatus = "OutOfSync";
      c = artifact ? syncedKeepGen("False", Reasons.outOfSync, pendingMessage) : cond(c, ConditionTypes.synced, "Unknown", Reasons.progressing, pendingMessage);
    } else if (!app.spec.suspend && drifted.length === 0 && syncedCond?.status === "True") {
      syncStatus = "Synced";
    } else if (!app.spec.suspend && settled && syncedCond?.status !== "True") {
      syncStatus = "Synced";
      c = cond(c, ConditionTypes.synced, "True", Reasons.succeeded, `the live objects match revision ${revision ?? "?"} again`);
    }

    // A new commit that renders exactly the objects already applied needs no sync, yet the cluster now matches that
    // commit: report it (as Flux's lastAppliedRevision and Argo CD's sync revision do), without a history entry.
    if ((outcome.kind === "none" || outcome.kind === "healed") && artifact?.revision && lastSuccess && artifact.digest === lastSuccess.digest) revision = artifact.revision;

    // Drift that stays (detect-only, or self-heal blocked): an event and a metric when the drifted set changes.
    const reportedDrift = outcome.kind === "succeeded" || outcome.kind === "healed" ? [] : drifted;
    const before = [...(status.sync?.drifted ?? [])].sort();
    const newly = reportedDrift.filter((id) => !before.includes(id));
    if (newly.length) {
      this.metrics.driftDetected.inc({ namespace: app.metadata!.namespace!, name: app.metadata!.name! }, newly.length);
      this.events.warning(app, "DriftDetected", "Drift", clip(`${drift.items.filter((d) => newly.includes(d.id)).map((d) => `${describeRef(d.ref)} (${d.missing ? "deleted" : d.fields.join(", ")})`).join("; ")}${eff.selfHeal ? "" : "; not corrected (selfHeal is off)"}`));
    }
    this.metrics.drifted.set({ namespace: app.metadata!.namespace!, name: app.metadata!.name! }, reportedDrift.length);

    // Health of what is applied (pending prunes excluded), from the informer cache or the fresh apply answers.
    const renderedIds = mem.rendered && artifact && mem.rendered.digest === artifact.digest ? mem.rendered.ids : undefined;
    const current = renderedIds ? nextInventory.filter((e) => renderedIds.has(e.id)) : nextInventory;
    let health: Health =
      nextInventory.length === 0 && !nextHistory.some((e) => e.phase === "Succeeded") ? { status: "Unknown", message: "nothing has been applied yet" } : await this.assess(app, current, freshObjects, ctx.signal);

    // pruneLast: prune what left the render once everything else is healthy.
    if (renderedIds && eff.prune && eff.pruneLast && outcome.kind !== "failed" && !app.spec.suspend && health.status === "Healthy") {
      const stale = nextInventory.filter((e) => !renderedIds.has(e.id));
      if (stale.length) {
        const pr = await this.pruneStale(app, stale, eff, ctx);
        const keep = new Set(pr.failures.map((f) => idOf(f.ref)));
        nextInventory = nextInventory.filter((e) => renderedIds.has(e.id) || keep.has(e.id));
      }
    }

    // Health timeout, counted from the last apply.
    const appliedAt = ms(lastAppliedAt);
    let healthReason: string = Reasons.progressing;
    if (health.status !== "Healthy" && health.status !== "Degraded" && health.status !== "Suspended" && eff.healthWait && Number.isFinite(appliedAt)) {
      const deadline = appliedAt + eff.healthTimeoutMs;
      if (now >= deadline) {
        health = { status: "Degraded", message: `not healthy ${formatDuration(eff.healthTimeoutMs)} after the sync (health timeout): ${health.message ?? health.status}` };
        healthReason = Reasons.healthCheckTimeout;
      } else wait = Math.min(wait ?? Infinity, deadline - now + 100);
    } else if (health.status === "Degraded") healthReason = Reasons.healthCheckFailed;

    if (health.status === "Healthy") c = cond(c, ConditionTypes.healthy, "True", Reasons.succeeded, "all applied objects are healthy");
    else if (health.status === "Degraded") c = cond(c, ConditionTypes.healthy, "False", healthReason, health.message ?? "degraded");
    else c = cond(c, ConditionTypes.healthy, "Unknown", health.status === "Suspended" ? Reasons.suspended : Reasons.progressing, health.message ?? health.status);

    // Ready, Reconciling, Stalled.
    const synced = getCondition(c, ConditionTypes.synced);
    if (app.spec.suspend) {
      c = cond(c, ConditionTypes.ready, getCondition(c, ConditionTypes.ready)?.status ?? "Unknown", Reasons.suspended, "the Application is suspended; nothing is applied or pruned");
      c = removeCondition(removeCondition(c, ConditionTypes.reconciling), ConditionTypes.stalled);
    } else if (stalledMessage) {
      c = cond(c, ConditionTypes.stalled, "True", stalledReason, stalledMessage);
      c = cond(c, ConditionTypes.ready, "False", stalledReason, stalledMessage);
      c = removeCondition(c, ConditionTypes.reconciling);
    } else if (outcome.kind === "waiting") {
      c = cond(c, ConditionTypes.ready, "Unknown", Reasons.progressing, outcome.message);
      c = cond(c, ConditionTypes.reconciling, "True", Reasons.progressing, outcome.message);
      c = removeCondition(c, ConditionTypes.stalled);
    } else if (!artifact && renderFailure(app)) {
      // Never rendered: the render controller's failure is the reason, not a wait for an artifact that cannot come.
      c = cond(c, ConditionTypes.ready, "False", Reasons.renderFailed, renderFailure(app)!);
      c = removeCondition(removeCondition(c, ConditionTypes.reconciling), ConditionTypes.stalled);
    } else if (synced?.status === "False" && outcome.kind === "failed") {
      c = cond(c, ConditionTypes.ready, "False", Reasons.syncFailed, synced.message ?? "sync failed");
      c = cond(c, ConditionTypes.reconciling, "True", Reasons.progressingWithRetry, `retrying at ${metaTime(retryAt ?? now)}`);
      c = removeCondition(c, ConditionTypes.stalled);
    } else if (synced?.status !== "True") {
      c = cond(c, ConditionTypes.ready, synced?.status === "False" ? "False" : "Unknown", synced?.reason ?? Reasons.progressing, synced?.message ?? "not synced yet");
      c = retryAt !== undefined && synced?.reason === Reasons.syncFailed ? cond(c, ConditionTypes.reconciling, "True", Reasons.progressingWithRetry, `retrying at ${metaTime(retryAt)}`) : removeCondition(c, ConditionTypes.reconciling);
      c = removeCondition(c, ConditionTypes.stalled);
    } else if (renderFailure(app)) {
      // The newest revision cannot be rendered: what is applied is an older revision, so the Application is not Ready
      // (as Flux reports a build failure), while the objects applied before stay in place.
      c = cond(c, ConditionTypes.ready, "False", Reasons.renderFailed, `${renderFailure(app)}; the objects of ${revision ?? "the last applied revision"} stay applied`);
      c = removeCondition(removeCondition(c, ConditionTypes.reconciling), ConditionTypes.stalled);
    } else if (health.status === "Healthy" || !eff.healthWait) {
      c = cond(c, ConditionTypes.ready, "True", Reasons.succeeded, `applied revision ${revision ?? "?"}${eff.healthWait ? "; all objects healthy" : ""}`);
      c = removeCondition(removeCondition(c, ConditionTypes.reconciling), ConditionTypes.stalled);
    } else if (health.status === "Degraded") {
      c = cond(c, ConditionTypes.ready, "False", healthReason, health.message ?? "degraded");
      c = removeCondition(removeCondition(c, ConditionTypes.reconciling), ConditionTypes.stalled);
    } else {
      c = cond(c, ConditionTypes.ready, "Unknown", Reasons.progressing, health.message ?? "waiting for health");
      c = cond(c, ConditionTypes.reconciling, "True", Reasons.progressing, `waiting for health: ${health.message ?? health.status}`);
      c = removeCondition(c, ConditionTypes.stalled);
    }

    const owned: OwnedStatus = {
      sync: {
        status: syncStatus,
        ...(revision ? { revision } : {}),
        ...(lastAppliedAt ? { lastAppliedAt } : {}),
        inventory: nextInventory,
        ...(reportedDrift.length ? { drifted: reportedDrift } : {}),
      },
      health: { status: health.status, ...(health.message ? { message: clip(health.message) } : {}) },
      history: nextHistory,
      conditions: c,
    };
    if (health.status !== (status.health?.status ?? "")) {
      if (health.status === "Degraded") this.events.warning(app, healthReason, "HealthCheck", health.message ?? "degraded");
      else if (health.status === "Healthy" && status.health?.status) this.events.normal(app, "Healthy", "HealthCheck", "all applied objects are healthy");
    }
    this.metrics.setHealth(app.metadata!.namespace!, app.metadata!.name!, health.status);
    await this.writeStatus(app, owned, ctx);
    if (app.spec.suspend) return {};
    // Watches bring every change; spec.interval is the safety net that looks again anyway (a missed event, a clock).
    // Capped at a day: Node's timers overflow past ~24.8 days (a longer timeout fires at once).
    const interval = Math.min(parseDuration(app.spec.interval ?? ApplicationDefaults.interval), 86_400_000);
    return { requeueAfter: Math.max(50, Math.min(wait ?? interval, interval)) };
  }

  /**
   * The rendered objects of the digest last applied successfully, by inventory id. Kept from the sync in memory;
   * after a restart downloaded again from the artifact server (no API request), so unchanged objects are compared,
   * never re-applied. Undefined while a different digest is still to be applied (that sync settles everything).
   */
  private async desiredFor(app: Application & KubeObject, mem: Memory, artifact: { url: string; digest: string }, appliedDigest: string | undefined, ctx: ReconcileContext): Promise<Map<string, KubeObject> | undefined> {
    if (!appliedDigest || artifact.digest !== appliedDigest) return undefined;
    if (mem.desired?.digest === appliedDigest) return desiredObjects(mem.desired.json);
    if (mem.desiredFailedAt !== undefined && this.now() - mem.desiredFailedAt < 30_000) return undefined;
    try {
      const objects = await this.fetch(artifact.url, artifact.digest, ctx.signal);
      const targetNamespace = app.spec.targetNamespace ?? app.metadata!.namespace!;
      const map = new Map<string, KubeObject>();
      for (const obj of objects) {
        let namespaced: boolean;
        try {
          namespaced = (await this.mgr.mapper.kindForObject(obj)).namespaced;
        } catch (err) {
          if (err instanceof NoKindMatchError) continue;
          throw err;
        }
        const meta = { ...(obj.metadata ?? {}) };
        if (namespaced && !meta.namespace) meta.namespace = targetNamespace;
        if (!namespaced) delete meta.namespace;
        const body = { ...obj, metadata: meta };
        map.set(idOf(refOf(body)), body);
      }
      mem.desired = { digest: appliedDigest, json: JSON.stringify([...map]) };
      return map;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      mem.desiredFailedAt = this.now();
      ctx.log.warn("cannot load the applied render for drift detection; only deleted objects are detected until it loads", { error: (err as Error).message });
      return undefined;
    }
  }

  /**
   * Managed objects whose live state (the shared cache, fed by watch events) no longer holds the applied fields.
   * Reads only the cache: zero API requests. Without `desired`, only deleted objects are found.
   */
  private async detectDrift(app: Application, inventory: readonly InventoryEntry[], mem: Memory, desired: Map<string, KubeObject> | undefined, signal: AbortSignal): Promise<{ items: DriftItem[]; recheckAt?: number }> {
    const items: DriftItem[] = [];
    let recheckAt: number | undefined;
    const now = this.now();
    const rules = app.spec.ignoreDifferences as IgnoreRule[] | undefined;
    const recheck = (t: number) => (recheckAt = Math.min(recheckAt ?? Infinity, t));
    for (const e of inventory) {
      const want = desired?.get(e.id);
      // Not in the applied render: an entry kept for a later prune (pruneLast, failed prune), not managed any more.
      if (desired && !want) continue;
      const ref = refOfEntry(e);
      const kind = await this.kindOf(ref);
      if (!kind || !this.visible(kind, ref.namespace)) continue;
      const live = await this.cached(kind, ref.name, ref.namespace || undefined, signal);
      const known = mem.applied.get(e.id);
      // Right after this process created it, the cache may not show the object yet: wait for the event.
      const young = known !== undefined && now - known.at < OWN_WRITE_GRACE_MS;
      if (!live) {
        if (young) recheck(known.at + OWN_WRITE_GRACE_MS);
        else if (!desired && !known) continue; // unknown and never seen: a restart's first look, the sync will tell
        else items.push({ id: e.id, ref, missing: true, fields: [] });
        continue;
      }
      if (!want) continue;
      const rv = live.metadata?.resourceVersion;
      if (known?.rv !== undefined && known.rv === rv) continue;
      // The cache still shows the version this process overwrote: the event of its own write is on its way.
      if (known?.staleRv !== undefined && known.staleRv === rv) continue;
      const fields = objectDrift(want, live, rules);
      if (!fields.length) {
        if (known) known.rv = rv;
        else mem.applied.set(e.id, { uid: live.metadata?.uid, generation: live.metadata?.generation, rv, at: 0 });
        continue;
      }
      items.push({ id: e.id, ref, missing: false, fields, liveRv: rv });
    }
    return { items, recheckAt };
  }

  /** The body transform that keeps ignoreDifferences fields at their live values (a new object gets them all). */
  private ignoreTransform(app: Application): ((body: KubeObject, live: KubeObject | undefined) => KubeObject) | undefined {
    const rules = app.spec.ignoreDifferences as IgnoreRule[] | undefined;
    if (!rules?.length) return undefined;
    return (body, live) => applyBody(body, live, ignoredPointers(body, rules));
  }

  /** Self-heal: re-applies only the drifted objects (one request each), taking back the fields others changed. */
  private async heal(app: Application & KubeObject, mem: Memory, eff: EffectivePolicy, items: DriftItem[], desired: Map<string, KubeObject>, ctx: ReconcileContext): Promise<SyncOutcome> {
    const ns = app.metadata!.namespace!;
    const name = app.metadata!.name!;
    const { client, user } = this.identity(app);
    const applier = new Applier({
      client,
      owner: applicationLabelValue(app),
      defaultNamespace: app.spec.targetNamespace ?? ns,
      force: eff.force,
      forceConflicts: true,
      fieldManager: FieldManagers.apply,
      transform: this.ignoreTransform(app),
      lookup: (kind, n, namespace) => (this.visible(kind, namespace) ? this.cached(kind, n, namespace, ctx.signal) : client.live().get(kind, n, namespace, { signal: ctx.signal })),
      signal: ctx.signal,
    });
    this.metrics.driftDetected.inc({ namespace: ns, name }, items.length);
    const objects = items.map((d) => desired.get(d.id)!);
    let result: ApplyResult;
    try {
      result = await applier.apply(objects);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      result = { applied: [], failures: items.map((d) => ({ ref: d.ref, kind: "other" as const, message: `${describeRef(d.ref)}: ${(err as Error).message}` })) };
    }
    const byId = new Map(items.map((d) => [d.id, d]));
    for (const a of result.applied) {
      const id = idOf(a.ref);
      mem.applied.set(id, { uid: a.live.metadata?.uid, generation: a.live.metadata?.generation, rv: a.live.metadata?.resourceVersion, at: this.now(), staleRv: byId.get(id)?.liveRv ?? a.beforeRv });
    }
    const what = (list: DriftItem[]) => list.map((d) => `${describeRef(d.ref)} (${d.missing ? "re-created" : d.fields.join(", ")})`).join("; ");
    if (result.applied.length) {
      this.metrics.driftCorrected.inc({ namespace: ns, name }, result.applied.length);
      const done = result.applied.map((a) => byId.get(idOf(a.ref))).filter((d): d is DriftItem => !!d);
      this.events.normal(app, "DriftCorrected", "SelfHeal", clip(`re-applied drifted objects: ${what(done)}`));
      ctx.log.info("self-heal: drift corrected", { objects: done.map((d) => d.id) });
    }
    if (result.failures.length) {
      const message = `self-heal failed${user ? ` as ${user}` : ""}: ${result.failures.map((f) => f.message).join("; ")}`;
      this.events.warning(app, Reasons.syncFailed, "SelfHeal", clip(message));
      const at = metaTime(this.now());
      const artifact = app.status!.render!.artifact!;
      return { kind: "failed", message, inventory: app.status?.sync?.inventory ?? [], retryable: true, entry: { revision: artifact.revision, digest: artifact.digest, startedAt: at, finishedAt: at, phase: "Failed", message: clip(message), initiatedBy: "auto" } };
    }
    return { kind: "healed", items };
  }

  /** Why the dependencies hold this Application back (a cycle is marked), or undefined when all are Ready. */
  private dependencyProblem(app: Application & KubeObject): { message: string; cycle?: boolean } | undefined {
    const store = this.mgr.cache.informerFor<Application & KubeObject>(ApplicationKind).store;
    const self = `${app.metadata!.namespace}/${app.metadata!.name}`;
    const cycle = findCycle(self, (k) => (k === self ? dependenciesOf(app) : (() => {
      const a = store.get(k);
      return a ? dependenciesOf(a) : undefined;
    })()));
    if (cycle) return { message: `dependency cycle: ${cycle.join(" → ")}; remove one of these dependsOn entries`, cycle: true };
    const reasons = (app.spec.dependsOn ?? []).map((d) => {
      const k = dependencyKey(d, app.metadata!.namespace!);
      return notReadyReason(k, store.get(k));
    }).filter((r): r is string => !!r);
    return reasons.length ? { message: `waiting for dependencies: ${reasons.join("; ")}` } : undefined;
  }

  private async assess(app: Application, inventory: readonly InventoryEntry[], fresh: Map<string, KubeObject> | undefined, signal: AbortSignal): Promise<Health> {
    const items: NamedHealth[] = [];
    for (const e of inventory) {
      const ref = refOfEntry(e);
      const kind = await this.kindOf(ref);
      // Objects outside the watched namespace are not in the cache: they are not assessed (docs/apply.md).
      if (kind && !this.visible(kind, ref.namespace) && !fresh?.has(e.id)) continue;
      let live: KubeObject | undefined;
      try {
        live = fresh?.get(e.id) ?? (kind ? await this.cached(kind, ref.name, ref.namespace || undefined, signal) : undefined);
      } catch (err) {
        // After a sync, an unwatchable kind must not lose the sync's status: it is Unknown health, saying why.
        if (!(err instanceof WatchNotReadyError)) throw err;
        items.push({ object: describeRef(ref), status: "Unknown", message: err.message });
        continue;
      }
      items.push({ object: describeRef(ref), ...assessHealth(live) });
    }
    for (const hc of app.spec.healthChecks ?? []) {
      const namespace = healthCheckNamespace(app, hc);
      const ref: ObjectRef = { apiVersion: hc.apiVersion, kind: hc.kind, name: hc.name, namespace };
      const kind = await this.kindOf(ref);
      if (!kind) {
        items.push({ object: describeRef(ref), status: "Missing", message: `the API server does not serve ${hc.kind} in ${hc.apiVersion}` });
        continue;
      }
      const inf = this.mgr.cache.informerFor(kind, { namespace: kind.namespaced ? namespace : undefined, fieldSelector: `metadata.name=${hc.name}` });
      const mem = this.mem(requestKey({ namespace: app.metadata!.namespace!, name: app.metadata!.name! }));
      const hk = `${kind.group}/${kind.kind}/${namespace}/${hc.name}`;
      if (!mem.healthChecks.has(hk)) {
        mem.healthChecks.add(hk);
        const req = { namespace: app.metadata!.namespace!, name: app.metadata!.name! };
        this.controller.watch(inf, () => [req]);
      }
      try {
        await this.waitSynced(inf, kind, signal);
      } catch (err) {
        if (!(err instanceof WatchNotReadyError)) throw err;
        items.push({ object: describeRef(kind.namespaced ? ref : { ...ref, namespace: "" }), status: "Unknown", message: err.message });
        continue;
      }
      items.push({ object: describeRef(kind.namespaced ? ref : { ...ref, namespace: "" }), ...assessHealth(inf.store.get(kind.namespaced ? `${namespace}/${hc.name}` : hc.name)) });
    }
    return aggregateHealth(items);
  }

  private async pruneStale(app: Application & KubeObject, stale: InventoryEntry[], eff: EffectivePolicy, ctx: ReconcileContext): Promise<PruneResult> {
    const { client } = this.identity(app);
    const res = await prune(stale, { client, owner: applicationLabelValue(app), propagationPolicy: eff.propagationPolicy, signal: ctx.signal });
    if (res.pruned.length) {
      this.metrics.objectsPruned.inc({ namespace: app.metadata!.namespace!, name: app.metadata!.name! }, res.pruned.length);
      this.events.normal(app, "Pruned", "Prune", `deleted ${res.pruned.map(describeRef).join(", ")}`);
    }
    if (res.failures.length) this.events.warning(app, Reasons.pruneFailed, "Prune", res.failures.map((f) => f.message).join("; "));
    return res;
  }

  private async runSync(
    app: Application & KubeObject,
    key: string,
    mem: Memory,
    eff: EffectivePolicy,
    artifact: { url: string; digest: string; revision: string },
    inventory: InventoryEntry[],
    manual: string | undefined,
    ctx: ReconcileContext,
  ): Promise<SyncOutcome> {
    const start = this.now();
    const ns = app.metadata!.namespace!;
    const name = app.metadata!.name!;
    const startedAt = metaTime(start);
    const by: "auto" | "manual" = manual ? "manual" : "auto";
    const prefix = manual ? `${manualMarker(manual)}: ` : "";
    this.events.normal(app, "SyncStarted", "Sync", `syncing revision ${artifact.revision} (${artifact.digest.slice(0, 19)}…)${manual ? " on manual request" : ""}`);
    const fail = (message: string, inv: InventoryEntry[], retryable = true): SyncOutcome => {
      this.events.warning(app, Reasons.syncFailed, "Sync", message);
      this.metrics.syncDuration.observe({ namespace: ns, name, result: "failed" }, (this.now() - start) / 1000);
      return {
        kind: "failed",
        message,
        inventory: inv,
        retryable,
        entry: { revision: artifact.revision, digest: artifact.digest, startedAt, finishedAt: metaTime(this.now()), phase: "Failed", message: clip(prefix + message), initiatedBy: by },
      };
    };
    let objects: KubeObject[];
    try {
      objects = await this.fetch(artifact.url, artifact.digest, ctx.signal);
    } catch (err) {
      return fail((err as Error).message, inventory);
    }
    const refusal = emptyRenderRefusal(objects.length, inventory.length, eff.allowEmpty);
    if (refusal) return fail(refusal, inventory, false);

    const { client, user } = this.identity(app);
    const owner = applicationLabelValue(app);
    const targetNamespace = app.spec.targetNamespace ?? ns;
    const applier = new Applier({
      client,
      owner,
      defaultNamespace: targetNamespace,
      createNamespace: eff.createNamespace && app.spec.targetNamespace ? app.spec.targetNamespace : undefined,
      force: eff.force,
      fieldManager: FieldManagers.apply,
      transform: this.ignoreTransform(app),
      inSync: eff.applyOutOfSyncOnly ? (body, live) => objectDrift(body, live, app.spec.ignoreDifferences as IgnoreRule[] | undefined).length === 0 : undefined,
      lookup: (kind, n, namespace) => (this.visible(kind, namespace) ? this.cached(kind, n, namespace, ctx.signal) : client.live().get(kind, n, namespace, { signal: ctx.signal })),
      signal: ctx.signal,
    });
    // Kustomize renders objects without apiVersion as kubectl kustomize does; they cannot be applied (no resource to
    // map them to), and no retry changes that: refuse the sync naming them.
    const unmapped = objects.filter((o) => typeof o.apiVersion !== "string" || !o.apiVersion);
    if (unmapped.length) {
      const names = unmapped.slice(0, 5).map((o) => `${o.kind ?? "object"} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name ?? "?"}`);
      return fail(`${unmapped.length} rendered object(s) have no apiVersion and cannot be applied: ${names.join(", ")}${unmapped.length > 5 ? ", …" : ""}; set apiVersion in the source`, inventory, false);
    }
    let waves;
    try {
      waves = groupWaves(objects);
    } catch (err) {
      return fail((err as Error).message, inventory, false);
    }
    // Waves in order (one wave when no object is annotated). With health.wait, each wave must be healthy before the
    // next is applied: the sync then returns "waiting" and resumes here on the next reconcile (woken by the wave's
    // watch events), without re-applying the waves already done.
    // Write-ahead: before each wave is applied, the inventory in status names every object of it, so a kill halfway
    // leaves none unrecorded (a later commit or a deletion still prunes them). Per wave, not for the whole render:
    // objects of waves not applied yet are not reported missing, and a sync waiting for a wave writes nothing.
    let recorded = inventory;
    const running: HistoryEntry = { revision: artifact.revision, digest: artifact.digest, startedAt, phase: "Running", message: `${prefix}${IN_PROGRESS}`, initiatedBy: by };
    const progress = mem.waves?.digest === artifact.digest ? mem.waves : undefined;
    mem.waves = undefined;
    const result: ApplyResult = { applied: [...(progress?.applied ?? [])], failures: [] };
    /** Inventory id → position of the wave it was applied in. */
    const waveOf = new Map(progress?.waveOf ?? []);
    const fresh = new Map<string, KubeObject>();
    for (let i = progress?.next ?? 0; i < waves.length; i++) {
      if (i > 0 && eff.healthWait) {
        const prev = waves[i - 1]!;
        const prevApplied = result.applied.filter((a) => waveOf.get(idOf(a.ref)) === i - 1);
        // The cache may still show an object from before this sync's apply: then the apply answer is fresher.
        const liveOf = new Map<string, KubeObject>();
        for (const a of prevApplied) {
          const id = idOf(a.ref);
          const kind = await this.kindOf(a.ref);
          const cachedObj = kind && this.visible(kind, a.ref.namespace) ? await this.cached(kind, a.ref.name, a.ref.namespace || undefined, ctx.signal).catch((err: unknown) => {
            if (err instanceof WatchNotReadyError) return undefined; // the apply answer stands in
            throw err;
          }) : undefined;
          const ours = fresh.get(id) ?? a.live;
          liveOf.set(id, cachedObj && (cachedObj.metadata?.generation ?? 0) >= (ours.metadata?.generation ?? 0) && !fresh.has(id) ? cachedObj : ours);
        }
        const h = await this.assess(app, inventoryOf(prevApplied.map((a) => a.ref)), liveOf, ctx.signal);
        if (h.status !== "Healthy") {
          const since = progress && progress.next === i ? progress.since : this.now();
          const deadline = since + eff.healthTimeoutMs;
          const merged = inventoryOf([...inventory.map(refOfEntry), ...result.applied.map((a) => a.ref)]);
          if (this.now() >= deadline) return fail(`wave ${prev.wave} is not healthy ${formatDuration(eff.healthTimeoutMs)} after it was applied (health timeout), so wave ${waves[i]!.wave} was not applied: ${h.message ?? h.status}`, merged);
          mem.waves = { digest: artifact.digest, next: i, since, applied: result.applied, waveOf };
          return { kind: "waiting", message: `waiting for wave ${prev.wave} to be healthy before applying wave ${waves[i]!.wave} (${i} of ${waves.length} waves applied): ${h.message ?? h.status}`, inventory: merged, deadline };
        }
      }
      try {
        recorded = await this.recordPlanned(app, recorded, await applier.plan(waves[i]!.objects, objects), running, ctx);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        return fail(`cannot record the objects about to be applied in status.sync.inventory: ${(err as Error).message}`, recorded);
      }
      let r: ApplyResult;
      try {
        r = await applier.apply(waves[i]!.objects);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        return fail(`apply failed: ${(err as Error).message}`, recorded);
      }
      for (const a of r.applied) {
        fresh.set(idOf(a.ref), a.live);
        waveOf.set(idOf(a.ref), i);
        mem.applied.set(idOf(a.ref), { uid: a.live.metadata?.uid, generation: a.live.metadata?.generation, rv: a.live.metadata?.resourceVersion, at: this.now(), staleRv: a.beforeRv });
        this.metrics.objectsApplied.inc({ namespace: ns, name, action: a.action });
      }
      result.applied.push(...r.applied);
      result.failures.push(...r.failures);
      if (r.createdNamespace) result.createdNamespace = r.createdNamespace;
      if (r.failures.length) break;
    }
    const appliedInv = inventoryOf(result.applied.map((a) => a.ref));
    if (!result.failures.length) {
      mem.rendered = { digest: artifact.digest, ids: new Set(appliedInv.map((e) => e.id)) };
      mem.desired = { digest: artifact.digest, json: JSON.stringify(result.applied.map((a) => [idOf(a.ref), a.rendered])) };
    }
    if (result.failures.length) {
      // Keep what was there, and track what this attempt created so a later prune can find it.
      const merged = inventoryOf([...inventory.map(refOfEntry), ...result.applied.map((a) => a.ref)]);
      const list = result.failures.map((f) => f.message).join("; ");
      return fail(`${result.failures.length} object(s) could not be applied${user ? ` as ${user}` : ""}: ${list}`, merged);
    }
    const recreated = result.applied.filter((a) => a.action === "recreated");
    if (recreated.length) this.events.warning(app, "Recreated", "Sync", `deleted and re-created (immutable fields changed, options.force): ${recreated.map((a) => describeRef(a.ref)).join(", ")}`);
    const stale = staleEntries(inventory, appliedInv);
    let pruned: PruneResult | undefined;
    let nextInventory = appliedInv;
    if (stale.length && eff.prune && !eff.pruneLast) {
      pruned = await this.pruneStale(app, stale, eff, ctx);
      // Failed deletions stay in the inventory so that the next sync tries again.
      nextInventory = inventoryOf([...result.applied.map((a) => a.ref), ...pruned.failures.map((f) => f.ref)]);
    } else if (stale.length && eff.prune && eff.pruneLast) {
      nextInventory = inventoryOf([...result.applied.map((a) => a.ref), ...stale.map(refOfEntry)]);
    }
    const count = (a: string) => result.applied.filter((x) => x.action === a).length;
    const parts = [`applied ${result.applied.length} object(s): ${count("created")} created, ${count("configured")} configured, ${count("unchanged")} unchanged`];
    if (recreated.length) parts.push(`${recreated.length} re-created (${recreated.map((a) => describeRef(a.ref)).join(", ")})`);
    if (pruned?.pruned.length) parts.push(`pruned ${pruned.pruned.length}`);
    if (pruned?.failures.length) parts.push(`${pruned.failures.length} prune failure(s): ${pruned.failures.map((f) => f.message).join("; ")}`);
    if (stale.length && !eff.prune) parts.push(`${stale.length} object(s) no longer rendered were kept (prune is off)`);
    if (stale.length && eff.prune && eff.pruneLast) parts.push(`${stale.length} object(s) will be pruned once the rest is healthy (pruneLast)`);
    if (result.createdNamespace) parts.push(`created namespace ${result.createdNamespace}`);
    const message = parts.join("; ");
    this.events.normal(app, Reasons.succeeded, "Sync", `revision ${artifact.revision}: ${message}`);
    this.metrics.syncDuration.observe({ namespace: ns, name, result: "succeeded" }, (this.now() - start) / 1000);
    ctx.log.info("synced", { revision: artifact.revision, applied: result.applied.length, pruned: pruned?.pruned.length ?? 0, key });
    return {
      kind: "succeeded",
      result,
      pruned,
      inventory: nextInventory,
      entry: { revision: artifact.revision, digest: artifact.digest, startedAt, finishedAt: metaTime(this.now()), phase: "Succeeded", message: clip(prefix + message), initiatedBy: by },
    };
  }

  private currentOwned(app: Application): OwnedStatus {
    const s = app.status ?? {};
    return {
      ...(s.observedGeneration !== undefined ? { observedGeneration: s.observedGeneration } : {}),
      ...(s.lastHandledReconcileAt !== undefined ? { lastHandledReconcileAt: s.lastHandledReconcileAt } : {}),
      sync: { ...(s.sync ?? {}), status: s.sync?.status ?? "Unknown", inventory: s.sync?.inventory ?? [] } as OwnedStatus["sync"],
      health: (s.health as OwnedStatus["health"]) ?? { status: "Unknown" },
      history: (s.history ?? []) as HistoryEntry[],
      conditions: ((s.conditions ?? []) as Condition[]).filter((c) => (OWNED_CONDITIONS as readonly string[]).includes(c.type)),
    };
  }

  /** Server-side apply of the owned status, skipped when it equals what the Application already shows. */
  /** Writes `inventory` plus the `planned` objects as status.sync.inventory when that adds any; returns the union. */
  private async recordPlanned(app: Application & KubeObject, inventory: InventoryEntry[], planned: ObjectRef[], running: HistoryEntry, ctx: ReconcileContext): Promise<InventoryEntry[]> {
    const known = new Set(inventory.map((e) => e.id));
    if (planned.every((r) => known.has(idOf(r)))) return inventory;
    const union = inventoryOf([...inventory.map(refOfEntry), ...planned]);
    const owned = this.currentOwned(app);
    // Synced=Unknown/Progressing until the final status: a process started after a kill here sees an unfinished
    // sync (not the last success) and syncs again, pruning what the next render no longer has. The history entry is
    // Running until the final status replaces it with the outcome; one still Running at the next reconcile is read
    // as interrupted (settleInterrupted). An interim write: the generation and reconcile request are marked handled
    // only by the sync's final status.
    const conditions = setCondition(owned.conditions, { type: ConditionTypes.synced, status: "Unknown", reason: Reasons.progressing, message: `applying ${planned.length} object(s); ${union.length - inventory.length} not applied before are recorded in the inventory first`, observedGeneration: app.metadata?.generation }, this.now());
    await this.writeStatus(app, { ...owned, sync: { ...owned.sync, inventory: union }, conditions, history: pushHistory(owned.history, running) }, ctx, { interim: true });
    return union;
  }

  private async writeStatus(app: Application & KubeObject, composed: OwnedStatus, ctx: ReconcileContext, o: { interim?: boolean } = {}): Promise<void> {
    // Every final status this controller writes was decided on this generation and after any pending reconcile request.
    const requested = app.metadata?.annotations?.[Annotations.reconcileRequestedAt];
    const owned: OwnedStatus = o.interim ? composed : {
      ...composed,
      ...(app.metadata?.generation !== undefined ? { observedGeneration: app.metadata.generation } : {}),
      ...(requested !== undefined ? { lastHandledReconcileAt: requested } : {}),
    };
    const current = this.currentOwned(app);
    const norm = (o: OwnedStatus) => canonicalJson({ ...o, conditions: [...o.conditions].sort((a, b) => (a.type < b.type ? -1 : 1)) });
    if (norm(current) === norm(owned)) return;
    const written = await this.mgr.client.applyStatus<Application & KubeObject>(
      { apiVersion: app.apiVersion, kind: app.kind, metadata: { name: app.metadata!.name, namespace: app.metadata!.namespace }, status: owned } as unknown as Application & KubeObject,
      { fieldManager: FieldManagers.sync, force: true, signal: ctx.signal },
    );
    this.mem(requestKey({ namespace: app.metadata!.namespace!, name: app.metadata!.name! })).lastOwned = this.currentOwned(written);
  }
}

/** The Application with the owned part of its status replaced by `owned` (other managers' conditions kept). */
function overlayOwned(app: Application & KubeObject, owned: OwnedStatus): Application & KubeObject {
  const others = ((app.status?.conditions ?? []) as Condition[]).filter((c) => !(OWNED_CONDITIONS as readonly string[]).includes(c.type));
  return {
    ...app,
    status: {
      ...(app.status ?? {}),
      observedGeneration: owned.observedGeneration,
      lastHandledReconcileAt: owned.lastHandledReconcileAt,
      sync: owned.sync,
      health: owned.health,
      history: owned.history,
      conditions: [...others, ...owned.conditions],
    },
  };
}

/** Application names that reference a SyncPolicy (for its watch). */
function applicationsUsing(mgr: Manager, policy: KubeObject): Request[] {
  const inf = mgr.cache.informerFor<Application & KubeObject>(ApplicationKind);
  return inf.store
    .list()
    .filter((a) => a.metadata?.namespace === policy.metadata?.namespace && a.spec?.syncPolicyRef?.name === policy.metadata?.name)
    .map((a) => ({ namespace: a.metadata!.namespace!, name: a.metadata!.name! }));
}

/** The render controller's failure message when it could not render the Application's current spec and source. */
function renderFailure(app: Application & KubeObject): string | undefined {
  const rendered = getCondition(app.status?.conditions ?? [], ConditionTypes.rendered);
  return rendered?.status === "False" && rendered.reason !== Reasons.suspended ? `render failed: ${rendered.message}` : undefined;
}

/**
 * Registers the apply controller with `mgr`: reconciles Applications, and is woken by their SyncPolicies and by
 * watch events of every object they applied (label-selected informers, one per kind).
 */
export function registerApplyController(mgr: Manager, config: ApplyConfig & Pick<OperatorConfig, "concurrency">, deps: ApplyControllerDeps = {}): { controller: Controller; reconciler: ApplyReconciler } {
  // The single-tenant opt-out: said once at start-up, since it gives every tenant the controller's own rights.
  if (!config.defaultServiceAccount) mgr.logger.info("Applications without spec.serviceAccountName are applied with the apply controller's own identity (--default-service-account is empty: the single-tenant opt-out)");
  if (config.allowCrossNamespaceRefs) mgr.logger.info("cross-namespace references are allowed (--allow-cross-namespace-refs): Applications may name sources, dependencies and health checks in other namespaces");
  const reconciler = new ApplyReconciler(mgr, config, deps);
  const controller = mgr
    .controller(APPLY_CONTROLLER_NAME)
    .for(ApplicationKind)
    .watches(SyncPolicyKind, (p) => applicationsUsing(mgr, p))
    .withOptions({ maxConcurrentReconciles: config.concurrency })
    .build(reconciler);
  reconciler.attach(controller);
  // dependsOn: a change of an Application's status re-enqueues the Applications that depend on it, found through
  // an index of the shared Application informer (never a scan).
  const apps = mgr.cache.informerFor<Application & KubeObject>(ApplicationKind);
  apps.addIndexers({ [DEPENDS_INDEX]: (a) => dependenciesOf(a) });
  controller.watch(apps, (dep) =>
    apps.store.byIndex(DEPENDS_INDEX, `${dep.metadata?.namespace}/${dep.metadata?.name}`).map((a) => ({ namespace: a.metadata!.namespace!, name: a.metadata!.name! })),
  );
  return { controller, reconciler };
}
