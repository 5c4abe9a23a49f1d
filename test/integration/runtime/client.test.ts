// The client's writes, the REST mapper, impersonation, finalizers and events against the real API server.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";
import {
  ApiError,
  Client,
  EventRecorder,
  FakeClock,
  Kinds,
  NoKindMatchError,
  RestClient,
  RestMapper,
  addFinalizer,
  isConflict,
  isForbidden,
  removeFinalizer,
  serviceAccountUser,
  type KubeObject,
} from "../../../src/runtime/index.js";
import { Widget, deleteWidgetCrd, installWidgetCrd } from "./widget-crd.js";

let c: TestCluster;
let ns: TestNamespace;
let rest: RestClient;
let client: Client;
const extraGroup = `g${randomBytes(3).toString("hex")}.runtime-test.mooring.dev`;

before(async () => {
  c = await testCluster();
  ns = await createTestNamespace(c, "rt-client");
  rest = RestClient.fromKubeConfig(c.kc, { qps: 100, burst: 100 });
  client = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "rt-test" });
  await installWidgetCrd(c);
});

after(async () => {
  await deleteWidgetCrd(c, extraGroup);
  rest?.close();
  await ns?.cleanup();
});

type Widget = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
const widget = (name: string, spec: Record<string, unknown> = {}): Widget => ({ apiVersion: `${Widget.group}/v1`, kind: "Widget", metadata: { name, namespace: ns.name }, spec });

describe("client writes", () => {
  it("creates, updates with optimistic concurrency, and patches (merge and JSON)", async () => {
    const created = await client.create(widget("crud", { a: 1 }));
    assert.ok(created.metadata?.uid);
    const updated = await client.update({ ...created, spec: { a: 2 } });
    await assert.rejects(client.update({ ...created, spec: { a: 3 } }), (e) => isConflict(e), "a stale resourceVersion conflicts");
    const merged = await client.patch<Widget>(updated, { spec: { b: "x" } }, "merge");
    assert.deepEqual(merged.spec, { a: 2, b: "x" });
    const patched = await client.patch<Widget>(merged, [{ op: "replace", path: "/spec/a", value: 5 }], "json");
    assert.deepEqual(patched.spec, { a: 5, b: "x" });
  });

  it("server-side applies with a field manager, and force takes over fields of another manager", async () => {
    await client.apply(widget("ssa", { owner: "one" }), { fieldManager: "one" });
    await assert.rejects(client.apply(widget("ssa", { owner: "two" }), { fieldManager: "two", force: false }), (e) => e instanceof ApiError && e.code === 409);
    const forced = await client.apply<Widget>(widget("ssa", { owner: "two" }), { fieldManager: "two", force: true });
    assert.equal(forced.spec?.owner, "two");
    const managers = (forced.metadata?.managedFields as { manager: string }[]).map((m) => m.manager);
    assert.ok(managers.includes("two"));
  });

  it("applies status through the status subresource so that two controllers each own their part", async () => {
    await client.apply(widget("status"));
    await client.applyStatus({ ...widget("status"), status: { fromA: "a" } }, { fieldManager: "controller-a" });
    await client.applyStatus({ ...widget("status"), status: { fromB: "b" } }, { fieldManager: "controller-b" });
    const live = await client.get<Widget>(Widget, "status", ns.name);
    assert.deepEqual(live?.status, { fromA: "a", fromB: "b" });
    // Applying again without a field removes only what that manager owned.
    await client.applyStatus({ ...widget("status"), status: {} }, { fieldManager: "controller-a" });
    assert.deepEqual((await client.get<Widget>(Widget, "status", ns.name))?.status, { fromB: "b" });
  });

  it("deletes with preconditions and propagation policy, and reports an already-missing object", async () => {
    const w = await client.create(widget("del"));
    await assert.rejects(client.delete(w, { preconditions: { uid: "00000000-0000-0000-0000-000000000000" } }), (e) => isConflict(e));
    assert.equal(await client.delete(w, { preconditions: { uid: w.metadata!.uid, resourceVersion: w.metadata!.resourceVersion }, propagationPolicy: "Foreground" }), true);
    await waitFor("the widget to be gone", async () => (await client.get(Widget, "del", ns.name)) === undefined);
    assert.equal(await client.delete(w), false);
  });

  it("impersonates a ServiceAccount: denied without RBAC, allowed once a RoleBinding grants it", async () => {
    await c.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: "deployer" } } });
    const asSa = client.impersonate(serviceAccountUser(ns.name, "deployer"));
    await assert.rejects(asSa.list(Kinds.ConfigMap, { namespace: ns.name }), (e) => isForbidden(e) && /system:serviceaccount:.*:deployer/.test((e as Error).message));
    await client.create({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "cm-reader", namespace: ns.name }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }] });
    await client.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "cm-reader", namespace: ns.name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-reader" },
      subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: ns.name }],
    });
    const items = await waitFor("RBAC to allow the ServiceAccount", async () => asSa.list(Kinds.ConfigMap, { namespace: ns.name }));
    assert.ok(items.some((i) => i.metadata?.name === "kube-root-ca.crt"));
    await assert.rejects(asSa.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "nope", namespace: ns.name } }), (e) => isForbidden(e));
  });
});

describe("client-side rate limit", () => {
  it("holds requests over the QPS/burst limit until the bucket refills (injected clock)", async () => {
    const clock = new FakeClock(Date.now());
    const limited = RestClient.fromKubeConfig(c.kc, { qps: 1, burst: 2, clock });
    const done: number[] = [];
    const reqs = [0, 1, 2].map((i) => limited.request("GET", `/api/v1/namespaces/${ns.name}`).then(() => done.push(i)));
    await waitFor("the burst to go through", () => done.length === 2);
    await sleep(300);
    assert.equal(done.length, 2, "the third request waits for a token while the clock stands still");
    clock.advance(1000);
    await waitFor("the third request once a token is back", () => done.length === 3);
    await Promise.all(reqs);
    limited.close();
  });
});

describe("REST mapper", () => {
  it("maps a CRD installed after the first lookup without a restart (refresh on a miss)", async () => {
    const mapper = new RestMapper(rest);
    await assert.rejects(mapper.kindFor(`${extraGroup}/v1`, "Widget"), NoKindMatchError);
    await installWidgetCrd(c, extraGroup);
    const k = await waitFor("discovery to serve the new group", async () => mapper.kindFor(`${extraGroup}/v1`, "Widget"));
    assert.deepEqual(k, { group: extraGroup, version: "v1", kind: "Widget", plural: "widgets", namespaced: true });
    const before = mapper.fetches;
    await mapper.kindFor(`${extraGroup}/v1`, "Widget");
    assert.equal(mapper.fetches, before, "a hit is served from the cache");
    assert.equal((await mapper.kindFor("apps/v1", "Deployment")).plural, "deployments");
    assert.equal((await mapper.kindFor("v1", "Namespace")).namespaced, false);
  });
});

describe("finalizers", () => {
  it("adds and removes a finalizer without clobbering one another writer added concurrently", async () => {
    const stale = await client.create(widget("fin"));
    // Another writer adds its finalizer after our read.
    await client.patch(stale, { metadata: { finalizers: ["other.example.com/x"] } }, "merge");
    const withOurs = await addFinalizer(client, stale, "mooring.dev/cleanup");
    assert.deepEqual(withOurs?.metadata?.finalizers, ["other.example.com/x", "mooring.dev/cleanup"]);
    assert.equal((await addFinalizer(client, withOurs!, "mooring.dev/cleanup"))?.metadata?.finalizers?.length, 2, "adding twice is a no-op");
    // Our stale copy lists ours at index 1; the other writer removes its own first, so index 1 no longer exists.
    await client.patch(withOurs!, [{ op: "remove", path: "/metadata/finalizers/0" }], "json");
    const removed = await removeFinalizer(client, withOurs!, "mooring.dev/cleanup");
    assert.deepEqual(removed?.metadata?.finalizers ?? [], []);
  });
});

describe("event recorder", () => {
  it("writes events.k8s.io/v1 Events and folds repeats into one series", async () => {
    const regarding = await client.create(widget("evented"));
    const rec = new EventRecorder(client, { reportingController: "mooring.dev/rt-test", flushIntervalMs: 50, burst: 2 });
    for (let i = 0; i < 10; i++) rec.normal(regarding, "Synced", "Reconcile", "synced the widget");
    rec.warning(regarding, "Failed", "Reconcile", "first failure");
    rec.warning(regarding, "Failed2", "Reconcile", "over the burst");
    await rec.flush();
    rec.stop();
    assert.equal(rec.dropped, 1, "the third distinct event for the object is over the burst");
    const list = await client.list<KubeObject & { reason: string; series?: { count: number }; regarding: { uid: string } }>(Kinds.EventV1, { namespace: ns.name });
    const mine = list.filter((e) => e.regarding.uid === regarding.metadata!.uid);
    assert.deepEqual(mine.map((e) => e.reason).sort(), ["Failed", "Synced"]);
    assert.equal(mine.find((e) => e.reason === "Synced")?.series?.count, 10);
  });
});
