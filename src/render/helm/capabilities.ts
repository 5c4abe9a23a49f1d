// What the target cluster serves, for Go-template charts' .Capabilities: its version (GET /version) and every
// group/version and group/version/Kind its discovery lists, as Helm computes them when it talks to a cluster
// (`helm install`). Read through the operator's own REST client, at most once per `ttlMs` for every Application
// together (discovery is allowed to every authenticated user: no extra RBAC), and only for renders of charts.
import type { RestClient } from "../../runtime/rest.js";

export interface Capabilities {
  kubeVersion?: string;
  apiVersions?: string[];
}

interface ResourceList {
  groupVersion?: string;
  resources?: { name: string; kind: string }[];
}

/** Capabilities read from a cluster, cached for `ttlMs` (default 5 min); concurrent callers share one read. */
export class ClusterCapabilities {
  private value: Capabilities | undefined;
  private at = 0;
  private pending: Promise<Capabilities> | undefined;
  /** Discovery rounds made (tests). */
  reads = 0;

  constructor(
    private readonly rest: Pick<RestClient, "request">,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The cluster's capabilities. `signal` stops only this caller's wait: the read itself is shared by every caller
   * (and bounded by the REST client's own request timeout), so one cancelled reconcile does not fail the others'.
   */
  async get(signal?: AbortSignal): Promise<Capabilities> {
    if (this.value && this.now() - this.at < this.ttlMs) return this.value;
    this.pending ??= this.read().finally(() => (this.pending = undefined));
    if (!signal) return this.pending;
    signal.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([this.pending, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort!);
    }
  }

  private async read(): Promise<Capabilities> {
    this.reads++;
    const version = await this.rest.request<{ gitVersion?: string }>("GET", "/version");
    const gvs = new Set<string>();
    const core = await this.rest.request<{ versions?: string[] }>("GET", "/api");
    const paths: [string, string][] = (core.versions ?? []).map((v) => [v, `/api/${v}`]);
    const groups = await this.rest.request<{ groups?: { versions?: { groupVersion: string }[] }[] }>("GET", "/apis");
    for (const g of groups.groups ?? []) for (const v of g.versions ?? []) paths.push([v.groupVersion, `/apis/${v.groupVersion}`]);
    const out = new Set<string>();
    await Promise.all(
      paths.map(async ([gv, p]) => {
        gvs.add(gv);
        out.add(gv);
        let list: ResourceList;
        try {
          list = await this.rest.request<ResourceList>("GET", p);
        } catch {
          return; // an aggregated API that is down: its group/version is still listed, as Helm does
        }
        for (const r of list.resources ?? []) if (!r.name.includes("/")) out.add(`${gv}/${r.kind}`);
      }),
    );
    const value: Capabilities = { ...(version.gitVersion ? { kubeVersion: version.gitVersion } : {}), apiVersions: [...out].sort() };
    this.value = value;
    this.at = this.now();
    return value;
  }
}
