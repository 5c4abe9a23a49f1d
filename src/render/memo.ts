// What the render controller remembers about each Application's last render, so that the same input is never
// rendered twice: in memory, and on disk (<cacheDir>/renders/<namespace>/<name>.json) for successes and for the
// failures a limit caused, so that a restarted process neither renders again nor hits the same limit again.
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { writeJsonFile } from "./json-file.js";
import type { Logger } from "../log.js";

/** A stored render: its artifact's digest and size, how many objects it holds, the renderer that produced it. */
export interface RenderedArtifact {
  digest: string;
  size: number;
  objects: number;
  /** plain, kustomize or helm. */
  type: string;
  /** A helm render's template engine as resolved: go or handlebars (absent in memos written before it was kept). */
  engine?: string;
}

/** The last render of an Application: its key, and the stored artifact (at `path` on disk) or the failure. */
export type Memo =
  | (RenderedArtifact & {
      key: string;
      ok: true;
      path: string;
      /** What the render read of the source (ArtifactRoot.reads) and its key without the source digest: a new source that reads the same renders the same. */
      reads?: Record<string, string>;
      inputKey?: string;
    })
  | { key: string; ok: false; reason: string; message: string; persist?: boolean; limits?: string };

export class RenderMemory {
  private readonly memos = new Map<string, Memo>();

  /**
   * @param dir the render index directory
   * @param limitsKey the limits renders run under: a failure they caused is remembered only under the same limits
   */
  constructor(
    private readonly dir: string,
    private readonly limitsKey: string,
    private readonly logger: Logger,
  ) {}

  async load(ns: string, name: string): Promise<Memo | undefined> {
    const k = `${ns}/${name}`;
    const m = this.memos.get(k);
    if (m) return m;
    try {
      const disk = JSON.parse(await readFile(this.file(ns, name), "utf8")) as Memo;
      // A failure is kept across restarts only when a limit stopped it (the same input hits the same limit), and
      // only under the same limits.
      if (disk && typeof disk.key === "string" && (disk.ok === true || (disk.ok === false && disk.persist === true && disk.limits === this.limitsKey))) {
        this.memos.set(k, disk);
        return disk;
      }
    } catch {
      // no index entry (first render, or a fresh cache directory): render once
    }
    return undefined;
  }

  async save(ns: string, name: string, m: Memo): Promise<void> {
    this.memos.set(`${ns}/${name}`, m);
    // Failures are remembered in memory only (a restart tries again), except those a limit stopped (memory,
    // deadline, a render that took the process down): trying those again after a restart would only hit it again.
    if (!m.ok && !m.persist) return;
    try {
      await writeJsonFile(this.file(ns, name), m, process.pid);
    } catch (err) {
      this.logger.warn("cannot write the render index; the next restart renders this Application again", { error: (err as Error).message });
    }
  }

  async forget(ns: string, name: string): Promise<void> {
    this.memos.delete(`${ns}/${name}`);
    await rm(this.file(ns, name), { force: true });
  }

  private file(ns: string, name: string): string {
    return path.join(this.dir, ns, `${name}.json`);
  }
}
