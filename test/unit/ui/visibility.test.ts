// What a signed-in user may see (src/ui/visibility.ts): the scope built from access reviews, the per-identity cache
// of their answers (its time, its bound, a failure never cached and denying), and the filters of snapshots, changes
// and details. The reviews here are a table of rights passed as the Reviewer (counted); the real SubjectAccessReview
// is asked only of a closed port here (it fails: everything is denied, and said in the log). The real API server's
// answers, for users with RoleBindings, run in test/integration/ui/visibility.test.ts.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { connect, type Kube } from "../../../src/cli/kube.js";
import { createLogger } from "../../../src/log.js";
import { Cache, type KubeObject } from "../../../src/runtime/index.js";
import type { Identity } from "../../../src/ui/auth.js";
import type { AppDetail, AppSummary, PolicyView, SourceView, StreamMessage } from "../../../src/ui/model.js";
import { EVERYTHING, ScopedSerialiser, VISIBLE_KINDS, Visibility, cachedNamespaces, filterChanges, filterDetail, filterSnapshot, namesUnreviewed, shows, subjectAccessReviewer, unreviewed, type Resource, type Reviewer } from "../../../src/ui/visibility.js";

let logged = "";
const logger = createLogger({ level: "error", format: "json", stream: new Writable({ write: (c, _e, cb) => ((logged += String(c)), cb()) }) });
let kube: Kube;

before(async () => {
  // A kubeconfig whose API server is a closed port: every request the module makes fails to connect.
  const { file } = await closedPortKubeconfig("ui-visibility-");
  kube = connect({ kubeconfig: file });
});
after(() => kube.close());

const alice: Identity = { user: "alice", groups: ["team-a"] };
const bob: Identity = { user: "bob", groups: [] };

/** Rights as "user resource namespace" lines ("*" namespace: cluster-wide); every question is counted. */
function table(rights: string[]): Reviewer & { asked: string[] } {
  const asked: string[] = [];
  const fn = (async (id: Identity, r: Resource, ns: string | undefined) => {
    asked.push(`${id.user} ${r} ${ns ?? "*"}`);
    return rights.includes(`${id.user} ${r} ${ns ?? "*"}`);
  }) as Reviewer & { asked: string[] };
  fn.asked = asked;
  return fn;
}

const held = (): Record<Resource, Set<string>> => ({ applications: new Set(["team-a", "team-b"]), gitrepositories: new Set(["team-a"]), helmrepositories: new Set(), helmcharts: new Set(), syncpolicies: new Set(["team-b"]) });

const ALL_WIDE = (user: string) => Object.keys(VISIBLE_KINDS).map((r) => `${user} ${r} *`);

void describe("Visibility: scopes from access reviews, cached per identity", () => {
  void it("local mode shows everything and asks nothing; a user who may list every kind everywhere gets the shared scope", async () => {
    const local = table([]);
    assert.equal(await new Visibility({ mode: "local", review: local, logger }).scope(alice, held), EVERYTHING);
    assert.deepEqual(local.asked, []);
    const wide = table(ALL_WIDE("alice"));
    let heldAsked = 0;
    const s = await new Visibility({ mode: "token", review: wide, logger }).scope(alice, () => (heldAsked++, held()));
    assert.equal(s, EVERYTHING);
    assert.equal(wide.asked.length, 5, "one cluster-wide review per kind");
    assert.equal(heldAsked, 0, "the cache's namespaces are not even listed");
  });

  void it("per namespace: only the namespaces holding each kind are asked about, and the scope says what is shown", async () => {
    const review = table(["alice applications team-a", "alice gitrepositories team-a", "alice helmcharts *"]);
    const v = new Visibility({ mode: "proxy", review, logger });
    const s = await v.scope(alice, held);
    assert.equal(s.all, false);
    assert.ok(shows(s, "applications", "team-a"));
    assert.ok(!shows(s, "applications", "team-b"));
    assert.ok(shows(s, "gitrepositories", "team-a"));
    assert.ok(shows(s, "helmcharts", "anywhere"), "cluster-wide for one kind: every namespace of it");
    assert.ok(!shows(s, "syncpolicies", "team-b"));
    assert.deepEqual(review.asked.filter((q) => !q.endsWith(" *")).sort(), ["alice applications team-a", "alice applications team-b", "alice gitrepositories team-a", "alice syncpolicies team-b"]);
    assert.equal(s.key, "applications:team-a;gitrepositories:team-a;helmrepositories:;helmcharts:*;syncpolicies:");
    // A namespace the scope never asked about (an Application appeared in team-c) is reviewed, alone, the next time.
    assert.ok(unreviewed(s, "applications", "team-c") && !unreviewed(s, "applications", "team-b") && !unreviewed(s, "helmcharts", "team-c"));
    const before = review.asked.length;
    const more = await v.scope(alice, () => ({ ...held(), applications: new Set(["team-a", "team-b", "team-c"]) }));
    assert.deepEqual(review.asked.slice(before), ["alice applications team-c"]);
    assert.equal(more.key, s.key, "same rights shown: same key (streams share the serialisation)");
  });

  void it("answers are kept for the time given, per identity (user and groups), in a bounded number of identities", async () => {
    let now = 1_000;
    const review = table(["bob applications team-a"]);
    const v = new Visibility({ mode: "token", review, logger, ttlMs: 30_000, maxIdentities: 2, now: () => now });
    await v.scope(bob, held);
    const first = review.asked.length;
    assert.equal(first, 9, "5 cluster-wide + 4 namespaced");
    now += 29_000;
    await v.scope(bob, held);
    assert.equal(review.asked.length, first, "within the time: no review");
    await v.scope({ user: "bob", groups: ["admins"] }, held);
    assert.equal(review.asked.length, 2 * first, "other groups: another identity");
    now += 2_000;
    await v.scope(bob, held);
    assert.equal(review.asked.length, 3 * first, "after the time: asked again");
    await v.scope(alice, held);
    assert.equal(v.size, 2, "at most maxIdentities kept");
  });

  void it("a review that fails denies (fail closed), says so in the log, and is asked again next time", async () => {
    logged = "";
    const v = new Visibility({ mode: "token", review: subjectAccessReviewer(kube.client.rest), logger });
    const s = await v.scope(alice, held);
    assert.equal(s.all, false);
    for (const r of Object.keys(VISIBLE_KINDS) as Resource[]) for (const ns of ["team-a", "team-b"]) assert.ok(!shows(s, r, ns), `${r} in ${ns} denied`);
    assert.match(logged, /UI access review failed: not showing it \(fail closed\)/);
    assert.match(logged, /"user":"alice"/);
    const reviews = v.reviews;
    await v.scope(alice, held);
    assert.ok(v.reviews > reviews, "a failure is not cached");
  });
});

const summary = (ns: string, name: string) => ({ key: `${ns}/${name}`, namespace: ns, name }) as AppSummary;
const source = (kind: SourceView["kind"], ns: string, name: string) => ({ key: `${kind}/${ns}/${name}`, kind, namespace: ns, name }) as SourceView;
const policy = (ns: string, name: string) => ({ key: `${ns}/${name}`, namespace: ns, name }) as PolicyView;
type Changes = Extract<StreamMessage, { type: "changes" }>;
const change = (m: Partial<Changes>): Changes => ({ type: "changes", apps: [], appsDeleted: [], sources: [], sourcesDeleted: [], policies: [], policiesDeleted: [], details: [], problems: undefined, ...m });

void describe("filters: what leaves the server for a scope", async () => {
  const scope = await new Visibility({ mode: "token", review: table(["alice applications team-a", "alice gitrepositories team-a", "alice syncpolicies team-a"]), logger }).scope(alice, () => ({ applications: new Set(["team-a", "team-b"]), gitrepositories: new Set(["team-a", "team-b"]), helmrepositories: new Set(["team-a"]), helmcharts: new Set(), syncpolicies: new Set(["team-a", "team-b"]) }));

  void it("a snapshot keeps the rows, sources and policies of the allowed namespaces and kinds only", () => {
    const parts = { apps: [summary("team-a", "web"), summary("team-b", "db")], sources: [source("GitRepository", "team-a", "apps"), source("GitRepository", "team-b", "apps"), source("HelmRepository", "team-a", "charts")], policies: [policy("team-a", "p"), policy("team-b", "q")] };
    const got = JSON.parse(`{${filterSnapshot(parts, scope)}}`) as typeof parts;
    assert.deepEqual(got.apps.map((a) => a.key), ["team-a/web"]);
    assert.deepEqual(got.sources.map((s) => s.key), ["GitRepository/team-a/apps"], "a HelmRepository in team-a: that kind is not allowed");
    assert.deepEqual(got.policies.map((p) => p.key), ["team-a/p"]);
  });

  void it("a change keeps what the scope shows, is nothing when nothing is shown, and says when it names an unasked namespace", () => {
    const m = change({ apps: [summary("team-a", "web"), summary("team-b", "db")], appsDeleted: ["team-b/old", "team-a/gone"], sourcesDeleted: ["GitRepository/team-b/x", "GitRepository/team-a/y"], policiesDeleted: ["team-b/q"], details: ["team-a/web", "team-b/db"] });
    const f = filterChanges(m, scope)!;
    assert.deepEqual(f.apps.map((a) => a.key), ["team-a/web"]);
    assert.deepEqual([f.appsDeleted, f.sourcesDeleted, f.policiesDeleted, f.details], [["team-a/gone"], ["GitRepository/team-a/y"], [], ["team-a/web"]]);
    assert.equal(filterChanges(change({ apps: [summary("team-b", "db")], details: ["team-b/db"] }), scope), undefined);
    const problems = [{ what: "Events", message: "forbidden" }];
    assert.deepEqual(filterChanges(change({ apps: [summary("team-b", "db")], problems }), scope)?.problems, problems, "the UI's own problems go to everyone");
    assert.equal(namesUnreviewed(m, scope), false);
    assert.equal(namesUnreviewed(change({ apps: [summary("team-c", "new")] }), scope), true);
    assert.equal(namesUnreviewed(change({ apps: [summary("team-c", "new")] }), EVERYTHING), false);
  });

  void it("a detail hides the source and window of kinds not allowed, dependencies and dependents elsewhere", () => {
    const d = {
      summary: summary("team-a", "web"),
      source: source("HelmRepository", "team-a", "charts"),
      window: { policy: "p", automatedAllowed: true, manualAllowed: true, message: "open", nextChange: "soon" },
      dependsOn: [{ key: "team-a/db", ready: "True", message: "ok", exists: true }, { key: "team-b/queue", ready: "False", message: "secret detail", exists: true }],
      dependents: ["team-a/front", "team-b/spy"],
    } as AppDetail;
    const f = filterDetail(d, scope);
    assert.equal(f.source, undefined);
    assert.deepEqual(f.window, d.window, "SyncPolicies in team-a: allowed");
    assert.deepEqual(f.dependsOn[0], d.dependsOn[0]);
    assert.deepEqual(f.dependsOn[1], { key: "team-b/queue", ready: "Unknown", message: "not shown: you may not list Applications in team-b", exists: false });
    assert.deepEqual(f.dependents, ["team-a/front"]);
    const noPolicies = { ...scope, allowed: { ...scope.allowed, syncpolicies: new Set<string>() } };
    assert.deepEqual(filterDetail(d, noPolicies).window, { policy: "p", automatedAllowed: false, manualAllowed: false, message: "not shown: you may not list SyncPolicies in team-a", nextChange: "" });
    assert.equal(filterDetail(d, EVERYTHING), d);
  });

  void it("ScopedSerialiser: one serialisation per snapshot version and scope, one per change and scope", () => {
    const z = new ScopedSerialiser();
    const parts = `"apps":${JSON.stringify([summary("team-a", "web"), summary("team-b", "db")])},"sources":[],"policies":[]`;
    const a = z.snapshot(parts, scope);
    assert.equal(z.snapshot(parts, scope), a);
    assert.deepEqual((JSON.parse(`{${a}}`) as { apps: AppSummary[] }).apps.map((x) => x.key), ["team-a/web"]);
    const m = change({ apps: [summary("team-b", "db")] });
    assert.equal(z.change(m, scope), undefined);
    const m2 = change({ apps: [summary("team-a", "web")] });
    assert.equal(z.change(m2, scope), JSON.stringify(filterChanges(m2, scope)));
  });
});

void describe("cachedNamespaces", () => {
  void it("names the namespaces the cache holds objects of each kind in", () => {
    const cache = new Cache(kube.client.rest, {});
    const put = (r: Resource, ns: string, name: string) => cache.informerFor(VISIBLE_KINDS[r]).store.upsert({ metadata: { namespace: ns, name } } as KubeObject);
    put("applications", "team-a", "web");
    put("applications", "team-b", "db");
    put("applications", "team-a", "api");
    put("helmcharts", "team-c", "c");
    const got = cachedNamespaces(cache);
    assert.deepEqual([...got.applications].sort(), ["team-a", "team-b"]);
    assert.deepEqual([...got.helmcharts], ["team-c"]);
    assert.deepEqual([...got.syncpolicies], []);
  });
});
import { closedPortKubeconfig } from "../../support/closed-port.js";
