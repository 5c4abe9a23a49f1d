// The operator as a child process, as `make run` starts it (`src/cli/main.ts controller ...` through tsx) with the
// flags of src/config.ts, on free loopback ports, with a storage directory of its own. Tests start it, wait for
// /readyz, read its logs (kept in memory, and shown when a test fails), and stop it with SIGTERM in `after`.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT } from "./cluster.js";
import { waitFor } from "./wait.js";

export interface OperatorOptions {
  /** The kubeconfig the operator uses (e.g. one impersonating the chart's ServiceAccount). */
  kubeconfigPath: string;
  /** Controllers to run (default: source, render, apply). */
  controllers?: string[];
  /** Only reconcile objects in this namespace (keeps a test's operator away from other tests' objects). */
  watchNamespace?: string;
  logLevel?: "error" | "warn" | "info" | "debug";
  /** More `mooring controller` flags. */
  args?: string[];
  /** More environment variables. */
  env?: NodeJS.ProcessEnv;
  /** The CLI entry to run (default src/cli/main.ts). */
  entry?: string;
  /** How long to wait for /readyz (default 90 s: tsx compiles at start-up on a busy machine). */
  readyTimeoutMs?: number;
}

export interface RunningOperator {
  pid: number;
  /** http://127.0.0.1:<port> of /healthz and /readyz. */
  healthUrl: string;
  /** http://127.0.0.1:<port>/metrics. */
  metricsUrl: string;
  /** host:port of the artifact server (also the advertised address). */
  artifactAddr: string;
  webhookAddr: string;
  storageDir: string;
  /** Everything the process wrote to stdout and stderr so far. */
  logs(): string;
  /** The last `lines` lines of the logs, for failure messages. */
  tail(lines?: number): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it exited. Safe to call twice. */
  stop(graceMs?: number): Promise<number | string>;
}

/** A free TCP port on 127.0.0.1 (the kernel's choice; released immediately for the operator to take). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const MAX_LOG_BYTES = 8 * 1024 * 1024;

export async function startOperator(o: OperatorOptions): Promise<RunningOperator> {
  const [health, metrics, artifact, webhook] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const storageDir = await mkdtemp(path.join(os.tmpdir(), "mooring-op-"));
  const artifactAddr = `127.0.0.1:${artifact}`;
  const args = [
    // node itself with tsx's loader (not the tsx wrapper, which relays signals to a second process), so SIGTERM
    // reaches the operator directly and its exit code is the operator's own.
    "--import",
    "tsx",
    o.entry ?? path.join(REPO_ROOT, "src/cli/main.ts"),
    "controller",
    `--controllers=${(o.controllers ?? ["source", "render", "apply"]).join(",")}`,
    `--kubeconfig=${o.kubeconfigPath}`,
    `--health-addr=127.0.0.1:${health}`,
    `--metrics-addr=127.0.0.1:${metrics}`,
    `--artifact-addr=${artifactAddr}`,
    `--advertised-artifact-addr=${artifactAddr}`,
    `--webhook-addr=127.0.0.1:${webhook}`,
    `--storage-path=${storageDir}`,
    `--log-level=${o.logLevel ?? "debug"}`,
    "--log-format=json",
    ...(o.watchNamespace ? [`--watch-namespace=${o.watchNamespace}`] : []),
    ...(o.args ?? []),
  ];
  // Only the variables a shell would pass, minus any MOORING_* setting of the caller's (flags decide here).
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("MOORING_") && k !== "KUBECONFIG") env[k] = v;
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...env, ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const append = (d: Buffer) => {
    log += d.toString();
    if (log.length > MAX_LOG_BYTES) log = log.slice(log.length - MAX_LOG_BYTES / 2);
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.once("error", (err) => {
      log += `\ncannot start the operator: ${err.message}\n`;
      resolve("spawn-error");
    });
  });
  let exitedWith: number | string | undefined;
  void exited.then((v) => (exitedWith = v));

  const tail = (lines = 40) => log.trimEnd().split("\n").slice(-lines).join("\n");
  let stopping: Promise<number | string> | undefined;
  const stop = (graceMs = 15_000) => {
    stopping ??= (async () => {
      if (exitedWith === undefined) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        try {
          await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      await rm(storageDir, { recursive: true, force: true });
      return exited;
    })();
    return stopping;
  };

  const healthUrl = `http://127.0.0.1:${health}`;
  try {
    // An exit before /readyz answers fails at once (a start-up error will not go away by waiting).
    await Promise.race([
      waitFor(
        `the operator's ${healthUrl}/readyz`,
        async () => {
          if (exitedWith !== undefined) return true;
          const res = await fetch(`${healthUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
          return res.status === 200;
        },
        { timeoutMs: o.readyTimeoutMs ?? 90_000, intervalMs: 300 },
      ),
      exited,
    ]);
    if (exitedWith !== undefined) throw new Error(`the operator exited (${exitedWith}) before it was ready`);
  } catch (err) {
    await stop(2_000);
    throw new Error(`${(err as Error).message}\n--- operator log (last lines) ---\n${tail()}`, { cause: err });
  }
  return {
    pid: child.pid!,
    healthUrl,
    metricsUrl: `http://127.0.0.1:${metrics}/metrics`,
    artifactAddr,
    webhookAddr: `127.0.0.1:${webhook}`,
    storageDir,
    logs: () => log,
    tail,
    exited,
    stop,
  };
}
