// Copies a chart out of the extracted artifact into a private temporary directory for helm, through ArtifactRoot:
// every read goes through its resolver (symlinks followed only inside the artifact, FIFOs and devices refused, the
// per-file and per-render size limits counted), so helm never reads a path the repository points it at; it sees
// regular files only, in a directory nothing else writes.
import * as fs from "node:fs";
import * as path from "node:path";
import { RenderError } from "../errors.js";
import type { ArtifactRoot } from "../fs.js";

/** Deepest directory nesting copied (a symlink to a parent directory would otherwise recurse for ever). */
export const MAX_CHART_DEPTH = 30;
/** Most files one chart (with its subcharts) may hold. */
export const MAX_CHART_FILES = 20_000;

export function joinRel(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/** Reads chart files through the artifact root once, so what detection read is not read (and counted) again. */
export class ChartFiles {
  private readonly cache = new Map<string, Buffer>();

  constructor(readonly root: ArtifactRoot) {}

  bytes(rel: string): Buffer {
    let b = this.cache.get(rel);
    if (!b) {
      b = this.root.readBytes(rel);
      this.cache.set(rel, b);
    }
    return b;
  }

  /** Every regular file under `dir` (root-relative), depth first in name order; hidden entries skipped except .helmignore. */
  walk(dir: string): string[] {
    const out: string[] = [];
    const visit = (rel: string, depth: number): void => {
      if (depth > MAX_CHART_DEPTH) throw new RenderError(`the chart nests directories more than ${MAX_CHART_DEPTH} deep (a symlink loop?)`, { file: rel });
      // ArtifactRoot.list skips hidden entries; Helm reads each chart's .helmignore, so it is copied by name.
      const ignore = joinRel(rel, ".helmignore");
      if (this.root.isFile(ignore)) out.push(ignore);
      for (const e of this.root.list(rel)) {
        if (e.dir) visit(e.path, depth + 1);
        else out.push(e.path);
        if (out.length > MAX_CHART_FILES) throw new RenderError(`the chart holds more than ${MAX_CHART_FILES} files`, { file: dir || "." });
      }
    };
    visit(dir, 0);
    return out;
  }
}

/**
 * Writes the chart at `dir` (root-relative) into `dest` (which must not exist), keeping its layout. Returns the
 * root-relative paths copied.
 */
export function stageChart(files: ChartFiles, dir: string, dest: string): string[] {
  const copied = files.walk(dir);
  fs.mkdirSync(dest, { recursive: false, mode: 0o700 });
  const made = new Set<string>([dest]);
  for (const rel of copied) {
    const inside = dir ? rel.slice(dir.length + 1) : rel;
    const target = path.join(dest, ...inside.split("/"));
    const parent = path.dirname(target);
    if (!made.has(parent)) {
      fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
      made.add(parent);
    }
    fs.writeFileSync(target, files.bytes(rel), { mode: 0o600, flag: "wx" });
  }
  return copied;
}
