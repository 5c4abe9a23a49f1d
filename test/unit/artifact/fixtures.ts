// What the artifact storage and server unit tests share: an object's key and a producer of bytes.
export const key = { kind: "GitRepository", namespace: "team-a", name: "app" };

/** The bytes an artifact producer yields, one chunk per part. */
export async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}
