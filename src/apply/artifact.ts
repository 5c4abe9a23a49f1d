// Downloading a rendered artifact: one JSON array (canonicalJson of the rendered objects) named by URL and digest in
// Application.status.render.artifact. The digest is checked before anything is parsed, so a truncated, stale or
// tampered download is never applied.
import { DownloadError, type DownloadFailure, download, sha256Digest } from "../artifact/download.js";
import type { KubeObject } from "../runtime/kinds.js";

export { sha256Digest };

/** Rendered artifacts larger than this are refused (the API server would refuse the objects anyway). */
export const MAX_RENDERED_BYTES = 128 * 1024 * 1024;

export class ArtifactError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ArtifactError";
  }
}

function digestMismatch(url: string, actual: string, digest: string): ArtifactError {
  return new ArtifactError(`rendered artifact ${url} has digest ${actual}, not the ${digest} named in status.render.artifact; it changed since it was rendered — the next render will fix it`);
}

/** Checks the bytes against `digest` and parses them into the object list. */
export function parseRendered(bytes: Uint8Array, digest: string, url = "the artifact"): KubeObject[] {
  const actual = sha256Digest(bytes);
  if (actual !== digest) throw digestMismatch(url, actual, digest);
  return parseObjects(bytes, url);
}

function parseObjects(bytes: Uint8Array, url: string): KubeObject[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (err) {
    throw new ArtifactError(`rendered artifact ${url} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(parsed)) throw new ArtifactError(`rendered artifact ${url} is not a JSON array of objects`);
  parsed.forEach((o, i) => {
    if (!o || typeof o !== "object" || Array.isArray(o)) throw new ArtifactError(`rendered artifact ${url}: item ${i} is not an object`);
  });
  return parsed as KubeObject[];
}

/** The apply controller's words for a failed download (what it means for an Application, what happens next). */
function downloadFailure(url: string, f: DownloadFailure): ArtifactError {
  const message = (e: unknown) => (e as Error).message;
  switch (f.kind) {
    case "unreachable":
      return new ArtifactError(`cannot download the rendered artifact ${url}: ${message(f.cause)}; is the render controller's artifact server reachable?`, { cause: f.cause });
    case "status":
      return new ArtifactError(`downloading the rendered artifact ${url} answered HTTP ${f.status}; it may have been garbage-collected — the next render will publish it again`);
    case "tooLarge":
      return new ArtifactError(f.declared !== undefined ? `rendered artifact ${url} is ${f.declared} bytes, over the ${f.limit}-byte limit` : `rendered artifact ${url} is over the ${f.limit}-byte limit`);
    case "interrupted":
      return new ArtifactError(`download of the rendered artifact ${url} was interrupted: ${message(f.cause)}`, { cause: f.cause });
    case "digest":
      return digestMismatch(url, f.actual, f.expected);
  }
}

/** Downloads and verifies a rendered artifact (src/artifact/download.ts: deadline, size cap, sha256). */
export async function fetchRendered(url: string, digest: string, o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<KubeObject[]> {
  try {
    const { bytes } = await download(url, { digest, maxBytes: MAX_RENDERED_BYTES, timeoutMs: o.timeoutMs ?? 60_000, signal: o.signal });
    return parseObjects(bytes, url);
  } catch (err) {
    if (err instanceof DownloadError) throw downloadFailure(url, err.failure);
    throw err;
  }
}
