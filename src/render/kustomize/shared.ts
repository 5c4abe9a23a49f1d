// Scalar values Kustomize shares between fields (reliability bug 11). Its label and annotation transformers
// (kyaml filtersutil.SetEntry) make one YAML node per resource and key, and put that same node in every field of the
// resource that lacks the key (metadata.labels, the selector, the template, …). Kustomize later writes an existing
// field in place (kyaml FieldSetter → SetYNode copies into the node): a later label or annotation transformer, a
// strategic merge patch, a replacement, a prefix or namespace field spec. So a write to one of those fields shows in
// all of them, in this overlay and in every overlay above. A JSON 6902 patch round-trips the object through JSON (new
// nodes: the sharing ends for that object); so does anything that builds a new map (a generator's merge).
//
// Mooring's objects are plain data, so the sharing is kept beside them: a Cell per created node, the (map, key)
// locations that hold it, and writeInPlace(), which every in-place write of a scalar goes through. A location belongs
// to a cell while the map is registered for it and still holds the cell's value (a write that bypassed the cell
// detaches it); code that copies a map keeping its values (the strategic merge) moves the registrations with
// carryShared(). Checked against `kubectl kustomize` in test/unit/render/kustomize/shared-values.test.ts.
import { isMap, type JsonMap } from "../objects.js";

export interface Cell {
  value: unknown;
  locations: [JsonMap, string][];
}

const registry = new WeakMap<JsonMap, Map<string, Cell>>();

/** A new shared value (one SetEntry node). */
export function newCell(value: unknown): Cell {
  return { value, locations: [] };
}

const isScalar = (v: unknown): boolean => v !== undefined && v !== null && !isMap(v) && !Array.isArray(v);

function live(cell: Cell, map: JsonMap, key: string): boolean {
  return registry.get(map)?.get(key) === cell && map[key] === cell.value;
}

function register(map: JsonMap, key: string, cell: Cell): void {
  let keys = registry.get(map);
  if (!keys) registry.set(map, (keys = new Map()));
  keys.set(key, cell);
  cell.locations.push([map, key]);
}

/** Puts the cell's node in a field that did not exist (kyaml appends the same node pointer). */
export function share(map: JsonMap, key: string, cell: Cell): void {
  map[key] = cell.value;
  register(map, key, cell);
}

/** Writes an existing field in place: every field sharing its node takes the value too. */
export function writeInPlace(map: JsonMap, key: string, value: unknown): void {
  if (writeShared(map, key, value)) return;
  registry.get(map)?.delete(key);
  map[key] = value;
}

/** Writes the value into the fields sharing the node of `map[key]`, `map` included; false (nothing done) if none. */
export function writeShared(map: JsonMap, key: string, value: unknown): boolean {
  const cell = registry.get(map)?.get(key);
  if (!cell || !live(cell, map, key) || !isScalar(value)) return false;
  cell.locations = cell.locations.filter(([m, k]) => live(cell, m, k));
  for (const [m, k] of cell.locations) m[k] = value;
  cell.value = value;
  return true;
}

/** `to` replaces `from` (a copy keeping the values, so the nodes, of the keys where they are still equal). */
export function carryShared(from: JsonMap, to: JsonMap): void {
  const keys = registry.get(from);
  if (!keys || from === to) return;
  for (const [key, cell] of keys) {
    if (live(cell, from, key) && to[key] === from[key]) register(to, key, cell);
  }
  registry.delete(from);
}
