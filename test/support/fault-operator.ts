// The operator as a process that fault tests kill and start again, as a container restart would: the same ports
// (the advertised artifact address is a Service's and does not move), the same storage directory and /tmp (emptyDirs
// survive a container restart) unless the test asks for fresh ones (the Pod was replaced), and the same flags.
// Unlike test/support/operator.ts (one process per test, stopped with SIGTERM), this one is SIGKILLed at any point
// and restarted many times; its logs are kept across restarts, each start marked, and its /metrics are read
// between kills to count the API requests a recovery cost.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT } from "./cluster.js";
import { compiledOperator } from "./fault-build.js";
import { freePort } from "./operator.js";
import { waitFor } from "./wait.js";

export interface FaultOperatorOptions {
  /** The kubeconfig the operator uses (through a Toxiproxy proxy for network faults). */
  kubeconfigPath: string;
  watchNamespace: string;
  controllers?: string[];
  /** More `mooring controller` flags. */
  args?: string[];
  logLevel?: "error" | "warn" | "info" | "debug";
  /** How long to wait for /readyz after a start (default 120 s). */
  readyTimeoutMs?: number;
  /** Run src/cli/main.ts through tsx instead of the compiled operator (test/support/fault-build.ts). */
  tsx?: boolean;
}

/** One sample of a Prometheus text exposition: name{labels} value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const MAX_LOG_BYTES = 16 * 1024 * 1024;

export class FaultOperator {
  /** Every start so far (the first one included). */
  starts = 0;
  kills = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<number | string> | undefined;
  private log = "";

  private constructor(
    private readonly o: FaultOperatorOptions,
    readonly ports: { health: number; metrics: number; artifact: number; webhook: number },
    /** The Pod's volumes: storage/ (--storage-path) and tmp/ (its TMPDIR: the render cache and crash journal). */
    private home: string,
  ) {}

  static async create(o: FaultOperatorOptions): Promise<FaultOperator> {
    const ports = { health: await freePort(), metrics: await freePort(), artifact: await freePort(), webhook: await freePort() };
    return new FaultOperator(o, ports, await FaultOperator.newHome());
  }

  private static async newHome(): Promise<string> {
    const home = await mkdtemp(path.join(os.tmpdir(), "mooring-fault-op-"));
    await mkdir(path.join(home, "storage"));
    await mkdir(path.join(home, "tmp"));
    return home;
  }

  get storageDir(): string {
    return path.join(this.home, "storage");
  }

  get healthUrl(): string {
    return `http://127.0.0.1:${this.ports.health}`;
  }

  get artifactAddr(): string {
    return `127.0.0.1:${this.ports.artifact}`;
  }

  get webhookUrl(): string {
    return `http://127.0.0.1:${this.ports.webhook}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  logs(): string {
    return this.log;
  }

  tail(lines = 40): string {
    return this.log.trimEnd().split("\n").slice(-lines).join("\n");
  }

  /**
   * Starts the process (it must not be running). `freshStorage` empties the storage directory first, as a
   * replaced Pod's new emptyDir. Resolves once /readyz answers 200 unless `waitReady` is false.
   */
  async start(opts: { freshStorage?: boolean; waitReady?: boolean } = {}): Promise<void> {
    if (this.running) throw new Error("the operator is already running");
    if (opts.freshStorage) {
      await rm(this.home, { recursive: true, force: true });
      this.home = await FaultOperator.newHome();
    }
    const entry = this.o.tsx ? ["--import", "tsx", path.join(REPO_ROOT, "src/cli/main.ts")] : [await compiledOperator()];
    const args = [
      ...entry,
      "controller",
      `--controllers=${(this.o.controllers ?? ["source", "render", "apply"]).join(",")}`,
      `--kubeconfig=${this.o.kubeconfigPath}`,
      `--health-addr=127.0.0.1:${this.ports.health}`,
      `--metrics-addr=127.0.0.1:${this.ports.metrics}`,
      `--artifact-addr=${this.artifactAddr}`,
      `--advertised-artifact-addr=${this.artifactAddr}`,
      `--webhook-addr=127.0.0.1:${this.ports.webhook}`,
      `--storage-path=${this.storageDir}`,
      `--log-level=${this.o.logLevel ?? "info"}`,
      "--log-format=json",
      `--watch-namespace=${this.o.watchNamespace}`,
      ...(this.o.args ?? []),
    ];
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("MOORING_") && k !== "KUBECONFIG") env[k] = v;
    // A /tmp of its own, as a Pod's: operators side by side on one host would otherwise share the render cache
    // (see test/unit/property/fault-findings.test.ts).
    env.TMPDIR = path.join(this.home, "tmp");
    this.starts++;
    this.log += `\n=== start #${this.starts} at ${new Date().toISOString()}${opts.freshStorage ? " (fresh storage)" : ""} ===\n`;
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const append = (d: Buffer) => {
      this.log += d.toString();
      if (this.log.length > MAX_LOG_BYTES) this.log = this.log.slice(this.log.length - MAX_LOG_BYTES / 2);
    };
    child.stdout!.on("data", append);
    child.stderr!.on("data", append);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
      child.once("error", (err) => {
        this.log += `\ncannot start the operator: ${err.message}\n`;
        resolve("spawn-error");
      });
    });
    if (opts.waitReady === false) return;
    await this.waitReady();
  }

  async waitReady(timeoutMs = this.o.readyTimeoutMs ?? 120_000): Promise<void> {
    try {
      let exited: number | string | undefined;
      await waitFor(
        `the operator's ${this.healthUrl}/readyz`,
        async () => {
          if (!this.running) return true; // an exit before /readyz answers fails at once, below
          const res = await fetch(`${this.healthUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
          return res.status === 200;
        },
        { timeoutMs, intervalMs: 100 },
      );
      if (!this.running) exited = await this.exited;
      if (exited !== undefined) throw new Error(`the operator exited (${exited}) before it was ready`);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- operator log (last lines) ---\n${this.tail()}`, { cause: err });
    }
  }

  /** SIGKILL: no shutdown, no last write. Resolves once the process is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.kills++;
    this.log += `\n=== SIGKILL #${this.kills} at ${new Date().toISOString()} ===\n`;
    this.child!.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM (graceful), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill("SIGTERM");
    const t = setTimeout(() => this.child?.kill("SIGKILL"), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  /** Stops the process and removes its storage. */
  async close(): Promise<void> {
    await this.stop(5_000);
    await rm(this.home, { recursive: true, force: true });
  }

  /** The process's metrics, or [] when it does not answer. */
  async metrics(): Promise<Sample[]> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.ports.metrics}/metrics`, { signal: AbortSignal.timeout(2_000) });
      return parseMetrics(await res.text());
    } catch {
      return [];
    }
  }

  /** Sum of a metric over the samples `filter` accepts. */
  async sum(name: string, filter: (labels: Record<string, string>) => boolean = () => true): Promise<number> {
    return (await this.metrics()).filter((s) => s.name === name && filter(s.labels)).reduce((a, s) => a + s.value, 0);
  }

  /** API requests this process made so far: all of them and the writes. */
  async requests(): Promise<{ total: number; writes: number }> {
    const samples = (await this.metrics()).filter((s) => s.name === "rest_client_requests_total");
    const total = samples.reduce((a, s) => a + s.value, 0);
    const writes = samples.filter((s) => ["POST", "PUT", "PATCH", "DELETE"].includes(s.labels.method ?? "")).reduce((a, s) => a + s.value, 0);
    return { total, writes };
  }
}
