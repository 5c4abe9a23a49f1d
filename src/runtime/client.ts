// The client controllers use: reads from the shared cache (no API request per reconcile), writes through the API.
// Server-side apply is the preferred write: each field manager owns its fields, so several controllers can each own
// their part of an object (and of its status) without overwriting each other.
import type { Cache } from "./cache.js";
import { type KindDescriptor, type KubeObject, apiVersionOf, resourcePath } from "./kinds.js";
import { isNotFound, type RestClient } from "./rest.js";
import type { RestMapper } from "./restmapper.js";

export type PatchType = "merge" | "json" | "strategic" | "apply";

const CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface WriteOptions {
  /** Field manager recorded for this write (default: the client's). */
  fieldManager?: string;
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface ApplyOptions extends WriteOptions {
  /** Take ownership of fields other managers own (controllers normally do; default true). */
  force?: boolean;
}

export interface DeleteOptions {
  /** The delete fails with 409 Conflict unless the object still has this uid/resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  signal?: AbortSignal;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  signal?: AbortSignal;
}

/** A kind given by descriptor, or an object (or reference) carrying apiVersion and kind. */
export type KindRef = KindDescriptor | { apiVersion?: string; kind?: string };

export interface ClientOptions {
  rest: RestClient;
  mapper: RestMapper;
  /** Where reads come from; without a cache, reads go to the API. */
  cache?: Cache;
  /** Default field manager for writes (e.g. "mooring"). */
  fieldManager: string;
}

function isDescriptor(k: KindRef): k is KindDescriptor {
  return typeof (k as KindDescriptor).plural === "string";
}

function nameOf(obj: KubeObject): { name: string; namespace?: string } {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`the ${obj.kind ?? "object"} has no metadata.name`);
  return { name, namespace: obj.metadata?.namespace };
}

/** Server-side apply treats every field sent as "owned"; these must never be sent (controller-runtime #1356). */
function forApply(obj: KubeObject, kind: KindDescriptor): KubeObject {
  const { metadata = {}, status: _status, ...rest } = obj;
  const { managedFields: _mf, creationTimestamp: _ct, resourceVersion: _rv, uid: _uid, generation: _g, ...meta } = metadata;
  return { ...rest, apiVersion: apiVersionOf(kind), kind: kind.kind, metadata: meta };
}

export class Client {
  readonly rest: RestClient;
  readonly mapper: RestMapper;
  readonly cache: Cache | undefined;
  readonly fieldManager: string;

  constructor(o: ClientOptions) {
    this.rest = o.rest;
    this.mapper = o.mapper;
    this.cache = o.cache;
    this.fieldManager = o.fieldManager;
  }

  /** A client acting as another user (e.g. serviceAccountUser(ns, name)); its reads go to the API, not the cache. */
  impersonate(user: string, groups?: string[]): Client {
    return new Client({ rest: this.rest.impersonate(user, groups), mapper: this.mapper, fieldManager: this.fieldManager });
  }

  /** The same client without the cache: every read is a live API request. */
  live(): Client {
    return this.cache ? new Client({ rest: this.rest, mapper: this.mapper, fieldManager: this.fieldManager }) : this;
  }

  async kindOf(k: KindRef): Promise<KindDescriptor> {
    return isDescriptor(k) ? k : this.mapper.kindForObject(k);
  }

  /** One object, or undefined when it does not exist. */
  async get<T extends KubeObject = KubeObject>(kind: KindRef, name: string, namespace?: string, o: { signal?: AbortSignal } = {}): Promise<T | undefined> {
    const k = await this.kindOf(kind);
    if (this.cache) return this.cache.get<T>(k, name, namespace);
    try {
      const obj = await this.rest.request<T>("GET", resourcePath(k, namespace, name), { signal: o.signal });
      return obj;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject = KubeObject>(kind: KindRef, o: ListOptions = {}): Promise<T[]> {
    const k = await this.kindOf(kind);
    if (this.cache && !o.fieldSelector) return this.cache.list<T>(k, o);
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const page: { items?: T[]; metadata?: { continue?: string } } = await this.rest.request("GET", resourcePath(k, k.namespaced ? o.namespace : undefined), {
        query: { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, limit: 500, continue: cont },
        signal: o.signal,
      });
      for (const i of page.items ?? []) items.push({ ...i, apiVersion: apiVersionOf(k), kind: k.kind });
      cont = page.metadata?.continue;
    } while (cont);
    return items;
  }

  private query(o: WriteOptions, extra: Record<string, string | boolean | undefined> = {}) {
    return { fieldManager: o.fieldManager ?? this.fieldManager, dryRun: o.dryRun ? "All" : undefined, ...extra };
  }

  async create<T extends KubeObject>(obj: T, o: WriteOptions = {}): Promise<T> {
    const k = await this.kindOf(obj);
    return this.rest.request<T>("POST", resourcePath(k, obj.metadata?.namespace), { body: obj, query: this.query(o), signal: o.signal });
  }

  /** Replaces the object; fails with 409 Conflict when metadata.resourceVersion is stale. */
  async update<T extends KubeObject>(obj: T, o: WriteOptions = {}): Promise<T> {
    const k = await this.kindOf(obj);
    const { name, namespace } = nameOf(obj);
    return this.rest.request<T>("PUT", resourcePath(k, namespace, name), { body: obj, query: this.query(o), signal: o.signal });
  }

  /** Replaces the status subresource (prefer applyStatus, which does not need a fresh resourceVersion). */
  async updateStatus<T extends KubeObject>(obj: T, o: WriteOptions = {}): Promise<T> {
    const k = await this.kindOf(obj);
    const { name, namespace } = nameOf(obj);
    return this.rest.request<T>("PUT", resourcePath(k, namespace, name, "status"), { body: obj, query: this.query(o), signal: o.signal });
  }

  /** Patches `target` (an object or a reference with apiVersion, kind and metadata.name/namespace). */
  async patch<T extends KubeObject = KubeObject>(target: KubeObject, patch: unknown, type: PatchType, o: ApplyOptions & { subresource?: "status" } = {}): Promise<T> {
    const k = await this.kindOf(target);
    const { name, namespace } = nameOf(target);
    return this.rest.request<T>("PATCH", resourcePath(k, namespace, name, o.subresource), {
      body: patch,
      contentType: CONTENT_TYPES[type],
      query: this.query(o, type === "apply" ? { force: o.force ?? true } : {}),
      signal: o.signal,
    });
  }

  /** Server-side apply of `obj` (its status is not sent): creates it or updates the fields this manager owns. */
  async apply<T extends KubeObject>(obj: T, o: ApplyOptions = {}): Promise<T> {
    const k = await this.kindOf(obj);
    return this.patch<T>(obj, forApply(obj, k), "apply", o);
  }

  /** Server-side apply of `obj.status` to the status subresource: each field manager owns its part of the status. */
  async applyStatus<T extends KubeObject>(obj: T, o: ApplyOptions = {}): Promise<T> {
    const k = await this.kindOf(obj);
    const body = { ...forApply(obj, k), status: obj.status };
    // Only metadata identity and status go to the status endpoint; spec fields there would be ignored anyway.
    for (const key of Object.keys(body)) if (!["apiVersion", "kind", "metadata", "status"].includes(key)) delete (body as Record<string, unknown>)[key];
    body.metadata = { name: obj.metadata?.name, namespace: obj.metadata?.namespace };
    return this.patch<T>(obj, body, "apply", { ...o, subresource: "status" });
  }

  /** Deletes an object; resolves false when it was already gone. */
  async delete(target: KubeObject, o: DeleteOptions = {}): Promise<boolean> {
    const k = await this.kindOf(target);
    const { name, namespace } = nameOf(target);
    try {
      await this.rest.request("DELETE", resourcePath(k, namespace, name), {
        body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: o.preconditions, propagationPolicy: o.propagationPolicy, gracePeriodSeconds: o.gracePeriodSeconds },
        signal: o.signal,
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
