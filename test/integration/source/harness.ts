// Shared by the source integration tests: a syncer on a fresh storage dir, and reading an artifact back.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import tar from "tar-stream";
import { ArtifactStorage, type StorageOptions } from "../../../src/artifact/storage.js";
import { SourceError } from "../../../src/source/errors.js";
import { SourceSyncer, type SyncerOptions } from "../../../src/source/sync.js";

export const KEY = { kind: "GitRepository", namespace: "ns", name: "app" };

export interface Harness {
  storage: ArtifactStorage;
  syncer: SourceSyncer;
  dir: string;
  cleanup(): Promise<void>;
}

export async function harness(opts: Omit<Partial<SyncerOptions>, "storage"> & { storage?: Partial<StorageOptions> } = {}): Promise<Harness> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-src-it-"));
  const storage = new ArtifactStorage({ root: path.join(dir, "storage"), ...opts.storage });
  await storage.init();
  const { storage: _s, ...rest } = opts;
  const syncer = new SourceSyncer({ storage, tmpDir: dir, ...rest });
  return { storage, syncer, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface Entry {
  type: string;
  mode: number;
  content: string;
  linkname?: string;
}

export async function readArtifact(storage: ArtifactStorage, rel: string): Promise<Map<string, Entry>> {
  const ex = tar.extract();
  Readable.from([zlib.gunzipSync(await readFile(storage.absolute(rel)))]).pipe(ex);
  const out = new Map<string, Entry>();
  for await (const e of ex) {
    const parts: Buffer[] = [];
    for await (const c of e as AsyncIterable<Buffer>) parts.push(c);
    out.set(e.header.name, { type: e.header.type, mode: e.header.mode, content: Buffer.concat(parts).toString(), ...(e.header.linkname ? { linkname: e.header.linkname } : {}) });
  }
  return out;
}

/** Awaits a rejection and returns it as a SourceError (failing the test if it is anything else). */
export async function sourceError(p: Promise<unknown>): Promise<SourceError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SourceError) return err;
    throw new Error(`expected a SourceError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected a rejection, got success");
}
