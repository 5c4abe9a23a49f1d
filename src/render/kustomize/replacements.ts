// Replacements (ReplacementTransformer): a value read from one resource (or given as sourceValue) copied into fields
// of the selected resources. Field paths are dot-separated; `[k=v]` picks list items, `[a.b/c]` is a map key with
// dots, `*` every item, a number an index.
import { RenderError } from "../errors.js";
import { clone, isMap, type JsonMap, type ScopeResolver } from "../objects.js";
import { parseYamlDocs } from "../yaml.js";
import { parseManifestDocs } from "./fastyaml.js";
import { mapList, stringList } from "./fields.js";
import { gvkSelected } from "./fieldspecs.js";
import { allIds, describeRes, effectiveNs, type Res, type ResId } from "./resource.js";
import { splitOutside } from "../../split.js";
import { writeInPlace } from "./shared.js";
import { anchored, parseSelector } from "./transformers.js";

/** ResId.IsSelectedBy: every non-empty field of the selector equals the id's (no patterns). */
function selectedBy(id: ResId, s: JsonMap): boolean {
  const str = (k: string): string => (typeof s[k] === "string" ? (s[k] as string) : "");
  if (str("name") && str("name") !== id.name) return false;
  if (str("namespace") && str("namespace") !== id.namespace && str("namespace") !== effectiveNs(id)) return false;
  return gvkSelected(id.group, id.version, id.kind, { group: str("group"), version: str("version"), kind: str("kind") });
}

function regexSelects(id: ResId, s: JsonMap, file: string): boolean {
  const test = (k: "group" | "version" | "kind" | "name" | "namespace", v: string): boolean => {
    const re = anchored(s[k], file);
    return !re || re.test(v);
  };
  return test("group", id.group) && test("version", id.version) && test("kind", id.kind) && test("name", id.name) && test("namespace", id.namespace);
}

function matchesMeta(r: Res, s: JsonMap): boolean {
  const asStrings = (v: unknown): Record<string, string> => {
    const out: Record<string, string> = {};
    if (isMap(v)) for (const [k, x] of Object.entries(v)) out[k] = String(x);
    return out;
  };
  if (s.labelSelector && !parseSelector(String(s.labelSelector))(asStrings(r.obj.metadata.labels))) return false;
  if (s.annotationSelector && !parseSelector(String(s.annotationSelector))(asStrings(r.obj.metadata.annotations))) return false;
  return true;
}

/** The replacements of a `replacements` list entry: inline, or read from a file (one replacement or a list). */
export function replacementsFromFile(text: string, where: string, limits: { maxAliasCount: number; maxDepth: number }): JsonMap[] {
  const out: JsonMap[] = [];
  for (const doc of parseManifestDocs(text, where, limits)) {
    for (const r of Array.isArray(doc.value) ? doc.value : [doc.value]) {
      if (!isMap(r)) throw new RenderError("a replacement must be a map with source and targets", { file: where, line: doc.line });
      out.push(r);
    }
  }
  return out;
}

export type PathSeg = { kind: "key"; key: string } | { kind: "match"; key: string; value: string } | { kind: "all" };

/** Kustomize field paths: dot-separated; `[k=v]` picks list items, `[a.b/c]` is a map key with dots, `*` every item. */
export function parseFieldPath(fp: string, file: string): PathSeg[] {
  return splitOutside(fp, ".", "[", "]").map((s) => {
    if (!s) throw new RenderError(`field path ${JSON.stringify(fp)} has an empty segment`, { file });
    if (s === "*") return { kind: "all" };
    const m = s.match(/^\[([^=\]]+)=([^\]]*)\]$/);
    if (m) return { kind: "match", key: m[1]!, value: m[2]! };
    const b = s.match(/^\[([^\]]+)\]$/);
    return { kind: "key", key: b ? b[1]! : s };
  });
}

/** Every (container, key) a field path reaches; with `create`, missing maps, keys and `[k=v]` items are made. */
export function reach(node: unknown, segs: PathSeg[], create: boolean): { parent: JsonMap | unknown[]; key: string | number }[] {
  const out: { parent: JsonMap | unknown[]; key: string | number }[] = [];
  const walk = (n: unknown, i: number): void => {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    const step = (parent: JsonMap | unknown[], key: string | number): void => {
      if (last) out.push({ parent, key });
      else {
        const child = (parent as Record<string | number, unknown>)[key];
        if ((child === undefined || child === null) && create) {
          // The next segment says what to make: a list for an index or an item match, else a map (in a list too:
          // Kustomize creates `volumes.0.name` as a new first item).
          const next = segs[i + 1]!;
          const listNext = next.kind === "match" || next.kind === "all" || (next.kind === "key" && /^\d+$/.test(next.key));
          (parent as Record<string | number, unknown>)[key] = listNext ? [] : {};
        }
        walk((parent as Record<string | number, unknown>)[key], i + 1);
      }
    };
    if (seg.kind === "all") {
      if (Array.isArray(n)) n.forEach((_, idx) => step(n, idx));
      return;
    }
    if (seg.kind === "match") {
      if (!Array.isArray(n)) return;
      let found = false;
      n.forEach((el, idx) => {
        if (isMap(el) && String(el[seg.key]) === seg.value) {
          found = true;
          step(n, idx);
        }
      });
      if (!found && create) {
        n.push({ [seg.key]: seg.value });
        step(n, n.length - 1);
      }
      return;
    }
    if (Array.isArray(n) && /^\d+$/.test(seg.key)) {
      const idx = Number(seg.key);
      if (idx < n.length || (create && idx === n.length)) step(n, idx);
      return;
    }
    if (!isMap(n)) return;
    if (n[seg.key] === undefined && !create) return;
    step(n, seg.key);
  };
  walk(node, 0);
  return out.filter(({ parent, key }) => create || (parent as Record<string | number, unknown>)[key] !== undefined);
}

export function applyReplacement(res: Res[], rep: JsonMap, file: string, scope?: ScopeResolver): void {
  // Kustomize checks for targets (an empty list is none) before it looks for the source.
  if (!Array.isArray(rep.targets) || rep.targets.length === 0) throw new RenderError("replacements must specify a source and at least one target", { file });
  const value = replacementValue(res, rep, file, scope);
  for (const t of mapList(rep.targets, file, "replacement targets")) {
    if (!isMap(t.select)) throw new RenderError("target must specify resources to select", { file });
    const targets = selectTargets(res, t.select, mapList(t.reject, file, "reject"), file, scope);
    const opts = isMap(t.options) ? t.options : {};
    for (const r of targets) replaceIn(r, stringList(t.fieldPaths, file, "fieldPaths"), value, opts, file);
  }
}

/** The value a replacement copies: its sourceValue, or the field its source selects (a part of it with a delimiter). */
function replacementValue(res: Res[], rep: JsonMap, file: string, scope?: ScopeResolver): unknown {
  const src = isMap(rep.source) ? rep.source : undefined;
  if (rep.sourceValue !== undefined && rep.sourceValue !== null) {
    if (src) throw new RenderError("a replacement may have a source or a sourceValue, not both", { file });
    return String(rep.sourceValue);
  }
  if (!src) throw new RenderError("replacements must specify a source and at least one target", { file });
  const sources = res.filter((r) => allIds(r, scope).some((id) => selectedBy(id, src)));
  const srcDesc = `${String(src.kind ?? "?")} ${String(src.name ?? "?")}`;
  if (sources.length === 0) throw new RenderError(`replacement source ${srcDesc} selects nothing`, { file });
  if (sources.length > 1) throw new RenderError(`replacement source ${srcDesc}: multiple matches for the selector; narrow it`, { file });
  const fp = typeof src.fieldPath === "string" && src.fieldPath ? src.fieldPath : "metadata.name";
  const hits = reach(sources[0]!.obj, parseFieldPath(fp, file), false);
  const found = hits.length ? (hits[0]!.parent as Record<string | number, unknown>)[hits[0]!.key] : undefined;
  if (found === undefined || found === null || (isMap(found) && Object.keys(found).length === 0) || (Array.isArray(found) && found.length === 0)) {
    throw new RenderError(`fieldPath \`${fp}\` is missing for replacement source ${srcDesc}`, { file });
  }
  const value = clone(found);
  const so = isMap(src.options) ? src.options : {};
  if (typeof so.delimiter !== "string" || !so.delimiter) return value;
  if (isMap(value) || Array.isArray(value)) throw new RenderError("delimiter option can only be used with scalar nodes", { file });
  const parts = String(value).split(so.delimiter);
  const idx = typeof so.index === "number" ? so.index : 0;
  if (idx < 0 || idx >= parts.length) throw new RenderError(`replacement source ${srcDesc} ${fp}: options.index ${idx} is out of bounds for value ${String(value)}`, { file });
  return parts[idx];
}

/** The resources a target's `select` picks and none of its `reject` entries (by labels/annotations, or by id) does. */
function selectTargets(res: Res[], sel: JsonMap, rejects: JsonMap[], file: string, scope?: ScopeResolver): Res[] {
  return res.filter((r) => {
    const ids = allIds(r, scope);
    if (!matchesMeta(r, sel)) return false;
    for (const rj of rejects) {
      if ((rj.labelSelector || rj.annotationSelector) && matchesMeta(r, rj)) return false;
    }
    for (const rj of rejects) {
      const idPart = ["group", "version", "kind", "name", "namespace"].some((k) => rj[k] !== undefined && rj[k] !== null && rj[k] !== "");
      if (idPart && ids.some((id) => regexSelects(id, rj, file))) return false;
    }
    return ids.some((id) => regexSelects(id, sel, file));
  });
}

/** Writes `value` into each of `paths` (default metadata.name) of the target `r`, as the target's options say. */
function replaceIn(r: Res, paths: string[], value: unknown, opts: JsonMap, file: string): void {
  const create = opts.create === true;
  for (const path of paths.length ? paths : ["metadata.name"]) {
    const spots = reach(r.obj, parseFieldPath(path, file), create);
    if (spots.length === 0) throw new RenderError(`unable to find field "${path}": replacement target ${describeRes(r)} has no field ${path} (set options.create to add it)`, { file });
    for (const { parent, key } of spots) {
      const p = parent as Record<string | number, unknown>;
      const next = replacedValue(p[key], value, opts, `${describeRes(r)} ${path}`, file);
      // kyaml writes the target's node in place: fields sharing it (shared.ts) change too.
      if (isMap(parent) && typeof key === "string") writeInPlace(parent, key, next);
      else p[key] = next;
    }
  }
}

/** The new value: the target keeps its type (a number stays a number); a created field takes the value's YAML type. */
function replacedValue(current: unknown, value: unknown, opts: JsonMap, where: string, file: string): unknown {
  let v = value;
  if (typeof opts.delimiter === "string" && opts.delimiter) {
    // Kustomize splits only a scalar target (a list's items are not joined text).
    if (isMap(current) || Array.isArray(current)) throw new RenderError(`replacement: ${where}: delimiter option can only be used with scalar nodes`, { file });
    const parts = String(current ?? "").split(opts.delimiter);
    const idx = typeof opts.index === "number" ? opts.index : 0;
    const text = String(value);
    if (idx < 0) parts.unshift(text);
    else if (idx >= parts.length) parts.push(text);
    else parts[idx] = text;
    v = parts.join(opts.delimiter);
  }
  if (isMap(v) || Array.isArray(v)) return clone(v);
  const text = String(v);
  if (typeof current === "string") return text;
  if (typeof current === "number") {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n)) throw new RenderError(`replacement: ${where} is a number and cannot take ${JSON.stringify(text)}`, { file });
    return n;
  }
  if (typeof current === "boolean") {
    if (text !== "true" && text !== "false") throw new RenderError(`replacement: ${where} is a boolean and cannot take ${JSON.stringify(text)}`, { file });
    return text === "true";
  }
  if (current === undefined || current === null) {
    if (typeof v !== "string") return v;
    return parseYamlDocs(`v: ${JSON.stringify(text) === `"${text}"` && /^[\w.:/@-]*$/.test(text) ? text : JSON.stringify(text)}`, file, { maxAliasCount: 0, maxDepth: 3 })
      .map((d) => (d.value as JsonMap).v)[0];
  }
  return v;
}

