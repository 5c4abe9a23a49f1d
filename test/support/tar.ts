// Writing tar.gz archives for tests, and reading tarballs back.
import { Readable } from "node:stream";
import zlib from "node:zlib";
import tar from "tar-stream";

export async function collect(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

export interface Listed {
  name: string;
  type: string;
  mode: number;
  mtime: number;
  uid: number;
  gid: number;
  linkname: string | null;
  content: string;
}

export async function listTarGz(buf: Buffer): Promise<Listed[]> {
  const ex = tar.extract();
  const out: Listed[] = [];
  Readable.from([zlib.gunzipSync(buf)]).pipe(ex);
  for await (const entry of ex) {
    const content = (await collect(entry as unknown as AsyncIterable<Buffer>)).toString();
    const h = entry.header;
    out.push({ name: h.name, type: h.type, mode: h.mode, mtime: h.mtime.getTime(), uid: h.uid, gid: h.gid, linkname: h.linkname ?? null, content });
  }
  return out;
}

export type Entry = { name: string; type?: "file" | "directory" | "symlink" | "link"; body?: string; linkname?: string; mode?: number };

/** A tar.gz of `entries`, in order: files (mode 0644 unless given), directories, and links as written. */
export async function tgz(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const gz = pack.pipe(zlib.createGzip());
    gz.on("data", (c: Buffer) => chunks.push(c));
    gz.on("end", () => resolve());
    gz.on("error", reject);
  });
  for (const e of entries) {
    const type = e.type ?? "file";
    if (type === "file") pack.entry({ name: e.name, mode: e.mode ?? 0o644 }, e.body ?? "");
    else pack.entry({ name: e.name, type, linkname: e.linkname, mode: type === "directory" ? 0o755 : 0o777 });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
