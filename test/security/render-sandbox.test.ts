// The render sandbox, attacked: a repository tries to read a file outside itself through every input of every
// renderer (kustomize fields, the plain directory walk, Helm-style chart files, valuesFiles, the render path itself),
// with every kind of symlink (absolute, relative `../`, a two-link chain, and a chain whose target only stays inside
// when `..` is collapsed lexically). Each must be refused with an error that names the file and the field, and the
// content of the canary file outside the repository must never appear in the output or the error; nor may the
// error quote the host path of the outside directory. Special files (FIFOs, sockets, devices), directories where a
// file is expected and link loops are refused too, and legitimate in-root links keep rendering as before.
//
// The renders go through the real entry points: `render` (what the controller's worker and `mooring render` call),
// `renderIsolated` (the controller's worker) and `runRender` (the CLI).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { render, renderIsolated, RenderError, type RenderOptions } from "../../src/render/index.js";
import { runRender } from "../../src/cli/render.js";

const CANARY = `canary-${randomUUID()}`;
const cm = (name: string, data = "a: \"1\"\n"): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  ${data}`;

/** What lies outside the repository: every kind of file a renderer could be tricked into reading. */
const OUTSIDE: Record<string, string> = {
  "inner/.keep": "",
  token: `${CANARY}\n`,
  "token.env": `TOKEN=${CANARY}\n`,
  "cm.yaml": cm("canary", `token: ${CANARY}\n`),
  "kustomization.yaml": "resources:\n- cm.yaml\n",
  "comp/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nconfigMapGenerator:\n- name: canary-comp\n  literals:\n  - token=${CANARY}\n`,
  "patch.yaml": cm("app", `token: ${CANARY}\n`),
  "json6902.yaml": `- op: add\n  path: /data/token\n  value: ${CANARY}\n`,
  // Quoted back by today's error messages ("replacement source ConfigMap <name> selects nothing").
  "replacement.yaml": `source:\n  kind: ConfigMap\n  name: ${CANARY}\n  fieldPath: data.a\ntargets:\n- select:\n    kind: ConfigMap\n  fieldPaths:\n  - data.b\n`,
  "Chart.yaml": `name: app\nversion: 0.1.0\ndescription: ${CANARY}\n`,
  "values.yaml": `name: ${CANARY}\n`,
  "values-extra.yaml": `name: ${CANARY}\n`,
  // Quoted back by the schema validation error ("must have required property '<canary>'").
  "values.schema.json": JSON.stringify({ type: "object", required: [CANARY] }),
  "templates/cm.yaml": cm("canary-tpl", `token: ${CANARY}\n`),
  "charts/sub/Chart.yaml": "name: sub\nversion: 0.1.0\n",
  "charts/sub/templates/cm.yaml": cm("canary-sub", `token: ${CANARY}\n`),
};

type Entry = string | { symlink: string } | { fifo: true } | { dir: true };
type Files = Record<string, Entry>;

let top: string;
let secret: string;
let repos = 0;

function write(root: string, files: Files): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof content === "string") fs.writeFileSync(p, content);
    else if ("symlink" in content) fs.symlinkSync(content.symlink, p);
    else if ("fifo" in content) execFileSync("mkfifo", [p]);
    else fs.mkdirSync(p, { recursive: true });
  }
}

/** A new repository next to the outside directory (`<top>/secret`), so `../secret` from its root leaves it. */
function repo(files: Files): string {
  const dir = path.join(top, `repo-${++repos}`);
  fs.mkdirSync(dir);
  write(dir, files);
  return dir;
}

type Style = "absolute" | "relative" | "two-link chain" | "lexical-collapse chain";
const STYLES: Style[] = ["absolute", "relative", "two-link chain", "lexical-collapse chain"];

/**
 * Entries that make `link` (repository-relative) resolve, by the kernel, to `<secret>/<target>` ("" = the outside
 * directory itself). The lexical-collapse chain is the one today's guard misses: `.up -> .hop/..` looks like the
 * link's own directory when `..` is collapsed before `.hop` is followed, while the kernel follows `.hop` (into the
 * outside directory) first; a decoy at the lexical location makes the guard's own lookup succeed.
 */
function escape(style: Style, link: string, target: string, taken: Files): Files {
  const dir = path.posix.dirname(link) === "." ? "" : path.posix.dirname(link);
  const depth = dir ? dir.split("/").length : 0;
  const base = path.posix.basename(link);
  const at = (name: string): string => (dir ? `${dir}/${name}` : name);
  const abs = target ? path.join(secret, target) : secret;
  switch (style) {
    case "absolute":
      return { [link]: { symlink: abs } };
    case "relative":
      return { [link]: { symlink: `${"../".repeat(depth)}../secret${target ? `/${target}` : ""}` } };
    case "two-link chain":
      return { [link]: { symlink: `.hop-${base}` }, [at(`.hop-${base}`)]: { symlink: abs } };
    case "lexical-collapse chain": {
      const out: Files = {
        [at(`.hop-${base}`)]: { symlink: path.join(secret, "inner") },
        [at(`.up-${base}`)]: { symlink: `.hop-${base}/..` },
        [link]: { symlink: `.up-${base}${target ? `/${target}` : ""}` },
      };
      if (target) {
        const decoy = at(target);
        const isDir = fs.statSync(path.join(secret, target)).isDirectory();
        const decoyFile = isDir ? `${decoy}/.decoy` : decoy;
        if (decoy !== link && !decoy.startsWith(`${link}/`) && !(decoyFile in taken)) out[decoyFile] = isDir ? "" : cm("decoy");
      }
      return out;
    }
  }
}

interface Case {
  name: string;
  /** The attacking link, repository-relative. */
  link: string;
  /** What it reaches, relative to the outside directory. */
  target: string;
  /** The rest of the repository. */
  files: Files;
  /** Path rendered. */
  path: string;
  opts?: RenderOptions;
  /** RenderError.file expected (undefined: none). */
  file: string | undefined;
  /** The message must name the input (field and/or file). */
  names: RegExp;
}

const K = "k/kustomization.yaml";
const app = { "k/app.yaml": cm("app") };
const chart: Files = {
  "chart/Chart.yaml": "name: app\nversion: 0.1.0\n",
  "chart/values.yaml": "name: app\n",
  "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{values.name}}\n",
};
const withoutKey = (files: Files, ...keys: string[]): Files => Object.fromEntries(Object.entries(files).filter(([k]) => !keys.includes(k)));

const CASES: Case[] = [
  // ---- kustomize --------------------------------------------------------------------------------------------
  { name: "kustomize resources (file)", link: "k/evil.yaml", target: "cm.yaml", files: { [K]: "resources:\n- app.yaml\n- evil.yaml\n", ...app }, path: "k", file: K, names: /resource "evil\.yaml"/ },
  { name: "kustomize resources (directory)", link: "k/evil", target: "", files: { [K]: "resources:\n- app.yaml\n- evil\n", ...app }, path: "k", file: K, names: /resource "evil"/ },
  { name: "kustomize resources (a file below a linked directory)", link: "k/evil", target: "", files: { [K]: "resources:\n- evil/cm.yaml\n" }, path: "k", file: K, names: /resource "evil\/cm\.yaml"/ },
  { name: "kustomize bases", link: "k/evil", target: "", files: { [K]: "bases:\n- evil\n" }, path: "k", file: K, names: /base "evil"/ },
  { name: "kustomize components", link: "k/evil", target: "comp", files: { [K]: "resources:\n- app.yaml\ncomponents:\n- evil\n", ...app }, path: "k", file: K, names: /component "evil"/ },
  { name: "kustomize patches (path)", link: "k/evil.yaml", target: "patch.yaml", files: { [K]: "resources:\n- app.yaml\npatches:\n- path: evil.yaml\n", ...app }, path: "k", file: K, names: /patches path "evil\.yaml"/ },
  { name: "kustomize patchesStrategicMerge", link: "k/evil.yaml", target: "patch.yaml", files: { [K]: "resources:\n- app.yaml\npatchesStrategicMerge:\n- evil.yaml\n", ...app }, path: "k", file: K, names: /patchesStrategicMerge entry "evil\.yaml"/ },
  {
    name: "kustomize patchesJson6902 (path)",
    link: "k/evil.yaml",
    target: "json6902.yaml",
    files: { [K]: "resources:\n- app.yaml\npatchesJson6902:\n- target:\n    version: v1\n    kind: ConfigMap\n    name: app\n  path: evil.yaml\n", ...app },
    path: "k",
    file: K,
    names: /patchesJson6902 path "evil\.yaml"/,
  },
  { name: "kustomize configMapGenerator files", link: "k/evil.txt", target: "token", files: { [K]: "configMapGenerator:\n- name: gen\n  files:\n  - evil.txt\n" }, path: "k", file: K, names: /configMapGenerator "gen" file "evil\.txt"/ },
  { name: "kustomize configMapGenerator files (key=path)", link: "k/evil.txt", target: "token", files: { [K]: "configMapGenerator:\n- name: gen\n  files:\n  - token=evil.txt\n" }, path: "k", file: K, names: /configMapGenerator "gen" file "evil\.txt"/ },
  { name: "kustomize configMapGenerator envs", link: "k/evil.env", target: "token.env", files: { [K]: "configMapGenerator:\n- name: gen\n  envs:\n  - evil.env\n" }, path: "k", file: K, names: /configMapGenerator "gen" env file "evil\.env"/ },
  { name: "kustomize configMapGenerator env", link: "k/evil.env", target: "token.env", files: { [K]: "configMapGenerator:\n- name: gen\n  env: evil.env\n" }, path: "k", file: K, names: /configMapGenerator "gen" env file "evil\.env"/ },
  { name: "kustomize secretGenerator files", link: "k/evil.txt", target: "token", files: { [K]: "secretGenerator:\n- name: gen\n  files:\n  - evil.txt\n" }, path: "k", file: K, names: /secretGenerator "gen" file "evil\.txt"/ },
  { name: "kustomize secretGenerator envs", link: "k/evil.env", target: "token.env", files: { [K]: "secretGenerator:\n- name: gen\n  envs:\n  - evil.env\n" }, path: "k", file: K, names: /secretGenerator "gen" env file "evil\.env"/ },
  { name: "kustomize replacements (path)", link: "k/evil.yaml", target: "replacement.yaml", files: { [K]: "resources:\n- app.yaml\nreplacements:\n- path: evil.yaml\n", ...app }, path: "k", file: K, names: /replacements path "evil\.yaml"/ },
  { name: "the kustomization file itself", link: K, target: "kustomization.yaml", files: { ...app }, path: "k", file: K, names: /kustomization\.yaml/ },
  // ---- plain and the render path --------------------------------------------------------------------------------
  { name: "plain directory walk (a file)", link: "plain/evil.yaml", target: "cm.yaml", files: { "plain/ok.yaml": cm("ok") }, path: "plain", file: "plain", names: /entry "evil\.yaml"/ },
  { name: "plain directory walk (a directory)", link: "plain/sub", target: "", files: { "plain/ok.yaml": cm("ok") }, path: "plain", file: "plain", names: /entry "sub"/ },
  { name: "plain directory walk (deeper)", link: "plain/a/b/evil.yaml", target: "cm.yaml", files: { "plain/a/b/ok.yaml": cm("ok") }, path: "plain", file: "plain/a/b", names: /entry "evil\.yaml"/ },
  { name: "the render path (a directory)", link: "evil", target: "", files: {}, path: "evil", file: undefined, names: /path "evil"/ },
  { name: "the render path (a file)", link: "evil.yaml", target: "cm.yaml", files: {}, path: "evil.yaml", file: undefined, names: /path "evil\.yaml"/ },
  { name: "the render path (a kustomization)", link: "evil", target: "", files: {}, path: "evil", opts: { type: "kustomize" }, file: undefined, names: /path "evil"/ },
  // ---- Helm-style charts ----------------------------------------------------------------------------------------
  { name: "chart Chart.yaml", link: "chart/Chart.yaml", target: "Chart.yaml", files: withoutKey(chart, "chart/Chart.yaml"), path: "chart", file: "chart/Chart.yaml", names: /Chart\.yaml/ },
  { name: "chart Chart.yaml (type helm)", link: "chart/Chart.yaml", target: "Chart.yaml", files: withoutKey(chart, "chart/Chart.yaml"), path: "chart", opts: { type: "helm" }, file: "chart/Chart.yaml", names: /Chart\.yaml/ },
  { name: "chart values.yaml", link: "chart/values.yaml", target: "values.yaml", files: withoutKey(chart, "chart/values.yaml"), path: "chart", file: "chart/values.yaml", names: /values\.yaml/ },
  { name: "chart values.schema.json", link: "chart/values.schema.json", target: "values.schema.json", files: chart, path: "chart", file: "chart/values.schema.json", names: /values\.schema\.json/ },
  { name: "chart templates/ (the directory)", link: "chart/templates", target: "templates", files: withoutKey(chart, "chart/templates/cm.yaml"), path: "chart", file: "chart/templates", names: /templates/ },
  { name: "chart templates/ (a template)", link: "chart/templates/evil.yaml", target: "templates/cm.yaml", files: chart, path: "chart", file: "chart/templates", names: /entry "evil\.yaml"/ },
  { name: "chart templates/ (a partial)", link: "chart/templates/_evil.tpl", target: "token", files: chart, path: "chart", file: "chart/templates", names: /entry "_evil\.tpl"/ },
  { name: "chart charts/ (the directory)", link: "chart/charts", target: "charts", files: chart, path: "chart", file: "chart/charts", names: /charts/ },
  { name: "chart charts/ (a subchart)", link: "chart/charts/sub", target: "charts/sub", files: chart, path: "chart", file: "chart/charts", names: /entry "sub"/ },
  {
    name: "chart charts/ (a subchart's values.yaml)",
    link: "chart/charts/sub/values.yaml",
    target: "values.yaml",
    files: { ...chart, "chart/charts/sub/Chart.yaml": "name: sub\nversion: 0.1.0\n", "chart/charts/sub/templates/cm.yaml": cm("sub") },
    path: "chart",
    file: "chart/charts/sub/values.yaml",
    names: /values\.yaml/,
  },
  { name: "helm valuesFiles", link: "chart/evil.yaml", target: "values-extra.yaml", files: chart, path: "chart", opts: { helm: { valuesFiles: ["evil.yaml"] } }, file: "chart", names: /valuesFiles entry "evil\.yaml"/ },
];

function attempt(dir: string, p: string, opts: RenderOptions = {}): { out?: string; err?: unknown } {
  try {
    return { out: JSON.stringify(render(dir, p, opts).objects) };
  } catch (err) {
    return { err };
  }
}

/** Nothing from outside: no canary in the output or the error, and no host path of the outside directory. */
function assertNoLeak(r: { out?: string; err?: unknown }, what: string): void {
  if (r.out !== undefined) assert.ok(!r.out.includes(CANARY), `${what}: the outside file's content was rendered`);
  if (r.err !== undefined) {
    const text = `${String((r.err as Error).message)} ${String((r.err as RenderError).file ?? "")}`;
    assert.ok(!text.includes(CANARY), `${what}: the error quotes the outside file: ${text}`);
    assert.ok(!text.includes(top), `${what}: the error quotes a host path: ${text}`);
  }
}

function assertRefused(r: { out?: string; err?: unknown }, what: string, expect: { file: string | undefined; message: RegExp[] }): void {
  assertNoLeak(r, what);
  assert.ok(r.err !== undefined, `${what}: rendered instead of refusing`);
  assert.ok(r.err instanceof RenderError, `${what}: expected a RenderError, got ${String(r.err)}`);
  for (const m of expect.message) assert.match(r.err.message, m, what);
  assert.equal(r.err.file, expect.file, `${what}: file in ${r.err.message}`);
}

before(() => {
  top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mooring-sandbox-")));
  secret = path.join(top, "secret");
  write(secret, OUTSIDE);
});
after(() => fs.rmSync(top, { recursive: true, force: true }));

void describe("render sandbox: no input of any renderer reads outside the repository", () => {
  for (const c of CASES) {
    for (const style of STYLES) {
      void it(`${c.name}, through ${style === "absolute" || style === "relative" ? `${style === "absolute" ? "an" : "a"} ${style} symlink` : `a ${style}`}`, () => {
        const dir = repo({ ...c.files, ...escape(style, c.link, c.target, c.files) });
        assertRefused(attempt(dir, c.path, c.opts), `${c.name} (${style})`, { file: c.file, message: [/resolves outside the source root/, /symlink pointing outside/, c.names] });
      });
    }
  }

  void it("a link chain that leaves and re-enters the root is refused (it depends on where the repository is extracted)", () => {
    const dir = repo({ [K]: "configMapGenerator:\n- name: gen\n  files:\n  - evil.txt\n", "k/token.txt": "in-root\n" });
    fs.symlinkSync(`../../${path.basename(dir)}/k/token.txt`, path.join(dir, "k/evil.txt"));
    assertRefused(attempt(dir, "k"), "re-entering link", { file: K, message: [/resolves outside the source root/, /k\/evil\.txt is a symlink pointing outside/] });
  });

  void it("a link to `.` then `..` through it (`d -> .`, `q -> d/..`) is refused", () => {
    const dir = repo({ "d": { symlink: "." }, "q": { symlink: "d/.." }, "k/kustomization.yaml": "resources:\n- ../q/secret/cm.yaml\n" });
    // Kustomize's load restriction refuses that file before it is read; a directory resource is allowed anywhere.
    assertRefused(attempt(dir, "q/secret"), "q", { file: undefined, message: [/resolves outside the source root/, /q is a symlink pointing outside/] });
    const dir2 = repo({ "d": { symlink: "." }, "q": { symlink: "d/.." }, "k/kustomization.yaml": "resources:\n- ../q/secret\n" });
    assertRefused(attempt(dir2, "k"), "q via resources", { file: K, message: [/resource "\.\.\/q\/secret" resolves outside the source root/] });
  });
});

void describe("render sandbox: special files, directories and loops", () => {
  void it("a FIFO is never opened: as a plain manifest, a generator file (direct and linked) and values.yaml", () => {
    const dir = repo({
      "plain/ok.yaml": cm("ok"),
      "plain/pipe.yaml": { fifo: true },
      [K]: "configMapGenerator:\n- name: gen\n  files:\n  - pipe\n",
      "k/pipe": { fifo: true },
      "k2/kustomization.yaml": "configMapGenerator:\n- name: gen\n  files:\n  - evil.txt\n",
      "k2/.pipe": { fifo: true },
      "k2/evil.txt": { symlink: ".pipe" },
      ...withoutKey(chart, "chart/values.yaml"),
      "chart/values.yaml": { fifo: true },
    });
    assertRefused(attempt(dir, "plain"), "plain FIFO", { file: "plain/pipe.yaml", message: [/is a FIFO/] });
    assertRefused(attempt(dir, "k"), "generator FIFO", { file: K, message: [/configMapGenerator "gen" file "pipe" is a FIFO/] });
    assertRefused(attempt(dir, "k2"), "generator link to a FIFO", { file: "k2/kustomization.yaml", message: [/configMapGenerator "gen" file "evil\.txt" is a FIFO/] });
    assertRefused(attempt(dir, "chart"), "values.yaml FIFO", { file: "chart/values.yaml", message: [/is a FIFO/] });
  });

  void it("a socket is refused as a generator file", async () => {
    const dir = repo({ [K]: "secretGenerator:\n- name: gen\n  files:\n  - sock\n" });
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, "k/sock"), resolve));
    try {
      assertRefused(attempt(dir, "k"), "socket", { file: K, message: [/secretGenerator "gen" file "sock" is a socket/] });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  void it("a device outside is refused as outside (and never opened)", () => {
    const dir = repo({ [K]: "configMapGenerator:\n- name: gen\n  files:\n  - zero\n", "k/zero": { symlink: "/dev/zero" } });
    const r = attempt(dir, "k");
    assertRefused(r, "device", { file: K, message: [/resolves outside the source root/] });
    assert.ok(!(r.err as Error).message.includes("/dev"), "the host path is not quoted");
  });

  void it("a directory where a file is expected is refused", () => {
    const dir = repo({
      [K]: "resources:\n- app.yaml\nconfigMapGenerator:\n- name: gen\n  files:\n  - d\n",
      ...app,
      "k/d/x": "x",
      "p/kustomization.yaml": "resources:\n- app.yaml\npatches:\n- path: d\n",
      "p/app.yaml": cm("app"),
      "p/d/x": "x",
    });
    assertRefused(attempt(dir, "k"), "generator dir", { file: K, message: [/configMapGenerator "gen" file "d" is a directory, not a file/] });
    assertRefused(attempt(dir, "p"), "patch dir", { file: "p/kustomization.yaml", message: [/patches path "d" is a directory, not a file/] });
  });

  void it("link loops are refused, not followed forever", () => {
    const chain: Files = {};
    for (let i = 0; i < 45; i++) chain[`k/c${i}`] = { symlink: `c${i + 1}` };
    chain["k/c45"] = "x";
    const dir = repo({
      [K]: "configMapGenerator:\n- name: gen\n  files:\n  - self\n",
      "k/self": { symlink: "self" },
      "k2/kustomization.yaml": "resources:\n- a\n",
      "k2/a": { symlink: "b" },
      "k2/b": { symlink: "a" },
      "k3/kustomization.yaml": "resources:\n- loop/x.yaml\n",
      "k3/loop": { symlink: "loop/x" },
      "k4/kustomization.yaml": "configMapGenerator:\n- name: gen\n  files:\n  - c0\n",
      ...Object.fromEntries(Object.entries(chain).map(([k, v]) => [k.replace(/^k\//, "k4/"), v])),
    });
    assertRefused(attempt(dir, "k"), "self loop", { file: K, message: [/configMapGenerator "gen" file "self"/, /symlink loop/] });
    assertRefused(attempt(dir, "k2"), "a <-> b", { file: "k2/kustomization.yaml", message: [/resource "a"/, /symlink loop/] });
    assertRefused(attempt(dir, "k3"), "loop/x", { file: "k3/kustomization.yaml", message: [/resource "loop\/x\.yaml"/, /symlink loop/] });
    assertRefused(attempt(dir, "k4"), "46 links", { file: "k4/kustomization.yaml", message: [/more than 40 symlinks/] });
  });
});

void describe("render sandbox: the controller's worker and the CLI refuse too", () => {
  const collapse = (files: Files, link: string, target: string): string => repo({ ...files, ...escape("lexical-collapse chain", link, target, files) });

  void it("renderIsolated (the render controller's worker)", async () => {
    const cases: [string, string, string, RegExp][] = [
      [collapse({ [K]: "configMapGenerator:\n- name: gen\n  files:\n  - evil.txt\n" }, "k/evil.txt", "token"), "k", K, /configMapGenerator "gen" file "evil\.txt" resolves outside the source root/],
      [collapse({ "plain/ok.yaml": cm("ok") }, "plain/evil.yaml", "cm.yaml"), "plain", "plain", /entry "evil\.yaml" resolves outside the source root/],
      [collapse(withoutKey(chart, "chart/values.yaml"), "chart/values.yaml", "values.yaml"), "chart", "chart/values.yaml", /resolves outside the source root/],
    ];
    for (const [dir, p, file, message] of cases) {
      let err: unknown;
      let out = "";
      try {
        out = JSON.stringify((await renderIsolated(dir, p, {})).objects);
      } catch (e) {
        err = e;
      }
      assertRefused({ out: err ? undefined : out, err }, `isolated ${p}`, { file, message: [message] });
    }
  });

  void it("runRender (`mooring render`)", () => {
    const defaults = { type: "auto" as const, values: [] as string[], set: [] as string[], output: "yaml" as const };
    const dir = collapse({ [K]: "secretGenerator:\n- name: gen\n  envs:\n  - evil.env\n" }, "k/evil.env", "token.env");
    let err: unknown;
    let out: string | undefined;
    try {
      out = runRender(path.join(dir, "k"), { ...defaults, root: dir });
    } catch (e) {
      err = e;
    }
    assertRefused({ out, err }, "runRender", { file: K, message: [/secretGenerator "gen" env file "evil\.env" resolves outside the source root/] });
  });
});

void describe("render sandbox: links that stay inside keep working", () => {
  void it("kustomize, plain and chart inputs through in-root links render as the files they point at", () => {
    const dir = repo({
      "shared/base/kustomization.yaml": "resources:\n- cm.yaml\n",
      "shared/base/cm.yaml": cm("base"),
      "shared/data/token.txt": "in-root-token\n",
      [K]: "resources:\n- base\nconfigMapGenerator:\n- name: gen\n  files:\n  - token.txt\n  envs:\n  - vars.env\n",
      // A base is a kustomization of its own: reached through a link, it reads its files where the link leads.
      "k/base": { symlink: "../shared/base" },
      // A generator file through links that stay in the kustomization's directory (k/files is real).
      "k/files/token.txt": "in-root-token\n",
      "k/data": { symlink: "files" },
      "k/token.txt": { symlink: "data/token.txt" },
      "k/real.env": "A=1\n",
      "k/vars.env": { symlink: "real.env" },
      "plain/ok.yaml": cm("ok"),
      "plain/linked.yaml": { symlink: "../shared/base/cm.yaml" },
      "plain/sub": { symlink: "../more" },
      "more/deep.yaml": cm("deep"),
      "tpl/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{values.name}}\n",
      "chart/Chart.yaml": "name: app\nversion: 0.1.0\n",
      "chart/values.yaml": { symlink: "../shared/values.yaml" },
      "shared/values.yaml": "name: from-link\n",
      "chart/templates": { symlink: "../tpl" },
    });
    const k = render(dir, "k");
    assert.deepEqual(
      k.objects.map((o) => [o.kind, o.metadata.name.replace(/-[a-z0-9]{10}$/, "-<hash>"), o.data]),
      [
        ["ConfigMap", "base", { a: "1" }],
        ["ConfigMap", "gen-<hash>", { "token.txt": "in-root-token\n", A: "1" }],
      ],
    );
    // A generator file whose link leads out of the kustomization's directory (still inside the repository) is refused,
    // as kubectl kustomize refuses it (its load restriction is checked where links lead).
    fs.writeFileSync(path.join(dir, K), "configMapGenerator:\n- name: gen\n  files:\n  - shared.txt\n");
    fs.symlinkSync("../shared/data/token.txt", path.join(dir, "k/shared.txt"));
    assert.throws(() => render(dir, "k"), /file "shared\.txt" resolves through a symlink to shared\/data\/token\.txt, which is not in or below k/);
    assert.deepEqual(
      render(dir, "plain").objects.map((o) => o.metadata.name),
      ["base", "ok", "deep"],
    );
    assert.deepEqual(
      render(dir, "chart").objects.map((o) => o.metadata.name),
      ["from-link"],
    );
  });

  void it("`..` in a link target is resolved after the link before it, as the kernel does: what is checked is what is read", () => {
    // a -> b/.. with b -> x/y: the kernel reads x/, a lexical collapse would read the root.
    const dir = repo({
      "x/y/.keep": "",
      "x/cm.yaml": cm("from-x"),
      "cm.yaml": cm("from-root"),
      "b": { symlink: "x/y" },
      "a": { symlink: "b/.." },
      "x/kustomization.yaml": "resources:\n- cm.yaml\n",
      "k/kustomization.yaml": "resources:\n- ../a\n",
    });
    assert.equal(fs.readFileSync(path.join(dir, "a/cm.yaml"), "utf8"), cm("from-x"), "the kernel's view");
    assert.deepEqual(render(dir, "a/cm.yaml").objects.map((o) => o.metadata.name), ["from-x"]);
    assert.deepEqual(render(dir, "k").objects.map((o) => o.metadata.name), ["from-x"]);
  });
});
