// Dependencies of charts from Git, the pure parts: Chart.lock's digest computed as helm computes it (checked against
// locks written by the pinned `helm dependency update`), what is missing and at which version, every refusal with
// its reason naming the chart and the dependency, and the archive read and written for the HelmChart.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { extract as tarExtract } from "tar-stream";
import { writeTarGz, type TarEntry } from "../../../src/artifact/tarball.js";
import { goJson, hashReq, helmRange, normalizeRepoUrl, parseChartMeta, parseLock, pinnedEntry, planDependencies, sameVersion } from "../../../src/source/helm-deps.js";
import { archiveChartName, chartDirOf, extractDir, packageChart, vendoredNames, type TreeFile } from "../../../src/source/helm-git.js";
import { HelmSourceError, parseIndex } from "../../../src/source/helm-repo.js";

// Written by `helm dependency update` (Helm v3.22.0) against a repository on 127.0.0.1:46695, added as "stable".
const PLAIN_CHART = `apiVersion: v2
name: shop
version: 0.1.0
dependencies:
  - name: redis
    version: ">=1.2.0 <1.3.0"
    repository: http://127.0.0.1:46695
`;
const PLAIN_LOCK = `dependencies:
- name: redis
  repository: http://127.0.0.1:46695
  version: 1.2.3
digest: sha256:68a6a6ba75e90e8dd29bca92e6e374858ddce1a6ddae91ed354ffbc13860289e
generated: "2026-12-05T17:08:54.425212447Z"
`;
const RICH_CHART = `apiVersion: v2
name: shop
version: 0.1.0
dependencies:
  - name: redis
    version: "~1.2 || ^1.3"
    repository: "@stable"
    condition: redis.enabled,global.redis
    tags: [cache, db]
    alias: cache
    import-values:
      - child: exports.data
        parent: imported
      - defaults
  - name: common
    version: 2.x
    repository: http://127.0.0.1:46695/
`;
const RICH_LOCK = `dependencies:
- name: redis
  repository: http://127.0.0.1:46695
  version: 1.3.0
- name: common
  repository: http://127.0.0.1:46695/
  version: 2.0.0
digest: sha256:ee0ef9e60dfd02633ee7024a8c9877834bb44655a910489a6b14dc9314c3897c
generated: "2026-12-05T17:08:54.482370553Z"
`;
const STABLE = (name: string) => (name === "stable" ? "http://127.0.0.1:46695" : undefined);
const none = new Set<string>();

function reason(fn: () => unknown, want: string, ...texts: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HelmSourceError, String(err));
    assert.equal(err.reason, want, err.message);
    for (const t of texts) assert.match(err.message, t);
    return true;
  });
}

void describe("Chart.lock digest, as helm dependency build checks it", () => {
  void it("equals the digest helm wrote, with <, > escaped as Go does", () => {
    const meta = parseChartMeta(PLAIN_CHART, "shop/Chart.yaml");
    const lock = parseLock(PLAIN_LOCK, "shop/Chart.lock");
    assert.equal(hashReq(meta.dependencies, lock.dependencies), lock.digest);
    assert.equal(goJson(">=1 <2 &"), '"\\u003e=1 \\u003c2 \\u0026"');
  });

  void it("equals it with @name replaced by the repository's URL, condition, tags, alias and import-values", () => {
    const meta = parseChartMeta(RICH_CHART, "shop/Chart.yaml");
    const lock = parseLock(RICH_LOCK, "shop/Chart.lock");
    const plan = planDependencies(meta, lock, none, STABLE, "chart shop");
    assert.deepEqual(
      plan.missing.map((m) => [m.name, m.url, m.pinned]),
      [
        ["redis", "http://127.0.0.1:46695", "1.3.0"],
        ["common", "http://127.0.0.1:46695/", "2.0.0"],
      ],
    );
    assert.equal(plan.locked, true);
  });

  void it("refuses a lock out of sync with Chart.yaml, as helm does", () => {
    const edited = PLAIN_CHART.replace('">=1.2.0 <1.3.0"', '"^1.3.0"');
    reason(() => planDependencies(parseChartMeta(edited, "shop/Chart.yaml"), parseLock(PLAIN_LOCK, "shop/Chart.lock"), none, STABLE, "chart charts/shop"), "LockOutOfSync", /chart charts\/shop/, /Chart\.lock\) is out of sync with the dependencies file \(Chart\.yaml\)/, /helm dependency update/);
    // The alias now names a repository with another URL: helm's digest differs too.
    reason(() => planDependencies(parseChartMeta(RICH_CHART, "Chart.yaml"), parseLock(RICH_LOCK, "Chart.lock"), none, () => "https://elsewhere.example/", "chart shop"), "LockOutOfSync");
  });
});

void describe("which dependencies are downloaded", () => {
  void it("those in charts/ are kept; the others at the lock's version, or Chart.yaml's range without a lock", () => {
    const meta = parseChartMeta(RICH_CHART, "Chart.yaml");
    const lock = parseLock(RICH_LOCK, "Chart.lock");
    assert.deepEqual(planDependencies(meta, lock, new Set(["redis"]), STABLE, "c").missing.map((m) => m.name), ["common"]);
    assert.deepEqual(planDependencies(meta, lock, new Set(["redis", "common"]), STABLE, "c").missing, []);
    const unlocked = planDependencies(meta, undefined, none, STABLE, "c");
    assert.deepEqual(unlocked.missing.map((m) => [m.name, m.range, m.pinned]), [
      ["redis", "~1.2 || ^1.3", undefined],
      ["common", "2.x", undefined],
    ]);
    assert.equal(unlocked.locked, false);
  });

  void it("a chart with no dependencies, or all vendored, needs nothing and no lock", () => {
    assert.deepEqual(planDependencies(parseChartMeta("apiVersion: v2\nname: a\nversion: 1.0.0\n", "Chart.yaml"), undefined, none, STABLE, "c").missing, []);
  });

  void it("refuses an alias with no HelmRepository, a dependency with no repository, a file:// one, and a bad range — naming the chart and the dependency", () => {
    const meta = parseChartMeta(RICH_CHART, "Chart.yaml");
    reason(() => planDependencies(meta, undefined, none, () => undefined, "chart charts/shop"), "DependencyRepositoryNotFound", /chart charts\/shop/, /dependency "redis"/, /no HelmRepository "stable"/);
    const noRepo = parseChartMeta("apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 1.0.0\n", "Chart.yaml");
    reason(() => planDependencies(noRepo, undefined, none, STABLE, "chart a"), "DependencyNotFound", /chart a: dependency "sub" has no repository and is not in charts\//);
    assert.deepEqual(planDependencies(noRepo, undefined, new Set(["sub"]), STABLE, "chart a").missing, []);
    const local = parseChartMeta("apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 1.0.0\n  repository: file://../sub\n", "Chart.yaml");
    reason(() => planDependencies(local, undefined, none, STABLE, "chart a"), "DependencyNotFound", /file:\/\/\.\.\/sub/);
    const bad = parseChartMeta("apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: not-a-range!\n  repository: https://x.example\n", "Chart.yaml");
    reason(() => planDependencies(bad, undefined, none, STABLE, "chart a"), "InvalidChart", /dependency "sub" has an invalid version constraint "not-a-range!"/);
  });

  void it("Helm's constraint syntax: ',' is AND", () => {
    assert.equal(helmRange(">= 1.2, < 2.0"), ">= 1.2 < 2.0");
    assert.equal(helmRange("~1.2 || ^2"), "~1.2 || ^2");
    assert.equal(helmRange("zzz"), undefined);
  });

  void it("a pinned version is found exactly in the index, else NoMatchingVersion lists the newest", () => {
    const index = parseIndex(Buffer.from("apiVersion: v1\nentries:\n  redis:\n  - version: 1.3.0\n    urls: [redis-1.3.0.tgz]\n  - version: 1.2.3\n    urls: [redis-1.2.3.tgz]\n"), "http://x/index.yaml");
    assert.equal(pinnedEntry(index, "redis", "1.2.3").urls[0], "redis-1.2.3.tgz");
    assert.equal(pinnedEntry(index, "redis", "v1.2.3").urls[0], "redis-1.2.3.tgz");
    reason(() => pinnedEntry(index, "redis", "1.2.4"), "NoMatchingVersion", /no version 1\.2\.4 of chart "redis" \(newest: 1\.3\.0, 1\.2\.3\)/);
    reason(() => pinnedEntry(index, "nginx", "1.0.0"), "ChartNotFound");
    assert.equal(sameVersion("1.0.0+a", "1.0.0+b"), false);
  });

  void it("repository URLs compare as Flux compares them", () => {
    assert.equal(normalizeRepoUrl("HTTPS://Charts.Example.com/stable"), normalizeRepoUrl("https://charts.example.com/stable/"));
    assert.equal(normalizeRepoUrl("oci://r.example/charts/"), "oci://r.example/charts");
    assert.notEqual(normalizeRepoUrl("https://a.example/x"), normalizeRepoUrl("https://a.example/y"));
  });
});

void describe("the chart's archive", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mooring-helmdeps-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function tgz(files: Record<string, string | Buffer>): Promise<Buffer> {
    const entries: TarEntry[] = Object.entries(files).map(([p, t]) => ({ path: p, type: "file", executable: false, size: Buffer.from(t).length, read: () => Promise.resolve(Buffer.from(t)) }));
    const chunks: Buffer[] = [];
    for await (const c of writeTarGz(entries)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async function names(archive: Buffer): Promise<string[]> {
    const out: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const ex = tarExtract();
      ex.on("entry", (h, s, next) => {
        out.push(h.name);
        s.on("end", next);
        s.resume();
      });
      ex.on("finish", resolve);
      ex.on("error", reject);
      ex.end(gunzipSync(archive));
    });
    return out;
  }

  void it("reads only the chart's directory of a Git artifact, bounded in bytes", async () => {
    const sub = await tgz({ "redis/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 1.0.0\n" });
    const file = path.join(dir, "git.tar.gz");
    await writeFile(
      file,
      await tgz({ "README.md": "hi", "charts/shop/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n", "charts/shop/templates/a.yaml": "x: 1\n", "charts/shop/charts/redis-1.0.0.tgz": sub, "charts/shop/charts/lib/Chart.yaml": "name: lib\n", "charts/shopping/Chart.yaml": "name: other\n" }),
    );
    assert.equal(chartDirOf("./charts/shop/"), "charts/shop");
    assert.equal(chartDirOf("."), "");
    const files = await extractDir(file, "charts/shop", "chart charts/shop");
    assert.deepEqual([...files.keys()].sort(), ["Chart.yaml", "charts/lib/Chart.yaml", "charts/redis-1.0.0.tgz", "templates/a.yaml"]);
    assert.deepEqual([...(await vendoredNames(files))].sort(), ["lib", "redis"]);
    assert.equal(await archiveChartName(sub), "redis");
    await assert.rejects(extractDir(file, "charts/shop", "chart charts/shop", 10), (err: unknown) => err instanceof HelmSourceError && err.reason === "ChartTooLarge" && /chart charts\/shop holds more than 10 bytes/.test(err.message));
  });

  void it("packages the chart under its name with the dependencies in charts/, the same bytes for the same input", async () => {
    const files = new Map<string, TreeFile>([
      ["Chart.yaml", { type: "file", data: Buffer.from("name: shop\n"), executable: false }],
      ["templates/a.yaml", { type: "file", data: Buffer.from("x: 1\n"), executable: false }],
    ]);
    const deps = [{ file: "redis-1.2.3.tgz", bytes: Buffer.from("not really a chart") }];
    const a = await packageChart("shop", files, deps, "chart shop");
    const b = await packageChart("shop", files, deps, "chart shop");
    assert.equal(createHash("sha256").update(a).digest("hex"), createHash("sha256").update(b).digest("hex"));
    assert.deepEqual(await names(a), ["shop/Chart.yaml", "shop/charts/redis-1.2.3.tgz", "shop/templates/a.yaml"]);
    await assert.rejects(packageChart("../x", files, [], "chart shop"), (err: unknown) => err instanceof HelmSourceError && err.reason === "InvalidChart");
  });
});
