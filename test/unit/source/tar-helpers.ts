// Reading tarballs back in tests.
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

