// A chart directory taken out of a GitRepository's artifact and packaged, with its downloaded dependencies, as the
// .tgz a HelmChart stores (`<chart name>/…`, the dependencies as `<chart name>/charts/<dep>-<version>.tgz`, where
// `helm dependency build` puts them). No Kubernetes, no network: ./helm-reconcile.ts downloads; this reads and
// writes archives, bounded in files and bytes. The archive is deterministic (sorted entries, fixed mtimes), so the
// same chart and dependencies make the same digest and a rebuild with nothing new stores nothing.
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, gunzipSync } from "node:zlib";
import { extract as tarExtract } from "tar-stream";
import { parse as parseYaml } from "yaml";
import { writeTarGz, type TarEntry } from "../artifact/tarball.js";
import { HelmSourceError, MAX_CHART_CONTENT_BYTES } from "./helm-repo.js";

export type TreeFile = { type: "file"; data: Buffer; executable: boolean } | { type: "symlink"; target: string };

/** Most files one chart directory may hold (as the render side's limit). */
export const MAX_CHART_FILES = 20_000;

/** spec.chart as a directory of the artifact: no leading `./`, no trailing `/`; "" for the repository's root. */
export function chartDirOf(specChart: string): string {
  return specChart
    .replace(/^(\.\/)+/, "")
    .replace(/\/+$/, "")
    .replace(/^\.$/, "");
}

/**
 * The files under `dir` of a GitRepository artifact (a .tar.gz on disk), relative to `dir`, read as one stream:
 * everything else is skipped unread. Past `maxBytes` of content or MAX_CHART_FILES files: ChartTooLarge.
 */
export async function extractDir(tgzFile: string, dir: string, what: string, maxBytes = MAX_CHART_CONTENT_BYTES): Promise<Map<string, TreeFile>> {
  const prefix = dir ? `${dir}/` : "";
  const out = new Map<string, TreeFile>();
  let bytes = 0;
  // The first limit passed; the extraction is torn down with it, and it is what the caller sees.
  let failure: HelmSourceError | undefined;
  const ex = tarExtract();
  const fail = (e: HelmSourceError) => {
    failure ??= e;
    ex.destroy(failure);
  };
  ex.on("entry", (h, stream, next) => {
    const name = h.name.replace(/^\.\//, "");
    const rel = name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
    if (rel === undefined || rel === "" || (h.type !== "file" && h.type !== "symlink")) {
      stream.on("end", next);
      stream.resume();
      return;
    }
    if (out.size >= MAX_CHART_FILES) return fail(new HelmSourceError("ChartTooLarge", `${what} holds more than ${MAX_CHART_FILES} files`));
    if (h.type === "symlink") {
      out.set(rel, { type: "symlink", target: h.linkname ?? "" });
      stream.on("end", next);
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (chunk) => {
      const c = chunk as Buffer;
      bytes += c.length;
      if (bytes > maxBytes) return fail(new HelmSourceError("ChartTooLarge", `${what} holds more than ${maxBytes} bytes`));
      chunks.push(c);
    });
    stream.on("end", () => {
      out.set(rel, { type: "file", data: Buffer.concat(chunks), executable: ((h.mode ?? 0o644) & 0o111) !== 0 });
      next();
    });
  });
  try {
    await pipeline(createReadStream(tgzFile), createGunzip(), ex);
  } catch (err) {
    if (failure) throw failure;
    throw new HelmSourceError("SourceNotReady", `the GitRepository artifact cannot be read as a gzip tar: ${(err as Error).message}`, { cause: err });
  }
  if (failure) throw failure;
  return out;
}

/** A regular file of the tree (a symlink named where a chart file must be is refused). */
export function treeText(files: Map<string, TreeFile>, rel: string, what: string): string | undefined {
  const f = files.get(rel);
  if (!f) return undefined;
  if (f.type !== "file") throw new HelmSourceError("InvalidChart", `${what}: ${rel} is a symbolic link; it must be a regular file`);
  return f.data.toString("utf8");
}

/** The Chart.yaml `name` of a chart archive (its top directory's Chart.yaml), or undefined when it has none. */
export async function archiveChartName(tgz: Buffer): Promise<string | undefined> {
  let tar: Buffer;
  try {
    tar = gunzipSync(tgz, { maxOutputLength: MAX_CHART_CONTENT_BYTES });
  } catch {
    return undefined;
  }
  let text: string | undefined;
  await new Promise<void>((resolve) => {
    const ex = tarExtract();
    ex.on("entry", (h, stream, next) => {
      const chunks: Buffer[] = [];
      const want = text === undefined && /^[^/]+\/Chart\.yaml$/.test(h.name.replace(/^\.\//, ""));
      stream.on("data", (c) => {
        if (want) chunks.push(c as Buffer);
      });
      stream.on("end", () => {
        if (want) text = Buffer.concat(chunks).toString("utf8");
        next();
      });
    });
    ex.on("finish", resolve);
    ex.on("error", () => resolve());
    Readable.from([tar]).pipe(ex);
  });
  return text === undefined ? undefined : chartYamlName(text);
}

function chartYamlName(text: string): string | undefined {
  try {
    const c = parseYaml(text, { maxAliasCount: 100, prettyErrors: false }) as { name?: unknown } | null;
    return typeof c?.name === "string" ? c.name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The names (Chart.yaml `name`) of the charts already in `charts/`: directories with a Chart.yaml and .tgz
 * archives, as helm loads them, and as Flux counts a dependency as present.
 */
export async function vendoredNames(files: Map<string, TreeFile>): Promise<Set<string>> {
  const names = new Set<string>();
  for (const [rel, f] of files) {
    if (f.type !== "file") continue;
    if (/^charts\/[^/]+\/Chart\.yaml$/.test(rel)) {
      const n = chartYamlName(f.data.toString("utf8"));
      if (n) names.add(n);
    } else if (/^charts\/[^/]+\.tgz$/.test(rel)) {
      const n = await archiveChartName(f.data);
      if (n) names.add(n);
    }
  }
  return names;
}

/** The HelmChart's .tgz: the chart's files under `<name>/`, each downloaded dependency as `<name>/charts/<file>`. */
export async function packageChart(name: string, files: Map<string, TreeFile>, deps: { file: string; bytes: Buffer }[], what: string): Promise<Buffer> {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) throw new HelmSourceError("InvalidChart", `${what}: the chart's name "${name}" is not a valid directory name`);
  const entries: TarEntry[] = [];
  for (const [rel, f] of files) {
    const p = `${name}/${rel}`;
    entries.push(f.type === "symlink" ? { path: p, type: "symlink", target: f.target } : { path: p, type: "file", executable: f.executable, size: f.data.length, read: () => Promise.resolve(f.data) });
  }
  for (const d of deps) {
    const rel = `charts/${d.file}`;
    if (files.has(rel)) throw new HelmSourceError("InvalidChart", `${what}: ${rel} is in Git but is not the dependency it is named after; remove it or vendor the dependency under that name`);
    entries.push({ path: `${name}/${rel}`, type: "file", executable: false, size: d.bytes.length, read: () => Promise.resolve(d.bytes) });
  }
  const chunks: Buffer[] = [];
  for await (const c of writeTarGz(entries)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
