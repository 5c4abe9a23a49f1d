// The reflector and shared cache against the real API server.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";
import { createLogger } from "../../../src/log.js";
import { Cache, Client, Informer, Kinds, RestClient, RestMapper, dropManagedFields, type KubeObject } from "../../../src/runtime/index.js";
import { Widget, installWidgetCrd } from "./widget-crd.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

let c: TestCluster;
let ns: TestNamespace;
let rest: RestClient;
const stop = new AbortController();

before(async () => {
  c = await testCluster();
  ns = await createTestNamespace(c, "rt-inf");
  rest = RestClient.fromKubeConfig(c.kc, { qps: 200, burst: 200 });
});

after(async () => {
  stop.abort();
  rest?.close();
  await ns?.cleanup();
});

const cm = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}) => ({ metadata: { name, namespace: ns.name, labels }, data });

function record(inf: Informer) {
  const events: string[] = [];
  inf.addEventHandler({
    onAdd: (o) => events.push(`add:${o.metadata!.name}`),
    onUpdate: (_o, n) => events.push(`update:${n.metadata!.name}`),
    onDelete: (o) => events.push(`delete:${o.metadata!.name}`),
  });
  return events;
}

async function serverNames(labelSelector?: string): Promise<string[]> {
  const l = await c.core.listNamespacedConfigMap({ namespace: ns.name, labelSelector });
  return l.items.map((i) => i.metadata!.name!).filter((n) => n !== "kube-root-ca.crt").sort();
}

function cacheNames(inf: Informer): string[] {
  return inf.store.list().map((o) => o.metadata!.name!).filter((n) => n !== "kube-root-ca.crt").sort();
}

describe("informer", () => {
  it("lists, then sees create, update and delete through the watch", async () => {
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("before") });
    const inf = new Informer(rest, Kinds.ConfigMap, { namespace: ns.name, logger: quiet });
    const events = record(inf);
    void inf.run(stop.signal);
    await inf.waitForSync();
    assert.ok(inf.hasSynced());
    assert.ok(inf.store.get(`${ns.name}/before`), "the initial list is in the store");
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("w1") });
    await c.core.replaceNamespacedConfigMap({ name: "w1", namespace: ns.name, body: cm("w1", { k: "v" }) });
    await c.core.deleteNamespacedConfigMap({ name: "before", namespace: ns.name });
    await waitFor("the watch to deliver the create, update and delete", () => events.includes("delete:before") && events.includes("update:w1") && events);
    assert.ok(events.indexOf("add:w1") < events.indexOf("update:w1"));
    assert.equal((inf.store.get(`${ns.name}/w1`) as KubeObject & { data: Record<string, string> }).data.k, "v");
    assert.equal(inf.store.get(`${ns.name}/before`), undefined);
  });

  it("resumes from its resourceVersion after a dropped connection, losing nothing and without relisting", async () => {
    const inf = new Informer(rest, Kinds.ConfigMap, { namespace: ns.name, logger: quiet });
    void inf.run(stop.signal);
    await inf.waitForSync();
    for (let i = 0; i < 5; i++) {
      inf.dropConnection();
      await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm(`drop-${i}`) });
    }
    await waitFor("the cache to match the server", async () => JSON.stringify(cacheNames(inf)) === JSON.stringify(await serverNames()));
    assert.equal(inf.stats.relists, 0);
    assert.ok(inf.stats.watches >= 2, `the watch was reopened (${inf.stats.watches} watches)`);
  });

  it("relists on 410 Gone and reports only real changes, not every object as added", async () => {
    // A CRD's watch cache starts at the resourceVersion of its creation, so resourceVersion "1" is out of its
    // window and the server answers the watch with 410 Gone (Expired) — a real, not a simulated, 410.
    await installWidgetCrd(c);
    const client = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "rt-test" });
    const widget = (name: string) => ({ apiVersion: "runtime-test.mooring.dev/v1", kind: "Widget", metadata: { name, namespace: ns.name }, spec: { size: 1 } });
    await client.create(widget("w-1"));
    await client.create(widget("w-2"));
    const inf = new Informer(rest, Widget, { namespace: ns.name, logger: quiet });
    void inf.run(stop.signal);
    await inf.waitForSync();
    const events = record(inf);
    events.length = 0; // handler registration replays the cache as adds
    inf.resumeFrom("1");
    inf.dropConnection();
    await waitFor("a relist after 410 Gone", () => inf.stats.relists >= 1);
    await client.create(widget("w-3"));
    await client.delete(widget("w-1"));
    await waitFor("the cache to match the server", async () => {
      const server = (await client.list(Widget, { namespace: ns.name })).map((o) => o.metadata!.name).sort();
      return JSON.stringify(server) === JSON.stringify(inf.store.keys().map((k) => k.split("/")[1]).sort()) && server.includes("w-3");
    });
    assert.deepEqual(events, ["add:w-3", "delete:w-1"], "unchanged objects were not reported again by the relist");
  });

  it("restarts a watch that has gone quiet (watchdog) and still sees later changes", async () => {
    const inf = new Informer(rest, Kinds.ConfigMap, { namespace: ns.name, quietTimeoutMs: 300, logger: quiet });
    const events = record(inf);
    void inf.run(stop.signal);
    await inf.waitForSync();
    await waitFor("the watchdog to restart the quiet watch", () => inf.stats.watchdogRestarts >= 1);
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("after-quiet") });
    await waitFor("the event after the restart", () => events.includes("add:after-quiet"));
    assert.equal(inf.stats.relists, 0);
  });

  it("honours label selectors and drops managedFields with the transform", async () => {
    const inf = new Informer(rest, Kinds.ConfigMap, { namespace: ns.name, labelSelector: "tier=gold", transform: dropManagedFields, logger: quiet });
    void inf.run(stop.signal);
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("gold", {}, { tier: "gold" }) });
    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: cm("silver", {}, { tier: "silver" }) });
    await inf.waitForSync();
    await waitFor("the gold ConfigMap", () => inf.store.get(`${ns.name}/gold`));
    assert.deepEqual(cacheNames(inf), await serverNames("tier=gold"));
    assert.equal(inf.store.get(`${ns.name}/gold`)!.metadata!.managedFields, undefined);
    const live = await c.core.readNamespacedConfigMap({ name: "gold", namespace: ns.name });
    assert.ok(live.metadata?.managedFields?.length, "the server object does have managedFields");
  });
});

describe("shared cache", () => {
  it("shares one informer per kind, namespace and selector, and serves reads from it", async () => {
    const cache = new Cache(rest, { namespace: ns.name, logger: quiet });
    const a = cache.informerFor(Kinds.ConfigMap);
    assert.equal(cache.informerFor(Kinds.ConfigMap), a);
    assert.equal(cache.informerFor(Kinds.ConfigMap, { namespace: ns.name }), a);
    assert.notEqual(cache.informerFor(Kinds.ConfigMap, { labelSelector: "tier=gold" }), a);
    assert.equal(cache.size, 2);
    await assert.rejects(cache.get(Kinds.ConfigMap, "gold", ns.name), /cache is not started/);
    cache.start(stop.signal);
    await cache.waitForSync();
    assert.equal((await cache.get(Kinds.ConfigMap, "gold", ns.name))?.metadata?.name, "gold");
    assert.deepEqual((await cache.list(Kinds.ConfigMap, { namespace: ns.name, labelSelector: "tier=gold" })).map((o) => o.metadata!.name), ["gold"]);
    // A kind first asked for after start gets its own informer, started and synced on first read.
    const secrets = await cache.list(Kinds.Secret, { namespace: ns.name });
    assert.ok(Array.isArray(secrets));
    assert.equal(cache.size, 3);
    await assert.rejects(cache.get(Kinds.ConfigMap, "x", "kube-system"), /only holds namespace/);
  });
});
