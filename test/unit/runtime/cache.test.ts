// The cache's releasable informers: acquire(kind, sel, holder) holds one per holder, the last release of an informer
// nobody pinned stops its watch (the server sees the connection close), empties its store and forgets it; pinned
// informers (informerFor) are never stopped by a release; hasSynced()/waitForSync() (so /readyz) count only pinned ones.
// A loopback server answers lists with one ConfigMap and keeps watches open; a field selector of "forbidden" gets 403.
import assert from "node:assert/strict";
import http from "node:http";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import { createLogger } from "../../../src/log.js";
import { Cache } from "../../../src/runtime/cache.js";
import { Kinds } from "../../../src/runtime/kinds.js";
import { RestClient } from "../../../src/runtime/rest.js";
import { waitFor } from "../../support/wait.js";
import { listen, loopbackKubeConfig } from "./loopback.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

async function apiServer() {
  const open = new Set<http.ServerResponse>();
  const watches: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const field = url.searchParams.get("fieldSelector") ?? "";
    if (field.includes("forbidden")) {
      res.writeHead(403, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Forbidden", message: "forbidden", code: 403 }));
      return;
    }
    if (url.searchParams.get("watch") !== "true") {
      const item = { kind: "ConfigMap", apiVersion: "v1", metadata: { name: "a", namespace: "ns", resourceVersion: "10" } };
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "ConfigMapList", apiVersion: "v1", metadata: { resourceVersion: "10" }, items: [item] }));
      return;
    }
    watches.push(field);
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write("");
    open.add(res);
    res.on("close", () => open.delete(res));
  });
  await listen(server);
  const openWatches = (field: string) => [...open].filter((r) => new URL(r.req.url ?? "/", "http://x").searchParams.get("fieldSelector") === (field || null)).length;
  return { server, watches, openWatches, close: () => (open.forEach((r) => r.destroy()), server.closeAllConnections(), server.close()) };
}

describe("Cache: releasable informers", async () => {
  const api = await apiServer();
  const rest = RestClient.fromKubeConfig(loopbackKubeConfig(api.server), { qps: 1000, burst: 1000 });
  const stop = new AbortController();
  const cache = new Cache(rest, { logger: quiet, informer: { backoff: { initialMs: 20, maxMs: 100 } } });
  const pinned = cache.informerFor(Kinds.ConfigMap, { namespace: "ns" });
  cache.start(stop.signal);
  await cache.waitForSync(stop.signal);
  after(async () => {
    stop.abort();
    await cache.stopped();
    api.close();
  });

  const byName = (name: string) => ({ namespace: "ns", fieldSelector: `metadata.name=${name}` });

  it("keeps an informer while any holder holds it, and stops it at the last release", async () => {
    const sel = byName("a");
    const inf = cache.acquire(Kinds.ConfigMap, sel, "app-1");
    assert.equal(cache.acquire(Kinds.ConfigMap, sel, "app-2"), inf, "one informer per kind and selection, shared by holders");
    cache.acquire(Kinds.ConfigMap, sel, "app-1"); // a second acquire by the same holder holds it once
    await inf.waitForSync(stop.signal);
    await waitFor("the held informer watches", () => api.openWatches(sel.fieldSelector) === 1, { timeoutMs: 5_000 });
    assert.deepEqual(cache.entries().find((e) => e.fieldSelector === sel.fieldSelector)?.holders.sort(), ["app-1", "app-2"]);

    assert.equal(cache.release(Kinds.ConfigMap, sel, "app-1"), false, "app-2 still holds it");
    assert.ok(cache.has(Kinds.ConfigMap, sel));
    assert.equal(cache.release(Kinds.ConfigMap, sel, "app-1"), false, "a holder that already released it releases nothing");
    assert.equal(cache.release(Kinds.ConfigMap, sel, "app-2"), true, "the last holder stops it");
    assert.equal(cache.has(Kinds.ConfigMap, sel), false);
    await waitFor("the released informer's watch connection closes", () => api.openWatches(sel.fieldSelector) === 0, { timeoutMs: 5_000 });
    await waitFor("the released informer's store is emptied", () => inf.store.size === 0, { timeoutMs: 5_000 });

    const again = cache.acquire(Kinds.ConfigMap, sel, "app-3");
    assert.notEqual(again, inf, "a later acquire starts a new informer");
    await again.waitForSync(stop.signal);
    assert.equal(again.store.size, 1);
    cache.release(Kinds.ConfigMap, sel, "app-3");
  });

  it("never stops a pinned informer, also when holders acquired it too", async () => {
    const inf = cache.acquire(Kinds.ConfigMap, { namespace: "ns" }, "app-1");
    assert.equal(inf, pinned);
    assert.equal(cache.release(Kinds.ConfigMap, { namespace: "ns" }, "app-1"), false);
    assert.ok(cache.has(Kinds.ConfigMap, { namespace: "ns" }));
    assert.equal(pinned.store.size, 1);
    assert.equal(api.openWatches(""), 1);

    const held = cache.acquire(Kinds.ConfigMap, byName("b"), "app-1");
    cache.informerFor(Kinds.ConfigMap, byName("b")); // pinned later: now it stays
    assert.equal(cache.release(Kinds.ConfigMap, byName("b"), "app-1"), false);
    assert.ok(cache.entries().find((e) => e.fieldSelector === "metadata.name=b")?.pinned);
    assert.equal(cache.has(Kinds.ConfigMap, byName("b")), true);
    await held.waitForSync(stop.signal);
  });

  it("counts only pinned informers for hasSynced and waitForSync (so /readyz)", async () => {
    const denied = cache.acquire(Kinds.ConfigMap, byName("forbidden"), "app-1");
    await waitFor("the held informer fails to list", () => denied.lastError !== undefined, { timeoutMs: 5_000 });
    assert.equal(denied.hasSynced(), false);
    assert.equal(cache.hasSynced(), true, "a held informer that cannot list does not make the process unready");
    assert.deepEqual(cache.unsynced(), []);
    await cache.waitForSync(AbortSignal.timeout(2_000));
    assert.equal(cache.release(Kinds.ConfigMap, byName("forbidden"), "app-1"), true);
    await assert.rejects(denied.waitForSync(), /stopped before it synced/);
  });

  it("releases an informer acquired before start without ever running it", async () => {
    const idle = new Cache(rest, { logger: quiet });
    const inf = idle.acquire(Kinds.Secret, { namespace: "ns" }, "h");
    assert.equal(idle.release(Kinds.Secret, { namespace: "ns" }, "h"), true);
    assert.equal(idle.size, 0);
    assert.equal(inf.hasSynced(), false);
  });
});
