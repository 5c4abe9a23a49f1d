// Readers of a kustomization's fields (and of the entries in its lists): each takes the raw value, gives a typed one
// (an absent or null field reads as empty), and refuses a value of the wrong type naming the field and the file.
import { RenderError } from "../errors.js";
import { isMap, type JsonMap } from "../objects.js";

export function stringList(v: unknown, file: string, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new RenderError(`"${field}" must be a list of strings`, { file });
  return v as string[];
}

export function mapList(v: unknown, file: string, field: string): JsonMap[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => !isMap(x))) throw new RenderError(`"${field}" must be a list of maps`, { file });
  return v as JsonMap[];
}

export function str(v: unknown, file: string, field: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new RenderError(`"${field}" must be a string`, { file });
  return v;
}

export function stringMap(v: unknown, file: string, field: string, lenient = false): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isMap(v)) throw new RenderError(`"${field}" must be a map`, { file });
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === "string") out[k] = x;
    else if (lenient && (typeof x === "number" || typeof x === "boolean")) out[k] = String(x);
    else if (lenient && x === null) out[k] = "";
    else throw new RenderError(`"${field}.${k}" must be a string; quote the value (${JSON.stringify(x)})`, { file });
  }
  return out;
}

export function bool(v: unknown, file: string, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw new RenderError(`"${field}" must be true or false`, { file });
  return v;
}

export function checkKeys(m: JsonMap, known: string[], file: string, what: string): void {
  for (const k of Object.keys(m)) if (!known.includes(k)) throw new RenderError(`${what}: unknown field "${k}" (known: ${known.join(", ")})`, { file });
}
