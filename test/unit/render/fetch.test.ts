// Source artifacts for the render controller (src/render/fetch.ts): download with digest and size checks, safe
// extraction (no path escape, symlinks never written through or pointing outside, limits), and the per-digest cache.
// The controller's pure helpers are in controller.test.ts.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, utimes, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { SourceArtifactError, SourceCache, downloadArtifact, extractTarGz, symlinkStaysInside, unsafeEntryName } from "../../../src/render/fetch.js";
import { RenderError } from "../../../src/render/errors.js";
import { ArtifactRoot, skippedLinksFile } from "../../../src/render/fs.js";
import { resolveLimits } from "../../../src/render/limits.js";
import { tgz } from "../../support/tar.js";

const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

let tmp: string;
let server: http.Server;
let base: string;
const served = new Map<string, Buffer>();
/** A path whose answer stops halfway until its gate opens (a download in flight). */
const gates = new Map<string, Promise<void>>();
let requests = 0;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-fetch-"));
  server = http.createServer((req, res) => {
    requests++;
    const body = served.get(req.url ?? "");
    if (!body) {
      res.writeHead(404).end("not found");
      return;
    }
    const gate = gates.get(req.url ?? "");
    if (!gate) {
      res.writeHead(200, { "content-length": String(body.length) }).end(body);
      return;
    }
    res.writeHead(200, { "content-length": String(body.length) });
    res.write(body.subarray(0, body.length >> 1));
    void gate.then(() => res.end(body.subarray(body.length >> 1)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

let n = 0;
const fresh = () => path.join(tmp, `x${++n}`);

void describe("extractTarGz", () => {
  void it("extracts files, directories, modes and inside symlinks", async () => {
    const file = fresh() + ".tgz";
    await writeFile(file, await tgz([
      { name: "a/", type: "directory" },
      { name: "a/one.yaml", body: "kind: A\n" },
      { name: "b/run.sh", body: "#!/bin/sh\n", mode: 0o755 },
      { name: "a/link.yaml", type: "symlink", linkname: "one.yaml" },
      { name: "b/up", type: "symlink", linkname: "../a" },
    ]));
    const dir = fresh();
    const r = await extractTarGz(file, dir);
    assert.equal(r.files, 2);
    assert.deepEqual(r.skippedSymlinks, []);
    assert.equal(await readFile(path.join(dir, "a/one.yaml"), "utf8"), "kind: A\n");
    assert.equal(await readFile(path.join(dir, "a/link.yaml"), "utf8"), "kind: A\n");
    assert.equal(await readlink(path.join(dir, "b/up")), "../a");
  });

  void it("refuses entries that escape the tree", async () => {
    for (const name of ["../evil.yaml", "a/../../evil.yaml", "/etc/evil.yaml"]) {
      const file = fresh() + ".tgz";
      await writeFile(file, await tgz([{ name, body: "x" }]));
      await assert.rejects(extractTarGz(file, fresh()), (e: unknown) => e instanceof SourceArtifactError && !e.retryable && /refusing entry/.test(e.message), name);
    }
    assert.equal(existsSync(path.join(tmp, "evil.yaml")), false);
  });

  void it("skips symlinks pointing outside and never writes a file through a symlink", async () => {
    const outside = fresh();
    const file = fresh() + ".tgz";
    await writeFile(file, await tgz([
      { name: "d", type: "symlink", linkname: outside },
      { name: "up", type: "symlink", linkname: "../../.." },
      { name: "abs", type: "symlink", linkname: "/etc/passwd" },
      { name: "d/planted.yaml", body: "x" },
      { name: "h", type: "link", linkname: "/etc/passwd" },
    ]));
    const dir = fresh();
    const r = await extractTarGz(file, dir);
    assert.deepEqual(r.skippedSymlinks.sort(), ["abs", "d", "up"]);
    assert.equal(existsSync(outside), false, "nothing written outside");
    assert.equal(await readFile(path.join(dir, "d/planted.yaml"), "utf8"), "x", "the file went into a real directory");
    assert.equal(existsSync(path.join(dir, "h")), false, "hard links are not extracted");
  });

  void it("refuses duplicate entries and enforces entry and size limits", async () => {
    const dup = fresh() + ".tgz";
    await writeFile(dup, await tgz([{ name: "a.yaml", body: "1" }, { name: "a.yaml", body: "2" }]));
    // The archive's own fault (EEXIST from the file system, but caused by its entries): never worth a retry.
    await assert.rejects(extractTarGz(dup, fresh()), (e: unknown) => e instanceof SourceArtifactError && !e.retryable);
    const many = fresh() + ".tgz";
    await writeFile(many, await tgz([{ name: "a", body: "1" }, { name: "b", body: "2" }, { name: "c", body: "3" }]));
    await assert.rejects(extractTarGz(many, fresh(), { limits: { maxEntries: 2 } }), /more than 2 entries/);
    const big = fresh() + ".tgz";
    await writeFile(big, await tgz([{ name: "a", body: "x".repeat(1000) }]));
    await assert.rejects(extractTarGz(big, fresh(), { limits: { maxExtractedBytes: 100 } }), /over the 100-byte limit/);
  });

  void it("refuses a file that is not a tar.gz", async () => {
    const file = fresh() + ".tgz";
    await writeFile(file, "not gzip at all");
    await assert.rejects(extractTarGz(file, fresh()), (e: unknown) => e instanceof SourceArtifactError && !e.retryable && /cannot be extracted/.test(e.message));
  });

  void it("an error of this machine's file system is retryable (the archive gone), and says so", async () => {
    await assert.rejects(extractTarGz(fresh() + ".gone.tgz", fresh()), (e: unknown) => e instanceof SourceArtifactError && e.retryable && /could not be extracted here \(ENOENT.*\); retrying/.test(e.message));
  });

  void it("classifies names and symlink targets", () => {
    assert.equal(unsafeEntryName("a/b.yaml"), undefined);
    assert.ok(unsafeEntryName("a/./b"));
    assert.ok(unsafeEntryName("C:/x"));
    assert.ok(unsafeEntryName("a\\b"));
    assert.equal(symlinkStaysInside("a/b", "../c"), true);
    assert.equal(symlinkStaysInside("a/b", "../../c"), false);
    assert.equal(symlinkStaysInside("a", "/abs"), false);
  });
});

void describe("downloadArtifact", () => {
  void it("downloads and verifies the digest", async () => {
    const body = await tgz([{ name: "a.yaml", body: "x" }]);
    served.set("/ok.tgz", body);
    const file = fresh();
    assert.equal(await downloadArtifact(`${base}/ok.tgz`, digestOf(body), file), body.length);
    assert.deepEqual(await readFile(file), body);
  });

  void it("refuses a digest mismatch and removes the file", async () => {
    const body = Buffer.from("tampered");
    served.set("/bad.tgz", body);
    const file = fresh();
    await assert.rejects(downloadArtifact(`${base}/bad.tgz`, `sha256:${"0".repeat(64)}`, file), (e: unknown) => e instanceof SourceArtifactError && e.retryable && /has digest sha256:/.test(e.message));
    assert.equal(existsSync(file), false);
  });

  void it("refuses oversized downloads, missing artifacts and malformed digests", async () => {
    served.set("/big.tgz", Buffer.alloc(2000));
    await assert.rejects(downloadArtifact(`${base}/big.tgz`, digestOf(Buffer.alloc(2000)), fresh(), { limits: { maxDownloadBytes: 1000 } }), (e: unknown) => e instanceof SourceArtifactError && !e.retryable);
    await assert.rejects(downloadArtifact(`${base}/gone.tgz`, `sha256:${"0".repeat(64)}`, fresh()), (e: unknown) => e instanceof SourceArtifactError && e.retryable && /HTTP 404/.test(e.message));
    await assert.rejects(downloadArtifact(`${base}/ok.tgz`, "md5:abc", fresh()), /is not of the form/);
    await assert.rejects(downloadArtifact("http://127.0.0.1:1/x.tgz", `sha256:${"0".repeat(64)}`, fresh()), /cannot download the source artifact/);
  });
});

void describe("SourceCache", () => {
  void it("downloads and extracts each digest once, also when asked concurrently", async () => {
    const body = await tgz([{ name: "plain/cm.yaml", body: "kind: ConfigMap\n" }]);
    served.set("/once.tgz", body);
    const cache = new SourceCache({ dir: fresh() });
    const before = requests;
    const [a, b] = await Promise.all([cache.checkout(`${base}/once.tgz`, digestOf(body)), cache.checkout(`${base}/once.tgz`, digestOf(body))]);
    const c = await cache.checkout(`${base}/once.tgz`, digestOf(body));
    assert.equal(requests - before, 1);
    assert.equal(cache.fetches, 1);
    assert.equal(a.dir, b.dir);
    assert.equal(c.fetched, false);
    assert.equal(await readFile(path.join(c.dir, "plain/cm.yaml"), "utf8"), "kind: ConfigMap\n");
    for (const x of [a, b, c]) x.release();
  });

  void it("keeps the names of the links it left out beside the tree, so the renderers' resolver names the link, not a missing file", async () => {
    // The attack suite's chain: `.hop` points out of the repository (absolute), `.up -> .hop/..` and
    // `evil -> .up/token` each look inside. Extraction leaves `.hop` out; without the list, a render reading `evil`
    // found nothing at `.hop` and said "does not exist".
    const body = await tgz([
      { name: "chain/kustomization.yaml", body: "configMapGenerator:\n- name: stolen\n  files:\n  - token=evil\n" },
      { name: "chain/token", body: "decoy\n" },
      { name: "chain/.hop", type: "symlink", linkname: "/etc" },
      { name: "chain/.up", type: "symlink", linkname: ".hop/.." },
      { name: "chain/evil", type: "symlink", linkname: ".up/token" },
      { name: "plain/out.yaml", type: "symlink", linkname: "../../x.yaml" },
      { name: "plain/cm.yaml", body: "kind: ConfigMap\n" },
      { name: "ok/cm.yaml", body: "kind: ConfigMap\n" },
    ]);
    served.set("/skipped.tgz", body);
    const dir = fresh();
    const cache = new SourceCache({ dir, keep: 1 });
    const co = await cache.checkout(`${base}/skipped.tgz`, digestOf(body));
    try {
      assert.ok(!existsSync(path.join(co.dir, "chain/.hop")) && !existsSync(path.join(co.dir, "plain/out.yaml")), "the links that leave are not in the tree");
      assert.deepEqual(JSON.parse(await readFile(skippedLinksFile(co.dir), "utf8")), ["chain/.hop", "plain/out.yaml"]);
      const root = new ArtifactRoot(co.dir, resolveLimits());
      // Through the chain: the field, its file, and the link at fault.
      assert.throws(
        () => root.resolve("evil", "chain", 'configMapGenerator "stolen" file', "chain/kustomization.yaml", "file"),
        (e: unknown) =>
          e instanceof RenderError &&
          /^chain\/kustomization\.yaml: configMapGenerator "stolen" file "evil" resolves outside the source root: chain\/\.hop is a symlink that leaves the repository \(left out when the source artifact was extracted/.test(e.message) &&
          !/does not exist/.test(e.message),
        "the chain names .hop",
      );
      // The link itself, asked for directly, and probed (an optional file is not silently taken as absent).
      assert.throws(() => root.readText("plain/out.yaml"), /plain\/out\.yaml: resolves outside the source root: plain\/out\.yaml is a symlink that leaves the repository/);
      assert.throws(() => root.exists("plain/out.yaml"), /symlink that leaves the repository/);
      // Listing its directory is refused as it is when the link is present, rather than rendering it without it.
      assert.throws(() => root.list("plain"), /plain: entry "out\.yaml" resolves outside the source root: plain\/out\.yaml is a symlink that leaves the repository/);
      // What does not exist still says so, and directories without a left-out link list as before.
      assert.throws(() => root.readText("chain/nothing"), /chain\/nothing: does not exist/);
      assert.deepEqual(root.list("ok").map((e) => e.name), ["cm.yaml"]);
    } finally {
      co.release();
    }
    // Collected with its tree.
    const other = await tgz([{ name: "f", body: "1" }]);
    served.set("/skipped-next.tgz", other);
    (await cache.checkout(`${base}/skipped-next.tgz`, digestOf(other))).release();
    assert.ok(!existsSync(path.join(dir, path.basename(co.dir))), "the tree was collected");
    assert.ok(!existsSync(skippedLinksFile(co.dir)), "and its list with it");
  });

  void it("collects the least recently used trees beyond keep, never one in use", async () => {
    const dir = fresh();
    const cache = new SourceCache({ dir, keep: 1 });
    const bodies = await Promise.all([1, 2, 3].map((i) => tgz([{ name: `f${i}`, body: String(i) }])));
    bodies.forEach((b, i) => served.set(`/gc${i}.tgz`, b));
    const first = await cache.checkout(`${base}/gc0.tgz`, digestOf(bodies[0]!)); // held
    (await cache.checkout(`${base}/gc1.tgz`, digestOf(bodies[1]!))).release();
    (await cache.checkout(`${base}/gc2.tgz`, digestOf(bodies[2]!))).release();
    const left = (await readdir(dir)).filter((x) => !x.startsWith("."));
    assert.ok(left.includes(path.basename(first.dir)), "the tree in use stays");
    assert.ok(left.includes(digestOf(bodies[2]!).slice(7)), "the newest stays");
    assert.ok(!left.includes(digestOf(bodies[1]!).slice(7)), "the unused older one is collected");
    first.release();
  });

  void it("starting on a shared directory removes only abandoned temporaries, never another cache's download in flight", async () => {
    const dir = fresh();
    await mkdir(dir);
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    const abandoned = [`.tmp-${gone}-0badf00d-1`, `.tmp-${gone}-0badf00d-1.tar.gz`, `.tmp-${process.pid}-0badf00d-2`]; // a process gone; an earlier one with this pid
    const kept = [`.tmp-${process.ppid}-0badf00d-3.tar.gz`, ".tmp-0123456789abcdef"]; // a live process's; a fresh one of the release before
    const old = ".tmp-fedcba9876543210"; // of the release before, untouched for two hours
    for (const n of [...abandoned, ...kept, old]) await (n.endsWith(".tar.gz") ? writeFile(path.join(dir, n), "partial") : mkdir(path.join(dir, n)));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(dir, old), twoHoursAgo, twoHoursAgo);

    // Cache A downloads (halfway, held); cache B starts on the same directory meanwhile, as a second process would.
    const body = await tgz([{ name: "cm.yaml", body: "kind: ConfigMap\n".repeat(5000) }]);
    served.set("/held.tgz", body);
    let open!: () => void;
    gates.set("/held.tgz", new Promise<void>((r) => (open = r)));
    const a = new SourceCache({ dir });
    const pending = a.checkout(`${base}/held.tgz`, digestOf(body));
    const mine = (names: string[]) => names.filter((x) => x.startsWith(`.tmp-${process.pid}-`) && !abandoned.includes(x));
    for (let i = 0; mine(await readdir(dir)).length === 0; i++) {
      assert.ok(i < 200, "cache A never started its download");
      await new Promise((r) => setTimeout(r, 10));
    }
    const b = new SourceCache({ dir });
    await assert.rejects(b.checkout(`${base}/missing.tgz`, `sha256:${"2".repeat(64)}`), /HTTP 404/);
    open();
    const got = await pending;
    assert.equal(got.fetched, true, "cache A's download survived cache B's start");
    assert.equal(await readFile(path.join(got.dir, "cm.yaml"), "utf8"), "kind: ConfigMap\n".repeat(5000));
    got.release();
    const left = await readdir(dir);
    for (const n of kept) assert.ok(left.includes(n), `${n} kept`);
    for (const n of [...abandoned, old]) assert.ok(!left.includes(n), `${n} removed`);
    gates.delete("/held.tgz");
  });

  void it("two caches extracting one digest into a shared directory both succeed", async () => {
    const dir = fresh();
    const body = await tgz([{ name: "same.yaml", body: "x" }]);
    served.set("/twice.tgz", body);
    const [a, b] = [new SourceCache({ dir }), new SourceCache({ dir })];
    const [x, y] = await Promise.all([a.checkout(`${base}/twice.tgz`, digestOf(body)), b.checkout(`${base}/twice.tgz`, digestOf(body))]);
    assert.equal(x.dir, y.dir);
    assert.equal(a.fetches + b.fetches, 2, "each downloaded and extracted it, and the second rename found the first's tree");
    assert.equal(await readFile(path.join(x.dir, "same.yaml"), "utf8"), "x");
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith(".tmp-")), [], "no temporary left behind");
  });

  void it("does not keep a tree whose download failed", async () => {
    const dir = fresh();
    const cache = new SourceCache({ dir });
    served.set("/mismatch.tgz", Buffer.from("x"));
    await assert.rejects(cache.checkout(`${base}/mismatch.tgz`, `sha256:${"1".repeat(64)}`), SourceArtifactError);
    assert.deepEqual(await readdir(dir), []);
  });
});
