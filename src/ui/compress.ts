// Compression for the UI's answers (node:zlib only): the first message of an event stream is every row at once
// (about 530 KiB of JSON for 1,000 Applications, 7–15 KiB compressed, as most of it is repeated keys), which matters
// through `kubectl port-forward` or a proxy far more than on loopback. The bundle is compressed once per build.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

export type Encoding = "br" | "gzip";

/**
 * The encoding to answer with, from an Accept-Encoding header: br, else gzip, when the client accepts it (q > 0).
 * Browsers send br over HTTPS (and some over plain HTTP); gzip always.
 */
export function negotiate(acceptEncoding: string | string[] | undefined): Encoding | undefined {
  const accepted = new Map<string, number>();
  for (const part of (Array.isArray(acceptEncoding) ? acceptEncoding.join(",") : (acceptEncoding ?? "")).split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    if (!name) continue;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    accepted.set(name.trim(), q === undefined ? 1 : Number(q));
  }
  const ok = (e: string) => (accepted.get(e) ?? accepted.get("*") ?? 0) > 0;
  if (ok("br")) return "br";
  if (ok("gzip")) return "gzip";
  return undefined;
}

/**
 * A compressor for a stream whose every write must reach the browser at once (an event-stream message): each write
 * is flushed, so nothing waits in the compressor's window. Fast settings: the cost is per stream, on the UI's one core.
 */
export function streamCompressor(enc: Encoding): zlib.BrotliCompress | zlib.Gzip {
  if (enc === "br") {
    // A 256 KiB window: as small as the snapshot needs (same size out), half the time of the default 4 MiB one.
    return zlib.createBrotliCompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_LGWIN]: 18 } });
  }
  return zlib.createGzip({ level: 4, flush: zlib.constants.Z_SYNC_FLUSH });
}

/** A file of the bundle, compressed at the best setting (once per build; on the thread pool, not the event loop). */
function compressFile(enc: Encoding, body: Buffer): Promise<Buffer> {
  if (enc === "br") return brotli(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } });
  return gzip(body, { level: 9 });
}

interface Asset {
  mtimeMs: number;
  size: number;
  etag: string;
  identity: Buffer;
  encoded: Partial<Record<Encoding, Promise<Buffer>>>;
}

/**
 * The bundle's files, read and compressed once and served again while unchanged on disk (a `make ui` while the UI
 * runs is picked up by the next request: the file's mtime and size are checked each time, one stat).
 */
export class StaticAssets {
  private cache = new Map<string, Asset>();

  constructor(private readonly dir: string) {}

  /** The file's body in the encoding chosen (when worth it), and that representation's ETag; throws when missing. */
  async get(file: string, enc: Encoding | undefined): Promise<{ body: Buffer; etag: string; encoding: Encoding | undefined }> {
    const full = path.join(this.dir, file);
    const st = await stat(full);
    let a = this.cache.get(file);
    if (!a || a.mtimeMs !== st.mtimeMs || a.size !== st.size) {
      const identity = await readFile(full);
      a = { mtimeMs: st.mtimeMs, size: st.size, etag: createHash("sha256").update(identity).digest("base64url").slice(0, 22), identity, encoded: {} };
      this.cache.set(file, a);
    }
    // Tiny files (index.html) gain little; compress the rest once, at the best setting, and keep it.
    if (!enc || a.identity.length < 1024) return { body: a.identity, etag: `"${a.etag}"`, encoding: undefined };
    a.encoded[enc] ??= compressFile(enc, a.identity);
    // Each representation has its own validator (RFC 9110 8.8.3).
    return { body: await a.encoded[enc], etag: `"${a.etag}-${enc}"`, encoding: enc };
  }

  /**
   * Reads and compresses `files` now, so that the first page does not wait for brotli's best setting (about 100 ms
   * for app.js on a busy core). A missing file is left for a request to report.
   */
  async warm(files: string[]): Promise<void> {
    await Promise.all(files.flatMap((f) => (["br", "gzip"] as const).map((enc) => this.get(f, enc).catch(() => undefined))));
  }
}
