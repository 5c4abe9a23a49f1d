// Helm for tests: the binary `make tools` builds (never one from PATH, so every machine runs the pinned
// version), and helpers that render the chart into plain objects. A missing binary fails the test.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseAllDocuments, parseDocument } from "yaml";
import { REPO_ROOT } from "./cluster.js";

export const CHART_DIR = path.join(REPO_ROOT, "charts/mooring");

export function helmBinary(): string {
  const cache = process.env.MOORING_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "mooring");
  const bin = path.join(cache, "bin/helm");
  if (!existsSync(bin)) throw new Error(`helm is not at ${bin}; run 'make tools' to build it (or set MOORING_CACHE to the cache that has it)`);
  return bin;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with a bounded timeout; returns its output whatever the exit status. */
export function runHelm(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): HelmResult {
  const r = spawnSync(helmBinary(), args, {
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 60_000,
    // Keep helm's own cache, config and repository files out of the user's home.
    env: { ...process.env, HELM_CACHE_HOME: path.join(os.tmpdir(), "mooring-helm/cache"), HELM_CONFIG_HOME: path.join(os.tmpdir(), "mooring-helm/config"), HELM_DATA_HOME: path.join(os.tmpdir(), "mooring-helm/data"), ...opts.env },
  });
  if (r.error) throw new Error(`helm ${args.join(" ")} could not run: ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Like runHelm, but a non-zero exit is an error carrying helm's stderr. */
export function helmOk(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const r = runHelm(args, opts);
  if (r.status !== 0) throw new Error(`helm ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A Kubernetes object as rendered; fields are read through the typed helpers in the tests. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;

/** Parses a multi-document YAML stream, dropping empty documents; a YAML error is thrown, not ignored. */
export function parseObjects(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) out.push(value);
  }
  return out;
}

/** `helm template` of the chart with --set style values, returning the objects. */
export function renderChart(set: Record<string, string | number | boolean> = {}, opts: { release?: string; namespace?: string; kubeVersion?: string; extraArgs?: string[] } = {}): K8sObject[] {
  const args = ["template", opts.release ?? "mooring", CHART_DIR, "--namespace", opts.namespace ?? "mooring-system", "--kube-version", opts.kubeVersion ?? "1.36.0"];
  for (const [k, v] of Object.entries(set)) args.push(typeof v === "string" ? "--set-string" : "--set", `${k}=${v}`);
  args.push(...(opts.extraArgs ?? []));
  return parseObjects(helmOk(args));
}

/** A release of the chart installed into its own fresh namespace of a test cluster. */
export interface ChartRelease {
  release: string;
  /** The object-name prefix ("<release>-mooring"). */
  fullname: string;
  namespace: string;
  /** helm install's output, NOTES included. */
  output: string;
  /** The ServiceAccount user names, by controller ("all-in-one" in that mode). */
  serviceAccountUsers: Record<string, string>;
  /** Uninstalls (waiting for the deletions); safe to call twice. */
  uninstall(): void;
}

export interface InstallOptions {
  kubeconfigPath: string;
  namespace: string;
  release?: string;
  mode?: "split" | "all-in-one";
  /** Extra helm arguments, e.g. ["--set", "replicas=2"]. */
  args?: string[];
  /** Install the chart's CRDs too (cluster-wide objects: off by default, tests share them). */
  withCrds?: boolean;
  timeoutSeconds?: number;
}

/** `helm install --wait` of the chart; throws with helm's message when the install fails or times out. */
export function installChart(o: InstallOptions): ChartRelease {
  const release = o.release ?? `mt-${Math.random().toString(16).slice(2, 8)}`;
  const mode = o.mode ?? "split";
  const timeout = o.timeoutSeconds ?? 120;
  const output = helmOk(
    ["install", release, CHART_DIR, "--kubeconfig", o.kubeconfigPath, "--namespace", o.namespace, ...(o.withCrds ? [] : ["--skip-crds"]), "--wait", "--timeout", `${timeout}s`, "--set", `mode=${mode}`, ...(o.args ?? [])],
    { timeoutMs: (timeout + 30) * 1000 },
  );
  const fullname = release.includes("mooring") ? release : `${release}-mooring`;
  const sa = (name: string) => `system:serviceaccount:${o.namespace}:${name}`;
  const serviceAccountUsers: Record<string, string> = mode === "all-in-one" ? { "all-in-one": sa(fullname) } : { source: sa(`${fullname}-source`), render: sa(`${fullname}-render`), apply: sa(`${fullname}-apply`) };
  return {
    release,
    fullname,
    namespace: o.namespace,
    output,
    serviceAccountUsers,
    uninstall: () => {
      helmOk(["uninstall", release, "--kubeconfig", o.kubeconfigPath, "--namespace", o.namespace, "--ignore-not-found", "--wait", "--timeout", "60s"], { timeoutMs: 90_000 });
    },
  };
}

/**
 * Writes a copy of a kubeconfig whose user impersonates `user` (e.g. a chart ServiceAccount), so a process
 * started with it has exactly that user's RBAC. Returns the new file's path.
 */
export function impersonatingKubeconfig(kubeconfigPath: string, user: string, outPath: string): string {
  const doc = parseDocument(readFileSync(kubeconfigPath, "utf8"));
  const users = doc.get("users") as { items: { get(k: string): { set(k: string, v: unknown): void } | undefined }[] } | undefined;
  if (!users?.items.length) throw new Error(`kubeconfig ${kubeconfigPath} has no users to impersonate from`);
  for (const u of users.items) u.get("user")?.set("as", user);
  writeFileSync(outPath, doc.toString(), { mode: 0o600 });
  return outPath;
}
