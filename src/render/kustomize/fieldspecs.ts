// Where Kustomize's transformers write: field specs (a path plus the group/version/kind it applies to) and the
// transformer configuration they form, as in Kustomize's built-in configuration (api/konfig/builtinpluginconsts) and
// its `configurations:` files. A path's segments are separated by "/" ("\/" is a slash inside a key); lists met on
// the way are traversed element by element, and "[]" marks a segment that must be a list.
import { parse } from "yaml";
import { RenderError } from "../errors.js";
import { groupOf, isMap, versionOf, type JsonMap } from "../objects.js";
import { DEFAULT_CONFIG_YAML } from "./fieldspecs-data.js";
import { writeInPlace } from "./shared.js";

export interface Gvk {
  group?: string;
  version?: string;
  kind?: string;
}

export interface FieldSpec extends Gvk {
  path: string;
  create?: boolean;
}

/** A name reference rule: objects of `gvk` are referred to by the fields in `fieldSpecs`. */
export interface NameBackRef extends Gvk {
  fieldSpecs: FieldSpec[];
}

export interface TransformerConfig {
  namePrefix: FieldSpec[];
  nameSuffix: FieldSpec[];
  namespace: FieldSpec[];
  commonLabels: FieldSpec[];
  labels: FieldSpec[];
  templateLabels: FieldSpec[];
  commonAnnotations: FieldSpec[];
  nameReference: NameBackRef[];
  varReference: FieldSpec[];
  images: FieldSpec[];
  replicas: FieldSpec[];
}

const FS_FIELDS = [
  "namePrefix",
  "nameSuffix",
  "namespace",
  "commonLabels",
  "labels",
  "templateLabels",
  "commonAnnotations",
  "varReference",
  "images",
  "replicas",
] as const;

export function emptyConfig(): TransformerConfig {
  return {
    namePrefix: [],
    nameSuffix: [],
    namespace: [],
    commonLabels: [],
    labels: [],
    templateLabels: [],
    commonAnnotations: [],
    nameReference: [],
    varReference: [],
    images: [],
    replicas: [],
  };
}

/** Kustomize's Gvk.IsSelected: every non-empty field of the selector must equal the id's. */
export function gvkSelected(group: string, version: string, kind: string, sel: Gvk): boolean {
  if (sel.group && sel.group !== group) return false;
  if (sel.version && sel.version !== version) return false;
  if (sel.kind && sel.kind !== kind) return false;
  return true;
}

const gvCache = new Map<string, [string, string]>();

/** [group, version] of an apiVersion, cached (the same few apiVersions are split millions of times). */
export function splitApiVersion(apiVersion: string): [string, string] {
  let gv = gvCache.get(apiVersion);
  if (!gv) {
    gv = [groupOf(apiVersion), versionOf(apiVersion)];
    if (gvCache.size < 10000) gvCache.set(apiVersion, gv);
  }
  return gv;
}

export function specApplies(fs: Gvk, apiVersion: string, kind: string): boolean {
  if (fs.kind && fs.kind !== kind) return false;
  if (!fs.group && !fs.version) return true;
  const [g, v] = splitApiVersion(apiVersion);
  return gvkSelected(g, v, kind, fs);
}

// ---- merging (Kustomize's FsSlice.MergeAll and TransformerConfig.Merge) --------------------------------------

/** Kustomize's legacy output order (resid.orderFirst/orderLast): these kinds first, in this order... */
export const LEGACY_ORDER_FIRST: readonly string[] = [
  "Namespace",
  "ResourceQuota",
  "StorageClass",
  "CustomResourceDefinition",
  "ServiceAccount",
  "PodSecurityPolicy",
  "Role",
  "ClusterRole",
  "RoleBinding",
  "ClusterRoleBinding",
  "ConfigMap",
  "Secret",
  "Endpoints",
  "Service",
  "LimitRange",
  "PriorityClass",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "Deployment",
  "StatefulSet",
  "CronJob",
  "PodDisruptionBudget",
];
/** ...and these last. */
export const LEGACY_ORDER_LAST: readonly string[] = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

function typeOrder(kind: string | undefined): number {
  const f = LEGACY_ORDER_FIRST.indexOf(kind ?? "");
  if (f >= 0) return f - LEGACY_ORDER_FIRST.length;
  const l = LEGACY_ORDER_LAST.indexOf(kind ?? "");
  return l >= 0 ? 1 + l : 0;
}

/** Gvk.IsLessThan: the legacy kind order, then "group_version_kind" with "~G", "~V", "~K" for empty fields. */
export function gvkLess(a: Gvk, b: Gvk): boolean {
  const ia = typeOrder(a.kind);
  const ib = typeOrder(b.kind);
  if (ia !== ib) return ia < ib;
  const s = (x: Gvk): string => `${x.group || "~G"}_${x.version || "~V"}_${x.kind || "~K"}`;
  return s(a) < s(b);
}

/** Go's sort.Sort is not stable; for equal keys we keep insertion order, which is what the tests observe. */
function sortByGvk<T extends Gvk>(list: T[]): T[] {
  return list
    .map((x, i) => ({ x, i }))
    .sort((p, q) => (gvkLess(p.x, q.x) ? -1 : gvkLess(q.x, p.x) ? 1 : p.i - q.i))
    .map((p) => p.x);
}

function sameSpec(a: FieldSpec, b: FieldSpec): boolean {
  // effectivelyEquals: a is selected by b's gvk and the paths are equal.
  return gvkSelected(a.group ?? "", a.version ?? "", a.kind ?? "", b) && a.path === b.path;
}

function exactKey(f: FieldSpec): string {
  return `${f.group ?? ""}|${f.version ?? ""}|${f.kind ?? ""}|${f.path}|${f.create === true}`;
}

export function mergeSpecs(base: FieldSpec[], incoming: FieldSpec[], where?: string): FieldSpec[] {
  if (incoming.length === 0 || base === incoming) return base;
  const out = [...base];
  const exact = new Set(base.map(exactKey));
  for (const x of incoming) {
    // An identical spec is already there (the common case: the built-in configuration merged again).
    if (exact.has(exactKey(x))) continue;
    const hit = out.find((s) => sameSpec(s, x));
    if (hit) {
      if (Boolean(hit.create) !== Boolean(x.create)) {
        throw new RenderError(`conflicting fieldspecs for path ${JSON.stringify(x.path)}${x.kind ? ` (kind ${x.kind})` : ""}: create is both true and false`, where ? { file: where } : {});
      }
      continue;
    }
    out.push(x);
    exact.add(exactKey(x));
  }
  return out;
}

function sameGvk(a: Gvk, b: Gvk): boolean {
  return (a.group ?? "") === (b.group ?? "") && (a.version ?? "") === (b.version ?? "") && (a.kind ?? "") === (b.kind ?? "");
}

function mergeBackRefs(base: NameBackRef[], incoming: NameBackRef[], where?: string): NameBackRef[] {
  if (incoming.length === 0 || base === incoming) return base;
  let out = base;
  let changed = false;
  for (const o of incoming) {
    const i = out.findIndex((c) => sameGvk(c, o));
    if (i < 0) {
      out = [...out, o];
      changed = true;
      continue;
    }
    const merged = mergeSpecs(out[i]!.fieldSpecs, o.fieldSpecs, where);
    if (merged === out[i]!.fieldSpecs || merged.length === out[i]!.fieldSpecs.length) continue;
    out = out.map((c, j) => (j === i ? { ...c, fieldSpecs: merged } : c));
    changed = true;
  }
  return changed ? out : base;
}

/** Merges two configurations (neither is modified; unchanged lists are shared, so treat configurations as immutable). */
export function mergeConfig(a: TransformerConfig, b: TransformerConfig, where?: string): TransformerConfig {
  if (a === b) return a;
  const out = emptyConfig();
  for (const f of FS_FIELDS) {
    const merged = mergeSpecs(a[f], b[f], where);
    out[f] = merged === a[f] ? merged : sortByGvk(merged);
  }
  const refs = mergeBackRefs(a.nameReference, b.nameReference, where);
  out.nameReference = refs === a.nameReference ? refs : sortByGvk(refs);
  return out;
}

// ---- reading configuration files --------------------------------------------------------------------------------

const SPEC_KEYS = new Set(["group", "version", "kind", "path", "create"]);

function readSpec(v: unknown, file: string, field: string): FieldSpec {
  if (!isMap(v)) throw new RenderError(`${field}: each entry must be a map with a path`, { file });
  for (const k of Object.keys(v)) if (!SPEC_KEYS.has(k)) throw new RenderError(`${field}: unknown field "${k}" in a field spec`, { file });
  const str = (k: string): string | undefined => {
    const x = v[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== "string") throw new RenderError(`${field}: "${k}" must be a string`, { file });
    return x;
  };
  const spec: FieldSpec = { path: str("path") ?? "" };
  const g = str("group");
  const ver = str("version");
  const kind = str("kind");
  if (g) spec.group = g;
  if (ver) spec.version = ver;
  if (kind) spec.kind = kind;
  if (v.create !== undefined && v.create !== null) {
    if (typeof v.create !== "boolean") throw new RenderError(`${field}: "create" must be true or false`, { file });
    if (v.create) spec.create = true;
  }
  return spec;
}

function readSpecs(v: unknown, file: string, field: string): FieldSpec[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RenderError(`${field} must be a list of field specs`, { file });
  return v.map((x) => readSpec(x, file, field));
}

/** A transformer configuration (a `configurations:` file), read strictly like Kustomize (unknown fields refused). */
export function readConfig(value: unknown, file: string): TransformerConfig {
  if (value === undefined || value === null) return emptyConfig();
  if (!isMap(value)) throw new RenderError("a transformer configuration must be a map", { file });
  const out = emptyConfig();
  for (const [k, v] of Object.entries(value)) {
    if ((FS_FIELDS as readonly string[]).includes(k)) {
      out[k as (typeof FS_FIELDS)[number]] = readSpecs(v, file, k);
    } else if (k === "nameReference") {
      if (v === null) continue;
      if (!Array.isArray(v)) throw new RenderError("nameReference must be a list", { file });
      out.nameReference = v.map((e) => {
        if (!isMap(e)) throw new RenderError("nameReference: each entry must be a map", { file });
        for (const key of Object.keys(e)) {
          if (!["group", "version", "kind", "fieldSpecs"].includes(key)) throw new RenderError(`nameReference: unknown field "${key}"`, { file });
        }
        const ref: NameBackRef = { fieldSpecs: readSpecs(e.fieldSpecs, file, "nameReference.fieldSpecs") };
        for (const key of ["group", "version", "kind"] as const) {
          const x = e[key];
          if (x === undefined || x === null || x === "") continue;
          if (typeof x !== "string") throw new RenderError(`nameReference: "${key}" must be a string`, { file });
          ref[key] = x;
        }
        return ref;
      });
    } else {
      throw new RenderError(`unknown field "${k}" in a transformer configuration (known: ${[...FS_FIELDS, "nameReference"].join(", ")})`, { file });
    }
  }
  // Kustomize sorts each list when it reads a file.
  for (const f of FS_FIELDS) out[f] = sortByGvk(out[f]);
  out.nameReference = sortByGvk(out.nameReference);
  return out;
}

let defaultConfig: TransformerConfig | undefined;

/** Kustomize's default configuration: one shared, frozen instance (configurations are never modified in place). */
export function makeDefaultConfig(): TransformerConfig {
  defaultConfig ??= deepFreeze(readConfig(parse(DEFAULT_CONFIG_YAML), "(kustomize built-in configuration)"));
  return defaultConfig;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

// ---- walking a field spec (kyaml's fieldspec filter) ---------------------------------------------------------

export type Slot = { parent: JsonMap | unknown[]; key: string | number };
export type CreateKind = "map" | "scalar" | "seq" | undefined;

/** Splits a field spec path on "/", keeping "\/" as a slash inside a segment (kyaml's PathSplitter). */
const pathCache = new Map<string, string[]>();

export function splitPath(path: string): string[] {
  let segs = pathCache.get(path);
  if (!segs) {
    segs = splitPathUncached(path);
    if (pathCache.size < 10000) pathCache.set(path, segs);
  }
  return segs;
}

function splitPathUncached(path: string): string[] {
  const parts = path.split("/");
  if (parts.length > 1 && parts[0] === "") parts.shift();
  const out: string[] = [parts[0]!];
  for (let i = 1; i < parts.length; i++) {
    const last = out[out.length - 1]!;
    if (last.endsWith("\\")) out[out.length - 1] = `${last.slice(0, -1)}/${parts[i]}`;
    else out.push(parts[i]!);
  }
  return out;
}

export class FieldSpecError extends Error {}

/**
 * Calls `set` on every value `fs.path` reaches in `obj` (when the object's group/version/kind match the spec).
 * With `fs.create` and a `createKind`, missing fields on the way are created (maps in between, `createKind` at the
 * end); a null value on the way is turned into what would have been created. Lists are traversed element by element.
 */
export function visitFieldSpec(obj: JsonMap, fs: FieldSpec, createKind: CreateKind, set: (slot: Slot) => void): void {
  if (!specApplies(fs, typeof obj.apiVersion === "string" ? obj.apiVersion : "", typeof obj.kind === "string" ? obj.kind : "")) return;
  const segs = splitPath(fs.path);
  const create = fs.create === true && createKind !== undefined;
  const rec = (slot: Slot, value: unknown, i: number): void => {
    if (i === segs.length) {
      set(slot);
      return;
    }
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((el, idx) => rec({ parent: value, key: idx }, el, i));
      return;
    }
    if (!isMap(value)) throw new FieldSpecError(`expected sequence or mapping node at ${segs.slice(0, i).join("/") || "."} (path ${fs.path})`);
    const raw = segs[i]!;
    const isSeq = raw.endsWith("[]");
    const name = isSeq ? raw.slice(0, -2) : raw;
    if (name === "") throw new FieldSpecError(`cannot set or create an empty field name (path ${fs.path})`);
    let kind: CreateKind;
    if (!create || isSeq) kind = isSeq ? "seq" : undefined;
    else kind = i === segs.length - 1 ? createKind : "map";
    let child = value[name];
    if (child === undefined) {
      if (!create || isSeq) return;
      child = kind === "map" ? {} : kind === "seq" ? [] : "";
      value[name] = child;
    } else if (child === null && kind !== undefined && (create || isSeq)) {
      if (!create) return;
      child = kind === "map" ? {} : kind === "seq" ? [] : "";
      value[name] = child;
    }
    rec({ parent: value, key: name }, child, i + 1);
  };
  rec({ parent: { obj }, key: "obj" }, obj, 0);
}

export function slotGet(s: Slot): unknown {
  return (s.parent as Record<string | number, unknown>)[s.key];
}

/** Kustomize's setters write an existing scalar in place (SetYNode), so a value shared with other fields changes there too. */
export function slotSet(s: Slot, v: unknown): void {
  if (isMap(s.parent) && typeof s.key === "string") writeInPlace(s.parent, s.key, v);
  else (s.parent as Record<string | number, unknown>)[s.key] = v;
}
