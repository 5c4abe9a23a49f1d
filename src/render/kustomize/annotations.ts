// Annotation values as Kustomize writes them. At the end of a build Kustomize removes its build annotations from
// every resource by reading metadata.annotations as a map of strings and writing it back (Resource.
// RemoveBuildAnnotations): each value becomes the text of its YAML node — a scalar as it was spelt in the file (`1.50`
// stays "1.50", `~` stays "~", an empty value ""), a map or a list "" — and an empty or null map is removed. Labels are
// left as they are. A JSON 6902 patch turns its whole object into JSON and back first (evanphx/json-patch on the
// object's JSON), so on a patched object the values are Go's spelling of the number (1.50 -> "1.5", 1000000 -> "1e+06").
//
// The values are read as JSON values here, so the spelling is kept beside the resource when its file is read: only
// for files where an annotation is not a string (rare), by reading that file again with the `yaml` library, whose
// scalars keep their source text.
import { isMap as isYamlMap, isScalar, LineCounter, parseAllDocuments } from "yaml";
import { isMap, type JsonMap } from "../objects.js";
import type { Res } from "./resource.js";

/** An annotation's value as read from its file and how it was spelt there. */
export interface AnnotationText {
  value: unknown;
  text: string;
}

/** An object just read from a file: the 1-based line of its document and where it is in it (List items). */
export interface ReadObject {
  obj: JsonMap;
  line?: number;
  path: (string | number)[];
}

function annotationsOf(obj: JsonMap): JsonMap | undefined {
  const md = obj.metadata;
  return isMap(md) && isMap(md.annotations) ? md.annotations : undefined;
}

function hasNonString(obj: JsonMap): boolean {
  const a = annotationsOf(obj);
  return a !== undefined && Object.values(a).some((v) => typeof v !== "string");
}

/** How the non-string annotation values of each object read from `text` were spelt there (undefined: none). */
function spellings(text: string, read: ReadObject[]): (Record<string, AnnotationText> | undefined)[] {
  if (!read.some((e) => hasNonString(e.obj))) return read.map(() => undefined);
  const lineCounter = new LineCounter();
  const byLine = new Map<number, ReturnType<typeof parseAllDocuments>[number]>();
  for (const d of parseAllDocuments(text, { lineCounter, merge: true })) {
    const start = d.contents?.range[0];
    if (start !== undefined) byLine.set(lineCounter.linePos(start).line, d);
  }
  return read.map((e) => {
    if (!hasNonString(e.obj)) return undefined;
    const node: unknown = e.line === undefined ? undefined : byLine.get(e.line)?.getIn([...e.path, "metadata", "annotations"], true);
    return isYamlMap(node) ? pairTexts(node.items, annotationsOf(e.obj)!) : undefined;
  });
}

function pairTexts(pairs: { key: unknown; value: unknown }[], values: JsonMap): Record<string, AnnotationText> | undefined {
  const texts: Record<string, AnnotationText> = {};
  for (const pair of pairs) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined || typeof values[key] === "string") continue;
    // `key:` with nothing after it has no value node: its text is empty.
    if (pair.value === null) texts[key] = { value: values[key], text: "" };
    else if (isScalar(pair.value) && typeof pair.value.source === "string") texts[key] = { value: values[key], text: pair.value.source };
  }
  return Object.keys(texts).length ? texts : undefined;
}

/** Records on each resource read from `text` how its non-string annotation values were spelt (Res.annotationTexts). */
export function recordAnnotationTexts(text: string, read: (ReadObject & { res: Res })[]): void {
  spellings(text, read).forEach((t, i) => {
    if (t) read[i]!.res.annotationTexts = t;
  });
}

// The spellings in strategic merge patches, by patch object: a patch keeps its values' nodes in Kustomize too.
const patchTexts = new WeakMap<JsonMap, Record<string, AnnotationText>>();

/** Records how the non-string annotation values of the strategic merge patches read from `text` were spelt. */
export function recordPatchAnnotationTexts(text: string, read: ReadObject[]): void {
  spellings(text, read).forEach((t, i) => {
    if (t) patchTexts.set(read[i]!.obj, t);
  });
}

/** After `patch` was merged into `r`: the spellings of the values it set join the resource's. */
export function mergePatchAnnotationTexts(r: Res, patch: JsonMap): void {
  const t = patchTexts.get(patch);
  if (t) r.annotationTexts = { ...r.annotationTexts, ...t };
}

/** Go's strconv.FormatFloat(n, 'g', -1, 64) as go-yaml writes a float64 (.inf, .nan). */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return ".nan";
  if (!Number.isFinite(n)) return n > 0 ? ".inf" : "-.inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const [mantissa, exp] = n.toExponential().split("e") as [string, string];
  const e = Number(exp);
  if (e >= -4 && e < 6) return String(n);
  return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

/** The text Kustomize writes for a value with no recorded spelling (from a JSON 6902 patch or a transformer). */
function valueText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return goFloat(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v === null || v === undefined) return "null";
  return "";
}

/**
 * metadata.annotations as Kustomize writes them at the end of a build: every value a string (as spelt in its file
 * when it is still the value read there), an empty or null map removed.
 */
export function finishAnnotations(r: Res): void {
  const md = r.obj.metadata;
  if (!isMap(md) || !("annotations" in md)) return;
  const a = md.annotations;
  if (a === null || a === undefined || (isMap(a) && Object.keys(a).length === 0)) {
    delete md.annotations;
    return;
  }
  if (!isMap(a)) return;
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === "string") continue;
    const recorded = r.annotationTexts?.[k];
    a[k] = recorded && Object.is(recorded.value, v) ? recorded.text : valueText(v);
  }
}
