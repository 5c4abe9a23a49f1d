// Render worker threads kept warm between renders. Starting a worker loads and compiles the renderer each time
// (hundreds of milliseconds of CPU on a busy 2-core node, most of a small render's cost), and a new commit re-renders
// every Application of its repository. So a worker that finished a render waits, idle, for the next one.
//
// Isolation between tenants is kept: a worker is reused only for renders with the same reuse key (the render
// controller passes the Application's namespace), so whatever one render leaves in a worker's memory can reach only
// later renders of the same namespace. A worker that timed out, ran out of memory or failed is never reused; each is
// retired after MAX_RENDERS renders, and an idle one exits after IDLE_MS, so an idle operator holds no worker.
import { Worker } from "node:worker_threads";

const IDLE_MS = 30_000;
const MAX_RENDERS = 100;
/** Idle workers kept per reuse key and heap size (the render controller runs at most `concurrency` at once). */
const MAX_IDLE = 8;

export interface PooledWorker {
  readonly worker: Worker;
  readonly slot: string;
  renders: number;
  idleTimer?: NodeJS.Timeout;
  /** While idle: takes the worker out of the pool if it exits. */
  onExit?: () => void;
}

export class RenderWorkerPool {
  private readonly idle = new Map<string, PooledWorker[]>();
  /** Workers started and renders served by a reused worker, since the process started. */
  readonly stats = { started: 0, reused: 0 };

  constructor(private readonly start: (heapMb: number) => Worker) {}

  /** An idle worker of this reuse key and heap size, or a new one. Without a reuse key, always a new one. */
  acquire(reuseKey: string | undefined, heapMb: number): PooledWorker {
    const slot = reuseKey === undefined ? "" : `${heapMb}\0${reuseKey}`;
    const parked = slot ? this.idle.get(slot) : undefined;
    const w = parked?.pop();
    if (parked && !parked.length) this.idle.delete(slot);
    if (w) {
      clearTimeout(w.idleTimer);
      if (w.onExit) w.worker.off("exit", w.onExit);
      w.onExit = undefined;
      w.worker.ref();
      this.stats.reused++;
      return w;
    }
    this.stats.started++;
    return { worker: this.start(heapMb), slot, renders: 0 };
  }

  /** Returns a worker after a render it answered; `reusable` false (or no reuse key) terminates it. */
  release(w: PooledWorker, reusable: boolean): void {
    w.renders++;
    const list = this.idle.get(w.slot) ?? [];
    if (!reusable || !w.slot || w.renders >= MAX_RENDERS || list.length >= MAX_IDLE) {
      void w.worker.terminate();
      return;
    }
    list.push(w);
    this.idle.set(w.slot, list);
    // An idle worker must not keep the process alive, and leaves the pool if it exits on its own.
    w.worker.unref();
    w.onExit = () => this.drop(w);
    w.worker.once("exit", w.onExit);
    w.idleTimer = setTimeout(() => {
      this.drop(w);
      void w.worker.terminate();
    }, IDLE_MS);
    w.idleTimer.unref();
  }

  /** Idle workers now (for tests and metrics). */
  get idleCount(): number {
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  /** Terminates every idle worker. */
  async close(): Promise<void> {
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const w of all) clearTimeout(w.idleTimer);
    await Promise.all(all.map((w) => w.worker.terminate()));
  }

  private drop(w: PooledWorker): void {
    const list = this.idle.get(w.slot);
    if (!list) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (!list.length) this.idle.delete(w.slot);
  }
}
