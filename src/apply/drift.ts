// Drift: does a live object still hold the values Mooring applied? Pure functions, no cluster.
//
// Only the fields present in what was applied are compared (a subset test), so everything the API server or other
// controllers add — defaults such as `protocol: TCP` or `imagePullPolicy`, status, other managers' fields — is
// never drift. Values the server rewrites are compared in canonical form: quantities (`1000m` = `1`,
// `1Gi` = `1024Mi`), int-or-string (`8080` = "8080"), Secret `stringData` (stored as base64 `data`), and zero values
// the server drops (`false`, `0`, `""`, `{}`, `[]`, null). `ignoreDifferences` JSON pointers are removed from the
// applied object before the comparison, and never applied over a live value (see `applyBody`).
import type { KubeObject } from "../runtime/kinds.js";
import { parseApiVersion } from "../runtime/kinds.js";

/** One entry of Application.spec.ignoreDifferences. */
export interface IgnoreRule {
  group?: string;
  kind: string;
  name?: string;
  namespace?: string;
  jsonPointers: string[];
}

/** RFC 6901 pointer → path segments ("/a~1b/0" → ["a/b", "0"]). "" is the whole document. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`JSON pointer "${pointer}" must start with "/"`);
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The ignoreDifferences pointers that apply to `obj` (namespace already resolved). Omitted group means the core group. */
export function ignoredPointers(obj: KubeObject, rules: readonly IgnoreRule[] | undefined): string[] {
  if (!rules?.length) return [];
  const group = parseApiVersion(String(obj.apiVersion ?? "")).group;
  const out: string[] = [];
  for (const r of rules) {
    if ((r.group ?? "") !== group || r.kind !== obj.kind) continue;
    if (r.name && r.name !== obj.metadata?.name) continue;
    if (r.namespace && r.namespace !== (obj.metadata?.namespace ?? "")) continue;
    out.push(...r.jsonPointers);
  }
  return out;
}

type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

function getAt(doc: Json, path: readonly string[]): { found: boolean; value?: Json } {
  let cur = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      const i = Number(seg);
      if (!Number.isInteger(i) || i < 0 || i >= cur.length) return { found: false };
      cur = cur[i];
    } else if (isObj(cur) && Object.hasOwn(cur, seg)) cur = cur[seg];
    else return { found: false };
  }
  return { found: true, value: cur };
}

/** Sets (or with `remove`, deletes) the value at `path` in a deep copy; missing parents are not created. */
function editAt(doc: KubeObject, path: readonly string[], edit: { remove: true } | { value: Json }): KubeObject {
  if (!path.length) return doc;
  const copy = structuredClone(doc) as Record<string, Json>;
  let cur: Json = copy;
  for (const seg of path.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObj(cur)) cur = cur[seg];
    else return doc;
    if (cur === undefined) return doc;
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(cur)) {
    const i = Number(last);
    if (!Number.isInteger(i) || i < 0 || i >= cur.length) return doc;
    if ("remove" in edit) cur.splice(i, 1);
    else cur[i] = edit.value;
  } else if (isObj(cur)) {
    if ("remove" in edit) delete cur[last];
    else cur[last] = edit.value;
  } else return doc;
  return copy as KubeObject;
}

/** `obj` without the fields the pointers name (pointers to absent fields are no-ops). */
export function stripPointers(obj: KubeObject, pointers: readonly string[]): KubeObject {
  let out = obj;
  // Deepest and highest index first, so removing one array element does not shift the next pointer's target.
  const paths = pointers.map(parsePointer).sort((a, b) => b.length - a.length || (b.join("/") < a.join("/") ? -1 : 1));
  for (const p of paths) out = editAt(out, p, { remove: true });
  return out;
}

/**
 * The body to apply for an object with ignored fields. A new object gets everything rendered. For an existing one,
 * each ignored field carries the LIVE value instead of the rendered one: simply leaving it out would make server-side
 * apply delete a field only `mooring` owns (an ignored `/spec/replicas` would fall back to 1), while sending the live
 * value changes nothing and never conflicts. A field absent from the live object is left out.
 */
export function applyBody(rendered: KubeObject, live: KubeObject | undefined, pointers: readonly string[]): KubeObject {
  if (!pointers.length || !live) return rendered;
  let out = rendered;
  for (const pointer of pointers) {
    const path = parsePointer(pointer);
    const l = getAt(live, path);
    if (!l.found) out = stripPointers(out, [pointer]);
    else if (getAt(out, path).found) out = editAt(out, path, { value: structuredClone(l.value) });
    else out = setCreating(out, path, structuredClone(l.value));
  }
  return out;
}

/** Sets a value, creating missing object parents (never array elements). */
function setCreating(doc: KubeObject, path: readonly string[], value: Json): KubeObject {
  const copy = structuredClone(doc) as Record<string, Json>;
  let cur: Json = copy;
  for (const seg of path.slice(0, -1)) {
    if (Array.isArray(cur)) {
      const next: Json = cur[Number(seg)];
      if (next === undefined) return doc;
      cur = next;
    } else if (isObj(cur)) {
      if (cur[seg] === undefined) cur[seg] = {};
      cur = cur[seg];
    } else return doc;
  }
  if (!isObj(cur)) return doc;
  cur[path[path.length - 1]!] = value;
  return copy as KubeObject;
}

/** The fields of an applied object that are compared: no status, type meta or server-owned metadata. */
export function comparable(applied: KubeObject): Record<string, Json> {
  const { apiVersion: _a, kind, metadata, status: _s, ...rest } = applied as Record<string, Json> & { metadata?: KubeObject["metadata"] };
  const out: Record<string, Json> = { ...rest };
  const meta: Record<string, Json> = {};
  if (metadata?.labels && Object.keys(metadata.labels).length) meta.labels = metadata.labels;
  if (metadata?.annotations && Object.keys(metadata.annotations).length) meta.annotations = metadata.annotations;
  if (Object.keys(meta).length) out.metadata = meta;
  // The API server stores stringData as base64 data.
  if (kind === "Secret" && isObj(out.stringData)) {
    const data: Record<string, Json> = { ...(isObj(out.data) ? out.data : {}) };
    for (const [k, v] of Object.entries(out.stringData)) data[k] = Buffer.from(String(v), "utf8").toString("base64");
    out.data = data;
    delete out.stringData;
  }
  return out;
}

/** Keys under which values are resource quantities (requests, limits, quotas, capacities, emptyDir sizes). */
const QUANTITY_PARENTS = new Set(["requests", "limits", "hard", "capacity", "allocatable", "overhead", "default", "defaultRequest", "max", "min", "maxLimitRequestRatio"]);
const QUANTITY_KEYS = new Set(["sizeLimit", "storage"]);

const SUFFIX: Record<string, number> = {
  "": 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity as a number ("1000m" → 1, "1Gi" → 1073741824, "1e3" → 1000); undefined if not one. */
export function parseQuantity(v: Json): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2]) return n * Math.pow(10, Number(m[2].slice(1)));
  return n * SUFFIX[m[3] ?? ""]!;
}

function quantityPath(path: readonly string[]): boolean {
  const last = path[path.length - 1] ?? "";
  if (QUANTITY_KEYS.has(last)) return true;
  return path.slice(0, -1).some((s) => QUANTITY_PARENTS.has(s));
}

function sameScalar(want: Json, live: Json, path: readonly string[]): boolean {
  if (want === live) return true;
  // int-or-string: 8080 and "8080" are the same value.
  if ((typeof want === "number" || typeof want === "string") && (typeof live === "number" || typeof live === "string") && String(want) === String(live)) return true;
  if (quantityPath(path)) {
    const a = parseQuantity(want);
    const b = parseQuantity(live);
    if (a !== undefined && b !== undefined) return a === b || Math.abs(a - b) <= Math.abs(a) * 1e-12;
  }
  return false;
}

/** Values the API server omits when they are zero (omitempty): absent live counts as equal. */
function isZero(v: Json): boolean {
  return v === null || v === undefined || v === false || v === 0 || v === "" || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
}

const pathText = (path: readonly string[]) => "/" + path.map((s) => s.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/**
 * JSON pointers of the applied fields the live object no longer holds (at most `limit`); empty = no drift.
 * `applied` should already be `comparable(...)` with the ignored pointers stripped.
 */
export function driftedFields(applied: Json, live: Json, limit = 5): string[] {
  const out: string[] = [];
  walk(applied, live, [], out, limit);
  return out;
}

function walk(want: Json, live: Json, path: string[], out: string[], limit: number): void {
  if (out.length >= limit) return;
  if (live === undefined || live === null) {
    if (!isZero(want)) out.push(pathText(path));
    return;
  }
  if (isObj(want)) {
    if (!isObj(live)) {
      out.push(pathText(path));
      return;
    }
    for (const [k, v] of Object.entries(want)) walk(v, live[k], [...path, k], out, limit);
    return;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(live)) {
      out.push(pathText(path));
      return;
    }
    if (want.every((w) => !isObj(w))) {
      // Lists of scalars are atomic (or sets): the whole list must match.
      if (want.length !== live.length || want.some((w, i) => !sameScalar(w, live[i], [...path, String(i)]))) out.push(pathText(path));
      return;
    }
    walkList(want, live, path, out, limit);
    return;
  }
  if (!sameScalar(want, live, path)) out.push(pathText(path));
}

/** Whether `live` holds everything of `want`, compared as if both sat at `path` (which decides what is a quantity). */
const holds = (want: Json, live: Json, path: string[]): boolean => {
  const out: string[] = [];
  walk(want, live, path, out, 1);
  return out.length === 0;
};

/**
 * Lists holding objects. Each applied element needs a live counterpart of its own: among the live elements with its
 * `name` when it has one (names are not always keys: RoleBinding subjects are an atomic list in which ServiceAccount
 * "default" of two namespaces share a name), else among all of them (the server may merge other managers' elements
 * in, and reorder by a key such as containerPort). One live element never counts for two applied ones, or a changed
 * element would pass for another one containing its old value (two tolerations of one key). Pairs at the same index
 * are taken first, then the rest is a maximum bipartite matching (augmenting paths), so no order of the server's
 * makes an unchanged list drift. Elements are compared at their own path, so quantities inside them stay quantities.
 * An applied element left without a counterpart is reported: inside its only same-named live element when it has
 * one (the field that changed), else as a whole.
 */
function walkList(want: Json[], live: Json[], path: string[], out: string[], limit: number): void {
  const nameOf = (v: Json): string | undefined => (isObj(v) && typeof v.name === "string" ? v.name : undefined);
  const byName = new Map<string, number[]>();
  live.forEach((l, j) => {
    const name = nameOf(l);
    if (name !== undefined) byName.set(name, [...(byName.get(name) ?? []), j]);
  });
  // Nearest index first: a list another manager inserted into, or the server reordered a little, matches in about
  // one comparison per element instead of a scan from the start (quadratic on long lists such as a role's rules).
  const candidates = function* (i: number): Generator<number> {
    const name = nameOf(want[i]);
    if (name !== undefined) {
      yield* [...(byName.get(name) ?? [])].sort((x, y) => Math.abs(x - i) - Math.abs(y - i));
      return;
    }
    for (let d = 0; i + d < live.length || i - d >= 0; d++) {
      if (i + d < live.length) yield i + d;
      if (d > 0 && i - d >= 0) yield i - d;
    }
  };
  const memo = new Map<number, boolean>();
  const fits = (i: number, j: number): boolean => {
    const k = i * live.length + j;
    let v = memo.get(k);
    if (v === undefined) memo.set(k, (v = holds(want[i], live[j], [...path, String(i)])));
    return v;
  };
  const ownerOf = new Array<number>(live.length).fill(-1); // live index → applied index
  const matchOf = new Array<number>(want.length).fill(-1); // applied index → live index
  want.forEach((w, i) => {
    if (i < live.length && (nameOf(w) === undefined || nameOf(w) === nameOf(live[i])) && fits(i, i)) {
      ownerOf[i] = i;
      matchOf[i] = i;
    }
  });
  const augment = (i: number, seen: Set<number>): boolean => {
    for (const j of candidates(i)) {
      if (seen.has(j) || !fits(i, j)) continue;
      seen.add(j);
      if (ownerOf[j] === -1 || augment(ownerOf[j]!, seen)) {
        ownerOf[j] = i;
        matchOf[i] = j;
        return true;
      }
    }
    return false;
  };
  want.forEach((_, i) => {
    if (matchOf[i] === -1) augment(i, new Set());
  });
  want.forEach((w, i) => {
    if (out.length >= limit || matchOf[i] !== -1) return;
    const p = [...path, String(i)];
    const name = nameOf(w);
    const free = name === undefined ? [] : (byName.get(name) ?? []).filter((j) => ownerOf[j] === -1);
    if (free.length === 1) walk(w, live[free[0]!], p, out, limit);
    else out.push(pathText(p));
  });
}

/** Drifted fields of one object: the rendered object (namespace resolved) against the live one. */
export function objectDrift(rendered: KubeObject, live: KubeObject, rules: readonly IgnoreRule[] | undefined): string[] {
  const pointers = ignoredPointers(rendered, rules);
  return driftedFields(comparable(stripPointers(rendered, pointers)), live);
}

/** The annotation that orders objects in waves. */
export const SYNC_WAVE_ANNOTATION = "delivery.mooring.dev/sync-wave";

export interface Wave {
  wave: number;
  objects: KubeObject[];
}

/**
 * Groups objects by their sync wave (annotation, integer, default 0), lowest first. Inside a wave the applier's
 * kind order still holds. An annotation that is not an integer is an error naming the object.
 */
export function groupWaves(objects: readonly KubeObject[]): Wave[] {
  const by = new Map<number, KubeObject[]>();
  for (const o of objects) {
    const raw = o.metadata?.annotations?.[SYNC_WAVE_ANNOTATION];
    let w = 0;
    if (raw !== undefined) {
      if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new Error(`${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name}: annotation ${SYNC_WAVE_ANNOTATION} is "${raw}", not an integer; fix it in the source`);
      w = Number(raw);
    }
    let list = by.get(w);
    if (!list) by.set(w, (list = []));
    list.push(o);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([wave, objs]) => ({ wave, objects: objs }));
}
