// The pack indexer against hostile packs, crafted byte by byte: an object (or a delta result) declaring more than the
// per-object limit is refused before anything is inflated, with a message naming the limit and its flag; an object
// that inflates past the size it declared is refused as it streams; objects above the synchronous path's size are
// inflated in a stream and index to the same oids as git computes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { after, before, describe, it } from "node:test";
import { SourceError } from "../../../src/source/errors.js";
import { applyDelta, indexPackFile, PackStore } from "../../../src/source/packindex.js";

const MiB = 1024 * 1024;

/** A pack object header: type and (declared) size as git's variable-length encoding. */
function objectHeader(type: number, size: number): Buffer {
  const out: number[] = [];
  let c = (type << 4) | (size & 15);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    out.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  out.push(c);
  return Buffer.from(out);
}

/** A version-2 pack of blobs: each declares `declared` (default: its real length) and carries `data` deflated. */
function craftPack(objects: { data: Buffer; declared?: number }[]): Buffer {
  const head = Buffer.alloc(12);
  head.write("PACK", 0, "latin1");
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(objects.length, 8);
  const body = Buffer.concat([head, ...objects.flatMap((o) => [objectHeader(3, o.declared ?? o.data.length), zlib.deflateSync(o.data)])]);
  return Buffer.concat([body, createHash("sha1").update(body).digest()]);
}

const blobOid = (data: Buffer) => createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");

void describe("pack indexer limits", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mooring-packlimits-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const write = async (name: string, pack: Buffer) => {
    const p = path.join(dir, `${name}.pack`);
    await writeFile(p, pack);
    return p;
  };

  void it("refuses a pack bomb (40 MB of zeros, a few KB compressed) by its declared size, naming the limit and the flag", async () => {
    const zeros = Buffer.alloc(40_000_000);
    const pack = craftPack([{ data: Buffer.from("small\n") }, { data: zeros }]);
    assert.ok(pack.length < 100_000, `the bomb is small on the wire (${pack.length} bytes)`);
    const p = await write("bomb", pack);
    const before = process.memoryUsage();
    await assert.rejects(indexPackFile(p, path.join(dir, "bomb.idx"), { maxObjectBytes: 16 * MiB }), (e: unknown) => {
      assert.ok(e instanceof SourceError);
      assert.equal(e.reason, "FetchFailed");
      assert.match(e.message, /blob at offset \d+ inflates past the 16Mi limit on one object \(40000000 bytes; --max-object-size/);
      return true;
    });
    const grew = process.memoryUsage().arrayBuffers - before.arrayBuffers;
    assert.ok(grew < 16 * MiB, `refused without inflating it (array buffers grew by ${grew} bytes)`);
  });

  void it("refuses an object that inflates past the size it declares, as it streams", async () => {
    const p = await write("liar", craftPack([{ data: Buffer.alloc(30 * MiB, 1), declared: 2 * MiB }]));
    await assert.rejects(indexPackFile(p, path.join(dir, "liar.idx"), { maxObjectBytes: 64 * MiB }), (e: unknown) => {
      assert.ok(e instanceof SourceError);
      assert.match(e.message, /pack is invalid: object at 12 inflates past its declared 2097152 bytes/);
      return true;
    });
    const small = await write("small-liar", craftPack([{ data: Buffer.alloc(5000, 1), declared: 100 }]));
    await assert.rejects(indexPackFile(small, path.join(dir, "small-liar.idx")), (e: unknown) => e instanceof SourceError && /pack is invalid: object at 12/.test(e.message));
  });

  void it("inflates objects above the synchronous size in a stream, to the oids git computes", async () => {
    const big = Buffer.alloc(5 * MiB);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32BE((i * 2654435761) >>> 0, i);
    const small = Buffer.from("hello\n");
    const p = await write("ok", craftPack([{ data: big }, { data: small }]));
    const store = await PackStore.open(p, { maxObjectBytes: 8 * MiB });
    try {
      assert.equal(await store.index(path.join(dir, "ok.idx")), 2);
      assert.deepEqual([...store.offsetByOid.keys()].sort(), [blobOid(big), blobOid(small)].sort());
      assert.ok((await store.read(blobOid(big))).data.equals(big));
    } finally {
      await store.close();
    }
    // The same pack under a limit below the big object: refused.
    await assert.rejects(indexPackFile(p, path.join(dir, "ok2.idx"), { maxObjectBytes: 4 * MiB }), /inflates past the 4Mi limit/);
  });

  void it("refuses a header declaring more objects than the file can hold, as FetchFailed, before indexing (fuzz finding)", async () => {
    const honest = craftPack([{ data: Buffer.from("a\n") }, { data: Buffer.alloc(0) }, { data: Buffer.from("b\n") }]);
    const recount = (count: number) => {
      const body = Buffer.from(honest.subarray(0, honest.length - 20));
      body.writeUInt32BE(count, 8);
      // A hostile server sends a valid checksum: the trailer is no defence.
      return Buffer.concat([body, createHash("sha1").update(body).digest()]);
    };
    const room = honest.length - 32;
    for (const count of [Math.floor(room / 5) + 1, 40_000_000, 0xffffffff]) {
      const p = await write(`count-${count}`, recount(count));
      await assert.rejects(PackStore.open(p), (e: unknown) => {
        assert.ok(e instanceof SourceError, `count ${count}: ${String(e)}`);
        assert.equal(e.reason, "FetchFailed");
        assert.match(e.message, new RegExp(`pack is invalid: its header declares ${count} objects, more than its ${room} bytes of entries can hold`));
        return true;
      });
    }
    // The bound never refuses a real pack: an empty blob is git's smallest entry (9 bytes), and a count the entries
    // can hold opens (an honest one indexes; one too high for them but within the bound fails as it reads).
    const empties = await write("empty-blob", craftPack([{ data: Buffer.alloc(0) }]));
    assert.equal((await indexPackFile(empties, path.join(dir, "empty-blob.idx"))).objects, 1);
    assert.equal((await indexPackFile(await write("honest", honest), path.join(dir, "honest.idx"))).objects, 3);
    await assert.rejects(indexPackFile(await write("within", recount(Math.floor(room / 5))), path.join(dir, "within.idx")), (e: unknown) => e instanceof SourceError && /ends after 3 of/.test(e.message));
  });

  void it("refuses a delta whose result would pass the limit before allocating it", () => {
    const base = Buffer.from("hello world");
    // base size 11, result size 100 MiB (varint), then nothing
    const size = 100 * MiB;
    const varint: number[] = [];
    for (let n = size; ; ) {
      const b = n & 0x7f;
      n = Math.floor(n / 128);
      varint.push(n > 0 ? b | 0x80 : b);
      if (n === 0) break;
    }
    assert.throws(() => applyDelta(base, Buffer.from([11, ...varint]), 16 * MiB), /a delta result inflates past the 16Mi limit on one object \(104857600 bytes/);
  });
});
