// Our pack indexer against git's own: the same pack must give a byte-identical .idx, delta chains included, and a
// damaged pack must be refused with a clear error.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { applyDelta, indexPackFile } from "../../../src/source/packindex.js";
import { SourceError } from "../../../src/source/errors.js";
import { git } from "../../support/git-server.js";

void describe("indexPackFile", () => {
  let dir: string;
  let pack: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mooring-idx-"));
    await git(dir, ["init", "-q"]);
    // Sixty near-identical files and a few edits: git stores most of them as deltas (chains several deep).
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${"x".repeat(i % 70)}`);
    for (let n = 0; n < 60; n++) {
      const copy = [...lines];
      copy[(n * 7) % 300] = `changed ${n}`;
      await writeFile(path.join(dir, `f${n}.txt`), copy.join("\n"));
    }
    await writeFile(path.join(dir, "random.bin"), Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251)));
    await git(dir, ["add", "-A"]);
    await git(dir, ["commit", "-q", "-m", "one"]);
    for (let i = 0; i < 3; i++) {
      await writeFile(path.join(dir, "f1.txt"), lines.join("\n") + `\nedit ${i}\n`);
      await git(dir, ["commit", "-q", "-am", `edit ${i}`]);
    }
    await git(dir, ["repack", "-adfq", "--depth=50"]);
    const packDir = path.join(dir, ".git/objects/pack");
    pack = path.join(packDir, (await readdir(packDir)).find((f) => f.endsWith(".pack"))!);
    const verify = await git(dir, ["verify-pack", "-v", pack.replace(/\.pack$/, ".idx")]);
    assert.match(verify, /chain length = [2-9]/, "the fixture has delta chains");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it("writes the same .idx as git index-pack", async () => {
    const ours = path.join(dir, "ours.idx");
    const { objects } = await indexPackFile(pack, ours);
    assert.ok(objects > 60);
    assert.deepEqual(await readFile(ours), await readFile(pack.replace(/\.pack$/, ".idx")));
  });

  void it("refuses a truncated or corrupted pack", async () => {
    const bytes = await readFile(pack);
    const truncated = path.join(dir, "truncated.pack");
    await writeFile(truncated, bytes.subarray(0, bytes.length - 500));
    await assert.rejects(indexPackFile(truncated, path.join(dir, "t.idx")), (e: unknown) => e instanceof SourceError && /pack is invalid/.test(e.message));
    const damaged = Buffer.from(bytes);
    for (let i = 200; i < 260; i++) damaged[i] = 0xff;
    await writeFile(path.join(dir, "damaged.pack"), damaged);
    await assert.rejects(indexPackFile(path.join(dir, "damaged.pack"), path.join(dir, "d.idx")), SourceError);
  });

  void it("applies copy and insert delta instructions", () => {
    const base = Buffer.from("hello world");
    // src size 11, dst size 11; copy "hello " (offset 0, size 6); insert "there"
    const delta = Buffer.from([11, 11, 0x80 | 0x01 | 0x10, 0, 6, 5, ...Buffer.from("there")]);
    assert.equal(applyDelta(base, delta).toString(), "hello there");
    assert.throws(() => applyDelta(base, Buffer.from([3, 1, 1, 65])), SourceError);
  });
});
