// The UI server's view of the cluster (src/ui/state.ts): the snapshot a page gets, an Application's detail, the
// watches it holds and the problems it reports. No API server is faked: the kubeconfig's API server is a closed port;
// the objects are put in the pinned informers' stores, where their watches would put them, before the first snapshot.
// Not covered here, because only a watch delivers events: how a watch event turns into a batched "changes" message
// and a new snapshot, and the live objects of a viewed tree (held informers). Those run against kube-apiserver in
// test/integration/ui/browser.test.ts (a push turns a row OutOfSync and a sync turns it Synced, live; a Deployment's
// tree with its ReplicaSet) and test/integration/ui/long-list.test.ts (a status change reaches a drawn row and the
// counts of one not drawn); test/integration/apply/releasable-watches.test.ts covers releasing held informers.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { ApplicationKind, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, SyncPolicyKind } from "../../../src/api/kinds.js";
import { connect, type Kube } from "../../../src/cli/kube.js";
import { createLogger } from "../../../src/log.js";
import { Kinds, type KindDescriptor, type KubeObject } from "../../../src/runtime/index.js";
import { UiState } from "../../../src/ui/state.js";
import { appSummary } from "../../../src/ui/views.js";
import { waitFor } from "../../support/wait.js";
import { closedPortKubeconfig } from "../../support/closed-port.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const NOW = Date.parse("2026-01-05T12:30:00Z");
const SHA = "d".repeat(40);
let kube: Kube;
let port: number;

before(async () => {
  // A kubeconfig whose API server is a closed port: every request the module makes fails to connect.
  let file: string;
  ({ file, port } = await closedPortKubeconfig("ui-state-"));
  kube = connect({ kubeconfig: file });
});
after(() => kube.close());

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
let rv = 0;
const o = (kind: string, ns: string, name: string, spec: Record<string, unknown> = {}, status: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Obj => ({ kind, metadata: { namespace: ns, name, resourceVersion: String(++rv), ...meta }, spec, status }) as Obj;
const ready = (status: string, message = "") => ({ conditions: [{ type: "Ready", status, reason: "R", message }] });
const event = (ns: string, app: string, reason: string, message: string) => ({ kind: "Event", metadata: { namespace: ns, name: `${app}.${++rv}`, resourceVersion: String(rv) }, involvedObject: { kind: "Application", namespace: ns, name: app }, type: "Normal", reason, message, count: 1, lastTimestamp: "2026-01-05T12:00:00Z" }) as unknown as Obj;

/** A UiState whose informers' stores hold `objects` (by kind), as after their first list. */
function stateWith(objects: [KindDescriptor, Obj[]][], opts: { namespace?: string } = {}): UiState {
  const state = new UiState(kube.client.rest, kube.client, { logger: quiet, now: () => NOW, ...opts });
  for (const [kind, objs] of objects) {
    const sel = kind === Kinds.Event ? { fieldSelector: "involvedObject.kind=Application" } : undefined;
    for (const x of objs) state.cache.informerFor<Obj>(kind, sel).store.upsert(x);
  }
  return state;
}

const web = o(
  "Application",
  "team-a",
  "web",
  { sourceRef: { kind: "GitRepository", name: "apps" }, path: "./web", syncPolicyRef: { name: "prod" }, dependsOn: [{ name: "db" }, { name: "cache", namespace: "shared" }] },
  {
    ...ready("False", "Deployment web: 0/2 Ready"),
    sync: { status: "Synced", revision: `main@sha1:${SHA}`, drifted: ["team-a_web_apps_Deployment"], inventory: [{ id: "team-a_web_apps_Deployment", v: "apps/v1" }, { id: "not-an-id", v: "v1" }, { id: "team-a_w_example.com_Widget", v: "example.com/v1" }] },
    rollback: { phase: "Holding", id: 2, revision: `main@sha1:${SHA}`, message: "rolled back" },
  },
  { labels: { tier: "web" }, annotations: { "delivery.mooring.dev/rollback": "2" } },
);
const db = o("Application", "team-a", "db", { sourceRef: { kind: "HelmChart", name: "db-chart" }, targetNamespace: "data", serviceAccountName: "deployer", interval: "5m", render: { type: "helm" } }, ready("True", "synced"));
const api = o("Application", "team-a", "api", { sourceRef: { name: "apps" }, syncPolicyRef: { name: "missing" } }, ready("True"));
const other = o("Application", "team-b", "web", { sourceRef: { name: "apps" }, syncPolicyRef: { name: "prod" } }, ready("Unknown"));
const repo = o("GitRepository", "team-a", "apps", { url: "https://git.example/apps.git", ref: { branch: "main" } }, { ...ready("True"), artifact: { revision: `main@sha1:${SHA}` } });
const repoB = o("GitRepository", "team-b", "unused", { url: "https://git.example/b.git" });
const chart = o("HelmChart", "team-a", "db-chart", { chart: "postgres", sourceRef: { kind: "HelmRepository", name: "charts" } });
const charts = o("HelmRepository", "team-a", "charts", { url: "https://charts.example" });
// A deny window open at NOW (12:00-13:00 UTC each day).
const prod = o("SyncPolicy", "team-a", "prod", { windows: [{ kind: "deny", schedule: "0 12 * * *", duration: "1h" }] }, ready("True"));

const ALL: [KindDescriptor, Obj[]][] = [
  [ApplicationKind, [web, db, api, other]],
  [GitRepositoryKind, [repo, repoB]],
  [HelmChartKind, [chart]],
  [HelmRepositoryKind, [charts]],
  [SyncPolicyKind, [prod]],
  [Kinds.Event, [event("team-a", "web", "SyncFailed", "apply failed"), event("team-b", "web", "Synced", "elsewhere"), event("team-a", "db", "Synced", "db synced")]],
];

interface Snapshot {
  type: string;
  stream: string;
  apps: ReturnType<typeof appSummary>[];
  sources: { key: string; applications: string[]; revision: string }[];
  policies: { key: string; applications: number; automatedAllowed: boolean }[];
  problems: { what: string; message: string }[];
}

void describe("UiState before its watches start", () => {
  void it("holds one pinned watch per kind it shows (five Mooring kinds and the Applications' Events), none synced, no problem", () => {
    const s = stateWith([]);
    assert.equal(s.watches(), 6);
    assert.equal(s.synced(), false);
    assert.deepEqual(s.problems(), []);
    assert.equal(s.app("team-a/web"), undefined);
  });
});

void describe("UiState.subscribe: the snapshot", () => {
  void it("an empty cluster: no rows, sources or policies", () => {
    const { snapshot, unsubscribe } = stateWith([]).subscribe("s0", () => undefined);
    assert.deepEqual(JSON.parse(snapshot), { type: "snapshot", stream: "s0", apps: [], sources: [], policies: [], problems: [] });
    unsubscribe();
  });

  void it("every Application's row as the list shows it, named by the stream it opens", () => {
    const snap = JSON.parse(stateWith(ALL).subscribe('s"1', () => undefined).snapshot) as Snapshot;
    assert.equal(snap.type, "snapshot");
    assert.equal(snap.stream, 's"1', "the stream id is serialised, not pasted");
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    assert.deepEqual([...snap.apps].sort(byKey), [web, db, api, other].map((a) => appSummary(a)).sort(byKey));
  });

  void it("each source with the Applications of its namespace naming it (sourceRef.kind defaulting to GitRepository), sorted", () => {
    const snap = JSON.parse(stateWith(ALL).subscribe("s", () => undefined).snapshot) as Snapshot;
    const apps = Object.fromEntries(snap.sources.map((x) => [x.key, x.applications]));
    assert.deepEqual(apps, { "GitRepository/team-a/apps": ["api", "web"], "GitRepository/team-b/unused": [], "HelmChart/team-a/db-chart": ["db"], "HelmRepository/team-a/charts": [] });
    assert.equal(snap.sources.find((x) => x.key === "GitRepository/team-a/apps")!.revision, `main@sha1:${SHA}`);
  });

  void it("each SyncPolicy with how many Applications of its namespace name it, its windows evaluated at the state's clock", () => {
    const snap = JSON.parse(stateWith(ALL).subscribe("s", () => undefined).snapshot) as Snapshot;
    assert.equal(snap.policies.length, 1);
    assert.deepEqual([snap.policies[0]!.key, snap.policies[0]!.applications, snap.policies[0]!.automatedAllowed], ["team-a/prod", 1, false]);
  });

  void it("two pages opening while nothing changes get the same snapshot, apart from their stream id", () => {
    const s = stateWith(ALL);
    const a = s.subscribe("one", () => undefined).snapshot;
    const b = s.subscribe("two", () => undefined).snapshot;
    assert.equal(a.replace('"one"', '"two"'), b);
  });
});

void describe("UiState.detail", () => {
  void it("is undefined for an Application it does not hold", async () => {
    assert.equal(await stateWith(ALL).detail("team-a/nope", undefined), undefined);
    assert.equal(await stateWith(ALL).detail("team-c/web", undefined), undefined);
  });

  void it("an Application's spec with defaults, conditions, events of this Application only, its source and the rollback hold", async () => {
    const d = (await stateWith(ALL).detail("team-a/db", undefined))!;
    assert.deepEqual(d.spec, { path: "./", targetNamespace: "data", serviceAccountName: "deployer", interval: "5m", renderType: "helm" });
    assert.equal(d.held, false);
    assert.equal(d.rollback, undefined);
    assert.deepEqual(d.events.map((e) => e.message), ["db synced"]);
    assert.equal(d.source?.key, "HelmChart/team-a/db-chart");
    assert.equal(d.window, undefined, "no SyncPolicy named");
    assert.deepEqual(d.dependents, ["team-a/web"]);
    assert.deepEqual(d.tree, []);

    const w = (await stateWith(ALL).detail("team-a/web", undefined))!;
    assert.deepEqual(w.spec, { path: "./web", targetNamespace: "team-a", serviceAccountName: "", interval: "", renderType: "auto" });
    assert.equal(w.held, true, "the rollback annotation holds it");
    assert.deepEqual(w.rollback, { phase: "Holding", id: 2, revision: `main@sha1:${SHA}`, message: "rolled back" });
    assert.deepEqual(w.events.map((e) => e.message), ["apply failed"], "not team-b/web's events, not db's");
    assert.deepEqual(w.source?.applications, ["api", "web"]);
    assert.deepEqual(w.summary, appSummary(web));
  });

  void it("the sync window of its SyncPolicy, or why there is none", async () => {
    const s = stateWith(ALL);
    const w = (await s.detail("team-a/web", undefined))!;
    assert.equal(w.window?.policy, "prod");
    assert.equal(w.window?.automatedAllowed, false);
    assert.equal(w.window?.nextChange, "2026-01-05T13:00:00.000Z", "the deny window closes at 13:00");
    const a = (await s.detail("team-a/api", undefined))!;
    assert.deepEqual(a.window, { policy: "missing", automatedAllowed: false, manualAllowed: false, message: "SyncPolicy team-a/missing not found: the controller does not sync until it exists", nextChange: "" });
    const b = (await s.detail("team-b/web", undefined))!;
    assert.match(b.window!.message, /SyncPolicy team-b\/prod not found/, "a policy of another namespace does not count");
  });

  void it("its dependencies' readiness (missing ones named) and its dependents", async () => {
    const w = (await stateWith(ALL).detail("team-a/web", undefined))!;
    assert.deepEqual(w.dependsOn, [
      { key: "team-a/db", exists: true, ready: "True", message: "synced" },
      { key: "shared/cache", exists: false, ready: "Unknown", message: "not found" },
    ]);
    assert.deepEqual(w.dependents, []);
  });

  void it("its tree without a viewer: each inventory entry read once, and what cannot be read said on the node", async () => {
    const s = stateWith(ALL);
    const before = s.watches();
    const tree = (await s.detail("team-a/web", undefined))!.tree;
    assert.equal(s.watches(), before, "nothing is held without a viewer");
    assert.equal(tree.length, 3);
    const [deploy, bad, widget] = tree;
    assert.deepEqual([deploy!.kind, deploy!.namespace, deploy!.name, deploy!.apiVersion, deploy!.drifted, deploy!.health], ["Deployment", "team-a", "web", "apps/v1", true, "Unknown"]);
    assert.match(deploy!.message, new RegExp(`127\\.0\\.0\\.1:${port}|ECONNREFUSED`), "the read's failure, not a guess at health");
    assert.deepEqual([bad!.kind, bad!.name, bad!.health, bad!.drifted], ["?", "not-an-id", "Unknown", false]);
    assert.match(bad!.message, /inventory id "not-an-id" is not <namespace>_<name>_<group>_<Kind>/);
    assert.deepEqual([widget!.kind, widget!.health], ["Widget", "Unknown"], "an unknown kind whose discovery fails is Unknown, not Missing");
  });

  void it("with a viewer and nothing in the inventory: no watch is held, and forgetting the viewer (or an unknown one) is harmless", async () => {
    const s = stateWith(ALL);
    const d = await s.detail("team-a/db", "stream-1");
    assert.deepEqual(d?.tree, []);
    assert.equal(s.watches(), 6);
    s.forget("stream-1");
    s.forget("never-seen");
    assert.equal(s.watches(), 6);
  });
});

void describe("UiState.start against an API server it cannot reach", () => {
  void it("re-evaluates the windows each minute and streams a policy only when its view changed, to subscribers only", async (t) => {
    t.mock.timers.enable({ apis: ["setInterval", "setTimeout"] });
    let now = NOW;
    const s = new UiState(kube.client.rest, kube.client, { logger: quiet, now: () => now, batchMs: 10 });
    s.cache.informerFor<Obj>(SyncPolicyKind).store.upsert(prod);
    s.cache.informerFor<Obj>(ApplicationKind).store.upsert(web);
    const msgs: { type: string; policies: { key: string; automatedAllowed: boolean; applications: number }[]; problems?: unknown[] }[] = [];
    const { unsubscribe } = s.subscribe("s", (json) => msgs.push(JSON.parse(json) as (typeof msgs)[number]));
    const stop = new AbortController();
    const started = s.start(stop.signal).catch((err: Error) => err);
    // A failed assertion must still stop the watches, or their retries keep the test process alive.
    t.after(() => stop.abort());
    // The lists fail at once (a closed port); let those answers in before the minute passes.
    for (let i = 0; i < 1000 && s.problems().length < 6; i++) await new Promise((r) => setImmediate(r));
    assert.equal(s.problems().length, 6);
    const minute = () => (t.mock.timers.tick(60_000), t.mock.timers.tick(10));
    minute();
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]!.type, "changes");
    assert.deepEqual(msgs[0]!.policies.map((p) => [p.key, p.automatedAllowed, p.applications]), [["team-a/prod", false, 1]]);
    assert.equal(msgs[0]!.problems?.length, 6, "the problems go out with the first change after they appear");
    minute();
    assert.equal(msgs.length, 1, "an unchanged view (and unchanged problems) is not sent again");
    now = Date.parse("2026-01-05T13:30:00Z");
    minute();
    assert.equal(msgs.length, 2);
    assert.deepEqual(msgs[1]!.policies.map((p) => [p.key, p.automatedAllowed]), [["team-a/prod", true]], "the deny window closed at 13:00");
    assert.equal(msgs[1]!.problems, undefined);
    unsubscribe();
    now = NOW;
    minute();
    assert.equal(msgs.length, 2, "nothing reaches a stream that unsubscribed");
    stop.abort();
    assert.match(String(await started), /gave up waiting/);
  });

  void it("reports each kind it cannot list as a problem (for the page's banner), stays unsynced, and gives up when stopped", async (t) => {
    const s = stateWith([]);
    const stop = new AbortController();
    t.after(() => stop.abort());
    const started = s.start(stop.signal);
    started.catch(() => undefined); // asserted below; a failure before that must not leave it unhandled
    const problems = await waitFor("six problems", () => s.problems().length === 6 && s.problems(), { timeoutMs: 20_000, intervalMs: 20 });
    assert.deepEqual(problems.map((p) => p.what).sort(), ["Applications", "Events", "GitRepositorys", "HelmCharts", "HelmRepositorys", "SyncPolicies"]);
    for (const p of problems) assert.match(p.message, /ECONNREFUSED|connect/, p.what);
    assert.equal(s.synced(), false);
    assert.deepEqual((JSON.parse(s.subscribe("s", () => undefined).snapshot) as Snapshot).problems, problems, "a page opening now sees the banner");
    stop.abort();
    await assert.rejects(started, /gave up waiting for the .* cache to sync/);
  });
});
