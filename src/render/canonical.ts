// The canonical form of a render's output: objects with map keys sorted, serialised the same way every time, so
// equal inputs always give byte-identical output and the same digest.
import { createHash } from "node:crypto";
import { toYamlText } from "./yaml.js";
import { isMap } from "./objects.js";

/** Deep copy with map keys in code-point order (arrays keep their order: it is meaningful). */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v)) as T;
  if (isMap(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort(compareStrings)) {
      const v = value[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out as T;
  }
  return value;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON with sorted keys and no whitespace: the byte form the digest is computed over. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export type OutputFormat = "yaml" | "json";

/**
 * Serialises objects in their given order. YAML: one document per object, `---` separated, sorted keys.
 * JSON: a `v1/List`-free array, pretty-printed with sorted keys.
 */
export function serialize(objects: readonly unknown[], format: OutputFormat = "yaml"): string {
  if (format === "json") return JSON.stringify(objects.map((o) => sortKeys(o)), null, 2) + "\n";
  return objects
    .map((o) => toYamlText(sortKeys(o)))
    .map((doc) => `---\n${doc}`)
    .join("");
}

/**
 * The rendered artifact's bytes: the canonical JSON array of the objects (what the apply controller downloads and
 * verifies). `digestObjects(objects)` is the sha256 of exactly these bytes.
 */
export function artifactBytes(objects: readonly unknown[]): Buffer {
  return Buffer.from(canonicalJson(objects), "utf8");
}

/** `sha256:<hex>` over the canonical JSON of the object list (independent of the output format chosen). */
export function digestObjects(objects: readonly unknown[]): string {
  const h = createHash("sha256");
  h.update("[");
  objects.forEach((o, i) => {
    if (i) h.update(",");
    h.update(canonicalJson(o));
  });
  h.update("]");
  return `sha256:${h.digest("hex")}`;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Key for caching renders: `sha256:<hex>` over the canonical JSON of everything that determines the output
 * (source digest, path, render spec, referenced values). Map key order does not matter; values do.
 */
export function cacheKey(inputs: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(inputs))}`;
}
