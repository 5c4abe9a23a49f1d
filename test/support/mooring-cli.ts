// The real `mooring` command as a subprocess: node with tsx's loader running src/cli/main.ts (the entry point users
// run, not a test shim), so argument parsing, exit codes, stdout and stderr are the binary's own.
import { execFile } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "./cluster.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface MooringCliOptions {
  /** Kill the process after this long (default 180 s): a hung command fails the test instead of hanging it. */
  timeoutMs?: number;
  /** More environment variables (NO_COLOR=1 is set unless overridden; KUBECONFIG and MOORING_* are never inherited). */
  env?: NodeJS.ProcessEnv;
}

export const MOORING_ENTRY = path.join(REPO_ROOT, "src/cli/main.ts");

/** Runs `mooring <args>` and returns its exit code and output; rejects only when it could not run or finish. */
export function mooringCli(args: string[], o: MooringCliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("MOORING_") && k !== "KUBECONFIG") env[k] = v;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MOORING_ENTRY, ...args],
      { cwd: REPO_ROOT, timeout: o.timeoutMs ?? 180_000, maxBuffer: 16 * 1024 * 1024, env: { ...env, NO_COLOR: "1", ...o.env } },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const code = (err as { code?: unknown }).code;
        if (typeof code === "number") return resolve({ code, stdout, stderr });
        reject(new Error(`mooring ${args.join(" ")} did not finish (${err.message}):\n${stderr}${stdout}`, { cause: err }));
      },
    );
  });
}

/** The command line and its output, for assertion messages. */
export function describeRun(args: string[], r: CliResult): string {
  return `mooring ${args.join(" ")} exited ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}
