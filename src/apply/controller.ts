// The apply controller: makes the cluster match each Application's rendered artifact.
//
// Reconcile, for one Application (never told why it was called; it reads the current state every time):
//   guards: gone → forget it; deleting → finalize (./execute.ts) and remove the finalizer; no finalizer → add it
//           (that write triggers the next reconcile); a cross-namespace reference or a missing SyncPolicy → Stalled;
//   read:   the effective policy, the applied render (./observe.ts: memory, else the artifact server), drift and the
//           dependencies from the informer cache (no API request);
//   decide: what to do (./decide.ts, pure): idle, awaiting a render or a manual sync, blocked by a window or a
//           dependency, backoff, stalled, heal or sync;
//   execute: sync with waves (./sync.ts), heal (./execute.ts), or nothing;
//   status: syncPart → health from the cache → pruneLast → summarize (./summarize.ts, pure); a refused spec or a
//           watch that is not ready ends the reconcile early as a Stop (summarizeStop); either way ONE write by
//           server-side apply under `mooring-sync` (a StatusWriter: only when the owned part changed).
// A reconcile with nothing new (same digest, no drift) sends no request at all to the API server.
import { type Application, ApplicationDefaults } from "../api/application.js";
import { Annotations, FieldManagers, Finalizers, Reasons } from "../api/constants.js";
import { parseDuration } from "../api/duration.js";
import { ApplicationKind, SyncPolicyKind } from "../api/kinds.js";
import type { SyncPolicy } from "../api/syncpolicy.js";
import type { OperatorConfig } from "../config.js";
import type { Controller } from "../runtime/controller.js";
import { addFinalizer, hasFinalizer, isDeleting } from "../runtime/finalizers.js";
import type { KubeObject } from "../runtime/kinds.js";
import type { Manager } from "../runtime/manager.js";
import type { ReconcileContext, Request, Result } from "../runtime/reconcile.js";
import { requestKey } from "../runtime/reconcile.js";
import { StatusWriter } from "../runtime/status.js";
import { fetchRendered } from "./artifact.js";
import { type Decision, decide } from "./decide.js";
import { dependenciesOf } from "./depends.js";
import { type ApplyConfig, type ApplyEnv, finalize, heal, pruneStale } from "./execute.js";
import { healthCheckNamespace, healthCheckOutside, type Health } from "./health.js";
import { healthRuleProblem } from "./health-cel.js";
import { loadHealthLibrary } from "./health-library.js";
import { idOf } from "./inventory.js";
import { Memories, type Memory } from "./memory.js";
import { applyMetrics, type ApplyMetrics } from "./metrics.js";
import { type FetchRendered, assess, dependencyProblem, desiredFor, detectDrift } from "./observe.js";
import { type AppObject, type DriftItem, type OwnedStatus, type SyncOutcome, currentOwned, describeDrift, overlayOwned, renderFailure, stampOf } from "./owned.js";
import { type EffectivePolicy, type HistoryEntry, effectivePolicy, settleInterrupted } from "./policy.js";
import { type Note, type Stop, type Summary, type SyncPart, summarize, summarizeStop, syncPart } from "./summarize.js";
import { type Artifact, runSync } from "./sync.js";
import { type RollbackHold, historyLimitOf, rollbackHold } from "./history.js";
import { ClusterView, WatchNotReadyError } from "./watches.js";
import { Clusters } from "./clusters.js";
import { applicationPriority } from "./priority.js";

export const APPLY_CONTROLLER_NAME = "apply";
export type { ApplyConfig } from "./execute.js";

/** The operator settings the apply controller reads, and what tests may replace. */
export interface ApplyControllerOptions extends ApplyConfig, Pick<OperatorConfig, "concurrency"> {
  /** Downloads and verifies a rendered artifact (tests may wrap it). */
  fetchRendered?: FetchRendered;
  /** Clock for timestamps and timeouts (ms since epoch). */
  now?: () => number;
  /** How long a reconcile waits for a kind's watch cache before reporting WatchFailed (default 15 s). */
  cacheSyncTimeoutMs?: number;
}

/** Name of the Application informer index: "namespace/name" of each dependency. */
const DEPENDS_INDEX = "mooring.dependsOn";
/** spec.interval is capped at a day: Node's timers overflow past ~24.8 days (a longer timeout fires at once). */
const MAX_INTERVAL_MS = 86_400_000;

/** How a reconcile (past its guards) ends: stopped before syncing (./summarize.ts Stop), or with a sync's summary. */
type Ending = Stop | { kind: "reconciled"; summary: Summary };

/** What a reconcile read before deciding. */
interface Observed {
  eff: EffectivePolicy;
  policy?: SyncPolicy;
  artifact?: Artifact;
  desired?: Map<string, KubeObject>;
  drift: { items: DriftItem[]; recheckAt?: number };
}

export class ApplyReconciler {
  readonly metrics: ApplyMetrics;
  private readonly env: ApplyEnv;
  private readonly memory = new Memories();
  /** The cluster each Application applies to: this one, or a remote one (spec.kubeConfig, ./clusters.ts). */
  readonly clusters: Clusters;

  constructor(mgr: Manager, opts: Omit<ApplyControllerOptions, "concurrency">) {
    const { fetchRendered: fetchOverride, now, cacheSyncTimeoutMs, ...rest } = opts;
    // The default health rules are read once; one that does not compile stops the start-up (./health-library.ts).
    const config = { ...rest, healthRules: rest.healthRules ?? (rest.healthRulesFile ? loadHealthLibrary(rest.healthRulesFile) : undefined) };
    this.metrics = applyMetrics(mgr.metrics.registry, { maxApplications: config.metricsMaxApplications });
    this.env = {
      mgr,
      config,
      view: new ClusterView(mgr, config, cacheSyncTimeoutMs ?? 15_000),
      metrics: this.metrics,
      events: mgr.eventRecorder("mooring-apply"),
      now: now ?? Date.now,
      fetch: fetchOverride ?? ((url, digest, signal) => fetchRendered(url, digest, { signal })),
      writer: new StatusWriter<OwnedStatus>({ client: mgr.client, fieldManager: FieldManagers.sync, ownedOf: currentOwned }),
    };
    this.clusters = new Clusters(mgr, config, cacheSyncTimeoutMs ?? 15_000, this.env.view);
  }

  attach(controller: Controller): void {
    this.env.view.attach(controller);
    this.clusters.attach(controller);
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result> {
    const key = requestKey(req);
    const read = await this.env.mgr.client.get<AppObject>(ApplicationKind, req.name, req.namespace);
    if (!read) {
      this.forget(req);
      return {};
    }
    const mem = this.memory.claim(key, read.metadata?.uid);
    // This controller is the only writer of its part of the status: its last write is the truth even while the
    // cache still shows an older object (a stale read must never re-run a sync or drop a history entry).
    const last = this.env.writer.lastWritten(read);
    const app = last ? overlayOwned(read, last) : read;
    // The cluster its objects are on (a remote one when spec.kubeConfig says so), or why it cannot be used now.
    const place = await this.clusters.place(app, ctx.signal);
    // This reconcile's reads of the cluster are held for this Application (released when no longer read, or gone).
    const env: ApplyEnv = { ...this.env, view: place.view.scoped(key) };
    if (isDeleting(app)) {
      if (hasFinalizer(app, Finalizers.application)) {
        if (place.problem) await this.clusters.finalizeWithout(env, app, place, ctx);
        else await finalize(env, app, await this.policyOf(app), ctx);
        this.forget(req);
      }
      return {};
    }
    if (!hasFinalizer(app, Finalizers.application)) {
      await addFinalizer(this.env.mgr.client, app, Finalizers.application, { signal: ctx.signal });
      return {};
    }
    return this.run(env, read, app, mem, ctx, place.problem);
  }

  /**
   * The guards passed: the steps end in one Ending, which becomes the owned status, written once — compared with the
   * object as `read` (not the overlay of the last write), so a status someone else edited is written back.
   */
  private async run(env: ApplyEnv, read: AppObject, app: AppObject, mem: Memory, ctx: ReconcileContext, stop?: Stop): Promise<Result> {
    const end = stop ?? (await this.steps(env, app, mem, ctx));
    // The status as last written, which may be this sync's write-ahead record: the inventory it added must stay.
    const { owned, requeueAfter } = end.kind === "reconciled" ? end.summary : summarizeStop(this.env.writer.current(app), end, stampOf(app, this.env.now()));
    await this.env.writer.write(read, owned, { signal: ctx.signal });
    // Drift and health were read: informers this reconcile neither read nor applied objects of are not needed.
    if (end.kind === "reconciled") await env.view.releaseUnused(owned.sync.inventory);
    return requeueAfter === undefined ? {} : { requeueAfter };
  }

  /** A refused spec stops here; else sync; a kind whose watch is not ready stops it wherever it is read. */
  private async steps(env: ApplyEnv, app: AppObject, mem: Memory, ctx: ReconcileContext): Promise<Ending> {
    try {
      const checked = await this.refusal(app);
      if (checked.refused) return checked.refused;
      return { kind: "reconciled", summary: await this.sync(env, app, mem, checked.policy, ctx) };
    } catch (err) {
      if (!(err instanceof WatchNotReadyError)) throw err;
      ctx.log.warn("cannot watch the Application's objects", { key: requestKey({ namespace: app.metadata!.namespace!, name: app.metadata!.name! }), error: err.message });
      return { kind: "watchFailed", message: err.message };
    }
  }

  private forget(req: Request): void {
    this.memory.forget(requestKey(req));
    this.env.view.forget(requestKey(req));
    this.clusters.forget(requestKey(req));
    this.env.writer.forget(req);
    this.metrics.forget(req.namespace, req.name);
  }

  private async policyOf(app: Application): Promise<{ policy?: SyncPolicy; missing?: string }> {
    const ref = app.spec.syncPolicyRef;
    if (!ref) return {};
    const policy = await this.env.mgr.client.get<SyncPolicy & KubeObject>(SyncPolicyKind, ref.name, app.metadata!.namespace);
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
    if (this.env.config.allowCrossNamespaceRefs) return undefined;
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
      const kind = await this.env.view.kindOf({ apiVersion: hc.apiVersion, kind: hc.kind, name: hc.name, namespace: healthCheckNamespace(app, hc) });
      const outside = healthCheckOutside(app, hc, i, kind?.namespaced);
      if (outside) return refused(outside);
    }
    return undefined;
  }

  /** A spec the controller refuses (a cross-namespace reference, a health rule that does not compile, a missing SyncPolicy): Stalled until it changes. */
  private async refusal(app: AppObject): Promise<{ policy?: SyncPolicy; refused?: Stop }> {
    const crossRef = await this.crossNamespaceRef(app);
    const badRule = healthRuleProblem(app);
    const { policy, missing } = await this.policyOf(app);
    const problem = crossRef ?? badRule ?? (missing ? `SyncPolicy ${app.metadata!.namespace}/${missing} does not exist; create it or fix spec.syncPolicyRef` : undefined);
    if (!problem) return { policy };
    return { refused: { kind: "refused", reason: crossRef ? Reasons.crossNamespaceRefForbidden : badRule ? Reasons.healthRuleInvalid : Reasons.syncPolicyNotFound, message: problem } };
  }

  /** Observe → decide → execute → the owned status (./summarize.ts), with the events and metrics it implies. */
  private async sync(env: ApplyEnv, app: AppObject, mem: Memory, policy: SyncPolicy | undefined, ctx: ReconcileContext): Promise<Summary> {
    const now = this.env.now();
    const owned = currentOwned(app);
    const history = settleInterrupted(owned.history);
    const hold = rollbackHold({ annotation: app.metadata?.annotations?.[Annotations.rollback], previous: owned.rollback, history, renderRevision: app.status?.render?.artifact?.revision });
    const seen = await this.observe(env, app, mem, policy, history, hold, ctx);
    const decision = decide({
      now,
      generation: app.metadata?.generation,
      suspend: !!app.spec.suspend,
      artifact: seen.artifact,
      history,
      conditions: owned.conditions,
      policy: seen.eff,
      windows: policy?.spec?.windows,
      syncRequestedAt: app.metadata?.annotations?.[Annotations.syncRequestedAt],
      memory: { handledManual: mem.handledManual, retryResetAt: mem.retryResetAt, wavesDigest: mem.waves?.digest },
      drift: { ids: seen.drift.items.map((d) => d.id).sort(), text: seen.drift.items.map((d) => describeDrift(d)).join("; ") },
      desiredKnown: seen.desired !== undefined,
      dependency: app.spec.dependsOn?.length ? dependencyProblem(this.env.mgr, app) : undefined,
      rollback: hold.kind === "hold" ? (hold.isNew ? { request: hold.request.requestedAt } : {}) : hold.kind === "refused" ? { refused: hold.message } : undefined,
    });
    if (decision.resetRetries) mem.retryResetAt = now;
    const outcome = await this.execute(env, decision, app, mem, seen, owned, ctx);
    const part = syncPart({
      now, generation: app.metadata?.generation, suspend: !!app.spec.suspend, artifact: seen.artifact, owned, history, policy: seen.eff, decision, outcome, drift: seen.drift.items,
      recheckAt: seen.drift.recheckAt, retryResetAt: mem.retryResetAt, historyLimit: historyLimitOf(app), hold, appName: app.metadata!.name!,
    });
    this.record(app, part.notes);
    const labels = { namespace: app.metadata!.namespace!, name: app.metadata!.name! };
    if (part.newlyDrifted.length) this.metrics.driftDetected.inc(labels, part.newlyDrifted.length);
    this.metrics.drifted.set(labels, part.drifted.length);
    const health = await this.healthAndPruneLast(env, app, mem, part, seen, outcome, ctx);
    const summary = summarize(part, health, {
      now,
      generation: app.metadata?.generation,
      suspend: !!app.spec.suspend,
      hasArtifact: seen.artifact !== undefined,
      renderFailure: renderFailure(app),
      policy: seen.eff,
      previousHealth: app.status?.health?.status,
      intervalMs: Math.min(parseDuration(app.spec.interval ?? ApplicationDefaults.interval), MAX_INTERVAL_MS),
      stamp: stampOf(app, now),
      outcome,
    });
    this.record(app, summary.notes);
    this.metrics.setHealth(labels.namespace, labels.name, summary.health.status);
    return summary;
  }

  /** The policy, the rendered artifact, the applied render and drift: everything decide() needs from outside. */
  private async observe(env: ApplyEnv, app: AppObject, mem: Memory, policy: SyncPolicy | undefined, history: readonly HistoryEntry[], hold: RollbackHold, ctx: ReconcileContext): Promise<Observed> {
    const eff = effectivePolicy(app, policy);
    // A rollback holds the Application at its target: that artifact is what is synced, compared and healed.
    const artifact = hold.kind === "hold" ? hold.target : app.status?.render?.artifact;
    const lastSuccess = history.find((h) => h.phase === "Succeeded");
    const desired = app.spec.suspend || !artifact ? undefined : await desiredFor(env, app, mem, artifact, lastSuccess?.digest, ctx);
    const inventory = app.status?.sync?.inventory ?? [];
    const drift = app.spec.suspend ? { items: [] } : await detectDrift(env.view, this.env.now(), app, inventory, mem, desired, ctx.signal);
    return { eff, policy, artifact, desired, drift };
  }

  /** Carries out the decision: a sync or a heal; a blocked decision becomes the outcome that says why. */
  private async execute(env: ApplyEnv, decision: Decision, app: AppObject, mem: Memory, seen: Observed, owned: OwnedStatus, ctx: ReconcileContext): Promise<SyncOutcome> {
    switch (decision.kind) {
      case "heal":
        return heal(env, app, mem, seen.eff, seen.drift.items, seen.desired!, seen.artifact!, ctx);
      case "sync": {
        const outcome = await runSync(env, app, mem, seen.eff, seen.artifact!, owned.sync.inventory, { manual: decision.manual, trigger: decision.trigger, historyLimit: historyLimitOf(app) }, ctx);
        if (decision.manual) mem.handledManual = decision.manual;
        return outcome;
      }
      case "blockedByWindow":
        return { kind: "blocked", reason: decision.reason, message: decision.message, retryAt: decision.retryAt };
      case "blockedByDependency":
        return { kind: "blocked", reason: Reasons.dependencyNotReady, message: decision.message };
      case "suspended":
      case "held":
      case "awaitingRender":
      case "idle":
      case "awaitingManualSync":
      case "stalled":
      case "backoff":
        return { kind: "none" };
    }
  }

  /**
   * Health of what is applied (pending prunes excluded), from the informer cache or the fresh apply answers; then
   * pruneLast: prune what left the render once everything else is healthy (part.inventory loses what was pruned).
   */
  private async healthAndPruneLast(env: ApplyEnv, app: AppObject, mem: Memory, part: SyncPart, seen: Observed, outcome: SyncOutcome, ctx: ReconcileContext): Promise<Health> {
    const artifact = seen.artifact;
    const renderedIds = mem.rendered && artifact && mem.rendered.digest === artifact.digest ? mem.rendered.ids : undefined;
    const current = renderedIds ? part.inventory.filter((e) => renderedIds.has(e.id)) : part.inventory;
    const health: Health =
      part.inventory.length === 0 && !part.history.some((e) => e.phase === "Succeeded")
        ? { status: "Unknown", message: "nothing has been applied yet" }
        : await assess(env.view, app, mem, current, part.fresh, ctx.signal);
    if (renderedIds && seen.eff.prune && seen.eff.pruneLast && outcome.kind !== "failed" && !app.spec.suspend && health.status === "Healthy") {
      const stale = part.inventory.filter((e) => !renderedIds.has(e.id));
      if (stale.length) {
        const pr = await pruneStale(env, app, stale, seen.eff, ctx);
        const keep = new Set(pr.failures.map((f) => idOf(f.ref)));
        part.inventory = part.inventory.filter((e) => renderedIds.has(e.id) || keep.has(e.id));
      }
    }
    return health;
  }

  private record(app: AppObject, notes: readonly Note[]): void {
    for (const n of notes) {
      if (n.type === "Warning") this.env.events.warning(app, n.reason, n.action, n.message);
      else this.env.events.normal(app, n.reason, n.action, n.message);
    }
  }
}

/** Application names that reference a SyncPolicy (for its watch). */
function applicationsUsing(mgr: Manager, policy: KubeObject): Request[] {
  const inf = mgr.cache.informerFor<AppObject>(ApplicationKind);
  return inf.store
    .list()
    .filter((a) => a.metadata?.namespace === policy.metadata?.namespace && a.spec?.syncPolicyRef?.name === policy.metadata?.name)
    .map((a) => ({ namespace: a.metadata!.namespace!, name: a.metadata!.name! }));
}

export interface ApplyController {
  controller: Controller;
  reconciler: ApplyReconciler;
}

/**
 * Sets up the apply controller on `mgr`: reconciles Applications, and is woken by their SyncPolicies and by
 * watch events of every object they applied (label-selected informers, one per kind).
 */
export function setupApplyController(mgr: Manager, opts: ApplyControllerOptions): ApplyController {
  // The single-tenant opt-out: said once at start-up, since it gives every tenant the controller's own rights.
  if (!opts.defaultServiceAccount) mgr.logger.info("Applications without spec.serviceAccountName are applied with the apply controller's own identity (--default-service-account is empty: the single-tenant opt-out)");
  if (opts.allowCrossNamespaceRefs) mgr.logger.info("cross-namespace references are allowed (--allow-cross-namespace-refs): Applications may name sources, dependencies and health checks in other namespaces");
  const reconciler = new ApplyReconciler(mgr, opts);
  const controller = mgr
    .controller(APPLY_CONTROLLER_NAME)
    .for<AppObject>(ApplicationKind, { priority: applicationPriority })
    .watches(SyncPolicyKind, (p) => applicationsUsing(mgr, p))
    .withOptions({ maxConcurrentReconciles: opts.concurrency })
    .build(reconciler);
  reconciler.attach(controller);
  // dependsOn: a change of an Application's status re-enqueues the Applications that depend on it, found through
  // an index of the shared Application informer (never a scan).
  const apps = mgr.cache.informerFor<AppObject>(ApplicationKind);
  apps.addIndexers({ [DEPENDS_INDEX]: (a) => dependenciesOf(a) });
  controller.watch(apps, (dep) =>
    apps.store.byIndex(DEPENDS_INDEX, `${dep.metadata?.namespace}/${dep.metadata?.name}`).map((a) => ({ namespace: a.metadata!.namespace!, name: a.metadata!.name! })),
  );
  return { controller, reconciler };
}
