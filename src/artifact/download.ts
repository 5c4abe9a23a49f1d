// Downloading an artifact over HTTP: one implementation of the deadline, the size cap and the sha256 check, for the
// apply controller (rendered artifacts), the render controller (source artifacts) and `mooring diff`.
//   deadline: one AbortSignal for the request and the body (the caller's signal, if any, also cancels);
//   size:     a Content-Length over the cap is refused before the body is read, and the body is counted as it
//             streams, so an undeclared or lying length is cut off at the cap;
//   digest:   sha256 computed while streaming; with `digest` given, a mismatch is refused (and a file removed);
//   sink:     the bytes in memory, or a new file (created exclusively, removed on any failure).
// Every failure is one DownloadError whose `failure` says what went wrong; callers turn it into their own errors and
// messages (each names its artifact and what to do about it).
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { timeoutSignal } from "../runtime/timeout.js";

export type DownloadFailure =
  /** The request failed before an answer (connection refused, DNS, TLS, the deadline or the caller's signal). */
  | { kind: "unreachable"; cause: unknown }
  /** The server answered with a status other than 2xx (or no body). */
  | { kind: "status"; status: number; statusText: string }
  /** Over the size cap: `declared` when Content-Length said so, else counted while streaming. */
  | { kind: "tooLarge"; limit: number; declared?: number }
  /** The body stopped part way (connection reset, the deadline, the caller's signal). */
  | { kind: "interrupted"; cause: unknown }
  /** The bytes do not hash to the expected digest; `actual` is "sha256:<hex>". */
  | { kind: "digest"; expected: string; actual: string };

export class DownloadError extends Error {
  constructor(
    readonly url: string,
    readonly failure: DownloadFailure,
  ) {
    super(describeFailure(url, failure), "cause" in failure ? { cause: failure.cause } : undefined);
    this.name = "DownloadError";
  }
}

function describeFailure(url: string, f: DownloadFailure): string {
  switch (f.kind) {
    case "unreachable":
      return `cannot download ${url}: ${causeText(f.cause)}`;
    case "status":
      return `downloading ${url} answered HTTP ${f.status}`;
    case "tooLarge":
      return f.declared !== undefined ? `${url} is ${f.declared} bytes, over the ${f.limit}-byte limit` : `${url} is over the ${f.limit}-byte limit`;
    case "interrupted":
      return `download of ${url} was interrupted: ${causeText(f.cause)}`;
    case "digest":
      return `${url} has digest ${f.actual}, not ${f.expected}`;
  }
}

/**
 * What a failed fetch() was about: fetch says only "fetch failed" and puts the reason (ECONNREFUSED, ENOTFOUND…) in
 * its cause; a deadline or a cancel says so.
 */
export function causeText(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return "timed out or was cancelled";
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

export interface DownloadOptions {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Deadline for the whole download (request and body), in ms. */
  timeoutMs: number;
  /** Cancels the download too. */
  signal?: AbortSignal;
  /** "sha256:<hex>" the bytes must hash to; without it the digest is only computed and returned. */
  digest?: string;
  /** Write the body to this new file (created exclusively; removed on any failure) instead of keeping it in memory. */
  file?: string;
}

export interface Downloaded {
  /** The body (empty when written to `file`). */
  bytes: Buffer;
  size: number;
  /** "sha256:<hex>" of the body. */
  digest: string;
}

/** sha256 of bytes as "sha256:<hex>" (the form every Mooring artifact digest takes). */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Downloads `url` within the deadline and size cap, hashing it as it streams; see the file comment. */
export async function download(url: string, o: DownloadOptions): Promise<Downloaded> {
  const timeout = timeoutSignal(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (err) {
    throw new DownloadError(url, { kind: "unreachable", cause: err });
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => {});
    throw new DownloadError(url, { kind: "status", status: res.status, statusText: res.statusText });
  }
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > o.maxBytes) {
    await res.body.cancel().catch(() => {});
    throw new DownloadError(url, { kind: "tooLarge", limit: o.maxBytes, declared });
  }
  const hash = createHash("sha256");
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > o.maxBytes) return cb(new DownloadError(url, { kind: "tooLarge", limit: o.maxBytes }));
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const chunks: Buffer[] = [];
  const sink = o.file
    ? createWriteStream(o.file, { flags: "wx" })
    : new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      });
  const removeFile = async () => {
    if (o.file) await rm(o.file, { force: true });
  };
  try {
    await pipeline(Readable.fromWeb(res.body as ReadableStream<Uint8Array>), meter, sink, { signal });
  } catch (err) {
    await removeFile();
    if (err instanceof DownloadError) throw err;
    throw new DownloadError(url, { kind: "interrupted", cause: err });
  }
  const digest = `sha256:${hash.digest("hex")}`;
  if (o.digest !== undefined && digest !== o.digest) {
    await removeFile();
    throw new DownloadError(url, { kind: "digest", expected: o.digest, actual: digest });
  }
  return { bytes: Buffer.concat(chunks), size, digest };
}
