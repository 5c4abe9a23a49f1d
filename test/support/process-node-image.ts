// The image, for the process node (process-node.ts): what the Dockerfile's runtime stage says about how a container
// starts (ENTRYPOINT, CMD, WORKDIR, ENV, USER), and its file layout rebuilt without Docker — dist/ from
// `tsc -p tsconfig.build.json`, package.json and the production dependencies only, as `npm ci --omit=dev` installs
// them (the logic of test/integration/chart/runtime-layout.test.ts, but copying the packages instead of linking
// them: the process node runs the app dir inside its own root filesystem, where the repository is not visible).
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The runtime stage of a Dockerfile, as a container runtime reads it. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  workdir: string;
  /** ENV of the stage, in order, after the base image's PATH (Docker's default, which the node images keep). */
  env: [string, string][];
  /** USER as "uid[:gid]" (numeric in our Dockerfile), or undefined for root. */
  user?: string;
}

/** Docker's default PATH; the node:*-slim base images set the same. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Joins continuation lines and drops comments: one entry per Dockerfile instruction. */
function instructions(text: string): { op: string; rest: string }[] {
  const out: { op: string; rest: string }[] = [];
  let cur = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (!cur && (/^\s*#/.test(line) || !line.trim())) continue;
    if (cur && /^\s*#/.test(line)) continue; // comments inside a continued instruction
    if (line.endsWith("\\")) {
      cur += line.slice(0, -1) + " ";
      continue;
    }
    cur += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(cur);
    if (m) out.push({ op: m[1]!.toUpperCase(), rest: m[2]!.trim() });
    cur = "";
  }
  return out;
}

/** `ENV A=1 B="x y"` (and the legacy `ENV A value`) into pairs. */
function parseEnv(rest: string): [string, string][] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(rest)) {
    const m = /^(\S+)\s+(.*)$/.exec(rest);
    if (!m) throw new Error(`cannot parse Dockerfile ENV ${rest}`);
    return [[m[1]!, m[2]!]];
  }
  const out: [string, string][] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)\s*/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(rest)) !== null) {
    const v = m[2]!;
    out.push([m[1]!, v.startsWith('"') ? (JSON.parse(v) as string) : v]);
    if (re.lastIndex >= rest.length) break;
  }
  if (re.lastIndex < rest.length && out.length === 0) throw new Error(`cannot parse Dockerfile ENV ${rest}`);
  return out;
}

function execForm(op: string, rest: string): string[] {
  if (!rest.startsWith("[")) return ["/bin/sh", "-c", rest];
  const v = JSON.parse(rest) as unknown;
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new Error(`Dockerfile ${op} is not a JSON list of strings: ${rest}`);
  return v;
}

/** Reads the last stage of the Dockerfile (the image that runs). */
export function readImageConfig(repoRoot: string): ImageConfig {
  const all = instructions(readFileSync(path.join(repoRoot, "Dockerfile"), "utf8"));
  const from = all.map((i) => i.op).lastIndexOf("FROM");
  if (from < 0) throw new Error("the Dockerfile has no FROM");
  const cfg: ImageConfig = { entrypoint: [], cmd: [], workdir: "/", env: [["PATH", DEFAULT_PATH]] };
  for (const { op, rest } of all.slice(from + 1)) {
    if (op === "WORKDIR") cfg.workdir = path.posix.resolve(cfg.workdir, rest);
    else if (op === "ENV") for (const [k, v] of parseEnv(rest)) cfg.env = [...cfg.env.filter(([n]) => n !== k), [k, v]];
    else if (op === "USER") cfg.user = rest;
    else if (op === "ENTRYPOINT") {
      cfg.entrypoint = execForm(op, rest);
      cfg.cmd = []; // Docker: an ENTRYPOINT resets the CMD inherited from before it
    } else if (op === "CMD") cfg.cmd = execForm(op, rest);
  }
  if (!cfg.entrypoint.length) throw new Error("the Dockerfile's runtime stage has no ENTRYPOINT");
  return cfg;
}

/**
 * The argv a container runtime execs for a container: `command` replaces the ENTRYPOINT (and then the image's CMD is
 * dropped), `args` replace the CMD. When the image's entry point names a binary this machine lacks (tini, which
 * hack/process-node-deps.sh installs), it starts at the first element that exists: `tini --` is dropped, node runs
 * directly (stated in `dropped`).
 */
export function containerArgv(image: ImageConfig, container: { command?: string[]; args?: string[] }, exists: (p: string) => boolean = existsSync): { argv: string[]; dropped: string[] } {
  let entry = container.command?.length ? [...container.command] : [...image.entrypoint];
  const rest = container.command?.length ? (container.args ?? []) : (container.args ?? image.cmd);
  const dropped: string[] = [];
  if (!container.command?.length && entry[0]?.startsWith("/") && !exists(entry[0])) {
    const i = entry.indexOf("--");
    if (i > 0) {
      dropped.push(...entry.slice(0, i + 1));
      entry = entry.slice(i + 1);
    }
  }
  return { argv: [...entry, ...rest], dropped };
}

/** Runs a command, throwing with its output when it fails. */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/**
 * Builds the image's /app (its WORKDIR) into a new directory and returns it: dist/ compiled from src/, package.json,
 * and node_modules with exactly the production dependency closure (copied, top-level entries as npm lays them out).
 * The directory is world-readable (the container runs as uid 65532); remove it with rmSync when done.
 */
export function buildAppDir(repoRoot: string, into?: string): string {
  const app = into ?? mkdtempSync(path.join(os.tmpdir(), "mooring-app-"));
  const tsc = path.join(repoRoot, "node_modules/.bin/tsc");
  run(tsc, ["-p", path.join(repoRoot, "tsconfig.build.json"), "--outDir", path.join(app, "dist"), "--declaration", "false", "--sourceMap", "false"], repoRoot, 300_000);
  copyFileSync(path.join(repoRoot, "package.json"), path.join(app, "package.json"));
  const listed = run("npm", ["ls", "--omit=dev", "--all", "--parseable"], repoRoot, 120_000);
  const top = listed
    .split("\n")
    .map((p) => path.relative(repoRoot, p))
    .filter((rel) => /^node_modules\/(@[^/]+\/)?[^/@]+$/.test(rel));
  if (top.length < 5) throw new Error(`npm ls --omit=dev listed only ${top.length} production packages; is node_modules installed?`);
  for (const rel of top) {
    mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
    cpSync(path.join(repoRoot, rel), path.join(app, rel), { recursive: true, verbatimSymlinks: true });
  }
  for (const dev of ["typescript", "tsx", "eslint", "@kubernetes/client-node"]) {
    if (existsSync(path.join(app, "node_modules", dev))) {
      rmSync(app, { recursive: true, force: true });
      throw new Error(`dev dependency ${dev} ended up in the runtime layout`);
    }
  }
  chmodSync(app, 0o755);
  return app;
}
