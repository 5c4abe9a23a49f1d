// Bad inputs and failures, each against the real git server: a clear SourceError reason and message, no crash,
// nothing half-written in storage, and other repositories unaffected.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import type { StorageFile } from "../../../src/artifact/storage.js";
import { git, GitServer, type TestRepo } from "../../support/git-server.js";
import { KEY, harness, readArtifact, sourceError, type Harness } from "./harness.js";

const T = 20_000;

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

void describe("source failures against git http-backend", () => {
  let server: GitServer;
  let repo: TestRepo;
  let h: Harness;
  before(async () => {
    server = await GitServer.start();
    repo = await server.createRepo("app", { files: { "a.yaml": "a: 1\n" } });
    await repo.tag("v1.0.0");
    h = await harness();
  });
  after(async () => {
    server.delayMs = 0;
    server.failStatus = undefined;
    await server.close();
    await h.cleanup();
  });
  const sync = (spec: object, name = "app", extra: object = {}) =>
    h.syncer.sync({ key: { ...KEY, name }, spec: { url: repo.url, timeoutMs: T, ...spec }, ...extra });

  void it("unreachable host (closed loopback port)", async () => {
    const e = await sourceError(sync({ url: `http://127.0.0.1:${await closedPort()}/x.git` }));
    assert.equal(e.reason, "Unreachable");
    assert.match(e.message, /connection refused by http:\/\/127\.0\.0\.1:\d+/);
  });

  void it("DNS failure (.invalid host)", async () => {
    const e = await sourceError(sync({ url: "http://mooring-test.invalid/x.git" }));
    assert.equal(e.reason, "Unreachable");
    assert.match(e.message, /cannot resolve host mooring-test\.invalid/);
  });

  void it("a repository that does not exist (404)", async () => {
    const e = await sourceError(sync({ url: server.url("nope") }));
    assert.equal(e.reason, "FetchFailed");
    assert.match(e.message, /HTTP 404: no git repository at this URL/);
  });

  void it("403 and 500 from the server", async () => {
    server.failStatus = 403;
    try {
      assert.equal((await sourceError(sync({}))).reason, "AuthenticationFailed");
      server.failStatus = 500;
      const e = await sourceError(sync({}));
      assert.equal(e.reason, "Unreachable");
      assert.match(e.message, /HTTP 500/);
    } finally {
      server.failStatus = undefined;
    }
  });

  void it("missing branch, tag and commit", async () => {
    const b = await sourceError(sync({ ref: { branch: "nope" } }));
    assert.equal(b.reason, "RefNotFound");
    assert.match(b.message, /branch "nope" not found .*\(branches there: main\)/);
    assert.equal((await sourceError(sync({ ref: { tag: "v9.9.9" } }))).reason, "RefNotFound");
    const c = await sourceError(sync({ ref: { commit: "0123456789abcdef0123456789abcdef01234567" } }));
    assert.equal(c.reason, "RefNotFound");
    assert.match(c.message, /commit 0123456789abcdef0123456789abcdef01234567 not found/);
  });

  void it("a semver range no tag matches", async () => {
    const e = await sourceError(sync({ ref: { semver: ">=2.0.0" } }));
    assert.equal(e.reason, "RefNotFound");
    assert.match(e.message, /no tag .* matches the semver range ">=2\.0\.0" \(1 semver tag\(s\) found, highest 1\.0\.0\)/);
  });

  void it("an empty repository", async () => {
    const empty = await server.createRepo("empty");
    const e = await sourceError(sync({ url: empty.url }));
    assert.equal(e.reason, "EmptyRepository");
    assert.match(e.message, /is empty/);
  });

  void it("a timeout on a slow server, reported at the deadline", async () => {
    server.delayMs = 60_000;
    try {
      const started = Date.now();
      const e = await sourceError(sync({ timeoutMs: 300 }));
      assert.equal(e.reason, "Timeout");
      assert.match(e.message, /did not finish within the timeout of 0\.3s/);
      assert.ok(Date.now() - started < 30_000, "gave up before the server answered");
    } finally {
      server.delayMs = 0;
    }
  });

  void it("a repository larger than the size limit is aborted before anything is stored", async () => {
    const big = await server.createRepo("big", { files: { "blob.bin": randomBytes(512 * 1024) } });
    const small = await harness({ maxSourceBytes: 64 * 1024 });
    try {
      const e = await sourceError(small.syncer.sync({ key: KEY, spec: { url: big.url, timeoutMs: T } }));
      assert.equal(e.reason, "SizeLimitExceeded");
      assert.match(e.message, /exceeded the size limit of 65536 bytes/);
      assert.deepEqual(await small.storage.list(KEY), []);
      assert.deepEqual((await readdir(small.dir)).filter((n) => n.startsWith("mooring-fetch-")), [], "temporary git dir removed");
    } finally {
      await small.cleanup();
    }
  });

  void it("a tree with a `..` entry is refused (InvalidTree), nothing stored", async () => {
    const evil = await server.createRepo("evil", { files: { "ok.txt": "ok" } });
    // git itself will not make a `..` tree entry, so write the tree object by hand.
    const blobOid = await git(evil.workDir, ["rev-parse", "HEAD:ok.txt"]);
    const inner = await mktree(evil.workDir, [["100644", "pwned.txt", blobOid]]);
    const root = await mktree(evil.workDir, [["040000", "..", inner], ["100644", "ok.txt", blobOid]]);
    const commit = await git(evil.workDir, ["commit-tree", root, "-p", "HEAD", "-m", "evil"]);
    await git(evil.workDir, ["push", "-q", "-f", "origin", `${commit}:refs/heads/main`]);
    const e = await sourceError(sync({ url: evil.url }, "evil"));
    assert.equal(e.reason, "InvalidTree");
    assert.match(e.message, /refusing to archive .*"\.\."/);
    assert.equal(e.retryable, false);
    assert.deepEqual(await h.storage.list({ ...KEY, name: "evil" }), []);
  });

  void it("a full disk fails with StorageFailed and keeps the last good artifact", async () => {
    let full = false;
    const openFile = async (p: string): Promise<StorageFile> => {
      const fh = await open(p, "wx");
      return {
        write: async (d) => {
          if (full) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
          return fh.write(d);
        },
        sync: () => fh.sync(),
        close: () => fh.close(),
      };
    };
    const disk = await harness({ storage: { openFile } });
    try {
      const good = await disk.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T } });
      await repo.commit({ "a.yaml": "a: 2\n" });
      full = true;
      const e = await sourceError(
        disk.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, current: { path: good.artifact.path, revision: good.artifact.revision, digest: good.artifact.digest } }),
      );
      assert.equal(e.reason, "StorageFailed");
      assert.match(e.message, /is full \(ENOSPC\)/);
      assert.deepEqual(await disk.storage.list(KEY), [good.artifact.path]);
      assert.equal((await readArtifact(disk.storage, good.artifact.path)).get("a.yaml")!.content, "a: 1\n");
    } finally {
      await disk.cleanup();
    }
  });

  void it("after all of the above, a healthy repository still syncs", async () => {
    const out = await sync({}, "healthy");
    assert.equal(out.kind, "Updated");
  });
});

async function mktree(cwd: string, entries: [string, string, string][]): Promise<string> {
  // Raw tree object: "<mode> <name>\0<20-byte oid>" per entry, written with --literally to skip name checks.
  const body = Buffer.concat(entries.map(([mode, name, oid]) => Buffer.concat([Buffer.from(`${mode.replace(/^0/, "")} ${name}\0`), Buffer.from(oid, "hex")])));
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const p = spawn("git", ["hash-object", "-t", "tree", "-w", "--literally", "--stdin"], { cwd });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`git hash-object exited ${code}`))));
    p.stdin.end(body);
  });
}
