// The operator compiled to JavaScript, as the image runs it compiled (here bundled by esbuild into one script, with no
// type checking: `make typecheck` does that). Fault tests kill and restart the operator dozens of times: a start under
// tsx spends ~4 s compiling on a busy 2-core machine (and every render worker thread registers tsx again), one from
// the bundle ~0.3 s of CPU. The output goes under node_modules/.cache (so anything left external resolves from the
// repository's node_modules), keyed by a digest of src/, package.json and the lock file, so an unchanged tree is not
// built again and an edited one always is.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { REPO_ROOT } from "./cluster.js";

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out.sort();
}

let built: Promise<string> | undefined;

/**
 * Builds of other trees unused for this long are removed. Not sooner: the checkout is shared, so a test process
 * started after a commit to src/ builds a new tree while another one (a 10-minute fault file) still restarts its
 * operator from the old one — removing it at once made that restart fail with MODULE_NOT_FOUND. Every start marks
 * its build as used (the mtime of `.complete`).
 */
const STALE_BUILD_MS = 3 * 60 * 60 * 1000;

function markUsed(dir: string): void {
  const now = new Date();
  try {
    utimesSync(path.join(dir, ".complete"), now, now);
  } catch {
    // Removed meanwhile: compiledOperator() builds it again.
  }
}

/**
 * Compiles src/ (once per process and per content) and returns the path of the compiled `src/cli/main.js`; each call
 * marks the build as in use, and builds it again if it went missing.
 */
export async function compiledOperator(): Promise<string> {
  if (built) {
    const entry = await built;
    const dir = path.resolve(path.dirname(entry), "..", "..");
    if (existsSync(path.join(dir, ".complete")) && existsSync(entry)) {
      markUsed(dir);
      return entry;
    }
    built = undefined;
  }
  built = (async () => {
    const files = sources(path.join(REPO_ROOT, "src"));
    const h = createHash("sha256");
    for (const f of [...files, path.join(REPO_ROOT, "package.json"), path.join(REPO_ROOT, "package-lock.json")]) h.update(path.relative(REPO_ROOT, f)).update("\0").update(readFileSync(f)).update("\0");
    const cache = path.join(REPO_ROOT, "node_modules", ".cache", "mooring-faults");
    const dir = path.join(cache, h.digest("hex").slice(0, 16));
    const entry = path.join(dir, "src", "cli", "main.js");
    if (existsSync(path.join(dir, ".complete"))) {
      markUsed(dir);
      return entry;
    }
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    // One file with every dependency in it: a start reads and compiles one script instead of hundreds of modules
    // (about a third of the CPU). The render worker is bundled next to it, where src/render/isolated.ts looks for
    // it (./isolated-worker.js beside the module that starts it); CommonJS dependencies get a `require`.
    await build({
      entryPoints: { main: path.join(REPO_ROOT, "src/cli/main.ts"), "isolated-worker": path.join(REPO_ROOT, "src/render/isolated-worker.ts") },
      outdir: path.join(tmp, "src", "cli"),
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      sourcemap: "inline",
      logLevel: "error",
      banner: { js: "import { createRequire as __mooringRequire } from 'node:module'; const require = __mooringRequire(import.meta.url);" },
    });
    // Node reads these files as ES modules only with a package.json saying so next to them.
    writeFileSync(path.join(tmp, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(path.join(tmp, ".complete"), "");
    mkdirSync(cache, { recursive: true });
    // Builds of other trees that no process used for STALE_BUILD_MS are removed (a build in use stays).
    for (const old of readdirSync(cache)) {
      if (old === path.basename(dir) || old.includes(".tmp-")) continue;
      let used = 0;
      try {
        used = statSync(path.join(cache, old, ".complete")).mtimeMs;
      } catch {
        // An incomplete or foreign entry: as old as can be.
      }
      if (Date.now() - used > STALE_BUILD_MS) rmSync(path.join(cache, old), { recursive: true, force: true });
    }
    try {
      renameSync(tmp, dir);
    } catch {
      // Another process built the same tree meanwhile.
      rmSync(tmp, { recursive: true, force: true });
    }
    return entry;
  })();
  return built;
}
