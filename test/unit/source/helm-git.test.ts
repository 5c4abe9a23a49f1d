// A chart taken out of a Git artifact and packaged (src/source/helm-git.ts), on a real repository made with the git
// CLI: `git archive` gives the tar.gz of its tree at a commit (with git's pax header and modes, as a Git host's
// archive does), and the tar CLI makes a vendored dependency's .tgz and reads the packaged chart back.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { writeTarGz, type TarEntry } from "../../../src/artifact/tarball.js";
import { archiveChartName, chartDirOf, extractDir, MAX_CHART_FILES, packageChart, treeText, vendoredNames, type TreeFile } from "../../../src/source/helm-git.js";
import { HelmSourceError } from "../../../src/source/helm-repo.js";

const top = mkdtempSync(path.join(os.tmpdir(), "mooring-helm-git-"));
after(() => rmSync(top, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" } });
}

/** Writes `files` under `dir` (a value `{ link }` is a symlink, `{ exec }` an executable file). */
function write(dir: string, files: Record<string, string | { link: string } | { exec: string }>): void {
  for (const [rel, v] of Object.entries(files)) {
    const p = path.join(dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    if (typeof v === "string") writeFileSync(p, v);
    else if ("link" in v) symlinkSync(v.link, p);
    else writeFileSync(p, v.exec, { mode: 0o755 });
  }
}

/** A git repository of `files`, committed, and its tree as `git archive` writes it: the artifact's path. */
function gitArtifact(name: string, files: Parameters<typeof write>[1]): string {
  const repo = path.join(top, name);
  mkdirSync(repo);
  write(repo, files);
  run("git", ["init", "-q", "-b", "main"], repo);
  run("git", ["add", "-A"], repo);
  run("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "chart"], repo);
  const out = path.join(top, `${name}.tar.gz`);
  run("git", ["archive", "--format=tar.gz", "-o", out, "HEAD"], repo);
  return out;
}

/** A dependency's .tgz as `tar` makes it (entries under ./<dir>/). */
function tarTgz(name: string, files: Record<string, string>): Buffer {
  const src = path.join(top, `tgz-${name}`);
  write(src, files);
  const out = path.join(top, `${name}.tgz`);
  run("tar", ["-czf", out, "-C", src, "."], top);
  return readFileSync(out);
}

const file = (text: string, executable = false): TreeFile => ({ type: "file", data: Buffer.from(text), executable });
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

void describe("a chart directory of a Git artifact", () => {
  let artifact = "";
  let redis: Buffer;
  before(() => {
    redis = tarTgz("redis", { "redis/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 1.0.0\n", "redis/charts/inner/Chart.yaml": "name: inner\n" });
    artifact = gitArtifact("repo", {
      "README.md": "root\n",
      "charts/shop/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
      "charts/shop/templates/cm.yaml": "kind: ConfigMap\n",
      "charts/shop/files/run.sh": { exec: "#!/bin/sh\necho hi\n" },
      "charts/shop/values.yaml": { link: "templates/cm.yaml" },
      "charts/shop/charts/lib/Chart.yaml": "apiVersion: v2\nname: lib-chart\nversion: 1.0.0\n",
      "charts/shop/charts/empty/README.md": "no Chart.yaml here\n",
      "charts/shop/charts/lib/charts/deeper/Chart.yaml": "name: deeper\n",
      "charts/shop/charts/notachart.tgz": "plain text\n",
      "charts/shopping/Chart.yaml": "name: other\n",
    });
  });

  void it("reads only the chart's directory, relative to it: files with their executable bit, links as links, nothing else", async () => {
    const files = await extractDir(artifact, "charts/shop", "chart charts/shop");
    assert.deepEqual([...files.keys()].sort(), ["Chart.yaml", "charts/empty/README.md", "charts/lib/Chart.yaml", "charts/lib/charts/deeper/Chart.yaml", "charts/notachart.tgz", "files/run.sh", "templates/cm.yaml", "values.yaml"]);
    assert.deepEqual(files.get("files/run.sh"), file("#!/bin/sh\necho hi\n", true));
    assert.deepEqual(files.get("templates/cm.yaml"), file("kind: ConfigMap\n"));
    assert.deepEqual(files.get("values.yaml"), { type: "symlink", target: "templates/cm.yaml" });
  });

  void it("reads the whole tree for the repository's root, git's pax header left out", async () => {
    const files = await extractDir(artifact, chartDirOf("./"), "chart .");
    assert.ok(files.has("README.md") && files.has("charts/shopping/Chart.yaml") && files.has("charts/shop/Chart.yaml"));
    assert.ok(![...files.keys()].some((k) => k.includes("pax_global_header") || k.endsWith("/")), [...files.keys()].join(", "));
  });

  void it("treeText reads a regular file, undefined for none, and refuses a link where a chart file must be", async () => {
    const files = await extractDir(artifact, "charts/shop", "chart charts/shop");
    assert.equal(treeText(files, "Chart.yaml", "chart shop"), "apiVersion: v2\nname: shop\nversion: 0.1.0\n");
    assert.equal(treeText(files, "Chart.lock", "chart shop"), undefined);
    assert.throws(
      () => treeText(files, "values.yaml", "chart shop"),
      (err: unknown) => err instanceof HelmSourceError && err.reason === "InvalidChart" && err.message === "chart shop: values.yaml is a symbolic link; it must be a regular file",
    );
  });

  void it("counts as vendored each charts/ directory with a Chart.yaml and each chart .tgz, by Chart.yaml name", async () => {
    const files = await extractDir(artifact, "charts/shop", "chart charts/shop");
    files.set("charts/redis-1.0.0.tgz", { type: "file", data: redis, executable: false });
    files.set("charts/linked/Chart.yaml", { type: "symlink", target: "../lib/Chart.yaml" });
    // lib-chart by its Chart.yaml's name, not its directory's; redis from its archive; a nested chart, a directory
    // without Chart.yaml, a text file named .tgz and a link are not dependencies of this chart.
    assert.deepEqual([...(await vendoredNames(files))].sort(), ["lib-chart", "redis"]);
  });

  void it("archiveChartName: the top directory's Chart.yaml name, or undefined", async () => {
    assert.equal(await archiveChartName(redis), "redis", "tar's ./ prefix is no obstacle");
    assert.equal(await archiveChartName(tarTgz("nested-only", { "x/templates/Chart.yaml": "name: no\n", "Chart.yaml": "name: top-level-file\n" })), undefined);
    assert.equal(await archiveChartName(tarTgz("nameless", { "c/Chart.yaml": "version: 1.0.0\n" })), undefined);
    assert.equal(await archiveChartName(tarTgz("badyaml", { "c/Chart.yaml": "name: [unclosed\n" })), undefined);
    assert.equal(await archiveChartName(Buffer.from("not gzip")), undefined);
  });

  void it("refuses an artifact that is not a gzip tar, as a source not ready", async () => {
    const bogus = path.join(top, "bogus.tar.gz");
    writeFileSync(bogus, "not a tarball");
    await assert.rejects(extractDir(bogus, "", "chart ."), (err: unknown) => err instanceof HelmSourceError && err.reason === "SourceNotReady" && err.retryable && /cannot be read as a gzip tar/.test(err.message));
  });

  void it(`refuses a chart directory of more than ${MAX_CHART_FILES} files`, async () => {
    // Written by the source controller's own tar writer: 20,000 files through git would take seconds.
    const entries: TarEntry[] = Array.from({ length: MAX_CHART_FILES + 1 }, (_, i) => ({ path: `big/t/${Math.floor(i / 1000)}/${i}`, type: "file", executable: false, size: 0, read: () => Promise.resolve(Buffer.alloc(0)) }));
    const big = path.join(top, "big.tar.gz");
    const chunks: Buffer[] = [];
    for await (const c of writeTarGz(entries)) chunks.push(c as Buffer);
    writeFileSync(big, Buffer.concat(chunks));
    await assert.rejects(extractDir(big, "big", "chart big"), (err: unknown) => err instanceof HelmSourceError && err.reason === "ChartTooLarge" && err.message === `chart big holds more than ${MAX_CHART_FILES} files`);
    assert.equal((await extractDir(big, "big/t/1", "chart big/t/1")).size, 1000, "a directory under the limit is read");
  });
});

void describe("packaging the chart", () => {
  const files = (): Map<string, TreeFile> =>
    new Map<string, TreeFile>([
      ["Chart.yaml", file("apiVersion: v2\nname: shop\nversion: 0.1.0\n")],
      ["files/run.sh", file("#!/bin/sh\n", true)],
      ["values.yaml", { type: "symlink", target: "templates/cm.yaml" }],
      ["templates/cm.yaml", file("kind: ConfigMap\n")],
    ]);
  const dep = { file: "redis-1.0.0.tgz", bytes: Buffer.from("the dependency's archive") };

  void it("puts the files under the chart's name and the dependencies in its charts/, read back as they were", async () => {
    const pkg = await packageChart("shop", files(), [dep], "chart shop");
    const out = path.join(top, "shop-0.1.0.tgz");
    writeFileSync(out, pkg);
    const listing = run("tar", ["-tvzf", out], top);
    assert.deepEqual(
      listing
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/).slice(5).join(" ")),
      ["shop/Chart.yaml", "shop/charts/redis-1.0.0.tgz", "shop/files/run.sh", "shop/templates/cm.yaml", "shop/values.yaml -> templates/cm.yaml"],
      "sorted, as tar lists them",
    );
    const back = await extractDir(out, "shop", "chart shop");
    assert.deepEqual(back, new Map([...files(), ["charts/redis-1.0.0.tgz", { type: "file", data: dep.bytes, executable: false }]]));
  });

  void it("makes the same bytes whatever order the files came in", async () => {
    const a = await packageChart("shop", files(), [dep], "chart shop");
    const b = await packageChart("shop", new Map([...files()].reverse()), [dep], "chart shop");
    assert.equal(sha(a), sha(b));
    assert.notEqual(sha(a), sha(await packageChart("shop", files(), [], "chart shop")));
  });

  void it("refuses a name that is not a plain directory name, and a dependency whose file Git already has", async () => {
    for (const bad of ["", "-x", ".hidden", "a/b", "..", "sp ace"]) {
      await assert.rejects(packageChart(bad, files(), [], "chart shop"), (err: unknown) => err instanceof HelmSourceError && err.reason === "InvalidChart" && err.message.includes(`"${bad}" is not a valid directory name`), bad);
    }
    const inGit = files();
    inGit.set("charts/redis-1.0.0.tgz", file("committed by hand"));
    await assert.rejects(
      packageChart("shop", inGit, [dep], "chart shop"),
      (err: unknown) => err instanceof HelmSourceError && err.reason === "InvalidChart" && err.message.startsWith("chart shop: charts/redis-1.0.0.tgz is in Git but is not the dependency"),
    );
  });

  void it("chartDirOf: spec.chart without ./ prefixes or trailing slashes; the root is ''", () => {
    assert.deepEqual(["./././charts/x//", "charts/x", ".", "./", ""].map(chartDirOf), ["charts/x", "charts/x", "", "", ""]);
  });
});
