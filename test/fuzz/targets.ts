// Fuzz targets (issue 17, part 7): every parser that reads untrusted input, with the seeds its inputs are mutated
// from and the one error type it may throw. Anything else — another exception (a TypeError deep in a parser), a hang,
// memory without bound — is a finding. Each target runs an input synchronously or asynchronously and returns; a
// thrown error is judged by `expected`.
//   yaml          src/render/yaml.ts parseYamlDocs (YAML 1.2 and the 1.1-boolean mode of kustomization files), and
//                 toYamlText: what it writes must read back as the same value
//   kustomize     src/render/kustomize renderKustomize over the fixture corpus, one file of a fixture mutated
//   helm-values   src/render/helm.ts parseValues, and a Handlebars chart rendered with the mutated values.yaml
//   packindex     src/source/packindex.ts indexPackFile + PackStore.read over mutated packs made by git
//   webhook       src/source/webhook.ts: parsePush over mutated payloads, routeOf/normalizeRepoUrl over mutated
//                 strings, and the whole handler over signed mutated bodies (any answer but 500 is fine)
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { RenderError } from "../../src/render/errors.js";
import { ArtifactRoot } from "../../src/render/fs.js";
import { parseValues, renderHelm } from "../../src/render/helm.js";
import { renderKustomize } from "../../src/render/kustomize/index.js";
import { resolveLimits } from "../../src/render/limits.js";
import { parseYamlDocs, toYamlText } from "../../src/render/yaml.js";
import { SourceError } from "../../src/source/errors.js";
import { PackStore } from "../../src/source/packindex.js";
import { normalizeRepoUrl, parsePush, routeOf, webhookHandler, type WebhookProvider } from "../../src/source/webhook.js";

export interface Seed {
  /** Names the context the data is used in (a fixture file, a provider); part of a finding's file. */
  id: string;
  data: Buffer;
}

export interface Target {
  name: string;
  /** Parsers under test, for the report. */
  covers: string;
  seeds(): Seed[];
  run(seed: string, data: Buffer): unknown;
  /** Whether a thrown error is the parser's own clear error (not a finding). */
  expected(err: unknown): boolean;
  /** Tokens worth splicing into inputs (dictionary mutations). */
  dictionary?: string[];
  /** Longest input tried (default 16 KiB: parsers are slow on big texts, and bugs show on small ones). */
  maxLen?: number;
  close?(): Promise<void> | void;
}

const REPO = path.resolve(import.meta.dirname, "../..");
const FIXTURES = path.join(REPO, "test/fixtures/render");
const LIMITS = resolveLimits({ maxAliasCount: 100, maxDepth: 100, maxFileBytes: 1024 * 1024, maxTotalBytes: 16 * 1024 * 1024, maxObjects: 2000, maxOutputBytes: 32 * 1024 * 1024 });

/** A finding that is not an exception: an invariant of the parser broken. */
export class InvariantBroken extends Error {
  override name = "InvariantBroken";
}

const YAML_TOKENS = ["&a ", "*a", "<<: ", "<<: *a", "---\n", "...\n", "!!binary ", "!!str ", "!!int ", "!!map ", "!!set ", "!!omap ", "? ", ": ", "- ", "|", "|-", ">+", "{", "}", "[", "]", ",", "#", "'", '"', "\\u0000", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "0644", "0o17", "0x1F", "1e400", ".inf", ".nan", "~", "null", "yes", "on", "\t", "\r\n", "\uFEFF", "\u2028", "\xff"];

function yamlTarget(): Target {
  const seeds: Seed[] = [];
  for (const file of walk(FIXTURES)) if (/\.ya?ml$/.test(file)) seeds.push({ id: (seeds.length % 2 ? "yaml11" : "yaml12"), data: readFileSync(file) });
  seeds.push({ id: "yaml12", data: Buffer.from("a: &x [1, 2]\nb: *x\nc: {<<: {d: 1}, e: 0644}\n") });
  return {
    name: "yaml",
    covers: "src/render/yaml.ts parseYamlDocs, toYamlText",
    seeds: () => seeds.slice(0, 400),
    dictionary: YAML_TOKENS,
    run(seed, data) {
      const docs = parseYamlDocs(data.toString("utf8"), "fuzz.yaml", LIMITS, { yaml11Booleans: seed === "yaml11" });
      // What Mooring writes (mooring render, diff) must read back as the same value.
      for (const d of docs) {
        if (!isJsonLike(d.value)) continue;
        const text = toYamlText(d.value);
        let back: unknown;
        try {
          back = parseYamlDocs(text, "roundtrip.yaml", LIMITS)[0]?.value ?? null;
        } catch (err) {
          throw new InvariantBroken(`toYamlText wrote YAML that does not parse back (${(err as Error).message}): ${JSON.stringify(text.slice(0, 200))}`);
        }
        if (!isDeepStrictEqual(back, d.value)) throw new InvariantBroken(`toYamlText does not round-trip: ${JSON.stringify(d.value).slice(0, 200)} → ${JSON.stringify(text.slice(0, 200))} → ${JSON.stringify(back).slice(0, 200)}`);
      }
      return docs.length;
    },
    expected: (err) => err instanceof RenderError,
  };
}

/** Plain JSON values (what a manifest holds): no Dates, Maps, Sets, binary or non-finite numbers. */
function isJsonLike(v: unknown, depth = 0): boolean {
  if (depth > 60) return false;
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJsonLike(x, depth + 1));
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every((x) => isJsonLike(x, depth + 1));
  return false;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** A private working copy of a fixture directory, its files restored after each run. */
class Workspace {
  readonly root = mkdtempSync(path.join(os.tmpdir(), "mooring-fuzz-"));
  private copied = new Set<string>();

  fixture(rel: string): string {
    const dst = path.join(this.root, rel);
    if (!this.copied.has(rel)) {
      cpSync(path.join(FIXTURES, rel), dst, { recursive: true });
      this.copied.add(rel);
    }
    return dst;
  }

  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

function kustomizeTarget(): Target {
  const base = path.join(FIXTURES, "kustomize");
  const seeds: Seed[] = [];
  for (const fx of readdirSync(base).sort()) {
    for (const file of walk(path.join(base, fx))) {
      if (!/\.(ya?ml|env|properties|txt|json)$|Kustomization$/.test(file)) continue;
      seeds.push({ id: `kustomize/${fx}/${path.relative(path.join(base, fx), file)}`, data: readFileSync(file) });
    }
  }
  let ws: Workspace | undefined;
  return {
    name: "kustomize",
    covers: "src/render/kustomize (kustomization files, patches, generators, replacements)",
    seeds: () => seeds,
    dictionary: [...YAML_TOKENS, "resources:\n- ", "patches:\n- ", "components:\n- ", "namePrefix: ", "namespace: ", "replacements:\n- ", "configMapGenerator:\n- ", "$patch: delete", "$patch: replace", "$retainKeys", "op: add", "path: /", "../", "/etc/passwd", "fieldPaths:\n- ", "options:\n  create: true", "vars:\n- ", "$(VAR)", "[name=x]", "*"],
    run(seed, data) {
      ws ??= new Workspace();
      const [, fx, ...rest] = seed.split("/");
      const dir = ws.fixture(`kustomize/${fx}`);
      const file = path.join(dir, ...rest);
      const original = readFileSync(path.join(base, fx!, ...rest));
      writeFileSync(file, data);
      try {
        const target = existsSync(path.join(dir, "kustomization.yaml")) ? "" : "overlay";
        return renderKustomize(new ArtifactRoot(dir, LIMITS), target).length;
      } finally {
        writeFileSync(file, original);
      }
    },
    expected: (err) => err instanceof RenderError,
    close: () => ws?.close(),
  };
}

function helmValuesTarget(): Target {
  const chart = path.join(FIXTURES, "helm/webapp");
  const seeds: Seed[] = [
    { id: "values", data: readFileSync(path.join(chart, "values.yaml")) },
    { id: "values", data: Buffer.from("replicas: 3\nimage: {repository: x, tag: '1'}\nconfig: {greeting: hi}\ningress: {enabled: true, host: a.example}\ncache: {enabled: false}\n") },
    { id: "parse", data: readFileSync(path.join(chart, "values.yaml")) },
  ];
  let ws: Workspace | undefined;
  return {
    name: "helm-values",
    covers: "src/render/helm.ts parseValues, a Handlebars chart rendered with the values",
    seeds: () => seeds,
    dictionary: [...YAML_TOKENS, "replicas: ", "enabled: true", "__proto__: ", "constructor: ", "prototype: ", "toString: ", "null", "global: "],
    run(seed, data) {
      if (seed === "parse") return parseValues(data.toString("utf8"), "ConfigMap fuzz/values key values.yaml", LIMITS);
      ws ??= new Workspace();
      const dir = ws.fixture("helm");
      writeFileSync(path.join(dir, "webapp/values.yaml"), data);
      return renderHelm(new ArtifactRoot(dir, LIMITS), "webapp", { engine: "handlebars", releaseName: "fuzz", namespace: "fuzz" }).length;
    },
    expected: (err) => err instanceof RenderError,
    close: () => ws?.close(),
  };
}

/** Packs made by git from a small repository with history (so they hold deltas), as the git server would send them. */
function makePacks(): Buffer[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-fuzz-pack-"));
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "f", GIT_AUTHOR_EMAIL: "f@x", GIT_COMMITTER_NAME: "f", GIT_COMMITTER_EMAIL: "f@x" } });
  try {
    git("init", "-q");
    let text = "";
    for (let i = 0; i < 6; i++) {
      text += `line ${i} ${"x".repeat(200)}\n`;
      writeFileSync(path.join(dir, "a.yaml"), `kind: ConfigMap\ndata:\n  v: "${i}"\n${text}`);
      mkdirSync(path.join(dir, `d${i % 2}`), { recursive: true });
      writeFileSync(path.join(dir, `d${i % 2}`, "b.txt"), text.repeat(2));
      git("add", "-A");
      git("commit", "-qm", `c${i}`);
    }
    const all = execFileSync("git", ["rev-list", "--objects", "--all"], { cwd: dir }).toString();
    const head = execFileSync("git", ["rev-list", "--objects", "-n", "1", "HEAD"], { cwd: dir }).toString();
    return [all, head].map((list) => execFileSync("git", ["pack-objects", "--stdout", "-q", "--depth=10"], { cwd: dir, input: list, maxBuffer: 64 << 20 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function packTarget(): Target {
  let packs: Buffer[] | undefined;
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mooring-fuzz-idx-"));
  return {
    name: "packindex",
    covers: "src/source/packindex.ts PackStore (index, read, applyDelta)",
    seeds: () => (packs ??= makePacks()).map((p) => ({ id: "pack", data: p })),
    maxLen: 64 * 1024,
    dictionary: ["PACK", "\x00\x00\x00\x02", "\xff\xff\xff\xff", "\x78\x9c", "\x80\x80\x80\x80\x80\x80\x80\x80\x01"],
    async run(_seed, data) {
      const p = path.join(tmp, "fuzz.pack");
      writeFileSync(p, data);
      const store = await PackStore.open(p, { maxObjectBytes: 4 * 1024 * 1024 });
      try {
        const n = await store.index(path.join(tmp, "fuzz.idx"));
        for (const oid of store.offsetByOid.keys()) await store.read(oid);
        return n;
      } finally {
        await store.close();
      }
    },
    expected: (err) => err instanceof SourceError,
    close: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

const PUSHES: Record<WebhookProvider, unknown> = {
  github: { ref: "refs/heads/main", before: "0".repeat(40), after: "a".repeat(40), repository: { clone_url: "https://github.com/org/repo.git", html_url: "https://github.com/org/repo", ssh_url: "git@github.com:org/repo.git" } },
  gitlab: { object_kind: "push", ref: "refs/tags/v1.0.0", project: { git_http_url: "https://gitlab.example.com/g/p.git", git_ssh_url: "git@gitlab.example.com:g/p.git", web_url: "https://gitlab.example.com/g/p" } },
  generic: { url: "https://git.example.com/team/app.git", branch: "main" },
};
const SECRET = "fuzz-secret";

function webhookTarget(): Target {
  let server: http.Server | undefined;
  let port = 0;
  const seeds: Seed[] = [
    ...Object.entries(PUSHES).map(([p, body]) => ({ id: `parse:${p}`, data: Buffer.from(JSON.stringify(body)) })),
    ...Object.entries(PUSHES).map(([p, body]) => ({ id: `http:${p}`, data: Buffer.from(JSON.stringify(body)) })),
    { id: "http:github-form", data: Buffer.from(`payload=${encodeURIComponent(JSON.stringify(PUSHES.github))}`) },
    { id: "route", data: Buffer.from("/hook/team-a/my-repo") },
    { id: "url", data: Buffer.from("git@github.com:Org/Repo.git/") },
    { id: "url", data: Buffer.from("https://user:pw@host.example:8443/a/b.git") },
  ];
  const start = async () => {
    server = http.createServer(webhookHandler({ secret: () => SECRET, receiverSecret: async () => ({ secret: SECRET }), onPush: () => 1, bodyTimeoutMs: 2_000 }));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  };
  return {
    name: "webhook",
    covers: "src/source/webhook.ts parsePush, routeOf, normalizeRepoUrl, the receiver's request handling",
    seeds: () => seeds,
    dictionary: ['"ref":', '"refs/heads/', '"refs/tags/', '"repository":', '"project":', "null", "[]", "{}", '"__proto__":', "1e999", '"\\u0000"', "%", "%2F", "/hook/", "//", "..", ":", "@", "git@", "ssh://", "\uD800"],
    async run(seed, data) {
      const [kind, provider] = seed.split(":") as [string, string];
      if (kind === "route") return routeOf(data.toString("latin1"));
      if (kind === "url") return normalizeRepoUrl(data.toString("utf8"));
      if (kind === "parse") {
        let payload: unknown;
        try {
          payload = JSON.parse(data.toString("utf8"));
        } catch {
          return undefined; // the handler answers 400 before parsePush for a body that is not JSON
        }
        if (!payload || typeof payload !== "object" || Array.isArray(payload)) return undefined;
        const event = provider === "github" ? "push" : provider === "gitlab" ? "Push Hook" : undefined;
        return parsePush(provider as WebhookProvider, event, payload as Record<string, unknown>);
      }
      if (!server) await start();
      const sig = `sha256=${createHmac("sha256", SECRET).update(data).digest("hex")}`;
      const headers: Record<string, string> =
        provider === "github" ? { "x-github-event": "push", "x-hub-signature-256": sig, "content-type": "application/json" }
        : provider === "github-form" ? { "x-github-event": "push", "x-hub-signature-256": sig, "content-type": "application/x-www-form-urlencoded" }
        : provider === "gitlab" ? { "x-gitlab-event": "Push Hook", "x-gitlab-token": SECRET, "content-type": "application/json" }
        : { "x-mooring-signature-256": sig, "content-type": "application/json" };
      const res = await fetch(`http://127.0.0.1:${port}/hook`, { method: "POST", headers, body: data, signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.status >= 500) throw new InvariantBroken(`the webhook receiver answered ${res.status} to a signed body`);
      return res.status;
    },
    // parsePush's own refusal is an HttpFailure (400), a class the module does not export.
    expected: (err) => err instanceof Error && err.constructor.name === "HttpFailure" && typeof (err as { status?: unknown }).status === "number",
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
}

export const TARGETS: Record<string, () => Target> = {
  yaml: yamlTarget,
  kustomize: kustomizeTarget,
  "helm-values": helmValuesTarget,
  packindex: packTarget,
  webhook: webhookTarget,
};

/** A stored finding or regression input: which seed context, and the bytes. */
export interface Case {
  target: string;
  seed: string;
  /** base64 */
  input: string;
  /** What happened when it was found: the error's name and first line, or "hang", "memory". */
  outcome?: string;
}

export function caseFile(file: string): Case {
  return JSON.parse(readFileSync(file, "utf8")) as Case;
}
