// Docker cannot run on the development machines, so the Dockerfile is checked by reading it: its stages,
// runtime user, PID 1, entry point and production-only dependencies, and that it agrees with package.json.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../../support/cluster.js";

interface Instruction { op: string; args: string }
interface Stage { from: string; name: string | undefined; instructions: Instruction[] }

/** Splits a Dockerfile into stages of instructions, joining continuation lines and dropping comments. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!current && (line.startsWith("#") || line === "")) continue;
    if (line.endsWith("\\")) current += line.slice(0, -1) + " ";
    else {
      logical.push(current + line);
      current = "";
    }
  }
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\w+)\s+(.*)$/.exec(l);
    assert.ok(m, `unparseable Dockerfile line: ${l}`);
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (op === "FROM") {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      assert.ok(f, `bad FROM: ${rest}`);
      const image = f[1]!.replace(/^\$\{(\w+)\}$/, (_, v: string) => args.get(v) ?? `\${${v}}`);
      stages.push({ from: image, name: f[2], instructions: [] });
    } else if (op === "ARG" && stages.length === 0) {
      const [k, v] = rest.split("=") as [string, string | undefined];
      args.set(k, v ?? "");
    } else {
      assert.ok(stages.length > 0, `${op} before the first FROM`);
      stages.at(-1)!.instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

const text = readFileSync(path.join(REPO_ROOT, "Dockerfile"), "utf8");
const { stages } = parseDockerfile(text);
const runtime = stages.at(-1)!;
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const runs = (s: Stage) => ops(s, "RUN").map((i) => i.args).join("\n");
const json = (i: Instruction | undefined) => {
  assert.ok(i, "instruction missing");
  return JSON.parse(i.args) as string[];
};

void describe("Dockerfile", () => {
  void it("is multi-stage on a slim Node 20 image (the Go stage only builds helm)", () => {
    assert.ok(stages.length >= 2, "a build stage and a runtime stage");
    for (const s of stages) {
      if (s.name === "helm") assert.match(s.from, /^golang:1\.\d+[-.\w]*$/, `stage helm builds with Go, from ${s.from}`);
      else assert.match(s.from, /^node:20[-.\w]*-slim$/, `stage ${s.name ?? "(runtime)"} uses ${s.from}`);
    }
    assert.match(runtime.from, /^node:20[-.\w]*-slim$/, "the runtime is the slim Node image");
  });

  void it("builds with npm ci and npm run build in a stage that is not the runtime", () => {
    const build = stages.find((s) => /npm run build/.test(runs(s)));
    assert.ok(build && build !== runtime, "a build stage runs npm run build");
    assert.match(runs(build), /npm ci(?![^\n]*--omit=dev)/, "the build stage installs dev dependencies (TypeScript)");
  });

  void it("ships only production dependencies", () => {
    const copies = ops(runtime, "COPY").map((i) => i.args);
    const modules = copies.find((c) => /node_modules/.test(c));
    assert.ok(modules, "the runtime copies node_modules from a stage");
    const from = /--from=(\S+)/.exec(modules)?.[1];
    const source = stages.find((s) => s.name === from);
    assert.ok(source, `node_modules come from stage ${from}`);
    assert.match(runs(source), /npm ci[^\n]*--omit=dev/);
    assert.doesNotMatch(runs(runtime), /npm (ci|install)(?![^\n]*--omit=dev)/, "no dev install in the runtime stage");
    assert.ok(copies.some((c) => /--from=\S+\s+\S*dist\s/.test(c + " ")), "dist/ is copied from the build stage");
  });

  void it("runs as a numeric non-root user", () => {
    const users = ops(runtime, "USER");
    assert.ok(users.length > 0, "the runtime stage sets USER");
    const user = users.at(-1)!.args;
    const uid = Number(user.split(":")[0]);
    assert.ok(Number.isInteger(uid) && uid > 0, `USER ${user} must be a numeric non-zero uid so runAsNonRoot can verify it`);
  });

  void it("starts the CLI's controller command under tini, from the file package.json names as the bin", () => {
    assert.match(runs(runtime), /apt-get install[^\n]*\btini\b/, "tini comes from the Debian package");
    const entry = json(ops(runtime, "ENTRYPOINT").at(-1));
    assert.match(entry[0]!, /(^|\/)tini$/);
    assert.equal(entry[1], "--");
    assert.equal(entry[2], "node");
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
    assert.equal(entry.at(-1), pkg.bin.mooring);
    // Between node and the script: V8 flags only (the memory tuning bench/apply-scale.ts measures with).
    for (const flag of entry.slice(3, -1)) assert.match(flag, /^--[a-z-]+(=\S+)?$/, `${flag} is a node flag`);
    assert.ok(entry.includes("--max-semi-space-size=2"), "the young generation is capped (peak RSS, issue #7)");
    assert.deepEqual(json(ops(runtime, "CMD").at(-1)), ["controller"]);
  });

  void it("keeps writable state out of the root filesystem", () => {
    const env = ops(runtime, "ENV").map((i) => i.args).join(" ");
    assert.match(env, /MOORING_STORAGE_PATH=\/data\b/, "artifacts go to the /data volume the chart mounts");
    assert.match(env, /HOME=\/tmp\b/, "HOME is the writable /tmp");
  });

  void it("has a .dockerignore that keeps the build context to what the build reads", () => {
    const ignore = readFileSync(path.join(REPO_ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    assert.equal(ignore[0], "**", "ignore everything by default");
    const copied = stages.flatMap((s) => ops(s, "COPY")).filter((i) => !i.args.includes("--from=")).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const src of copied) assert.ok(ignore.some((l) => l === `!${src}` || l === `!${src}/**`), `${src} is copied but excluded by .dockerignore`);
  });
});
