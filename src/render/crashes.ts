// Renders that took the operator down with them. A render runs in a worker with a heap cap and a deadline, but the
// process can still die during one (the container's memory limit reached by everything together, a kill): after a
// restart the same Application would be rendered again at once and take the process down again, in a loop. So a
// marker file is written before each render, keyed by the Application and naming its render input (the render
// cache key) and removed when the render ends, whatever its outcome. A marker found at start-up that another process
// left is a render that never ended: its count of attempts goes up, and from `maxAttempts` on that input is not
// rendered again (the controller reports it) until the input, or the limits it ran under, change.
//
// The markers live in the render cache directory (on the Pod's /tmp emptyDir, which outlives a container restart).
import { randomUUID } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { writeJsonFile } from "./json-file.js";

interface Marker {
  /** The render input (render cache key) in progress. */
  key: string;
  /** The limits it ran under (heap, deadline): raising them is worth another attempt. */
  limits: string;
  /** The process that wrote it (a random id per process). */
  process: string;
  /** Renders of this input that never ended, this one included. */
  attempts: number;
  startedAt: string;
}

export interface CrashRecord {
  attempts: number;
  /** When the last attempt that never ended started. */
  startedAt: string;
}

export class RenderCrashJournal {
  /** Identifies this process's markers; a marker with another id is a previous process's unfinished render. */
  readonly process = randomUUID();

  constructor(
    private readonly dir: string,
    /** Attempts that never ended after which an input is no longer rendered (default 2: one unrelated kill is forgiven). */
    readonly maxAttempts = 2,
  ) {}

  private file(ns: string, name: string): string {
    return path.join(this.dir, ns, `${name}.rendering`);
  }

  private async read(ns: string, name: string): Promise<Marker | undefined> {
    try {
      const m = JSON.parse(await readFile(this.file(ns, name), "utf8")) as Marker;
      return typeof m?.key === "string" && typeof m.attempts === "number" ? m : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * What is known of earlier renders of `key` under `limits` that never ended (left by another process), or
   * undefined. A marker of another input or other limits does not count.
   */
  async crashed(ns: string, name: string, key: string, limits: string): Promise<CrashRecord | undefined> {
    const m = await this.read(ns, name);
    if (!m || m.process === this.process || m.key !== key || m.limits !== limits) return undefined;
    return { attempts: m.attempts, startedAt: m.startedAt };
  }

  /** True when `crashed` says this input should not be rendered again. */
  gaveUp(record: CrashRecord | undefined): boolean {
    return (record?.attempts ?? 0) >= this.maxAttempts;
  }

  /** Records that a render of `key` starts (counting earlier attempts of the same input that never ended). */
  async begin(ns: string, name: string, key: string, limits: string): Promise<void> {
    const previous = await this.crashed(ns, name, key, limits);
    const m: Marker = { key, limits, process: this.process, attempts: (previous?.attempts ?? 0) + 1, startedAt: new Date().toISOString() };
    await writeJsonFile(this.file(ns, name), m, this.process);
  }

  /** The render ended (with any outcome the process lived to see). */
  async end(ns: string, name: string): Promise<void> {
    await rm(this.file(ns, name), { force: true });
  }
}

/**
 * Renders run together, except a suspect (an input a process already died during) runs alone: it waits until the
 * renders in progress end, and the others wait for it. A process that dies during a suspect's render then dies of
 * that render, and the inputs that merely ran beside the guilty one the first time are cleared on their own run.
 * First come, first served, so a suspect is not starved by a stream of ordinary renders.
 */
export class RenderGate {
  private running = 0;
  private alone = false;
  private readonly queue: { alone: boolean; go: () => void }[] = [];

  async run<T>(alone: boolean, fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((go) => {
      this.queue.push({ alone, go });
      this.dispatch();
    });
    try {
      return await fn();
    } finally {
      this.running--;
      this.alone = false;
      this.dispatch();
    }
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.alone) {
      const next = this.queue[0]!;
      if (next.alone && this.running > 0) return;
      this.queue.shift();
      this.running++;
      this.alone = next.alone;
      next.go();
    }
  }
}
