// `mooring ui` as a child process, started through the real entry point (src/cli/main.ts ui … through tsx) on a
// free loopback port, with the bundle `make ui` builds; tests wait for /readyz and stop it with SIGTERM in `after`.
// Also the browser: Debian's chromium driven by playwright-core; a machine without it fails the test loudly.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";
import { buildUi } from "../../hack/build-ui.js";
import { REPO_ROOT } from "./cluster.js";
import { freePort } from "./operator.js";
import { waitFor } from "./wait.js";

export interface RunningUi {
  url: string;
  pid: number;
  logs(): string;
  tail(lines?: number): string;
  stop(): Promise<number | string>;
}

/** Builds the bundle once per test process, as `make ui` does (dist/ui). */
let built: Promise<unknown> | undefined;
export function ensureBundle(): Promise<unknown> {
  built ??= buildUi();
  return built;
}

export async function startUi(kubeconfigPath: string, args: string[] = [], readyTimeoutMs = 120_000): Promise<RunningUi> {
  await ensureBundle();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("MOORING_") && k !== "KUBECONFIG") env[k] = v;
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "src/cli/main.ts"), "ui", `--kubeconfig=${kubeconfigPath}`, `--address=127.0.0.1:${port}`, "--log-format=json", ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  let exitedWith: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, sig) => resolve((exitedWith = code ?? sig ?? "unknown"))));
  const tail = (lines = 30) => log.trimEnd().split("\n").slice(-lines).join("\n");
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exitedWith === undefined) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    }
    return exitedWith!;
  };
  try {
    await waitFor(`mooring ui ${args.join(" ")} at ${url}/readyz`, async () => {
      if (exitedWith !== undefined) throw new Error(`exited (${exitedWith})`);
      return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
    }, { timeoutMs: readyTimeoutMs, intervalMs: 300 });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- ui log ---\n${tail()}`, { cause: err });
  }
  return { url, pid: child.pid!, logs: () => log, tail, stop };
}

export const CHROMIUM = process.env.MOORING_CHROMIUM ?? "/usr/bin/chromium";

/** Debian's chromium, headless; fails (never skips) when it is not installed. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is not installed at ${CHROMIUM}: run 'make browser-deps' (apt-get install chromium), or set MOORING_CHROMIUM`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
}

/**
 * A page in a context of its own. tsx compiles the test's functions for page.evaluate with esbuild's keepNames, which
 * calls a helper __name the page lacks: the context defines it (as the identity) before any script runs.
 */
export async function newPage(browser: Browser, opts: BrowserContextOptions = {}): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext(opts);
  await ctx.addInitScript("globalThis.__name = (f) => f;");
  return { ctx, page: await ctx.newPage() };
}
