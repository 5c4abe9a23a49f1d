// Rendering in a worker thread, for the controller: a slow or hostile render (a template that multiplies a big list
// by itself) cannot block the operator's event loop, is stopped after a deadline, and is capped in memory — so one
// Application's bad repository never affects the others.
//
// The heap cap is the worker's whole V8 heap (old and young generations), and the renderer's own limits (largest
// file, total read, output) are derived from it unless given, so that what a render may read and produce fits the
// memory it may use; a Go-template chart's helm run (a subprocess of the worker) gets the same memory limit unless
// given. The chart sizes the heap so that every concurrent worker, its helm run and its result fit the container
// (_limits.tpl).
import { Worker } from "node:worker_threads";
import { formatSize } from "../units.js";
import { RenderWorkerPool } from "./worker-pool.js";
import { RenderError } from "./errors.js";
import type { RenderOptions } from "./index.js";
import { DEFAULT_LIMITS, type RenderLimits } from "./limits.js";
import type { KubeObject } from "./objects.js";

export interface IsolatedRenderOptions extends Omit<RenderOptions, "scope"> {
  /** Custom kinds known to be cluster-scoped, as "group|Kind" (a function cannot cross into the worker). */
  clusterScopedKinds?: string[];
}

export interface IsolationLimits {
  /** Stop the render after this long (default 60 s). */
  timeoutMs?: number;
  /** Heap limit of the worker, old and young generations together (default 512 MiB). */
  maxHeapMb?: number;
  /** Largest rendered output in bytes (default: a quarter of the heap, at most the renderer's 128 MiB). */
  maxOutputBytes?: number;
  /**
   * Renders with the same key may run in the same worker thread, one after the other (the render controller passes
   * the Application's namespace: nothing a render leaves behind can reach another namespace's). Without one, each
   * render gets a fresh worker.
   */
  reuseKey?: string;
  /**
   * Called once a worker is this render's, before it is sent the render (a render may first wait for a worker,
   * ./worker-pool.ts): the render controller's crash journal marks the render as started here, not while it waits.
   */
  onStart?: () => Promise<void> | void;
}

/**
 * A render stopped by its isolation limits (out of memory, or past its deadline): the input is not at fault in
 * the way a template error is, but the same input will hit the same limit, so the controller remembers it across
 * restarts until the input or the limits change.
 */
export class RenderLimitError extends RenderError {
  constructor(
    message: string,
    readonly limit: "memory" | "timeout",
    options?: { cause?: unknown },
  ) {
    super(message, {}, options);
    this.name = "RenderLimitError";
  }
}

/** V8's generations within a heap budget: a young generation of an eighth (4 to 32 MiB), the rest old. */
export function heapSplit(maxHeapMb: number): { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number } {
  const young = Math.min(32, Math.max(4, Math.floor(maxHeapMb / 8)));
  return { maxYoungGenerationSizeMb: young, maxOldGenerationSizeMb: Math.max(16, maxHeapMb - young) };
}

/**
 * The renderer's limits for a worker of `maxHeapMb`: a file at most an eighth of the heap, everything read at most
 * half, the output at most a quarter (it is copied to the controller's thread and serialized there); never above the
 * renderer's defaults. Explicit limits in the options win.
 */
export function limitsForHeap(maxHeapMb: number, maxOutputBytes?: number): Partial<RenderLimits> {
  const heap = maxHeapMb * 1024 * 1024;
  return {
    maxFileBytes: Math.min(DEFAULT_LIMITS.maxFileBytes, Math.floor(heap / 8)),
    maxTotalBytes: Math.min(DEFAULT_LIMITS.maxTotalBytes, Math.floor(heap / 2)),
    maxOutputBytes: Math.min(DEFAULT_LIMITS.maxOutputBytes, maxOutputBytes ?? Math.floor(heap / 4)),
  };
}

export interface IsolatedResult {
  objects: KubeObject[];
  digest: string;
  type: "plain" | "kustomize" | "helm";
  /** A helm render's template engine, as resolved (spec.render.helm.engine auto decided). */
  engine?: "go" | "handlebars";
  /** With opts.traceReads: what the render read of the tree (replayReads). */
  reads?: Record<string, string>;
}

/** What the worker is sent: one render. */
export interface WorkerRequest {
  rootDir: string;
  path: string;
  opts: IsolatedRenderOptions;
}

/** What the worker posts back: a result, or a RenderError's fields (class identity does not cross threads). */
export type WorkerReply = { ok: true; result: IsolatedResult } | { ok: false; message: string; file?: string; line?: number; template?: string; renderError: boolean };

function newWorker(options: ConstructorParameters<typeof Worker>[1]): Worker {
  // Built, the worker is the compiled sibling of this module. Under tsx (tests, `npm run mooring`) the sources are
  // .ts files and worker threads do not inherit tsx's loader, so a bootstrap registers it first.
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./isolated-worker.js", import.meta.url), options);
  const target = new URL("./isolated-worker.ts", import.meta.url).href;
  const bootstrap = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** The options the worker renders with: the renderer's limits derived from the heap, and the helm run's memory. */
export function workerOptions(opts: IsolatedRenderOptions, maxHeapMb: number, maxOutputBytes?: number): IsolatedRenderOptions {
  return {
    ...opts,
    limits: { ...limitsForHeap(maxHeapMb, maxOutputBytes), ...(opts.limits ?? {}) },
    ...(opts.helm ? { helm: { ...opts.helm, maxMemoryMb: opts.helm.maxMemoryMb ?? maxHeapMb } } : {}),
  };
}

/** Render workers alive at once (busy or idle) unless the process sets another bound (--render-workers). */
export const DEFAULT_RENDER_WORKERS = 2;

/** The worker pool of this process (./worker-pool.ts). */
const pool = new RenderWorkerPool((heapMb) => newWorker({ resourceLimits: heapSplit(heapMb), stdout: true, stderr: true }), DEFAULT_RENDER_WORKERS);

/** Sets how many render workers may be alive at once in this process, busy or idle (--render-workers). */
export function setRenderWorkers(max: number): void {
  pool.setMaxWorkers(max);
}

/**
 * Render workers started, reuses of an idle one and renders that waited for a worker, since the process started;
 * how many are idle and alive now, and the bound.
 */
export function renderWorkerStats(): { started: number; reused: number; waited: number; idle: number; live: number; max: number } {
  return { ...pool.stats, idle: pool.idleCount, live: pool.liveCount, max: pool.max };
}

/** Terminates the idle render workers (a process that stops rendering need not wait for their idle timeout). */
export function closeRenderWorkers(): Promise<void> {
  return pool.close();
}

export async function renderIsolated(rootDir: string, path: string, opts: IsolatedRenderOptions = {}, limits: IsolationLimits = {}): Promise<IsolatedResult> {
  const timeoutMs = limits.timeoutMs ?? 60_000;
  const maxHeapMb = limits.maxHeapMb ?? 512;
  const workerOpts = workerOptions(opts, maxHeapMb, limits.maxOutputBytes);
  // The deadline starts once a worker is this render's: waiting for one is not the render's fault.
  const pooled = await pool.acquire(limits.reuseKey, maxHeapMb);
  try {
    await limits.onStart?.();
  } catch (err) {
    pool.release(pooled, true);
    throw err;
  }
  return new Promise((resolve, reject) => {
    const { worker } = pooled;
    let settled = false;
    const finish = (fn: () => void, reusable: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
      fn();
      pool.release(pooled, reusable);
    };
    const timer = setTimeout(
      () => finish(() => reject(new RenderLimitError(`render of ${path || "."} took longer than ${timeoutMs} ms and was stopped; simplify the templates or split the Application`, "timeout")), false),
      timeoutMs,
    );
    const onMessage = (reply: WorkerReply) =>
      finish(() => {
        if (reply.ok) resolve(reply.result);
        else if (reply.renderError) reject(new RenderError(stripLocation(reply), { file: reply.file, line: reply.line, template: reply.template }));
        else reject(new Error(`render of ${path || "."} failed: ${reply.message}`));
      }, reply.ok || reply.renderError);
    const onError = (err: Error & { code?: string }) =>
      finish(() => {
        if (err.code === "ERR_WORKER_OUT_OF_MEMORY") {
          reject(
            new RenderLimitError(
              `render of ${path || "."} needed more than ${maxHeapMb} MiB of memory and was stopped (the render worker's heap: --render-worker-heap=${formatSize(maxHeapMb * 1024 * 1024)}, which the chart derives from the render controller's memory limit and concurrency)`,
              "memory",
              { cause: err },
            ),
          );
        } else reject(new Error(`render worker for ${path || "."} failed: ${err.message}`, { cause: err }));
      }, false);
    const onExit = (code: number) => finish(() => reject(new Error(`render worker for ${path || "."} exited with code ${code} before answering`)), false);
    worker.on("message", onMessage);
    worker.once("error", onError);
    worker.once("exit", onExit);
    const request: WorkerRequest = { rootDir, path, opts: workerOpts };
    worker.postMessage(request);
  });
}

// RenderError puts "file:line: " in front of its message; the worker sends the full message, so take it off again.
function stripLocation(reply: { message: string; file?: string; line?: number; template?: string }): string {
  const at = reply.file ? `${reply.file}${reply.line ? `:${reply.line}` : ""}` : reply.template;
  return at && reply.message.startsWith(`${at}: `) ? reply.message.slice(at.length + 2) : reply.message;
}
