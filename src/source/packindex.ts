// A pack indexer that reads the pack from disk one object at a time, with Node's native zlib and SHA-1, and writes
// a version-2 .idx that isomorphic-git (and git) read. isomorphic-git's indexPack loads the whole pack into memory
// plus a 32 MiB resolve cache; this keeps one object (and a bounded cache of delta bases) in memory instead.
//
// A pack is hostile input: a few KB of compressed zeros can declare (or inflate to) gigabytes. Every object is
// inflated as a stream, 64 KiB at a time, into a buffer of its declared size, and refused before any memory is
// taken when it declares more than the per-object limit (--max-object-size, which the chart derives from the
// container's memory), or when it inflates past what it declared; delta results are held to the same limit. The
// header's object count is held to what the file can hold, since the indexer sizes its arrays by it.
import { createHash } from "node:crypto";
import { open, writeFile, type FileHandle } from "node:fs/promises";
import zlib from "node:zlib";
import { formatSize } from "../units.js";
import { SourceError } from "./errors.js";

const OBJ_TYPES: Record<number, string> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };
const OFS_DELTA = 6;
const REF_DELTA = 7;
/** Bytes of resolved delta bases kept in memory (at most; never more than the per-object limit). */
const BASE_CACHE_BYTES = 16 * 1024 * 1024;
/** The default largest inflated object (and delta result): far below any container's memory. */
export const DEFAULT_MAX_OBJECT_BYTES = 64 * 1024 * 1024;
/** Delta chains longer than this are refused (git's default pack.depth is 50). */
const MAX_DELTA_DEPTH = 1000;
/** Compressed bytes read (and fed to zlib) at a time. */
const READ_CHUNK = 64 * 1024;
/**
 * The fewest bytes one pack entry takes: a 1-byte type and size header and a zlib stream of at least 2 header bytes
 * and 2 bytes of deflate data (the smallest block). The 4 bytes of Adler-32 git always writes are left out, so no
 * valid pack is ever refused by this bound.
 */
const MIN_ENTRY_BYTES = 5;
/** Objects up to this size are inflated in one synchronous call (fast; memory a small multiple of this). */
const SYNC_INFLATE_MAX = 1024 * 1024;

export interface PackLimits {
  /** Largest inflated object or delta result, bytes (default 64 MiB). */
  maxObjectBytes?: number;
}

interface RawObject {
  type: number;
  data: Buffer; // inflated: the object, or the delta
  baseOffset?: number;
  baseOid?: string;
  rawLen: number;
  crc: number;
}

interface Resolved {
  type: string;
  data: Buffer;
}

function corrupt(what: string): SourceError {
  return new SourceError("FetchFailed", `the downloaded pack is invalid: ${what}`);
}

/** The refusal of an object over the limit: names the limit and the flag (and Helm value) that sets it. */
export function tooLarge(what: string, bytes: number, limit: number): SourceError {
  return new SourceError(
    "FetchFailed",
    `the downloaded pack is refused: ${what} inflates past the ${formatSize(limit)} limit on one object (${bytes} bytes; --max-object-size, which the chart derives from the source controller's memory limit)`,
  );
}

/** Applies a git delta (copy/insert instructions) to its base; a result over `maxBytes` is refused before it is allocated. */
export function applyDelta(base: Buffer, delta: Buffer, maxBytes = DEFAULT_MAX_OBJECT_BYTES): Buffer {
  let p = 0;
  const varint = () => {
    let r = 0;
    let mul = 1;
    for (let c = 0x80; c & 0x80; mul *= 128) {
      if (p >= delta.length) throw corrupt("truncated delta header");
      c = delta[p++]!;
      r += (c & 0x7f) * mul;
    }
    return r;
  };
  const srcSize = varint();
  if (srcSize !== base.length) throw corrupt(`delta base size ${srcSize} differs from the base (${base.length})`);
  const dstSize = varint();
  if (dstSize > maxBytes) throw tooLarge("a delta result", dstSize, maxBytes);
  const out = Buffer.allocUnsafe(dstSize);
  let o = 0;
  while (p < delta.length) {
    const op = delta[p++]!;
    if (op & 0x80) {
      let off = 0;
      let size = 0;
      if (op & 0x01) off += delta[p++]!;
      if (op & 0x02) off += delta[p++]! * 0x100;
      if (op & 0x04) off += delta[p++]! * 0x10000;
      if (op & 0x08) off += delta[p++]! * 0x1000000;
      if (op & 0x10) size += delta[p++]!;
      if (op & 0x20) size += delta[p++]! * 0x100;
      if (op & 0x40) size += delta[p++]! * 0x10000;
      if (size === 0) size = 0x10000;
      if (off + size > base.length || o + size > out.length) throw corrupt("delta copies outside its base or result");
      base.copy(out, o, off, off + size);
      o += size;
    } else if (op) {
      if (p + op > delta.length || o + op > out.length) throw corrupt("delta inserts past its end");
      delta.copy(out, o, p, p + op);
      p += op;
      o += op;
    } else {
      throw corrupt("delta opcode 0");
    }
  }
  if (o !== out.length) throw corrupt("delta result has the wrong size");
  return out;
}

class Reader {
  constructor(
    private readonly fh: FileHandle,
    readonly end: number,
    readonly maxObjectBytes: number,
  ) {}

  async at(pos: number, len: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(len, this.end - pos));
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(buf, got, n - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  }

  /** `inflate` of a small object: in one call, from one read of a window that holds all its compressed bytes. */
  private async inflateSmall(pos: number, size: number, offset: number): Promise<{ data: Buffer; consumed: number }> {
    // zlib never grows data by more than ~0.03% + a few bytes, so this window holds the whole compressed object.
    const window = await this.at(pos, size + (size >> 10) + 64);
    let inflated: { buffer: Buffer; engine: zlib.Inflate };
    try {
      // maxOutputLength: an object that inflates past its declared size fails here, before it can fill memory.
      inflated = zlib.inflateSync(window, { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as { buffer: Buffer; engine: zlib.Inflate };
    } catch (err) {
      throw corrupt(`object at ${offset} does not inflate: ${(err as Error).message}`);
    }
    if (inflated.buffer.length !== size) throw corrupt(`object at ${offset} inflates to ${inflated.buffer.length} bytes, not ${size}`);
    return { data: inflated.buffer, consumed: inflated.engine.bytesWritten };
  }

  /**
   * Inflates the zlib stream at `pos` into a buffer of exactly `size` bytes, feeding it 64 KiB of compressed input at
   * a time; fails as soon as the output would pass `size`. Returns the data and the compressed bytes consumed.
   */
  private async inflate(pos: number, size: number, offset: number): Promise<{ data: Buffer; consumed: number }> {
    if (size <= SYNC_INFLATE_MAX) return await this.inflateSmall(pos, size, offset);
    const out = Buffer.allocUnsafe(size);
    let o = 0;
    let failure: Error | undefined;
    const inf = zlib.createInflate({ chunkSize: READ_CHUNK });
    let ended = false;
    const done = new Promise<void>((resolve, reject) => {
      inf.on("data", (chunk: Buffer) => {
        if (failure) return;
        if (o + chunk.length > size) {
          failure = size >= this.maxObjectBytes ? tooLarge(`the object at offset ${offset}`, o + chunk.length, this.maxObjectBytes) : corrupt(`object at ${offset} inflates past its declared ${size} bytes`);
          inf.destroy();
          return reject(failure);
        }
        chunk.copy(out, o);
        o += chunk.length;
      });
      inf.once("end", () => {
        ended = true;
        resolve();
      });
      inf.once("error", (err: Error) => reject(failure ?? corrupt(`object at ${offset} does not inflate: ${err.message}`)));
    });
    done.catch(() => {});
    let p = pos;
    while (!ended && !failure && !inf.destroyed && p < this.end) {
      const chunk = await this.at(p, READ_CHUNK);
      p += chunk.length;
      if (!inf.write(chunk)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            inf.off("drain", go);
            inf.off("end", go);
            inf.off("close", go);
            resolve();
          };
          inf.on("drain", go);
          inf.on("end", go);
          inf.on("close", go);
        });
      }
      // Let zlib run on what it has before reading more: an object usually ends inside the first chunk.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!ended && !failure && !inf.destroyed) inf.end();
    await done;
    if (o !== size) throw corrupt(`object at ${offset} inflates to ${o} bytes, not ${size}`);
    return { data: out, consumed: inf.bytesWritten };
  }

  /** Reads and inflates the object at `offset`. */
  async object(offset: number): Promise<RawObject> {
    const hdr = await this.at(offset, 64);
    let p = 0;
    let c = hdr[p++]!;
    const type = (c >> 4) & 7;
    let size = c & 15;
    for (let mul = 16; c & 0x80; mul *= 128) {
      if (p >= hdr.length) throw corrupt(`object header at ${offset} is truncated`);
      c = hdr[p++]!;
      size += (c & 0x7f) * mul;
    }
    let baseOffset: number | undefined;
    let baseOid: string | undefined;
    if (type === OFS_DELTA) {
      c = hdr[p++]!;
      let back = c & 0x7f;
      while (c & 0x80) {
        c = hdr[p++]!;
        back = (back + 1) * 128 + (c & 0x7f);
      }
      baseOffset = offset - back;
      if (baseOffset < 12) throw corrupt(`delta at ${offset} points before the pack's start`);
    } else if (type === REF_DELTA) {
      baseOid = hdr.subarray(p, p + 20).toString("hex");
      p += 20;
    } else if (!OBJ_TYPES[type]) {
      throw corrupt(`unknown object type ${type} at ${offset}`);
    }
    // Refused before a byte is allocated or inflated: a pack of compressed zeros declares its size honestly.
    if (size > this.maxObjectBytes) throw tooLarge(`the ${OBJ_TYPES[type] ?? "delta"} at offset ${offset}`, size, this.maxObjectBytes);
    const { data, consumed } = await this.inflate(offset + p, size, offset);
    // The entry's CRC-32 (header and compressed bytes), read again in chunks: the page cache has them.
    let crc = zlib.crc32(hdr.subarray(0, p));
    for (let at = 0; at < consumed; at += READ_CHUNK) crc = zlib.crc32(await this.at(offset + p + at, Math.min(READ_CHUNK, consumed - at)), crc);
    return { type, data, ...(baseOffset !== undefined ? { baseOffset } : {}), ...(baseOid ? { baseOid } : {}), rawLen: p + consumed, crc };
  }
}

/** Reads objects by oid; implemented over our pack store and over isomorphic-git. */
export interface ObjectReader {
  read(oid: string): Promise<{ type: string; data: Buffer }>;
  close(): Promise<void>;
}

/**
 * A pack on disk: `index()` scans it once, object by object, verifying its structure and writing a version-2 .idx;
 * afterwards `read(oid)` serves objects by random access with a bounded cache of delta bases. Thin packs (bases
 * outside the pack) are refused: we never ask for them.
 */
export class PackStore implements ObjectReader {
  readonly offsetByOid = new Map<string, number>();
  private readonly cache = new Map<number, Resolved>(); // insertion order = age, for a simple LRU
  private cached = 0;

  private constructor(
    private readonly fh: FileHandle,
    private readonly reader: Reader,
    readonly count: number,
    private readonly trailer: Buffer,
  ) {}

  static async open(packPath: string, limits: PackLimits = {}): Promise<PackStore> {
    const fh = await open(packPath, "r");
    try {
      const { size: fileSize } = await fh.stat();
      if (fileSize < 32) throw corrupt("too short");
      const reader = new Reader(fh, fileSize - 20, limits.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES);
      const head = await reader.at(0, 12);
      if (head.toString("latin1", 0, 4) !== "PACK") throw corrupt("no PACK signature");
      const version = head.readUInt32BE(4);
      if (version !== 2 && version !== 3) throw corrupt(`unsupported pack version ${version}`);
      // index() allocates arrays of this count before it reads an entry: a few bytes declaring billions of objects
      // would throw a RangeError (no FetchFailed), and tens of millions would take hundreds of MiB at once. Refused
      // unless the entries fit between the 12-byte header and the 20-byte trailer, so memory follows the bytes fetched.
      const count = head.readUInt32BE(8);
      const room = fileSize - 32;
      if (count * MIN_ENTRY_BYTES > room) throw corrupt(`its header declares ${count} objects, more than its ${room} bytes of entries can hold`);
      const trailer = Buffer.alloc(20);
      await fh.read(trailer, 0, 20, fileSize - 20);
      return new PackStore(fh, reader, count, trailer);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.fh.close();
  }

  async read(oid: string): Promise<Resolved> {
    const at = this.offsetByOid.get(oid);
    if (at === undefined) throw new ObjectMissingError(oid);
    const hit = this.cache.get(at);
    if (hit) return hit;
    return this.resolve(await this.reader.object(at), 0);
  }

  private remember(offset: number, r: Resolved): void {
    this.cache.set(offset, r);
    this.cached += r.data.length;
    const budget = Math.min(BASE_CACHE_BYTES, this.reader.maxObjectBytes);
    for (const [k, v] of this.cache) {
      if (this.cached <= budget) break;
      this.cache.delete(k);
      this.cached -= v.data.length;
    }
  }

  private async resolve(raw: RawObject, depth: number): Promise<Resolved> {
    if (raw.type !== OFS_DELTA && raw.type !== REF_DELTA) return { type: OBJ_TYPES[raw.type]!, data: raw.data };
    if (depth > MAX_DELTA_DEPTH) throw corrupt("delta chain too deep");
    const baseAt = raw.baseOffset ?? this.offsetByOid.get(raw.baseOid!);
    if (baseAt === undefined) throw corrupt(`delta base ${raw.baseOid} is not in the pack (thin pack)`);
    let base = this.cache.get(baseAt);
    if (base) {
      this.cache.delete(baseAt); // refresh its age
      this.cache.set(baseAt, base);
    } else {
      base = await this.resolve(await this.reader.object(baseAt), depth + 1);
      this.remember(baseAt, base);
    }
    return { type: base.type, data: applyDelta(base.data, raw.data, this.reader.maxObjectBytes) };
  }

  /** Scans the whole pack, fills `offsetByOid` and writes the .idx to `idxPath`. */
  async index(idxPath: string, shouldStop: () => boolean = () => false): Promise<number> {
    const { count, reader } = this;
    const oids: Buffer[] = new Array(count);
    const offsets = new Float64Array(count);
    const crcs = new Uint32Array(count);
    let pos = 12;
    for (let i = 0; i < count; i++) {
      if (pos >= reader.end) throw corrupt(`it ends after ${i} of ${count} objects`);
      // Past the deadline nobody waits for the result: stop instead of indexing on in the background.
      if ((i & 255) === 0 && shouldStop()) throw new SourceError("Timeout", "indexing stopped: the operation was aborted");
      const raw = await reader.object(pos);
      const obj = await this.resolve(raw, 0);
      const oid = createHash("sha1").update(`${obj.type} ${obj.data.length}\0`).update(obj.data).digest();
      oids[i] = oid;
      offsets[i] = pos;
      crcs[i] = raw.crc;
      this.offsetByOid.set(oid.toString("hex"), pos);
      // Trees and commits are the usual delta bases (and are read again to walk the tree): keep them.
      if (raw.type === OFS_DELTA || raw.type === REF_DELTA || obj.type !== "blob") this.remember(pos, obj);
      pos += raw.rawLen;
    }
    if (pos !== reader.end) throw corrupt(`${reader.end - pos} unexpected bytes after the last object`);

    // Version-2 index: fanout, sorted names, CRC32s, 31-bit offsets (our size limit keeps packs far below 2 GiB).
    const order = [...oids.keys()].sort((a, b) => Buffer.compare(oids[a]!, oids[b]!));
    const fanout = Buffer.alloc(256 * 4);
    const names = Buffer.alloc(count * 20);
    const crcBuf = Buffer.alloc(count * 4);
    const offBuf = Buffer.alloc(count * 4);
    const counts = new Uint32Array(256);
    order.forEach((idx, j) => {
      const oid = oids[idx]!;
      counts[oid[0]!]!++;
      oid.copy(names, j * 20);
      crcBuf.writeUInt32BE(crcs[idx]!, j * 4);
      if (offsets[idx]! > 0x7fffffff) throw corrupt("pack larger than 2 GiB");
      offBuf.writeUInt32BE(offsets[idx]!, j * 4);
    });
    let total = 0;
    for (let b = 0; b < 256; b++) {
      total += counts[b]!;
      fanout.writeUInt32BE(total, b * 4);
    }
    const body = Buffer.concat([Buffer.from([0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2]), fanout, names, crcBuf, offBuf, this.trailer]);
    await writeFile(idxPath, Buffer.concat([body, createHash("sha1").update(body).digest()]));
    return count;
  }
}

export class ObjectMissingError extends Error {
  constructor(readonly oid: string) {
    super(`object ${oid} is not in the fetched pack`);
    this.name = "ObjectMissingError";
  }
}

/** Indexes the pack at `packPath` into `idxPath` (see PackStore). */
export async function indexPackFile(packPath: string, idxPath: string, limits: PackLimits = {}): Promise<{ objects: number }> {
  const store = await PackStore.open(packPath, limits);
  try {
    return { objects: await store.index(idxPath) };
  } finally {
    await store.close();
  }
}
