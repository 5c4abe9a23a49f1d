// Plain-text output for the CLI: kubectl-style tables, revisions short enough for a terminal, ANSI colour, and Secret
// values masked in whatever the commands print.
import { stringify } from "yaml";
import { annotationHoldsData, secretValues } from "../runtime/secret-view.js";

/** Columns separated by three spaces, headers in capitals, no trailing spaces (like kubectl get). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** "main@sha1:0123456789abcdef…" → "main@sha1:0123456789ab": a revision short enough for a table. */
export function shortRevision(rev: string | undefined): string {
  if (!rev) return "";
  return rev.replace(/(sha1|sha256):([0-9a-f]{12})[0-9a-f]+/g, "$1:$2");
}

/** One line: newlines and runs of spaces folded, for table cells. */
export function oneLine(s: string | undefined): string {
  return (s ?? "").replace(/\s+/g, " ").trim();
}

export function toYaml(value: unknown): string {
  return stringify(value, { sortMapEntries: true, lineWidth: 0 });
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof ANSI;

export function paint(on: boolean, colour: Colour, text: string): string {
  return on ? `\u001b[${ANSI[colour]}m${text}\u001b[0m` : text;
}

/** Colours a unified diff: headers bold, hunks cyan, removals red, additions green. */
export function colourDiff(patch: string, on: boolean): string {
  if (!on) return patch;
  return patch
    .split("\n")
    .map((l) => {
      if (l.startsWith("---") || l.startsWith("+++")) return paint(true, "bold", l);
      if (l.startsWith("@@")) return paint(true, "cyan", l);
      if (l.startsWith("+")) return paint(true, "green", l);
      if (l.startsWith("-")) return paint(true, "red", l);
      return l;
    })
    .join("\n");
}

/**
 * What a Secret's value is printed as, unless --show-secrets: kubectl diff's masks. Equal values on both sides of a
 * diff are both `***`; different ones `*** (before)` and `*** (after)`, so a change shows without its value.
 */
export const SecretMask = { value: "***", before: "*** (before)", after: "*** (after)" } as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** A core Secret (an object without apiVersion counts too: masking one object too many costs nothing). */
export function isSecret(o: unknown): o is Obj {
  return isObj(o) && o.kind === "Secret" && (o.apiVersion === "v1" || o.apiVersion === undefined);
}

/** The values of a Secret in every form they can be quoted in (base64, decoded, JSON-escaped); [] for other objects. */
export function secretValuesOf(o: unknown): string[] {
  if (!isSecret(o)) return [];
  const out = new Set<string>();
  for (const v of secretValues(o)) {
    out.add(v);
    out.add(JSON.stringify(v).slice(1, -1));
  }
  return [...out];
}

/** Masks one field map (data, stringData, annotations) of both sides; `which` picks the keys to mask. */
function maskMaps(before: Obj | undefined, after: Obj | undefined, which: (key: string, value: string) => boolean): void {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const k of keys) {
    const b = before?.[k];
    const a = after?.[k];
    if (!((b !== undefined && which(k, String(b))) || (a !== undefined && which(k, String(a))))) continue;
    const same = b !== undefined && a !== undefined && b === a;
    if (before && b !== undefined) before[k] = same || a === undefined ? SecretMask.value : SecretMask.before;
    if (after && a !== undefined) after[k] = same || b === undefined ? SecretMask.value : SecretMask.after;
  }
}

/**
 * The two sides of a diff with Secret values masked (copies; the inputs are not modified): `data`, `stringData`
 * and any annotation that may hold the data (kubectl's last-applied-configuration, or one containing a value).
 * Objects that are not Secrets come back as they are. Either side may be undefined (created or deleted).
 */
export function maskSecretPair<T>(before: T | undefined, after: T | undefined): [T | undefined, T | undefined] {
  if (!isSecret(before) && !isSecret(after)) return [before, after];
  const b = isObj(before) ? (structuredClone(before) as Obj) : undefined;
  const a = isObj(after) ? (structuredClone(after) as Obj) : undefined;
  const values = [...secretValues(b ?? {}), ...secretValues(a ?? {})];
  for (const field of ["data", "stringData"]) {
    const bm = isObj(b?.[field]) ? (b![field] as Obj) : undefined;
    const am = isObj(a?.[field]) ? (a![field] as Obj) : undefined;
    maskMaps(bm, am, () => true);
  }
  const annotations = (o: Obj | undefined) => (isObj(o?.metadata) && isObj((o!.metadata as Obj).annotations) ? ((o!.metadata as Obj).annotations as Obj) : undefined);
  maskMaps(annotations(b), annotations(a), (k, v) => annotationHoldsData(k, v, values));
  return [b as T | undefined, a as T | undefined];
}

/** One object with its Secret values masked (a List's items too); other objects come back as they are. */
export function maskSecrets<T>(obj: T): T {
  if (isObj(obj) && Array.isArray(obj.items) && typeof obj.kind === "string" && obj.kind.endsWith("List")) {
    return { ...obj, items: obj.items.map((i: unknown) => maskSecrets(i)) } as T;
  }
  return isSecret(obj) ? (maskSecretPair(obj, undefined)[0] as T) : obj;
}

/**
 * Replaces every Secret value found in `text` (an error message, a note) by the mask. Values under four characters
 * are replaced only where quoted: unquoted, they occur in ordinary text by chance.
 */
export function redactSecretValues(text: string, values: Iterable<string>): string {
  let out = text;
  for (const v of [...new Set(values)].filter(Boolean).sort((x, y) => y.length - x.length)) {
    if (v.length >= 4) out = out.split(v).join(SecretMask.value);
    else for (const q of ['"', "'"]) out = out.split(q + v + q).join(q + SecretMask.value + q);
  }
  return out;
}
