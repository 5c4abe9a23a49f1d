// A full sync of one Application: download and verify the rendered artifact → refuse what cannot be applied →
// apply wave by wave (each wave recorded in the inventory first: write-ahead) → prune what left the render (unless
// pruneLast) → the outcome with its history entry. With health.wait, a wave that is not healthy yet ends the sync as
// "waiting"; the next reconcile resumes at that wave (mem.waves) without re-applying the waves before it.
import { ConditionTypes, Reasons } from "../api/constants.js";
import { formatDuration } from "../api/duration.js";
import { setCondition } from "../runtime/conditions.js";
import type { KubeObject } from "../runtime/kinds.js";
import type { ReconcileContext } from "../runtime/reconcile.js";
import type { Applier, ApplyResult } from "./applier.js";
import type { PruneResult } from "./prune.js";
import { type IgnoreRule, type Wave, groupWaves, objectDrift } from "./drift.js";
import { type ApplyEnv, applierFor, identity, pruneStale } from "./execute.js";
import { type InventoryEntry, type ObjectRef, describeRef, idOf, inventoryOf, refOfEntry, staleEntries } from "./inventory.js";
import { type Memory, type WavesInProgress, rememberApplied } from "./memory.js";
import { assess } from "./observe.js";
import { type AppObject, type SyncOutcome, clip, currentOwned, metaTime } from "./owned.js";
import { type EffectivePolicy, type HistoryEntry, IN_PROGRESS, emptyRenderRefusal, manualMarker, pushHistory } from "./policy.js";
import { type HistoryTrigger, changesOf, describeCommit, initiatedByOf } from "./history.js";
import type { CommitMetadata } from "../api/gitrepository.js";
import { WatchNotReadyError } from "./watches.js";

export type Artifact = { url: string; digest: string; revision: string; commit?: CommitMetadata };

/** Why this sync runs and how its history entry is kept. */
export interface SyncRequest {
  /** The manual-sync request (sync-requested-at) it answers. */
  manual?: string;
  trigger: HistoryTrigger;
  /** spec.historyLimit. */
  historyLimit: number;
}

interface Prepared {
  objects: KubeObject[];
  waves: Wave[];
  applier: Applier;
  user?: string;
}

/** Runs a full sync; resolves with its outcome (never throws for a sync failure, only when ctx.signal aborts). */
export function runSync(env: ApplyEnv, app: AppObject, mem: Memory, eff: EffectivePolicy, artifact: Artifact, inventory: InventoryEntry[], request: SyncRequest, ctx: ReconcileContext): Promise<SyncOutcome> {
  return new SyncRun(env, app, mem, eff, artifact, inventory, request, ctx).run();
}

class SyncRun {
  private readonly start: number;
  private readonly startedAt: string;
  private readonly manual: string | undefined;
  private readonly prefix: string;
  private readonly ns: string;
  private readonly name: string;

  constructor(
    private readonly env: ApplyEnv,
    private readonly app: AppObject,
    private readonly mem: Memory,
    private readonly eff: EffectivePolicy,
    private readonly artifact: Artifact,
    private readonly inventory: InventoryEntry[],
    private readonly request: SyncRequest,
    private readonly ctx: ReconcileContext,
  ) {
    this.start = env.now();
    this.startedAt = metaTime(this.start);
    this.manual = request.manual;
    this.prefix = request.manual ? `${manualMarker(request.manual)}: ` : "";
    this.ns = app.metadata!.namespace!;
    this.name = app.metadata!.name!;
  }

  async run(): Promise<SyncOutcome> {
    const { artifact } = this;
    const commit = describeCommit(artifact.commit);
    this.env.events.normal(this.app, "SyncStarted", "Sync", clip(`${this.request.trigger} sync of revision ${artifact.revision}${commit ? ` (${commit})` : ""} started, rendered ${artifact.digest.slice(0, 19)}…`));
    const prepared = await this.prepare();
    if ("kind" in prepared) return prepared;
    const applied = await this.applyWaves(prepared);
    if ("kind" in applied) return applied;
    return this.finish(applied, prepared.user);
  }

  private fail(message: string, inventory: InventoryEntry[], retryable = true, result?: ApplyResult): SyncOutcome {
    const commit = describeCommit(this.artifact.commit);
    this.env.events.warning(this.app, Reasons.syncFailed, "Sync", clip(`${this.request.trigger} sync of revision ${this.artifact.revision}${commit ? ` (${commit})` : ""} failed: ${message}`));
    this.env.metrics.syncDuration.observe({ namespace: this.ns, name: this.name, result: "failed" }, (this.env.now() - this.start) / 1000);
    return { kind: "failed", message, inventory, retryable, entry: this.entry("Failed", message, { finished: true, changes: changesOf(result, undefined) }) };
  }

  /** This sync's history entry: the artifact, its commit, the trigger, the result and the objects changed. */
  private entry(phase: HistoryEntry["phase"], message: string, o: { finished: boolean; changes?: HistoryEntry["changes"] }): HistoryEntry {
    const a = this.artifact;
    return {
      revision: a.revision,
      digest: a.digest,
      startedAt: this.startedAt,
      ...(o.finished ? { finishedAt: metaTime(this.env.now()) } : {}),
      phase,
      message: clip(this.prefix + message),
      initiatedBy: initiatedByOf(this.request.trigger),
      trigger: this.request.trigger,
      ...(a.commit ? { commit: a.commit } : {}),
      url: a.url,
      ...(o.changes ? { changes: o.changes } : {}),
    };
  }

  /** Download and verify; refuse an empty render over objects, objects without apiVersion and bad wave annotations. */
  private async prepare(): Promise<Prepared | SyncOutcome> {
    const { env, app, eff, inventory, ctx } = this;
    let objects: KubeObject[];
    try {
      objects = await env.fetch(this.artifact.url, this.artifact.digest, ctx.signal);
    } catch (err) {
      return this.fail((err as Error).message, inventory);
    }
    const refusal = emptyRenderRefusal(objects.length, inventory.length, eff.allowEmpty);
    if (refusal) return this.fail(refusal, inventory, false);
    const { client, user } = identity(env, app);
    const applier = applierFor(env, app, client, {
      force: eff.force,
      createNamespace: eff.createNamespace && app.spec.targetNamespace ? app.spec.targetNamespace : undefined,
      inSync: eff.applyOutOfSyncOnly ? (body, live) => objectDrift(body, live, app.spec.ignoreDifferences as IgnoreRule[] | undefined).length === 0 : undefined,
    }, ctx.signal);
    // Kustomize renders objects without apiVersion as kubectl kustomize does; they cannot be applied (no resource to
    // map them to), and no retry changes that: refuse the sync naming them.
    const unmapped = objects.filter((o) => typeof o.apiVersion !== "string" || !o.apiVersion);
    if (unmapped.length) {
      const names = unmapped.slice(0, 5).map((o) => `${o.kind ?? "object"} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name ?? "?"}`);
      return this.fail(`${unmapped.length} rendered object(s) have no apiVersion and cannot be applied: ${names.join(", ")}${unmapped.length > 5 ? ", …" : ""}; set apiVersion in the source`, inventory, false);
    }
    try {
      return { objects, waves: groupWaves(objects), applier, user };
    } catch (err) {
      return this.fail((err as Error).message, inventory, false);
    }
  }

  /**
   * Waves in order (one wave when no object is annotated). With health.wait, each wave must be healthy before the
   * next is applied: the sync then returns "waiting" and resumes here on the next reconcile (woken by the wave's
   * watch events), without re-applying the waves already done.
   * Write-ahead: before each wave is applied, the inventory in status names every object of it, so a kill halfway
   * leaves none unrecorded (a later commit or a deletion still prunes them). Per wave, not for the whole render:
   * objects of waves not applied yet are not reported missing, and a sync waiting for a wave writes nothing.
   */
  private async applyWaves(p: Prepared): Promise<ApplyResult | SyncOutcome> {
    const { env, mem, artifact, ctx, inventory } = this;
    let recorded = inventory;
    const running = this.entry("Running", IN_PROGRESS, { finished: false });
    const progress = mem.waves?.digest === artifact.digest ? mem.waves : undefined;
    mem.waves = undefined;
    const result: ApplyResult = { applied: [...(progress?.applied ?? [])], failures: [] };
    /** Inventory id → position of the wave it was applied in. */
    const waveOf = new Map(progress?.waveOf ?? []);
    const fresh = new Map<string, KubeObject>();
    for (let i = progress?.next ?? 0; i < p.waves.length; i++) {
      if (i > 0 && this.eff.healthWait) {
        const held = await this.holdForWave(p.waves, i, result, waveOf, fresh, progress);
        if (held) return held;
      }
      try {
        recorded = await this.recordPlanned(recorded, await p.applier.plan(p.waves[i]!.objects, p.objects), running);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        return this.fail(`cannot record the objects about to be applied in status.sync.inventory: ${(err as Error).message}`, recorded);
      }
      let r: ApplyResult;
      try {
        r = await p.applier.apply(p.waves[i]!.objects);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        return this.fail(`apply failed: ${(err as Error).message}`, recorded);
      }
      for (const a of r.applied) {
        fresh.set(idOf(a.ref), a.live);
        waveOf.set(idOf(a.ref), i);
        rememberApplied(mem, idOf(a.ref), a.live, env.now(), a.beforeRv);
        env.metrics.objectsApplied.inc({ namespace: this.ns, name: this.name, action: a.action });
      }
      result.applied.push(...r.applied);
      result.failures.push(...r.failures);
      if (r.createdNamespace) result.createdNamespace = r.createdNamespace;
      if (r.failures.length) break;
    }
    return result;
  }

  /** Before wave i: the previous wave's health. Not healthy yet: "waiting" (or failed at the health timeout). */
  private async holdForWave(waves: Wave[], i: number, result: ApplyResult, waveOf: Map<string, number>, fresh: Map<string, KubeObject>, progress: WavesInProgress | undefined): Promise<SyncOutcome | undefined> {
    const { env, ctx } = this;
    const prev = waves[i - 1]!;
    const prevApplied = result.applied.filter((a) => waveOf.get(idOf(a.ref)) === i - 1);
    // The cache may still show an object from before this sync's apply: then the apply answer is fresher.
    const liveOf = new Map<string, KubeObject>();
    for (const a of prevApplied) {
      const id = idOf(a.ref);
      const kind = await env.view.kindOf(a.ref);
      const cachedObj = kind && env.view.visible(kind, a.ref.namespace) ? await env.view.cached(kind, a.ref.name, a.ref.namespace || undefined, ctx.signal).catch((err: unknown) => {
        if (err instanceof WatchNotReadyError) return undefined; // the apply answer stands in
        throw err;
      }) : undefined;
      const ours = fresh.get(id) ?? a.live;
      liveOf.set(id, cachedObj && (cachedObj.metadata?.generation ?? 0) >= (ours.metadata?.generation ?? 0) && !fresh.has(id) ? cachedObj : ours);
    }
    const h = await assess(env.view, this.app, this.mem, inventoryOf(prevApplied.map((a) => a.ref)), liveOf, ctx.signal);
    if (h.status === "Healthy") return undefined;
    const since = progress && progress.next === i ? progress.since : env.now();
    const deadline = since + this.eff.healthTimeoutMs;
    const merged = inventoryOf([...this.inventory.map(refOfEntry), ...result.applied.map((a) => a.ref)]);
    if (env.now() >= deadline) return this.fail(`wave ${prev.wave} is not healthy ${formatDuration(this.eff.healthTimeoutMs)} after it was applied (health timeout), so wave ${waves[i]!.wave} was not applied: ${h.message ?? h.status}`, merged);
    this.mem.waves = { digest: this.artifact.digest, next: i, since, applied: result.applied, waveOf };
    return { kind: "waiting", message: `waiting for wave ${prev.wave} to be healthy before applying wave ${waves[i]!.wave} (${i} of ${waves.length} waves applied, ${result.applied.length} objects): ${h.message ?? h.status}`, inventory: merged, deadline };
  }

  /** Everything applied (or some objects failed): remember the render, prune, and say what was done. */
  private async finish(result: ApplyResult, user: string | undefined): Promise<SyncOutcome> {
    const { env, app, mem, eff, artifact, inventory, ctx } = this;
    const appliedInv = inventoryOf(result.applied.map((a) => a.ref));
    if (result.failures.length) {
      // Keep what was there, and track what this attempt created so a later prune can find it.
      const merged = inventoryOf([...inventory.map(refOfEntry), ...result.applied.map((a) => a.ref)]);
      const list = result.failures.map((f) => f.message).join("; ");
      return this.fail(`${result.failures.length} object(s) could not be applied${user ? ` as ${user}` : ""}: ${list}`, merged, true, result);
    }
    mem.rendered = { digest: artifact.digest, ids: new Set(appliedInv.map((e) => e.id)) };
    mem.desired = { digest: artifact.digest, json: JSON.stringify(result.applied.map((a) => [idOf(a.ref), a.rendered])) };
    const recreated = result.applied.filter((a) => a.action === "recreated");
    if (recreated.length) env.events.warning(app, "Recreated", "Sync", `deleted and re-created (immutable fields changed, options.force): ${recreated.map((a) => describeRef(a.ref)).join(", ")}`);
    const stale = staleEntries(inventory, appliedInv);
    let pruned: PruneResult | undefined;
    let nextInventory = appliedInv;
    if (stale.length && eff.prune && !eff.pruneLast) {
      pruned = await pruneStale(env, app, stale, eff, ctx);
      // Failed deletions stay in the inventory so that the next sync tries again.
      nextInventory = inventoryOf([...result.applied.map((a) => a.ref), ...pruned.failures.map((f) => f.ref)]);
    } else if (stale.length && eff.prune && eff.pruneLast) {
      nextInventory = inventoryOf([...result.applied.map((a) => a.ref), ...stale.map(refOfEntry)]);
    }
    const message = describeSync(result, recreated.length, pruned, stale.length, eff);
    const entry = this.entry("Succeeded", message, { finished: true, changes: changesOf(result, pruned) });
    const commit = describeCommit(artifact.commit);
    env.events.normal(app, Reasons.succeeded, "Sync", clip(`${this.request.trigger} sync of revision ${artifact.revision}${commit ? ` (${commit})` : ""} succeeded: ${message}; rendered ${artifact.digest.slice(0, 19)}…`));
    env.metrics.syncDuration.observe({ namespace: this.ns, name: this.name, result: "succeeded" }, (env.now() - this.start) / 1000);
    ctx.log.info("synced", { revision: artifact.revision, applied: result.applied.length, pruned: pruned?.pruned.length ?? 0, key: `${this.ns}/${this.name}` });
    return { kind: "succeeded", result, pruned, inventory: nextInventory, entry };
  }

  /**
   * Writes `inventory` plus the `planned` objects as status.sync.inventory when that adds any; returns the union.
   * Synced=Unknown/Progressing until the final status: a process started after a kill here sees an unfinished sync
   * (not the last success) and syncs again, pruning what the next render no longer has. The history entry is
   * Running until the final status replaces it with the outcome; one still Running at the next reconcile is read as
   * interrupted (settleInterrupted). An interim write: the generation and reconcile request are marked handled only
   * by the sync's final status.
   */
  private async recordPlanned(inventory: InventoryEntry[], planned: ObjectRef[], running: HistoryEntry): Promise<InventoryEntry[]> {
    const known = new Set(inventory.map((e) => e.id));
    if (planned.every((r) => known.has(idOf(r)))) return inventory;
    const union = inventoryOf([...inventory.map(refOfEntry), ...planned]);
    // The status as this reconcile read it (each wave's record replaces the previous one: one Running entry).
    const owned = currentOwned(this.app);
    const conditions = setCondition(owned.conditions, { type: ConditionTypes.synced, status: "Unknown", reason: Reasons.progressing, message: `applying ${planned.length} object(s); ${union.length - inventory.length} not applied before are recorded in the inventory first`, observedGeneration: this.app.metadata?.generation }, this.env.now());
    await this.env.writer.write(this.app, { ...owned, sync: { ...owned.sync, inventory: union }, conditions, history: pushHistory(owned.history, running, this.request.historyLimit) }, { signal: this.ctx.signal });
    return union;
  }
}

/** The sync's message: what was applied, re-created, pruned or kept. */
function describeSync(result: ApplyResult, recreated: number, pruned: PruneResult | undefined, stale: number, eff: EffectivePolicy): string {
  const count = (a: string) => result.applied.filter((x) => x.action === a).length;
  const parts = [`applied ${result.applied.length} object(s): ${count("created")} created, ${count("configured")} configured, ${count("unchanged")} unchanged`];
  if (recreated) parts.push(`${recreated} re-created (${result.applied.filter((a) => a.action === "recreated").map((a) => describeRef(a.ref)).join(", ")})`);
  if (pruned?.pruned.length) parts.push(`pruned ${pruned.pruned.length}`);
  if (pruned?.failures.length) parts.push(`${pruned.failures.length} prune failure(s): ${pruned.failures.map((f) => f.message).join("; ")}`);
  if (stale && !eff.prune) parts.push(`${stale} object(s) no longer rendered were kept (prune is off)`);
  if (stale && eff.prune && eff.pruneLast) parts.push(`${stale} object(s) will be pruned once the rest is healthy (pruneLast)`);
  if (result.createdNamespace) parts.push(`created namespace ${result.createdNamespace}`);
  return parts.join("; ");
}
