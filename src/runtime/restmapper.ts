// Kind → resource mapping from the API server's discovery documents, cached per group-version.
// A miss (a kind not seen yet, e.g. a CRD installed a moment ago) refetches that group-version's discovery, so new
// CRDs become usable without restarting the process.
import { type KindDescriptor, parseApiVersion } from "./kinds.js";
import { ApiError, isNotFound, type RestClient } from "./rest.js";

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** No resource of this kind exists on the server (the CRD is not installed, or the apiVersion is wrong). */
export class NoKindMatchError extends Error {
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    super(`the API server has no resource for kind "${kind}" in "${apiVersion}"; install its CRD or check the apiVersion`);
  }
}

export class RestMapper {
  private byGroupVersion = new Map<string, Map<string, KindDescriptor>>();
  private pending = new Map<string, Promise<Map<string, KindDescriptor>>>();
  /** Discovery requests made (for tests and debugging). */
  fetches = 0;

  constructor(private readonly rest: RestClient) {}

  /** Registers descriptors known in advance (they are trusted without discovery). */
  register(...kinds: KindDescriptor[]): void {
    for (const k of kinds) {
      const gv = k.group ? `${k.group}/${k.version}` : k.version;
      let m = this.byGroupVersion.get(gv);
      if (!m) this.byGroupVersion.set(gv, (m = new Map()));
      m.set(k.kind, k);
    }
  }

  /** Resolves apiVersion+kind to a descriptor, refreshing discovery for that group-version on a miss. */
  async kindFor(apiVersion: string, kind: string): Promise<KindDescriptor> {
    const cached = this.byGroupVersion.get(apiVersion)?.get(kind);
    if (cached) return cached;
    const fresh = await this.discover(apiVersion);
    const found = fresh.get(kind);
    if (!found) throw new NoKindMatchError(apiVersion, kind);
    return found;
  }

  /** The descriptor for an object's apiVersion and kind. */
  kindForObject(obj: { apiVersion?: string; kind?: string }): Promise<KindDescriptor> {
    if (!obj.apiVersion || !obj.kind) throw new Error("the object needs apiVersion and kind to be mapped to a resource");
    return this.kindFor(obj.apiVersion, obj.kind);
  }

  /** Forgets everything discovered (registered descriptors too). */
  reset(): void {
    this.byGroupVersion.clear();
  }

  private discover(apiVersion: string): Promise<Map<string, KindDescriptor>> {
    let p = this.pending.get(apiVersion);
    if (p) return p;
    p = this.fetch(apiVersion).finally(() => this.pending.delete(apiVersion));
    this.pending.set(apiVersion, p);
    return p;
  }

  private async fetch(apiVersion: string): Promise<Map<string, KindDescriptor>> {
    const { group, version } = parseApiVersion(apiVersion);
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    this.fetches++;
    let list: { resources?: ApiResource[] };
    try {
      list = await this.rest.request("GET", path);
    } catch (err) {
      if (isNotFound(err)) return new Map(); // group-version not served (yet)
      throw err instanceof ApiError ? err : new Error(`discovery of ${apiVersion} failed`, { cause: err });
    }
    const m = new Map(this.byGroupVersion.get(apiVersion) ?? []);
    for (const r of list.resources ?? []) {
      if (r.name.includes("/")) continue; // subresources such as deployments/status
      m.set(r.kind, { group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced });
    }
    this.byGroupVersion.set(apiVersion, m);
    return m;
  }
}
