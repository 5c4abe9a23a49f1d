// A streaming pack download for the smart HTTP protocol (v1, stateless): one POST to git-upload-pack with
// `want <oid>` (and `deepen 1`), the side-band pack data written straight to a file while its SHA-1 trailer is
// checked, then ./packindex.ts builds the .idx reading one object at a time. isomorphic-git's own fetch holds the
// whole pack in memory several times over (collect, concat, copy, index); this keeps memory at about one object. The oid comes from our own ref listing, so a fetch
// is exactly two requests: the listing and this POST.
import { createHash } from "node:crypto";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { Errors } from "isomorphic-git";
import { SourceError } from "./errors.js";
import type { Transport } from "./http.js";
import { PackStore, type PackLimits } from "./packindex.js";

/** Capabilities a server must advertise for the streaming path; otherwise isomorphic-git's fetch is used. */
export function supportsStreamingPack(capabilities: readonly string[] | undefined, depth: number | undefined): boolean {
  if (!capabilities) return false;
  const has = (c: string) => capabilities.some((x) => x === c || x.startsWith(c + "="));
  return (has("side-band-64k") || has("side-band")) && (depth === undefined || has("shallow"));
}

function pkt(line: string): Buffer {
  const b = Buffer.from(line);
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, "0")), b]);
}

/** Reads pkt-lines from a byte stream: a Buffer per line, null for a flush-pkt, undefined at the end. */
class PktReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    }
    return this.buf.length >= n;
  }

  async next(): Promise<Buffer | null | undefined> {
    if (!(await this.fill(4))) {
      if (this.buf.length) throw new SourceError("FetchFailed", "the server's response ended inside a pkt-line header");
      return undefined;
    }
    const len = parseInt(this.buf.subarray(0, 4).toString("latin1"), 16);
    if (Number.isNaN(len) || (len > 0 && len < 4)) throw new SourceError("FetchFailed", "the server sent an invalid pkt-line; is this a git smart HTTP server?");
    if (len === 0) {
      this.buf = this.buf.subarray(4);
      return null;
    }
    if (!(await this.fill(len))) throw new SourceError("FetchFailed", "the server's response ended inside a pkt-line");
    const line = this.buf.subarray(4, len);
    this.buf = this.buf.subarray(len);
    return line;
  }
}

function serverError(text: string): SourceError {
  const msg = text.replace(/^ERR\s*/, "").trim();
  if (/not our ref|not valid|no such|unadvertised/i.test(msg)) return new SourceError("RefNotFound", `the server refused the request: ${msg}`);
  return new SourceError("FetchFailed", `the server reported an error: ${msg}`);
}

export interface PackResult {
  packPath: string;
  shallows: string[];
  /** The indexed pack, open for reads; the caller closes it. */
  store: PackStore;
}

/** POSTs the want (and deepen) to git-upload-pack; a reader of the pkt-lines of a 200 answer. */
async function requestPack(http: Transport, url: string, want: string, capabilities: readonly string[], depth: number | undefined): Promise<PktReader> {
  const band = capabilities.includes("side-band-64k") ? "side-band-64k" : "side-band";
  const caps = [band, "ofs-delta", ...(depth !== undefined ? ["shallow"] : []), ...(capabilities.includes("no-progress") ? ["no-progress"] : []), "agent=mooring"];
  const body = Buffer.concat([
    pkt(`want ${want} ${caps.join(" ")}\n`),
    ...(depth !== undefined ? [pkt(`deepen ${depth}\n`)] : []),
    Buffer.from("0000"),
    pkt("done\n"),
  ]);
  const res = await http.request({
    method: "POST",
    url: `${url.replace(/\/+$/, "")}/git-upload-pack`,
    headers: { "content-type": "application/x-git-upload-pack-request", accept: "application/x-git-upload-pack-result" },
    body: [body] as unknown as AsyncIterableIterator<Uint8Array>,
  });
  if (res.statusCode !== 200) {
    // Drain and report like isomorphic-git does, so classify() maps statuses the same way for both paths.
    const parts: Buffer[] = [];
    for await (const c of res.body ?? []) if (parts.length < 16) parts.push(Buffer.from(c));
    throw new Errors.HttpError(res.statusCode, res.statusMessage, Buffer.concat(parts).toString("utf8"));
  }
  if (!res.body) throw new SourceError("FetchFailed", "the server answered the pack request with no body");
  return new PktReader(res.body[Symbol.asyncIterator]());
}

/** The shallow list a deepen request is answered with (up to its flush-pkt): the commits whose parents are cut. */
async function readShallows(reader: PktReader): Promise<string[]> {
  const shallows: string[] = [];
  for (let i = 0; ; i++) {
    const line = await reader.next();
    if (line === null) break;
    if (line === undefined) throw new SourceError("FetchFailed", "the server closed the response before the shallow list ended");
    const s = line.toString("utf8").trim();
    if (s.startsWith("ERR")) throw serverError(s);
    if (s.startsWith("shallow ")) shallows.push(s.slice("shallow ".length));
    else if (!s.startsWith("unshallow ")) throw new SourceError("FetchFailed", `unexpected line in the shallow list: ${s.slice(0, 80)}`);
    if (i > 100_000) throw new SourceError("FetchFailed", "the server sent an endless shallow list");
  }
  return shallows;
}

/** The NAK before the pack (or the server's ERR). */
async function readAck(reader: PktReader): Promise<void> {
  const ack = await reader.next();
  if (!ack) throw new SourceError("FetchFailed", "the server sent no acknowledgement (NAK) before the pack");
  const ackText = ack.toString("utf8").trim();
  if (ackText.startsWith("ERR")) throw serverError(ackText);
}

/** The SHA-1 of a stream but its last 20 bytes (a pack's trailer), and those 20 bytes. */
class TrailerHash {
  private readonly hash = createHash("sha1");
  tail: Buffer = Buffer.alloc(0);
  update(data: Buffer): void {
    const both = this.tail.length ? Buffer.concat([this.tail, data]) : data;
    if (both.length > 20) this.hash.update(both.subarray(0, both.length - 20));
    this.tail = Buffer.from(both.subarray(Math.max(0, both.length - 20)));
  }
  digest(): string {
    return this.hash.digest("hex");
  }
}

/** Writes the side-band pack data (band 1) to `file`; band 3 is the server's error, band 2 its progress. */
async function writePackData(reader: PktReader, file: string, hash: TrailerHash): Promise<number> {
  const fh = await open(file, "w");
  let size = 0;
  try {
    for (;;) {
      const p = await reader.next();
      if (p === null || p === undefined) break;
      const kind = p[0];
      const data = p.subarray(1);
      if (kind === 1) {
        hash.update(data);
        size += data.length;
        await fh.write(data);
      } else if (kind === 3) {
        throw serverError(data.toString("utf8"));
      } else if (kind !== 2) {
        // Lines before the pack that are not side-band (more ACK/NAK) are harmless; anything else is not.
        const s = p.toString("utf8");
        if (!/^(ACK|NAK)/.test(s)) throw new SourceError("FetchFailed", `unexpected data from the server: ${s.slice(0, 80)}`);
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return size;
}

/** Downloads the pack into `gitdir`'s pack directory, checks its trailer, and names it by it: the path under gitdir. */
async function downloadPack(reader: PktReader, gitdir: string): Promise<string> {
  const packDir = path.join(gitdir, "objects", "pack");
  await mkdir(packDir, { recursive: true });
  const tmp = path.join(packDir, "incoming.pack");
  const hash = new TrailerHash();
  const size = await writePackData(reader, tmp, hash);
  if (size < 32 || hash.tail.length !== 20) {
    await rm(tmp, { force: true });
    throw new SourceError("FetchFailed", "the server sent no pack (or a truncated one)");
  }
  const sha = hash.digest();
  if (sha !== hash.tail.toString("hex")) {
    await rm(tmp, { force: true });
    throw new SourceError("FetchFailed", `the downloaded pack is corrupt (checksum ${sha} does not match its trailer); retry`);
  }
  const rel = `objects/pack/pack-${sha}.pack`;
  await rename(tmp, path.join(gitdir, rel));
  return rel;
}

/** Opens the pack and writes its .idx; closed again if indexing fails (a pack bomb, an abort). */
async function indexPack(http: Transport, packPath: string, limits: PackLimits): Promise<PackStore> {
  const store = await PackStore.open(packPath, limits);
  try {
    await store.index(packPath.replace(/\.pack$/, ".idx"), () => http.aborted);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * Downloads the objects for `want` (with `depth` commits of history, or all when undefined) into `gitdir`'s pack
 * directory and indexes them. `url` is the repository URL (credentials are the transport's headers).
 */
export async function fetchPack(
  http: Transport,
  url: string,
  gitdir: string,
  want: string,
  capabilities: readonly string[],
  depth: number | undefined,
  limits: PackLimits = {},
): Promise<PackResult> {
  const reader = await requestPack(http, url, want, capabilities, depth);
  const shallows = depth !== undefined ? await readShallows(reader) : [];
  await readAck(reader);
  const rel = await downloadPack(reader, gitdir);
  if (shallows.length) await writeFile(path.join(gitdir, "shallow"), shallows.join("\n") + "\n");
  const store = await indexPack(http, path.join(gitdir, rel), limits);
  return { packPath: rel, shallows, store };
}
