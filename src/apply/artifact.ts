// Downloading a rendered artifact: one JSON array (canonicalJson of the rendered objects) named by URL and digest in
// Application.status.render.artifact. The digest is checked before anything is parsed, so a truncated, stale or
// tampered download is never applied.
import { createHash } from "node:crypto";
import type { KubeObject } from "../runtime/kinds.js";

/** Rendered artifacts larger than this are refused (the API server would refuse the objects anyway). */
export const MAX_RENDERED_BYTES = 128 * 1024 * 1024;

export class ArtifactError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ArtifactError";
  }
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Checks the bytes against `digest` and parses them into the object list. */
export function parseRendered(bytes: Uint8Array, digest: string, url = "the artifact"): KubeObject[] {
  const actual = sha256Digest(bytes);
  if (actual !== digest) throw new ArtifactError(`rendered artifact ${url} has digest ${actual}, not the ${digest} named in status.render.artifact; it changed since it was rendered — the next render will fix it`);
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

/** Downloads and verifies a rendered artifact. */
export async function fetchRendered(url: string, digest: string, o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<KubeObject[]> {
  const timeout = AbortSignal.timeout(o.timeoutMs ?? 60_000);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (err) {
    throw new ArtifactError(`cannot download the rendered artifact ${url}: ${(err as Error).message}; is the render controller's artifact server reachable?`, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ArtifactError(`downloading the rendered artifact ${url} answered HTTP ${res.status}; it may have been garbage-collected — the next render will publish it again`);
  }
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > MAX_RENDERED_BYTES) {
    await res.body?.cancel();
    throw new ArtifactError(`rendered artifact ${url} is ${declared} bytes, over the ${MAX_RENDERED_BYTES}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > MAX_RENDERED_BYTES) throw new ArtifactError(`rendered artifact ${url} is over the ${MAX_RENDERED_BYTES}-byte limit`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ArtifactError) throw err;
    throw new ArtifactError(`download of the rendered artifact ${url} was interrupted: ${(err as Error).message}`, { cause: err });
  }
  return parseRendered(Buffer.concat(chunks), digest, url);
}
