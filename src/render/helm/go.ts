// Go-template (real Helm v3) charts, rendered by the pinned `helm template` run as a subprocess, as Argo CD does:
// the output is helm's own, so it is what `helm template` prints for the same chart, values, release, namespace and
// versions. The chart is first copied out of the artifact through ArtifactRoot (stage.ts), so helm reads nothing
// outside the chart; helm gets an environment of empty temporary directories (no repositories, registries,
// plugins, kubeconfig or credentials, nothing from the operator's environment), renders client-only (`lookup`
// answers empty, as in `helm template`), and runs under mooring-helm (hack/tools/mooring-helm): a memory limit, a
// deadline, a bound on its output, JSON out. docs/render.md "Helm charts" says why.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RenderError } from "../errors.js";
import { isMap, setOrigin, type JsonMap, type KubeObject } from "../objects.js";
import type { ArtifactRoot } from "../fs.js";
import { checkDepth, parseYamlDocs } from "../yaml.js";
import { findHelm, PINNED_HELM_VERSION, type HelmPrograms } from "./binary.js";
import { helmError, toArtifactPath, type ErrorContext } from "./errors.js";
import { applyHooks } from "./hooks.js";
import { joinRel, stageChart, type ChartFiles } from "./stage.js";

/** .Capabilities.KubeVersion when neither the Application nor the caller names one: the pinned Kubernetes (hack/versions.env). */
export const DEFAULT_KUBE_VERSION = "v1.36.3";
/** Default deadline of one helm run. */
export const DEFAULT_HELM_TIMEOUT_MS = 60_000;
/** Default memory limit of one helm run (its data segment, which bounds a Go program's heap). */
export const DEFAULT_HELM_MEMORY_MB = 512;

export interface GoChartOptions {
  /** Release name (default: the chart name). */
  releaseName?: string;
  /** Release namespace (default "default"). */
  namespace?: string;
  /** Values files relative to the chart directory (spec.path), merged in order after the chart's values.yaml. */
  valuesFiles?: string[];
  /** Values from referenced ConfigMaps/Secrets, resolved by the caller, merged after valuesFiles. */
  valuesFrom?: JsonMap[];
  /** Inline values, merged last. */
  values?: JsonMap;
  /**
   * Kubernetes version the chart sees: .Capabilities.KubeVersion (Go charts; default the pinned v1.36.3, the render
   * controller passes the target cluster's), capabilities.kubeVersion (Handlebars charts; default v1.32.0).
   */
  kubeVersion?: string;
  /** Go charts: API versions .Capabilities.APIVersions has besides Helm's built-in list ("group/version" or "group/version/Kind"). */
  apiVersions?: string[];
  /** Go charts: leave out the chart's crds/ directory (default: included, like `helm install`). */
  skipCrds?: boolean;
  /** Go charts: an upgrade render (.Release.IsUpgrade true, IsInstall false; upgrade hooks run instead of install hooks). */
  isUpgrade?: boolean;
  /** Go charts: map hooks onto sync waves (render() sets it when rendering for an Application); test hooks are always dropped. */
  hookWaves?: boolean;
  /** Go charts: the helm binary (default: $MOORING_HELM_BINARY, the pinned one in ~/.cache/mooring/bin, `helm` on PATH). */
  helmBinary?: string;
  /** Go charts: deadline of the helm run in ms (default 60 s). */
  timeoutMs?: number;
  /**
   * Go charts: absolute deadline (epoch ms) of the whole render, set by the render controller from its per-render
   * deadline: helm is killed when it passes even if `timeoutMs` has not, so no helm outlives the render it belongs to.
   */
  deadlineAt?: number;
  /** Go charts: memory limit of the helm run in MiB (default 512). */
  maxMemoryMb?: number;
  /** Go charts: run helm through mooring-helm when it is found (default true); false parses helm's YAML here. */
  driver?: boolean;
}

/** Exit statuses of mooring-helm (hack/tools/mooring-helm/main.go). */
const DRIVER = { helm: 10, output: 11, deadline: 12, memory: 13, yaml: 14 } as const;

interface Rendered {
  source: string;
  object: unknown;
}

function chartName(files: ChartFiles, dir: string): string {
  const file = joinRel(dir, "Chart.yaml");
  const c = parseYamlDocs(files.bytes(file).toString("utf8"), file, files.root.limits)[0]?.value;
  if (!isMap(c)) throw new RenderError("must be a YAML map", { file });
  if (typeof c.name !== "string" || !c.name) throw new RenderError("Chart.yaml needs a name", { file });
  return c.name;
}

export function renderGoChart(files: ChartFiles, dir: string, opts: GoChartOptions = {}): KubeObject[] {
  const root = files.root;
  const name = chartName(files, dir);
  const found = findHelm(opts.helmBinary);
  const programs = opts.driver === false ? { helm: found.helm } : found;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-helm-"));
  try {
    const chartDir = path.join(tmp, "chart");
    stageChart(files, dir, chartDir);
    const renames: [string, string][] = [[chartDir, dir || "."]];
    const valueArgs = stageValues(root, dir, opts, tmp, renames);
    const args = templateArgs(opts.releaseName ?? name, chartDir, opts, valueArgs);
    const run = helmRun(programs, dir, opts, root.limits.maxOutputBytes);
    const r = spawnHelm(run, args, helmEnv(tmp, run.memoryBytes));
    const ctx: ErrorContext = {
      dir,
      chartName: name,
      source: (helmPath) => {
        try {
          return files.bytes(toArtifactPath(helmPath, { dir, chartName: name })).toString("utf8");
        } catch {
          return undefined;
        }
      },
    };
    checkStarted(r, run);
    const unstage = (s: string): string => renames.reduce((acc, [from, to]) => acc.split(from).join(to), s);
    checkExit(r, run, unstage(r.stderr.toString("utf8")), ctx);
    const rendered = programs.driver ? parseDriverOutput(r.stdout) : parseHelmYaml(r.stdout.toString("utf8"), root.limits);
    return applyHooks(renderedObjects(rendered, ctx, root.limits.maxDepth), { waves: opts.hookWaves ?? false, isUpgrade: opts.isUpgrade });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Values: the chart's values.yaml (helm reads it), then valuesFiles verbatim (so helm reads them as it reads any values
 * file), then valuesFrom and inline values as JSON (already parsed), in Mooring's order. Each is written to a file of
 * its own under `tmp`, recorded in `renames` with the name messages show for it; returns helm's --values arguments.
 */
function stageValues(root: ArtifactRoot, dir: string, opts: GoChartOptions, tmp: string, renames: [string, string][]): string[] {
  const valuesDir = path.join(tmp, "values");
  fs.mkdirSync(valuesDir, { mode: 0o700 });
  const valueArgs: string[] = [];
  let n = 0;
  const addValues = (content: Buffer | string, ext: string, shownAs: string): void => {
    const p = path.join(valuesDir, `${String(n++).padStart(3, "0")}${ext}`);
    fs.writeFileSync(p, content, { mode: 0o600, flag: "wx" });
    valueArgs.push("--values", p);
    renames.push([p, shownAs]);
  };
  for (const f of opts.valuesFiles ?? []) {
    const rel = root.resolve(f, dir, "valuesFiles entry", undefined, "file");
    addValues(root.readBytes(rel), ".yaml", rel);
  }
  (opts.valuesFrom ?? []).forEach((v, i) => addValues(JSON.stringify(v), ".json", `valuesFrom[${i}]`));
  if (opts.values && Object.keys(opts.values).length > 0) addValues(JSON.stringify(opts.values), ".json", "values");
  return valueArgs;
}

/** `helm template`'s arguments. */
function templateArgs(release: string, chartDir: string, opts: GoChartOptions, valueArgs: string[]): string[] {
  return [
    "template",
    release,
    chartDir,
    "--namespace",
    opts.namespace ?? "default",
    "--kube-version",
    opts.kubeVersion ?? DEFAULT_KUBE_VERSION,
    "--skip-tests",
    ...(opts.skipCrds ? [] : ["--include-crds"]),
    ...(opts.isUpgrade ? ["--is-upgrade"] : []),
    ...(opts.apiVersions ?? []).flatMap((a) => ["--api-versions", a]),
    ...valueArgs,
  ];
}

/** One helm run: the programs, its limits, and how messages name it. */
interface HelmRun {
  programs: HelmPrograms;
  /** "helm template of <dir>". */
  what: string;
  /** Where errors point: the chart directory. */
  at: { file: string };
  timeoutMs: number;
  /** What helm may still use: the deadline of the render left after staging the chart, never more than timeoutMs. */
  runMs: number;
  memoryBytes: number;
  maxOutput: number;
}

function helmRun(programs: HelmRun["programs"], dir: string, opts: GoChartOptions, maxOutput: number): HelmRun {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HELM_TIMEOUT_MS;
  return {
    programs,
    what: `helm template of ${dir || "."}`,
    at: { file: dir || "." },
    timeoutMs,
    runMs: Math.max(1, Math.min(timeoutMs, opts.deadlineAt !== undefined ? opts.deadlineAt - Date.now() : timeoutMs)),
    memoryBytes: (opts.maxMemoryMb ?? DEFAULT_HELM_MEMORY_MB) * 1024 * 1024,
    maxOutput,
  };
}

/** Runs helm: under mooring-helm when there is one, else under a shell's data-segment limit (or bare). */
function spawnHelm(run: HelmRun, args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<Buffer> {
  const { programs, runMs, maxOutput, memoryBytes } = run;
  // mooring-helm enforces the deadline itself (and kills helm); the outer timeout only guards against it hanging.
  const spawnOpts = { env, timeout: programs.driver ? runMs + 5_000 : runMs, killSignal: "SIGKILL" as const, maxBuffer: maxOutput * 2 + (1 << 20), windowsHide: true };
  return programs.driver
    ? spawnSync(programs.driver, ["-timeout", `${runMs}ms`, "-max-output", String(maxOutput), "-max-memory", String(memoryBytes), "--", programs.helm, ...args], spawnOpts)
    : fs.existsSync("/bin/sh")
      ? spawnSync("/bin/sh", ["-c", `ulimit -d ${Math.ceil(memoryBytes / 1024)} && exec "$0" "$@"`, programs.helm, ...args], { ...spawnOpts, maxBuffer: maxOutput })
      : spawnSync(programs.helm, args, { ...spawnOpts, maxBuffer: maxOutput });
}

/** Refuses a run that did not start, or that spawnSync stopped (output over the limit, past the deadline). */
function checkStarted(r: SpawnSyncReturns<Buffer>, run: HelmRun): void {
  const { programs, what, at } = run;
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === "ENOENT") throw new RenderError(`${programs.driver ?? programs.helm} could not be started (${err.message}); run 'make tools' or set --helm-binary`);
  if (err?.code === "ENOBUFS") throw new RenderError(`${what} printed more than the ${run.maxOutput}-byte output limit`, at);
  if (err?.code === "ETIMEDOUT" || (r.status === DRIVER.deadline && programs.driver)) {
    throw new RenderError(`${what} took longer than ${run.timeoutMs} ms and was killed; simplify the templates or split the Application`, at);
  }
  if (err) throw new RenderError(`${what} could not run: ${err.message}`, at);
}

/** Refuses a run that did not succeed: a limit (memory, output), invalid YAML, a signal, a crash, or helm's own error. */
function checkExit(r: SpawnSyncReturns<Buffer>, run: HelmRun, stderr: string, ctx: ErrorContext): void {
  const { programs, what, at } = run;
  const memoryLimit = `${what} needed more than ${Math.round(run.memoryBytes / 1024 / 1024)} MiB of memory and was stopped`;
  // Go reports running out of memory in several ways (a failed heap growth, a failed mmap of a stack or an arena,
  // each followed by every goroutine's stack): any of them, from helm or from mooring-helm itself, is the limit.
  if ((programs.driver && r.status === DRIVER.memory) || (r.status !== 0 && goOutOfMemory(stderr))) {
    throw new RenderError(memoryLimit, at);
  }
  if (programs.driver && r.status === DRIVER.output) throw new RenderError(`${what} printed more than the ${run.maxOutput}-byte output limit`, at);
  if (programs.driver && r.status === DRIVER.yaml) throw new RenderError(`helm printed a document that is not valid YAML: ${oneLine(stderr)}`, at);
  // A Go program that cannot map its first heap arena dies of SIGSEGV before it prints anything: under a memory
  // limit that is the limit (mooring-helm reports a helm killed by a signal as a helm failure without a message).
  if ((r.signal === "SIGSEGV" || (programs.driver && r.status === DRIVER.helm)) && !stderr.trim()) {
    throw new RenderError(`${memoryLimit} (helm died at start without a message; the limit is too small for helm to start)`, at);
  }
  if (r.signal) throw new RenderError(`${what} was killed by ${r.signal}`, at);
  if (r.status !== 0 && isGoCrash(stderr)) throw new RenderError(`${what} crashed: ${oneLine(stderr)}`, at);
  if (r.status !== 0) {
    if (r.status === DRIVER.helm || r.status === 1 || !programs.driver) throw helmError(stderr, ctx);
    throw new RenderError(`${what} failed (exit ${r.status}): ${oneLine(stderr)}`, at);
  }
}

/** The objects helm rendered, each with the template it came from; Lists flattened. */
function renderedObjects(rendered: Rendered[], ctx: ErrorContext, maxDepth: number): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const { source, object } of rendered) {
    const file = source ? toArtifactPath(source, ctx) : ctx.dir || ".";
    if (!isMap(object)) {
      const kind = Array.isArray(object) ? "a list" : `a ${typeof object}`;
      throw new RenderError(`the template rendered a document that is ${kind}, not a Kubernetes object`, { file, template: file });
    }
    checkDepth(object, maxDepth, file);
    flatten(objects, object, file);
  }
  return objects;
}

/** Go's fatal out-of-memory messages (runtime/malloc.go, mem_linux.go, proc.go). */
export function goOutOfMemory(stderr: string): boolean {
  return /fatal error: (?:runtime: )?(?:out of memory|cannot allocate memory)|runtime: out of memory|runtime: cannot allocate memory|out of memory allocating|failed to create new OS thread.*errno=(?:11|12)/.test(stderr);
}

/** A Go runtime crash (a fatal error or a panic with its goroutine dump), not an error helm reported. */
function isGoCrash(stderr: string): boolean {
  return /^(?:fatal error: |panic: |runtime: )/m.test(stderr) && /^goroutine \d+ \[/m.test(stderr);
}

/** The first meaningful line of a program's stderr: never a goroutine dump in a condition. */
export function oneLine(stderr: string): string {
  const line = stderr
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l && !/^(?:goroutine \d+|runtime stack:|\[signal )/.test(l));
  const s = line ?? "no message";
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

function flatten(out: KubeObject[], value: JsonMap, file: string): void {
  if (typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
    for (const item of value.items) {
      if (!isMap(item)) throw new RenderError(`an item of ${value.kind} is not an object`, { file, template: file });
      flatten(out, item, file);
    }
    return;
  }
  setOrigin(value, { file });
  out.push(value as KubeObject);
}

/** helm's environment: empty private directories for everything it may read or write, nothing inherited. */
function helmEnv(tmp: string, memoryBytes: number): NodeJS.ProcessEnv {
  const h = path.join(tmp, "helm");
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: path.join(h, "home"),
    TMPDIR: tmp,
    HELM_CACHE_HOME: path.join(h, "cache"),
    HELM_CONFIG_HOME: path.join(h, "config"),
    HELM_DATA_HOME: path.join(h, "data"),
    HELM_PLUGINS: path.join(h, "plugins"),
    HELM_NO_PLUGINS: "1",
    HELM_REPOSITORY_CONFIG: path.join(h, "config", "repositories.yaml"),
    HELM_REPOSITORY_CACHE: path.join(h, "cache", "repository"),
    HELM_REGISTRY_CONFIG: path.join(h, "config", "registry.json"),
    KUBECONFIG: path.join(h, "kubeconfig"),
    // The Go heap's soft limit, under the hard one, so the collector works before the limit kills helm.
    GOMEMLIMIT: String(Math.floor(memoryBytes * 0.75)),
  };
}

function parseDriverOutput(stdout: Buffer): Rendered[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout.toString("utf8"));
  } catch (err) {
    throw new RenderError(`mooring-helm printed output that is not JSON (${(err as Error).message}); is it the build for Helm ${PINNED_HELM_VERSION}?`, {}, { cause: err });
  }
  if (!Array.isArray(parsed)) throw new RenderError("mooring-helm printed output that is not a JSON array");
  return parsed as Rendered[];
}

/** Without mooring-helm: helm's YAML, split at its `---` lines and parsed here (slower for large charts). */
export function parseHelmYaml(text: string, limits: Parameters<typeof parseYamlDocs>[2]): Rendered[] {
  const out: Rendered[] = [];
  const docs: string[] = [];
  let cur: string[] = [];
  // Each document keeps its last newline: a block scalar at its end (`|`) ends with one in helm's output.
  for (const line of text.split("\n")) {
    if (/^---(?:[ \t#].*)?\s*$/.test(line)) {
      docs.push(cur.join("\n") + "\n");
      cur = [];
    } else cur.push(line);
  }
  docs.push(cur.join("\n"));
  for (const doc of docs) {
    const source = doc.match(/^\s*# Source: (.*)$/m)?.[1]?.trim() ?? "";
    for (const d of parseYamlDocs(doc, source || "helm output", limits)) if (d.value !== null && d.value !== undefined) out.push({ source, object: d.value });
  }
  return out;
}
