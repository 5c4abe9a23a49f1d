// The inventory: the list of objects an Application applied, recorded in status.sync.inventory. Pruning trusts only
// it, so an id must name exactly one object: `<namespace>_<name>_<group>_<Kind>` (namespace empty for cluster-scoped
// objects, group empty for the core group) plus the apiVersion it was applied with (to address it again).
//
// Each field is escaped so that "_" only ever separates: "_" is written "%5F" and "%" "%25". Most names are DNS
// names and hold neither, but RBAC objects are named by path segments, where "_" is valid (ClusterRole "read_only").
// Path segment names and DNS names never hold "%", so every id written before the escaping (which the CRD's pattern
// `^[^_]*_[^_]+_[^_]*_[^_]+$` kept free of a fifth "_") reads back unchanged, and an ordinary name's id is the same
// as before: an upgrade neither re-reads an inventory differently nor sees its entries as stale (which would prune).
import { parseApiVersion } from "../runtime/kinds.js";

export interface InventoryEntry {
  id: string;
  /** API version the object was applied with. */
  v: string;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  /** "" for cluster-scoped objects. */
  namespace: string;
}

interface Identifiable {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
}

/** The reference of a rendered object (its namespace already resolved). */
export function refOf(obj: Identifiable): ObjectRef {
  const { apiVersion, kind } = obj;
  const name = obj.metadata?.name;
  if (typeof apiVersion !== "string" || typeof kind !== "string" || typeof name !== "string" || !apiVersion || !kind || !name) {
    throw new Error(`an object without apiVersion, kind or metadata.name cannot be inventoried (${JSON.stringify({ apiVersion, kind, name })})`);
  }
  const ns = obj.metadata?.namespace;
  return { apiVersion, kind, name, namespace: typeof ns === "string" ? ns : "" };
}

const escapeField = (s: string): string => s.replace(/%/g, "%25").replace(/_/g, "%5F");
const unescapeField = (s: string): string => s.replace(/%(25|5F)/g, (_m, hex: string) => (hex === "25" ? "%" : "_"));

/** `<namespace>_<name>_<group>_<Kind>`, each field escaped: the same object under two apiVersions has one id. */
export function idOf(ref: ObjectRef): string {
  return [ref.namespace, ref.name, parseApiVersion(ref.apiVersion).group, ref.kind].map(escapeField).join("_");
}

export function entryOf(ref: ObjectRef): InventoryEntry {
  return { id: idOf(ref), v: ref.apiVersion };
}

/** Splits an inventory entry back into a reference. Fields are escaped, so every "_" is a separator. */
export function refOfEntry(e: InventoryEntry): ObjectRef {
  const parts = e.id.split("_");
  // Only the form idOf writes is accepted (a stray "%" or a lowercase escape would make two ids for one object).
  if (parts.length !== 4 || !parts[1] || !parts[3] || parts.some((p) => escapeField(unescapeField(p)) !== p)) {
    throw new Error(`inventory id "${e.id}" is not <namespace>_<name>_<group>_<Kind>`);
  }
  const [namespace, name, group, kind] = parts.map(unescapeField) as [string, string, string, string];
  const fromV = parseApiVersion(e.v).group;
  if (fromV !== group) throw new Error(`inventory entry "${e.id}" has apiVersion "${e.v}" of another group ("${fromV}")`);
  return { apiVersion: e.v, kind, name, namespace };
}

/** Human form: "Deployment web/api", "Namespace team-a". */
export function describeRef(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

/** An inventory of objects, sorted by id so that the same set always serialises (and compares) the same. */
export function inventoryOf(refs: readonly ObjectRef[]): InventoryEntry[] {
  const byId = new Map<string, InventoryEntry>();
  for (const r of refs) byId.set(idOf(r), entryOf(r));
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Entries of `previous` that `next` no longer has: the prune candidates (by id, whatever the apiVersion). */
export function staleEntries(previous: readonly InventoryEntry[] | undefined, next: readonly InventoryEntry[]): InventoryEntry[] {
  const keep = new Set(next.map((e) => e.id));
  return (previous ?? []).filter((e) => !keep.has(e.id));
}

/** Ids present in both lists (for "has the set changed" checks). */
export function sameInventory(a: readonly InventoryEntry[] | undefined, b: readonly InventoryEntry[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  const m = new Map(x.map((e) => [e.id, e.v]));
  return y.every((e) => m.get(e.id) === e.v);
}

/** Objects listed twice in one render are an error: the second would silently win. */
export function duplicateIds(refs: readonly ObjectRef[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const r of refs) {
    const id = idOf(r);
    if (seen.has(id)) dup.add(id);
    seen.add(id);
  }
  return [...dup];
}
