// The render controller's render step: render an Application's source with its inputs, or skip the render.
//   key:      renderCacheKey of the source digest, the Application, its spec and inputs (plus, for charts, what the
//             target cluster offers and the helm version);
//   skip:     an unchanged key whose artifact is still stored does no work at all; a new source whose reads of the
//             tree replay the same (replayReads) keeps the last render;
//   render:   otherwise the source is checked out (once per digest, ./fetch.ts) and rendered in a worker
//             (renderIsolated) and the canonical JSON stored as the Application's artifact.
// The result — stored, or failed for this input — is remembered (./memo.ts), so a failing input is not rendered again
// until something in it changes. A render the process died during is remembered too (./crashes.ts): after two such
// deaths that input is refused instead of taking the restarted process down again. A failure that is not the
// input's (the artifact server, the disk, a worker crash) is a RetryError and is not remembered.
import { existsSync } from "node:fs";
import path from "node:path";
import { ApplicationKind, ConditionTypes, Reasons, type Application, type ApplicationStatus } from "../api/index.js";
import { ArtifactStorage, StorageError, artifactUrl, type ArtifactKey } from "../artifact/storage.js";
import type { KubeObject, ReconcileContext } from "../runtime/index.js";
import { renderCacheKey, renderOptionsFor, type ResolvedInputs } from "./application.js";
import { artifactBytes, cacheKey } from "./canonical.js";
import { RenderCrashJournal, RenderGate } from "./crashes.js";
import { isRenderError } from "./errors.js";
import { SourceArtifactError, type SourceCache } from "./fetch.js";
import { replayReads } from "./fs.js";
import type { Capabilities } from "./helm/capabilities.js";
import { helmVersion } from "./helm/binary.js";
import { RenderLimitError, limitsForHeap, renderIsolated } from "./isolated.js";
import { resolveLimits } from "./limits.js";
import type { Memo, RenderMemory } from "./memo.js";
import { RenderReasons, RetryError, type RenderOutcome } from "./outcome.js";
import { renderPathOf, type ResolvedSource } from "./source-ref.js";

type ApplicationObject = Application & KubeObject;
type Spec = ApplicationObject["spec"];
type AppRef = { namespace: string; name: string };

/** The rendered digests an Application's status.history and status.rollback name. */
export function historyDigests(app: { status?: ApplicationStatus }): Set<string> {
  const out = new Set<string>();
  for (const h of app.status?.history ?? []) if (h.digest) out.add(h.digest);
  if (app.status?.rollback?.digest) out.add(app.status.rollback.digest);
  return out;
}

/** Renders that read more entries than this are not replayed (the memo stays small; such renders are rare). */
const MAX_TRACED_READS = 5_000;

export interface RenderStepOptions {
  storage: ArtifactStorage;
  advertisedAddr: string;
  sources: SourceCache;
  memory: RenderMemory;
  crashes: RenderCrashJournal;
  capabilities: { get(signal?: AbortSignal): Promise<Capabilities> };
  heapMb: number;
  timeoutMs: number;
  maxOutputBytes?: number;
  /** The limits renders run under, as remembered with a failure they caused. */
  limitsKey: string;
  clusterScopedKinds?: string[];
  helmBinary?: string;
  /** Counters the controller reports (RenderStats). */
  stats: { renders: number; cacheHits: number; unchanged: number };
}

export class RenderStep {
  private readonly gate = new RenderGate();
  private readonly replayLimits;

  constructor(private readonly o: RenderStepOptions) {
    this.replayLimits = resolveLimits(limitsForHeap(o.heapMb, o.maxOutputBytes));
  }

  /** The rendered (or failed) outcome of `app` on `source` with `resolved`; throws RetryError for a failure that is not the input's. */
  async run(app: ApplicationObject, source: ResolvedSource, resolved: ResolvedInputs, ctx: ReconcileContext): Promise<RenderOutcome> {
    const ns = app.metadata!.namespace!;
    const name = app.metadata!.name!;
    const { artifact: art, spec } = source;
    let memo = await this.o.memory.load(ns, name);
    const key = await this.keyOf(app, source, resolved, memo, ctx);
    if (memo?.key === key && memo.ok && !(await this.o.storage.exists(memo.path))) memo = undefined; // collected: publish it again
    let fresh = false;
    if (memo?.key === key) {
      this.o.stats.cacheHits++;
    } else if (memo?.ok && (await this.readsSame(memo, { namespace: ns, name }, spec, resolved, art, ctx.signal))) {
      // A new commit that changed nothing this render reads (another Application's directory): the same objects.
      this.o.stats.unchanged++;
      memo = { ...memo, key };
      await this.o.memory.save(ns, name, memo);
      ctx.log.debug("source changed, nothing this Application renders from did; the last render stands", { revision: art.revision });
    } else {
      fresh = true;
      memo = await this.renderGated(app, spec, key, art, resolved, ctx);
      await this.o.memory.save(ns, name, memo);
    }
    const s = { revision: art.revision, digest: art.digest, ...(art.commit ? { commit: art.commit } : {}) };
    if (!memo.ok) return { kind: "renderFailed", source: s, reason: memo.reason, message: memo.message, fresh };
    const render = { url: artifactUrl(this.o.advertisedAddr, memo.path), digest: memo.digest, size: memo.size, objects: memo.objects, type: memo.type, ...(memo.engine ? { engine: memo.engine } : {}), path: renderPathOf(spec) };
    return { kind: "rendered", source: s, render, fresh };
  }

  /** The render's key. Charts (Go or Handlebars) see the target cluster and one helm version: both go into their key. */
  private async keyOf(app: ApplicationObject, source: ResolvedSource, resolved: ResolvedInputs, memo: Memo | undefined, ctx: ReconcileContext): Promise<string> {
    const { artifact: art, spec } = source;
    const appRef = { namespace: app.metadata!.namespace!, name: app.metadata!.name! };
    const r = app.spec.render;
    // Other renders never read what charts see, so they are not rendered again when a CRD appears.
    if (source.chart || r?.type === "helm" || r?.helm?.engine === "go" || (memo?.ok && memo.type === "helm")) await this.chartInputs(resolved, ctx);
    let key = this.keyFor(art.digest, appRef, spec, resolved);
    if (memo?.key !== key && !resolved.capabilities && (await this.inCheckout(art.url, art.digest, ctx.signal, (root) => isChartDir(root, renderPathOf(spec))))) {
      // A chart found by type auto: its key includes what charts see, so that the memo, the crash journal and the
      // render all use the same key (comparing without them rendered it again at every reconcile and restart).
      await this.chartInputs(resolved, ctx);
      key = this.keyFor(art.digest, appRef, spec, resolved);
    }
    return key;
  }

  private keyFor(digest: string, appRef: AppRef, spec: Spec, resolved: ResolvedInputs): string {
    const base = renderCacheKey(digest, appRef, spec, resolved);
    return resolved.capabilities ? cacheKey({ base, helm: helmVersion(this.o.helmBinary) }) : base;
  }

  /** The target cluster's version and API versions, for charts (.Capabilities); the defaults when discovery fails. */
  private async chartInputs(resolved: ResolvedInputs, ctx: ReconcileContext): Promise<void> {
    try {
      resolved.capabilities = await this.o.capabilities.get(ctx.signal);
    } catch (err) {
      ctx.log.warn("cannot read the cluster's version and API versions (discovery); charts see the defaults", { error: (err as Error).message });
    }
  }

  /**
   * Whether the last render `memo` stands for a new source: same inputs (the key without the source), its artifact
   * still stored, and the new tree answers every read of that render as the old one did.
   */
  private async readsSame(memo: Memo & { ok: true }, appRef: AppRef, spec: Spec, resolved: ResolvedInputs, art: ResolvedSource["artifact"], signal: AbortSignal): Promise<boolean> {
    if (!memo.reads || memo.inputKey !== this.keyFor("", appRef, spec, resolved)) return false;
    if (!(await this.o.storage.exists(memo.path))) return false;
    const reads = memo.reads;
    return this.inCheckout(art.url, art.digest, signal, (dir) => replayReads(dir, reads, this.replayLimits));
  }

  /**
   * `look` at the source's tree (checked out once per digest, shared with the render); false when it cannot be
   * checked out: the render path reports that.
   */
  private async inCheckout(url: string, digest: string, signal: AbortSignal, look: (dir: string) => boolean): Promise<boolean> {
    let checkout;
    try {
      checkout = await this.o.sources.checkout(url, digest, signal);
    } catch {
      return false;
    }
    try {
      return look(checkout.dir);
    } finally {
      checkout.release();
    }
  }

  /** Renders unless this input took the process down twice; a suspect renders alone, so a next death is its own. */
  private async renderGated(app: ApplicationObject, spec: Spec, key: string, art: ResolvedSource["artifact"], resolved: ResolvedInputs, ctx: ReconcileContext): Promise<Memo> {
    const { heapMb, timeoutMs, limitsKey } = this.o;
    const crashed = await this.o.crashes.crashed(app.metadata!.namespace!, app.metadata!.name!, key, limitsKey);
    if (crashed && this.o.crashes.gaveUp(crashed)) {
      // This input took the process down every time it was rendered: do not try it again (a crash loop).
      return {
        key,
        ok: false,
        reason: Reasons.renderFailed,
        message: `rendering this input stopped the operator ${crashed.attempts} times (out of memory, or killed in the middle of the render; last at ${crashed.startedAt}); it is not rendered again until the Application, its source or its values change, or the render limits do (worker heap ${heapMb} MiB: --render-worker-heap, deadline ${timeoutMs} ms)`,
        persist: true,
        limits: limitsKey,
      };
    }
    if (crashed) ctx.log.warn("the last render of this input never ended (the process stopped during it); trying once more, alone", { attempts: crashed.attempts, since: crashed.startedAt });
    return this.gate.run(crashed !== undefined, () => this.renderOnce(app, spec, key, art, resolved, ctx));
  }

  /** Checks out the source, renders and stores; returns the result to remember (throws RetryError for a problem that is not the input's). */
  private async renderOnce(app: ApplicationObject, spec: Spec, key: string, art: ResolvedSource["artifact"], resolved: ResolvedInputs, ctx: ReconcileContext): Promise<Memo> {
    const ns = app.metadata!.namespace!;
    const name = app.metadata!.name!;
    let checkout;
    try {
      checkout = await this.o.sources.checkout(art.url, art.digest, ctx.signal);
    } catch (err) {
      if (!(err instanceof SourceArtifactError)) throw err;
      if (!err.retryable) return { key, ok: false, reason: RenderReasons.artifactInvalid, message: err.message };
      throw new RetryError(ConditionTypes.sourceReady, RenderReasons.artifactFetchFailed, err.message);
    }
    try {
      // A chart found only now (type auto, first render of this path): its key includes what charts see.
      if (!resolved.capabilities && isChartDir(checkout.dir, renderPathOf(spec))) {
        await this.chartInputs(resolved, ctx);
        key = this.keyFor(art.digest, { namespace: ns, name }, spec, resolved);
      }
      return await this.renderAndStore(app, spec, key, checkout.dir, art.digest, resolved, ctx);
    } catch (err) {
      // Out of memory or past the deadline: the same input hits the same limit, so remember it across restarts.
      if (err instanceof RenderLimitError) return { key, ok: false, reason: Reasons.renderFailed, message: err.message, persist: true, limits: this.o.limitsKey };
      if (isRenderError(err)) return { key, ok: false, reason: Reasons.renderFailed, message: err.message };
      if (ctx.signal.aborted) throw err;
      // Not the repository's fault (a worker crash, a full disk): say so, keep the last artifact, retry with backoff.
      if (err instanceof StorageError) throw new RetryError(ConditionTypes.rendered, Reasons.storageOperationFailed, err.message);
      throw new RetryError(ConditionTypes.rendered, Reasons.renderFailed, `render of Application ${ns}/${name} failed: ${(err as Error).message}`);
    } finally {
      checkout.release();
    }
  }

  /** Renders the checked-out tree `dir` in a worker and stores the canonical JSON as the Application's artifact. */
  private async renderAndStore(app: ApplicationObject, spec: Spec, key: string, dir: string, digest: string, resolved: ResolvedInputs, ctx: ReconcileContext): Promise<Memo> {
    const ns = app.metadata!.namespace!;
    const name = app.metadata!.name!;
    const { heapMb, timeoutMs } = this.o;
    // An upgrade render once the Application has been applied (Helm's IsUpgrade, upgrade hooks). Not part of the
    // key: the first render after the install would otherwise render again, as an upgrade, with no new input.
    const { path: renderPath, options } = renderOptionsFor({ namespace: ns, name }, spec, { ...resolved, ...(appliedBefore(app) ? { isUpgrade: true } : {}) });
    // helm gets the render's own deadline, so it never outlives the render it belongs to.
    if (options.helm) options.helm = { ...options.helm, timeoutMs, deadlineAt: Date.now() + timeoutMs, ...(this.o.helmBinary ? { helmBinary: this.o.helmBinary } : {}) };
    const { scope: _scope, ...isolated } = options;
    this.o.stats.renders++;
    const started = Date.now();
    let result;
    try {
      result = await renderIsolated(
        dir,
        renderPath,
        { ...isolated, traceReads: true, ...(this.o.clusterScopedKinds ? { clusterScopedKinds: this.o.clusterScopedKinds } : {}) },
        // Workers are reused within a namespace only (./worker-pool.ts). The crash marker outlives the process if
        // the process dies during the render (./crashes.ts); written once a worker is ours, not while waiting for one.
        { timeoutMs, maxHeapMb: heapMb, reuseKey: ns, ...(this.o.maxOutputBytes ? { maxOutputBytes: this.o.maxOutputBytes } : {}), onStart: () => this.o.crashes.begin(ns, name, key, this.o.limitsKey) },
      );
    } finally {
      await this.o.crashes.end(ns, name);
    }
    // The artifacts the Application's history names stay stored (spec.historyLimit): each entry can be rolled back to.
    const stored = await this.o.storage.write(renderedKey(ns, name), single(artifactBytes(result.objects)), ".json", { retain: historyDigests(app) });
    if (stored.digest !== result.digest) {
      // The renderer's digest and the bytes we serve must agree (the apply controller verifies the latter).
      throw new Error(`rendered artifact of Application ${ns}/${name}: stored digest ${stored.digest} differs from the render's ${result.digest}`);
    }
    ctx.log.info("rendered", { objects: result.objects.length, type: result.type, ...(result.engine ? { engine: result.engine } : {}), digest: stored.digest, ms: Date.now() - started });
    const reads = result.reads && Object.keys(result.reads).length <= MAX_TRACED_READS ? { reads: result.reads, inputKey: this.keyFor("", { namespace: ns, name }, spec, resolved) } : {};
    return { key, ok: true, path: stored.path, digest: stored.digest, size: stored.size, objects: result.objects.length, type: result.type, ...(result.engine ? { engine: result.engine } : {}), ...reads };
  }
}

/** Where an Application's rendered artifacts are stored. */
export function renderedKey(ns: string, name: string): ArtifactKey {
  return { kind: ApplicationKind.kind, namespace: ns, name };
}

/** The apply controller has applied this Application before (an install happened): renders are upgrades. */
export function appliedBefore(app: { status?: ApplicationStatus }): boolean {
  const sync = app.status?.sync;
  return Boolean(sync?.lastAppliedAt || sync?.inventory?.length);
}

/** Whether `dir` (a path in an extracted checkout) is a chart directory. */
function isChartDir(root: string, dir: string): boolean {
  const p = path.resolve(root, dir, "Chart.yaml");
  return p.startsWith(path.resolve(root) + path.sep) && existsSync(p);
}

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
