// The informer's store: objects by key, with indexes. replace() swaps in a full relist at once and returns only the
// real differences (added, changed — by resourceVersion equality —, and deleted), never "everything added again".
import { type KubeObject, objectKey } from "./kinds.js";

/** Maps an object to the index values it is found under. */
export type IndexFunc<T> = (obj: T) => string[];

export type StoreChange<T> = { type: "add"; obj: T } | { type: "update"; old: T; obj: T } | { type: "delete"; obj: T };

export const NamespaceIndex = "namespace";
export const OwnerIndex = "owner";

/** Index by namespace (cluster-scoped objects under ""). */
export const byNamespace: IndexFunc<KubeObject> = (o) => [o.metadata?.namespace ?? ""];
/** Index by the UID of each owner. */
export const byOwnerUid: IndexFunc<KubeObject> = (o) => (o.metadata?.ownerReferences ?? []).map((r) => r.uid);

export class Store<T extends KubeObject = KubeObject> {
  private items = new Map<string, T>();
  private indexers = new Map<string, IndexFunc<T>>();
  private indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.addIndexers({ [NamespaceIndex]: byNamespace as IndexFunc<T>, [OwnerIndex]: byOwnerUid as IndexFunc<T>, ...indexers });
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  /** Objects whose index `name` contains `value`. */
  byIndex(name: string, value: string): T[] {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`no index named "${name}"; add it with addIndexers before using it`);
    return [...(idx.get(value) ?? [])].map((k) => this.items.get(k)!);
  }

  /** Adds indexes (existing objects are indexed at once). Names must be new. */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers.has(name)) throw new Error(`an index named "${name}" already exists`);
      this.indexers.set(name, fn);
      const idx = new Map<string, Set<string>>();
      this.indices.set(name, idx);
      for (const [key, obj] of this.items) this.indexOne(name, fn, idx, key, obj);
    }
  }

  private indexOne(_name: string, fn: IndexFunc<T>, idx: Map<string, Set<string>>, key: string, obj: T): void {
    for (const v of fn(obj)) {
      let s = idx.get(v);
      if (!s) idx.set(v, (s = new Set()));
      s.add(key);
    }
  }

  private index(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) this.indexOne(name, fn, this.indices.get(name)!, key, obj);
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const s = idx.get(v);
        if (!s) continue;
        s.delete(key);
        if (s.size === 0) idx.delete(v);
      }
    }
  }

  /** Inserts or replaces one object; returns the change, or undefined when the same resourceVersion is already held. */
  upsert(obj: T): StoreChange<T> | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return undefined;
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old ? { type: "update", old, obj } : { type: "add", obj };
  }

  /** Removes one object; returns the change with the last state held, or undefined if it was not held. */
  delete(obj: T): StoreChange<T> | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return { type: "delete", obj: old };
  }

  /** Replaces the whole content with a relist; returns what really changed. */
  replace(objs: T[]): StoreChange<T>[] {
    const changes: StoreChange<T>[] = [];
    const next = new Map<string, T>();
    for (const obj of objs) next.set(objectKey(obj), obj);
    for (const [key, old] of this.items) if (!next.has(key)) changes.push({ type: "delete", obj: old });
    for (const [key, obj] of next) {
      const old = this.items.get(key);
      if (!old) changes.push({ type: "add", obj });
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) changes.push({ type: "update", old, obj });
      else next.set(key, old); // unchanged: keep the instance readers may already hold
    }
    // Rebuild in one go so readers never see half of the old and half of the new list.
    this.items = next;
    for (const name of this.indexers.keys()) this.indices.set(name, new Map());
    for (const [key, obj] of next) this.index(key, obj);
    return changes;
  }
}
