// Lists with merge keys as kyaml's strategic merge walks them (kustomize v5.5's kyaml: walk/associative_sequence.go
// with the yaml ElementSetter, ElementMatcher and FieldMatcher filters), emulated step by step rather than as a rule:
// with duplicate keys, items lacking a key, or lists keyed by a pair (ports by port/containerPort and protocol), what
// comes out follows from those filters' matching and nothing simpler (reliability bug 10). In short:
//   1. the key tuples of the patch's items, then the target's, each once ("" for a missing key); with two keys,
//      tuples that agree where both have a value are unified (mergeValues);
//   2. the keys used are those some tuple has a value for (all keys when none has); per tuple, the first target and
//      patch items with those values are merged; a deleted or empty result removes every target item matching the
//      tuple; else the result goes in a new list, replacing the items there that match the tuple, or appended;
//   3. the target's items (merged in place) are then set into the new list one by one, each replacing the items with
//      its key values (with two keys, first removing those matching the values it has) — an item lacking the one key
//      of a list replaces the whole list.
import { isMap } from "../objects.js";

/** How the pair of a target and a patch item merge (strategicMerge); undefined when the result is deleted. */
export type MergeItem = (target: unknown, patch: unknown) => unknown;

/** A field as kyaml's matchers read it (the node's Value): a scalar's text; "" for null, a map or a list. */
function text(v: unknown): string {
  return v === undefined || v === null || isMap(v) || Array.isArray(v) ? "" : String(v);
}

/** ElementValuesList: an item's value for each key ("" when it lacks the key or is not a map). */
function keyValues(item: unknown, keys: readonly string[]): string[] {
  return keys.map((k) => (isMap(item) ? text(item[k]) : ""));
}

/** validateKeys: the keys some tuple of `all` has a value for (every key when none has), and this tuple's values. */
function validKeys(all: readonly string[][], values: readonly string[], keys: readonly string[]): [string[], string[]] {
  const used = new Set(keys.filter((_, i) => all.some((t) => t[i] !== "")));
  if (used.size === 0) return [[...keys], [...values]];
  return [keys.filter((k) => used.has(k)), values.filter((v, i) => v !== "" || used.has(keys[i]!))];
}

/** match: tuples agreeing on at least one value and differing only where one of them is empty, and their union. */
function unify(a: readonly string[], b: readonly string[]): string[] | undefined {
  if (a.length !== b.length) return undefined;
  let common = false;
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) common = true;
    else if (a[i] !== "" && b[i] !== "") return undefined;
    out.push(a[i] !== "" ? a[i]! : b[i]!);
  }
  return common ? out : undefined;
}

/** mergeValues (lists keyed by a pair): tuples that unify are both replaced by the union, in kyaml's loop order. */
function mergeValues(list: string[][]): string[][] {
  for (let i = 0; i < list.length; i++) {
    for (let j = 0; j < list.length; j++) {
      const u = unify(list[i]!, list[j]!);
      if (u) list[i] = list[j] = u;
    }
  }
  return list;
}

/** elementValues: the tuples of every source's items, the patch's first (prepend), each tuple once. */
function tuples(sources: readonly (readonly unknown[])[], keys: readonly string[]): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const list of sources) {
    for (const item of list) {
      const t = keyValues(item, keys);
      const id = JSON.stringify(t);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(t);
    }
  }
  return out;
}

/** ElementMatcher with MatchField: the first map item holding each key with exactly that text. */
function findItem(list: readonly unknown[], keys: readonly string[], values: readonly string[]): unknown {
  return list.find((e) => isMap(e) && keys.every((k, i) => e[k] !== undefined && text(e[k]) === values[i]));
}

const emptyItem = (e: unknown): boolean => e === null || e === undefined || (isMap(e) && Object.keys(e).length === 0);

/**
 * ElementSetter: drops empty items; replaces the items matching every key (an empty value matches any value, the
 * field must be there; no values match nothing) by `element`, or removes them when it is undefined; appends
 * `element` when none matched. Items not matching are kept only when values are given.
 */
function elementSetter(list: readonly unknown[], element: unknown, keys: readonly string[], values: readonly string[]): unknown[] {
  const mappingSetter = keys.length > 0 && keys[0] !== "" && values.length > 0 && values[0] !== "";
  const out: unknown[] = [];
  let found = false;
  for (const e of list) {
    if (emptyItem(e)) continue;
    const match = isMap(e) && values.length > 0 && keys.every((k, i) => i >= values.length || (e[k] !== undefined && (values[i] === "" || text(e[k]) === values[i])));
    if (!match) {
      if (values.length > 0 || (!isMap(e) && mappingSetter)) out.push(e);
      continue;
    }
    found = true;
    if (element !== undefined) out.push(element);
  }
  if (element !== undefined && !found) out.push(element);
  return out;
}

/** appendListNode: `src`'s items set into `dst` by their key values. */
function appendListNode(dst: readonly unknown[], src: readonly unknown[], keys: readonly string[]): unknown[] {
  let out = [...dst];
  for (const e of src) {
    const values: string[] = [];
    for (const k of keys) {
      // A missing key: kyaml appends the item as it is (once per missing key) and goes on.
      if (!isMap(e) || e[k] === undefined) out.push(e);
      else values.push(text(e[k]));
    }
    // With two keys the setter would append a second copy: kyaml first removes what matches the values it has.
    if (keys.length > 1) out = elementSetter(out, undefined, keys, values);
    out = elementSetter(out, e, keys, values);
  }
  return out;
}

/** A scalar written from its text (kyaml's NewScalarRNode prints it plain, so a number reads back as a number). */
function fromText(t: string): unknown {
  if (/^-?\d+$/.test(t)) return Number(t);
  if (t === "true" || t === "false") return t === "true";
  return t;
}

/**
 * The walk's result when the list has one key and every item is a non-empty map holding it (the usual case), in
 * linear time: one item per key value, the patch's first, then the target's; a value the target holds once is the
 * merged pair, one it holds several times its last duplicate as it was; undefined when the list is not that simple.
 */
function mergeByOneKey(target: readonly unknown[], patch: readonly unknown[], key: string, merge: MergeItem): unknown[] | undefined {
  const simple = (e: unknown): boolean => isMap(e) && Object.keys(e).length > 0 && text(e[key]) !== "";
  if (!target.every(simple) || !patch.every(simple)) return undefined;
  const order: string[] = [];
  const firstP = new Map<string, unknown>();
  const firstT = new Map<string, unknown>();
  const lastT = new Map<string, unknown>();
  const count = new Map<string, number>();
  for (const pe of patch) {
    const k = text((pe as Record<string, unknown>)[key]);
    if (firstP.has(k)) continue;
    order.push(k);
    firstP.set(k, pe);
  }
  for (const te of target) {
    const k = text((te as Record<string, unknown>)[key]);
    if (!firstT.has(k) && !firstP.has(k)) order.push(k);
    if (!firstT.has(k)) firstT.set(k, te);
    lastT.set(k, te);
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  const out: unknown[] = [];
  for (const k of order) {
    const val = merge(firstT.get(k), firstP.get(k));
    if (val === undefined || emptyItem(val)) continue;
    out.push((count.get(k) ?? 0) > 1 ? lastT.get(k) : val);
  }
  return out;
}

/** Merges a list with merge keys `keys` as kyaml does (see the header); `merge` merges one pair of items. */
export function mergeAssociative(target: readonly unknown[], patch: readonly unknown[], keys: readonly string[], merge: MergeItem): unknown[] {
  return (keys.length === 1 ? mergeByOneKey(target, patch, keys[0]!, merge) : undefined) ?? walkAssociative(target, patch, keys, merge);
}

/** The walk itself, step by step (quadratic in the list's length; mergeByOneKey is its linear shortcut). */
export function walkAssociative(target: readonly unknown[], patch: readonly unknown[], keys: readonly string[], merge: MergeItem): unknown[] {
  let all = tuples([patch, target], keys);
  if (keys.length > 1) all = mergeValues(all);
  let dest: unknown[] = [...target];
  let items: unknown[] = [];
  let used: string[] = [];
  for (const t of all) {
    const [ks, vs] = validKeys(all, t, keys);
    used = ks;
    // The items are looked up with the keys this tuple has a value for.
    const [fk, fv] = validKeys([vs], vs, ks);
    const de = findItem(dest, fk, fv);
    const val = merge(de, findItem(patch, fk, fv));
    if (val === undefined || emptyItem(val)) {
      dest = elementSetter(dest, undefined, ks, vs);
      continue;
    }
    // kyaml merges the target's item in place: the list holds the merged item from now on.
    if (de !== undefined) dest = dest.map((e) => (e === de ? val : e));
    if (isMap(val)) ks.forEach((k, i) => void (val[k] === undefined && vs[i] !== "" && (val[k] = fromText(vs[i]!))));
    items = elementSetter(items, val, ks, vs);
  }
  return all.length ? appendListNode(items, dest, used) : dest;
}
