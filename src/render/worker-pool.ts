// Render worker threads kept warm between renders, at most `maxWorkers` of them alive at once. Starting a worker
// loads and compiles the renderer each time (hundreds of milliseconds of CPU on a busy 2-core node, most of a small
// render's cost), and a new commit re-renders every Application of its repository. So a worker that finished a
// render waits, idle, for the next one.
//
// Each worker is a V8 isolate of its own (~25 MiB of RSS warm): the bound counts idle workers with busy ones, so what
// the render controller's workers hold is at most `maxWorkers` of them, whatever the reconcile concurrency. A render
// that finds every worker busy waits for one; one that finds an idle worker of another reuse key retires it first.
//
// Isolation between tenants is kept: a worker is reused only for renders with the same reuse key (the render
// controller passes the Application's namespace), so whatever one render leaves in a worker's memory can reach only
// later renders of the same namespace. A worker that timed out, ran out of memory or failed is never reused; each is
// retired after MAX_RENDERS renders, and an idle one exits after IDLE_MS, so an idle operator holds no worker.
import { Worker } from "node:worker_threads";

const IDLE_MS = 30_000;
const MAX_RENDERS = 100;

export interface PooledWorker {
  readonly worker: Worker;
  readonly slot: string;
  renders: number;
  /** While idle: when it was parked (the longest-idle worker is retired first to make room). */
  idleSince?: number;
  idleTimer?: NodeJS.Timeout;
  /** While idle: takes the worker out of the pool if it exits. */
  onExit?: () => void;
}

export class RenderWorkerPool {
  /** Idle workers by slot (heap size and reuse key), oldest first. */
  private readonly idle = new Map<string, PooledWorker[]>();
  /** Workers started and not yet terminated or exited: busy and idle ones. */
  private live = 0;
  /** Renders waiting for a worker, first come first served. */
  private readonly waiting: (() => void)[] = [];
  /** Workers started and renders served by a reused worker, since the process started; renders that waited for a worker. */
  readonly stats = { started: 0, reused: 0, waited: 0 };

  constructor(
    private readonly start: (heapMb: number) => Worker,
    /** Most workers alive at once, busy or idle. */
    private maxWorkers = 4,
  ) {}

  /** Changes the bound (the render controller sets it from --render-workers); takes effect at the next acquire. */
  setMaxWorkers(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`render workers must be a positive integer, got ${n}`);
    this.maxWorkers = n;
    this.wake();
  }

  get max(): number {
    return this.maxWorkers;
  }

  /**
   * An idle worker of this reuse key and heap size, or a new one once fewer than `maxWorkers` are alive (an idle
   * worker of another slot is retired to make room); waits while all are busy. Without a reuse key, always a new one.
   */
  async acquire(reuseKey: string | undefined, heapMb: number): Promise<PooledWorker> {
    const slot = reuseKey === undefined ? "" : `${heapMb}\0${reuseKey}`;
    let waited = false;
    for (;;) {
      // Waiters go first: a render arriving now does not overtake one that waited.
      if (!this.waiting.length || waited) {
        const w = this.take(slot) ?? this.startNew(slot, heapMb);
        if (w) {
          if (waited) this.wake(); // the next waiter may find room too
          return w;
        }
      }
      if (!waited) this.stats.waited++;
      await new Promise<void>((resolve) => (waited ? this.waiting.unshift(resolve) : this.waiting.push(resolve)));
      waited = true;
    }
  }

  /** Returns a worker after a render it answered; `reusable` false (or no reuse key) terminates it. */
  release(w: PooledWorker, reusable: boolean): void {
    w.renders++;
    if (!reusable || !w.slot || w.renders >= MAX_RENDERS) {
      this.retire(w);
      return;
    }
    const list = this.idle.get(w.slot) ?? [];
    w.idleSince = Date.now();
    list.push(w);
    this.idle.set(w.slot, list);
    // An idle worker must not keep the process alive, and leaves the pool if it exits on its own.
    w.worker.unref();
    w.onExit = () => {
      if (this.drop(w)) this.gone();
    };
    w.worker.once("exit", w.onExit);
    w.idleTimer = setTimeout(() => {
      if (this.drop(w)) this.retire(w);
    }, IDLE_MS);
    w.idleTimer.unref();
    this.wake();
  }

  /** Idle workers now (for tests and metrics). */
  get idleCount(): number {
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  /** Workers alive now, busy or idle. */
  get liveCount(): number {
    return this.live;
  }

  /** Terminates every idle worker. */
  async close(): Promise<void> {
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const w of all) {
      clearTimeout(w.idleTimer);
      if (w.onExit) w.worker.off("exit", w.onExit);
    }
    this.live -= all.length;
    await Promise.all(all.map((w) => w.worker.terminate()));
    this.wake();
  }

  /** An idle worker of `slot`, taken out of the pool (the newest: the one most likely warm in the CPU's caches). */
  private take(slot: string): PooledWorker | undefined {
    const parked = slot ? this.idle.get(slot) : undefined;
    const w = parked?.pop();
    if (parked && !parked.length) this.idle.delete(slot);
    if (!w) return undefined;
    clearTimeout(w.idleTimer);
    if (w.onExit) w.worker.off("exit", w.onExit);
    w.onExit = undefined;
    w.worker.ref();
    this.stats.reused++;
    return w;
  }

  /** A new worker if the bound allows, after retiring the longest-idle worker of another slot if that makes room. */
  private startNew(slot: string, heapMb: number): PooledWorker | undefined {
    if (this.live >= this.maxWorkers) {
      const victim = this.oldestIdle();
      if (!victim || !this.drop(victim)) return undefined;
      this.retire(victim);
    }
    this.live++;
    this.stats.started++;
    try {
      return { worker: this.start(heapMb), slot, renders: 0 };
    } catch (err) {
      this.gone();
      throw err;
    }
  }

  private oldestIdle(): PooledWorker | undefined {
    // Each slot's list is oldest first: the oldest of their first entries.
    let oldest: PooledWorker | undefined;
    for (const list of this.idle.values()) {
      const w = list[0];
      if (w && (!oldest || (w.idleSince ?? 0) < (oldest.idleSince ?? 0))) oldest = w;
    }
    return oldest;
  }

  /** Terminates a worker that is out of the idle lists (or was never in them). */
  private retire(w: PooledWorker): void {
    clearTimeout(w.idleTimer);
    if (w.onExit) w.worker.off("exit", w.onExit);
    void w.worker.terminate();
    this.gone();
  }

  /** One worker fewer alive: a waiting render may start one. */
  private gone(): void {
    this.live--;
    this.wake();
  }

  private wake(): void {
    this.waiting.shift()?.();
  }

  /** Takes an idle worker out of its list; false if it was not there (taken, retired, or never parked). */
  private drop(w: PooledWorker): boolean {
    const list = this.idle.get(w.slot);
    if (!list) return false;
    const i = list.indexOf(w);
    if (i < 0) return false;
    list.splice(i, 1);
    if (!list.length) this.idle.delete(w.slot);
    return true;
  }
}
