// What a signed-in user may see. In token and proxy modes the UI's cache holds everything its ServiceAccount can
// read, but each user is shown only what their own RBAC lets them list: the API server decides, asked with a
// SubjectAccessReview per kind, cluster-wide first, then per namespace the cache holds objects of that kind in.
// Answers are cached per identity for a short time (a page load costs a handful of reviews, not one per object) and
// a review that fails denies (fail closed): the page shows less, never everything. In local mode the UI runs with the
// user's own kubeconfig, so the cache already holds only what the user can read: nothing is filtered.
import type { Logger } from "../log.js";
import type { Cache, KindDescriptor, RestClient } from "../runtime/index.js";
import { ApplicationKind, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, SyncPolicyKind } from "../api/kinds.js";
import type { AuthMode, Identity } from "./auth.js";
import type { AppDetail, AppSummary, PolicyView, SourceView, StreamMessage } from "./model.js";

/** The kinds the pages show, by the resource a review names. */
export const VISIBLE_KINDS = { applications: ApplicationKind, gitrepositories: GitRepositoryKind, helmrepositories: HelmRepositoryKind, helmcharts: HelmChartKind, syncpolicies: SyncPolicyKind } satisfies Record<string, KindDescriptor>;
export type Resource = keyof typeof VISIBLE_KINDS;
const RESOURCES = Object.keys(VISIBLE_KINDS) as Resource[];
const SOURCE_RESOURCE: Record<SourceView["kind"], Resource> = { GitRepository: "gitrepositories", HelmRepository: "helmrepositories", HelmChart: "helmcharts" };

/** Asks whether `id` may list `resource` in `namespace` (undefined: cluster-wide). Rejects when it cannot tell. */
export type Reviewer = (id: Identity, resource: Resource, namespace: string | undefined) => Promise<boolean>;

/** Per kind: every namespace ("*"), or those allowed; `reviewed` are the namespaces asked about (allowed or not). */
export interface Scope {
  all: boolean;
  allowed: Record<Resource, "*" | Set<string>>;
  reviewed: Record<Resource, Set<string>>;
  /** Equal for equal scopes: streams of one key share each message's serialisation. */
  key: string;
}

export const EVERYTHING: Scope = { all: true, allowed: Object.fromEntries(RESOURCES.map((r) => [r, "*"])) as Scope["allowed"], reviewed: Object.fromEntries(RESOURCES.map((r) => [r, new Set()])) as Scope["reviewed"], key: "*" };

/** A SubjectAccessReview with the UI's own credentials: the user's and groups' rights, as the API server's authorizer sees them. */
export function subjectAccessReviewer(rest: RestClient): Reviewer {
  return async (id, resource, namespace) => {
    const kind = VISIBLE_KINDS[resource];
    const answer = await rest.request<{ status?: { allowed?: boolean } }>("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      body: { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec: { user: id.user, groups: id.groups, resourceAttributes: { group: kind.group, resource, verb: "list", ...(namespace ? { namespace } : {}) } } },
    });
    return answer.status?.allowed === true;
  };
}

/** The namespaces the cache holds objects of each kind in (from the keys of its pinned informers). */
export function cachedNamespaces(cache: Cache): Record<Resource, Set<string>> {
  const out = {} as Record<Resource, Set<string>>;
  for (const r of RESOURCES) out[r] = new Set(cache.informerFor(VISIBLE_KINDS[r]).store.keys().map((k) => k.slice(0, k.indexOf("/"))));
  return out;
}

export interface VisibilityOptions {
  mode: AuthMode;
  review: Reviewer;
  logger: Logger;
  /** How long an identity's answers are kept (default 30 s). */
  ttlMs?: number;
  /** How many identities' answers are kept at most (default 1,000; the oldest goes first). */
  maxIdentities?: number;
  /** How many reviews run at once for one scope (default 8). */
  concurrency?: number;
  now?: () => number;
}

interface Answers {
  expires: number;
  answers: Map<string, Promise<boolean>>;
}

export class Visibility {
  private readonly cache = new Map<string, Answers>();
  private readonly now: () => number;
  /** How many reviews were sent (for tests and the debug log). */
  reviews = 0;

  constructor(readonly opts: VisibilityOptions) {
    this.now = opts.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.opts.ttlMs ?? 30_000;
  }

  /** Whether answers depend on the user at all (token and proxy modes). */
  get filtering(): boolean {
    return this.opts.mode !== "local";
  }

  /** What `id` may see of the namespaces `held` (asked for only when some kind is not listable cluster-wide). */
  async scope(id: Identity, held: () => Record<Resource, Set<string>>): Promise<Scope> {
    if (!this.filtering) return EVERYTHING;
    const wide = await Promise.all(RESOURCES.map((r) => this.may(id, r, undefined)));
    if (wide.every(Boolean)) return EVERYTHING;
    const namespaces = held();
    const allowed = {} as Scope["allowed"];
    const reviewed = {} as Scope["reviewed"];
    for (const [i, r] of RESOURCES.entries()) {
      reviewed[r] = new Set(wide[i] ? [] : namespaces[r]);
      allowed[r] = wide[i] ? "*" : new Set();
    }
    const asks = RESOURCES.flatMap((r) => [...reviewed[r]].map((ns) => [r, ns] as const));
    await pool(asks, this.opts.concurrency ?? 8, async ([r, ns]) => {
      if (await this.may(id, r, ns)) (allowed[r] as Set<string>).add(ns);
    });
    const key = RESOURCES.map((r) => `${r}:${allowed[r] === "*" ? "*" : [...allowed[r]].sort().join(",")}`).join(";");
    return { all: false, allowed, reviewed, key };
  }

  /** One answer, from the identity's cache while it is fresh; a failed review denies and is asked again next time. */
  private may(id: Identity, resource: Resource, namespace: string | undefined): Promise<boolean> {
    const who = `${id.user}\n${[...id.groups].sort().join("\n")}`;
    let entry = this.cache.get(who);
    if (!entry || entry.expires <= this.now()) {
      this.cache.delete(who);
      while (this.cache.size >= (this.opts.maxIdentities ?? 1_000)) this.cache.delete(this.cache.keys().next().value!);
      entry = { expires: this.now() + this.ttlMs, answers: new Map() };
      this.cache.set(who, entry);
    }
    const q = `${resource}/${namespace ?? ""}`;
    const known = entry.answers.get(q);
    if (known) return known;
    this.reviews++;
    const answers = entry.answers;
    const answer = this.opts.review(id, resource, namespace).catch((err: unknown) => {
      answers.delete(q);
      this.opts.logger.error("UI access review failed: not showing it (fail closed)", { user: id.user, resource, namespace: namespace ?? "(all namespaces)", error: (err as Error).message });
      return false;
    });
    answers.set(q, answer);
    return answer;
  }

  /** How many identities have answers cached now. */
  get size(): number {
    return this.cache.size;
  }
}

async function pool<T>(items: readonly T[], n: number, work: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------------------------------
// Filters: what of a snapshot, a change, a detail a scope shows.

/** Whether a scope shows `resource` objects of `namespace`. */
export function shows(scope: Scope, resource: Resource, namespace: string): boolean {
  const a = scope.allowed[resource];
  return a === "*" || a.has(namespace);
}

/** Whether a scope was computed before objects of `resource` appeared in `namespace` (a new namespace: ask again). */
export function unreviewed(scope: Scope, resource: Resource, namespace: string): boolean {
  return !scope.all && scope.allowed[resource] !== "*" && !scope.reviewed[resource].has(namespace);
}

const nsOfKey = (key: string) => key.slice(0, key.indexOf("/"));
/** "GitRepository/ns/name" -> [gitrepositories, ns] */
function sourceKey(key: string): [Resource, string] {
  const [kind, ns] = key.split("/");
  return [SOURCE_RESOURCE[kind as SourceView["kind"]] ?? "gitrepositories", ns ?? ""];
}

export interface SnapshotParts {
  apps: AppSummary[];
  sources: SourceView[];
  policies: PolicyView[];
}

const sourceShown = (scope: Scope) => (s: SourceView) => shows(scope, SOURCE_RESOURCE[s.kind], s.namespace);

/** The snapshot's rows, sources and policies a scope shows, serialised as UiState serialises them (no braces). */
export function filterSnapshot(parts: SnapshotParts, scope: Scope): string {
  const apps = parts.apps.filter((a) => shows(scope, "applications", a.namespace));
  const sources = parts.sources.filter(sourceShown(scope));
  const policies = parts.policies.filter((p) => shows(scope, "syncpolicies", p.namespace));
  return `"apps":${JSON.stringify(apps)},"sources":${JSON.stringify(sources)},"policies":${JSON.stringify(policies)}`;
}

type Changes = Extract<StreamMessage, { type: "changes" }>;

/** A change as a scope shows it, or undefined when nothing of it is shown (problems concern the UI, not objects). */
export function filterChanges(m: Changes, scope: Scope): Changes | undefined {
  const app = (ns: string) => shows(scope, "applications", ns);
  const out: Changes = {
    ...m,
    apps: m.apps.filter((a) => app(a.namespace)),
    appsDeleted: m.appsDeleted.filter((k) => app(nsOfKey(k))),
    sources: m.sources.filter(sourceShown(scope)),
    sourcesDeleted: m.sourcesDeleted.filter((k) => shows(scope, ...sourceKey(k))),
    policies: m.policies.filter((p) => shows(scope, "syncpolicies", p.namespace)),
    policiesDeleted: m.policiesDeleted.filter((k) => shows(scope, "syncpolicies", nsOfKey(k))),
    details: m.details.filter((k) => app(nsOfKey(k))),
  };
  const empty = !out.apps.length && !out.appsDeleted.length && !out.sources.length && !out.sourcesDeleted.length && !out.policies.length && !out.policiesDeleted.length && !out.details.length && !out.problems;
  return empty ? undefined : out;
}

/** Whether a change names an object of a namespace the scope never asked about (then the scope is asked again). */
export function namesUnreviewed(m: Changes, scope: Scope): boolean {
  if (scope.all) return false;
  return (
    m.apps.some((a) => unreviewed(scope, "applications", a.namespace)) ||
    m.sources.some((s) => unreviewed(scope, SOURCE_RESOURCE[s.kind], s.namespace)) ||
    m.policies.some((p) => unreviewed(scope, "syncpolicies", p.namespace))
  );
}

/**
 * An Application's detail as a scope shows it (the caller has checked the Application itself): its source and its
 * policy's window only when the user may list those kinds in its namespace, dependencies in namespaces the user
 * cannot see as unknown, dependents only where the user sees Applications. Its events and tree go with it.
 */
export function filterDetail(d: AppDetail, scope: Scope): AppDetail {
  if (scope.all) return d;
  const ns = d.summary.namespace;
  const app = (key: string) => shows(scope, "applications", nsOfKey(key));
  return {
    ...d,
    source: d.source && shows(scope, SOURCE_RESOURCE[d.source.kind], ns) ? d.source : undefined,
    window: d.window && !shows(scope, "syncpolicies", ns) ? { policy: d.window.policy, automatedAllowed: false, manualAllowed: false, message: `not shown: you may not list SyncPolicies in ${ns}`, nextChange: "" } : d.window,
    dependsOn: d.dependsOn.map((x) => (app(x.key) ? x : { key: x.key, ready: "Unknown", message: `not shown: you may not list Applications in ${nsOfKey(x.key)}`, exists: false })),
    dependents: d.dependents.filter(app),
  };
}

/**
 * Each snapshot and change serialised once per distinct scope, shared by the streams of that scope (the streams of
 * users who may list everything share UiState's own serialisation and never come here).
 */
export class ScopedSerialiser {
  private snap: { json: string; parts: SnapshotParts; byScope: Map<string, string> } | undefined;
  private readonly changes = new WeakMap<Changes, Map<string, string | undefined>>();

  /** `json` is UiState.snapshotParts(): parsed once per version of it. */
  snapshot(json: string, scope: Scope): string {
    if (this.snap?.json !== json) this.snap = { json, parts: JSON.parse(`{${json}}`) as SnapshotParts, byScope: new Map() };
    let out = this.snap.byScope.get(scope.key);
    if (out === undefined) this.snap.byScope.set(scope.key, (out = filterSnapshot(this.snap.parts, scope)));
    return out;
  }

  /** The change as JSON for this scope, or undefined when it shows nothing of it. */
  change(m: Changes, scope: Scope): string | undefined {
    let byScope = this.changes.get(m);
    if (!byScope) this.changes.set(m, (byScope = new Map()));
    if (!byScope.has(scope.key)) {
      const f = filterChanges(m, scope);
      byScope.set(scope.key, f && JSON.stringify(f));
    }
    return byScope.get(scope.key);
  }
}
