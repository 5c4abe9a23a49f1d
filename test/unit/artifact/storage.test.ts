import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ArtifactStorage, StorageError, artifactUrl, isArtifactName, type StorageFile } from "../../../src/artifact/storage.js";
import { chunks, key } from "./fixtures.js";

void describe("ArtifactStorage", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "mooring-storage-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  void it("writes atomically under <kind>/<ns>/<name>/<sha256>.<token>.tar.gz with the digest of the bytes", async () => {
    const s = new ArtifactStorage({ root: path.join(root, "a") });
    await s.init();
    const stored = await s.write(key, chunks("hello ", "world"));
    const hex = createHash("sha256").update("hello world").digest("hex");
    assert.match(stored.path, new RegExp(`^gitrepository/team-a/app/${hex}\\.[A-Za-z0-9_-]{32}\\.tar\\.gz$`));
    assert.ok(isArtifactName(path.basename(stored.path)));
    assert.deepEqual({ ...stored, path: "" }, { path: "", digest: `sha256:${hex}`, size: 11 });
    assert.equal(await readFile(s.absolute(stored.path), "utf8"), "hello world");
    assert.equal(await s.exists(stored.path), true);
    assert.equal(await s.exists(stored.path, stored.digest), true);
    assert.equal(await s.exists(stored.path, "sha256:" + "0".repeat(64)), false);
    assert.equal(await s.exists("gitrepository/team-a/app/missing.tar.gz"), false);
    assert.equal(await s.exists(`gitrepository/team-a/app/${hex}.tar.gz`), false, "the name without its token is not the artifact");
    assert.equal(await s.exists("../../etc/passwd"), false);
    assert.deepEqual((await readdir(s.absolute("gitrepository/team-a/app"))).filter((n) => n.startsWith(".")), []);
  });

  void it("keeps the newest N per object and collects older ones", async () => {
    const s = new ArtifactStorage({ root: path.join(root, "gc"), keep: 2 });
    await s.init();
    const written = [];
    for (let i = 0; i < 4; i++) {
      written.push(await s.write(key, chunks(`v${i}`)));
      const t = new Date(Date.now() - (10 - i) * 1000);
      await utimes(s.absolute(written[i]!.path), t, t); // distinct mtimes without waiting
    }
    await s.gc(key);
    assert.deepEqual(await s.list(key), [written[3]!.path, written[2]!.path]);
    const other = await s.write({ ...key, name: "other" }, chunks("x"));
    assert.equal(await s.exists(other.path), true, "other objects are untouched");
  });

  void it("on a full disk throws StorageError ENOSPC, removes the temp file and keeps the last good artifact", async () => {
    let failing = false;
    const openFile = async (p: string): Promise<StorageFile> => {
      const real = await (await import("node:fs/promises")).open(p, "wx");
      let written = 0;
      return {
        write: async (d) => {
          written += d.length;
          if (failing && written > 4) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
          return real.write(d);
        },
        sync: () => real.sync(),
        close: () => real.close(),
      };
    };
    const s = new ArtifactStorage({ root: path.join(root, "full"), openFile });
    await s.init();
    const good = await s.write(key, chunks("good artifact"));
    failing = true;
    await assert.rejects(s.write(key, chunks("a much larger new artifact")), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, "ENOSPC");
      assert.match(err.message, /is full \(ENOSPC\); the previous artifact is still served/);
      return true;
    });
    assert.deepEqual(await s.list(key), [good.path]);
    assert.equal(await s.exists(good.path, good.digest), true);
    assert.deepEqual((await readdir(s.absolute("gitrepository/team-a/app"))).length, 1, "no temp file left");
  });

  void it("passes a producer's error through unchanged (not a storage failure)", async () => {
    const s = new ArtifactStorage({ root: path.join(root, "src") });
    await s.init();
    async function* bad(): AsyncIterable<Uint8Array> {
      yield Buffer.from("x");
      throw new RangeError("producer broke");
    }
    await assert.rejects(s.write(key, bad()), RangeError);
  });

  void it("init removes temp files left by a crash, and artifacts named without a token (an older version's)", async () => {
    const dir = path.join(root, "crash", "gitrepository/ns/n");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, ".tmp-deadbeef"), "half");
    await writeFile(path.join(dir, `${"a".repeat(64)}.tar.gz`), "guessable");
    const kept = `${"b".repeat(64)}.${"T".repeat(32)}.tar.gz`;
    await writeFile(path.join(dir, kept), "tokened");
    await new ArtifactStorage({ root: path.join(root, "crash") }).init();
    assert.deepEqual(await readdir(dir), [kept]);
  });

  void it("keeps the name (and so the URL) of an artifact written again with the same bytes; other objects get other tokens", async () => {
    const s = new ArtifactStorage({ root: path.join(root, "same") });
    await s.init();
    const first = await s.write(key, chunks("same bytes"));
    const again = await s.write(key, chunks("same ", "bytes"));
    assert.equal(again.path, first.path);
    const other = await s.write({ ...key, name: "other" }, chunks("same bytes"));
    assert.notEqual(path.basename(other.path), path.basename(first.path), "the token is per artifact, not derived from the bytes");
    assert.equal(other.digest, first.digest);
  });

  void it("refuses a write past maxBytes with StorageError EDQUOT naming the limit, counts shared by every storage on the root", async () => {
    const r = path.join(root, "quota");
    const a = new ArtifactStorage({ root: r, maxBytes: 40, keep: 1 });
    const b = new ArtifactStorage({ root: r, maxBytes: 40, keep: 1 });
    await a.init();
    await b.init();
    const good = await a.write(key, chunks("x".repeat(20)));
    assert.equal(await a.usedBytes(), 20);
    await assert.rejects(b.write({ ...key, kind: "Application" }, chunks("y".repeat(25))), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, "EDQUOT");
      assert.match(err.message, /would grow past its limit of 40 bytes \(--max-storage-size/);
      return true;
    });
    assert.equal(await a.usedBytes(), 20, "the refused write is not counted");
    assert.deepEqual((await readdir(b.absolute("application/team-a/app"))).length, 0, "no temp file left");
    // Replacing the artifact: the old one is collected (keep: 1), so the count follows what is on disk.
    const next = await a.write(key, chunks("z".repeat(15)));
    assert.equal(await a.usedBytes(), 15);
    assert.deepEqual(await a.list(key), [next.path]);
    assert.equal(await a.exists(good.path), false);
    await a.remove(key);
    assert.equal(await b.usedBytes(), 0);
  });

  void it("builds URLs from the advertised address", () => {
    assert.equal(artifactUrl("source-controller.mooring-system.svc:9090", "gitrepository/ns/n/ab.tar.gz"), "http://source-controller.mooring-system.svc:9090/gitrepository/ns/n/ab.tar.gz");
    assert.equal(artifactUrl("https://artifacts.example/", "a/b c.tar.gz"), "https://artifacts.example/a/b%20c.tar.gz");
  });
});
