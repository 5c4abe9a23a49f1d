// A watch the server refuses because of its resourceVersion — too old (410 Gone / Expired) or too large (504 Timeout
// with the cause ResourceVersionTooLarge: a watch cache behind etcd, or an RV from before a restore) — is never retried
// from the same resourceVersion: the reflector lists again, after a jittered delay that grows while it keeps happening.
// A loopback server speaks the watch protocol (HTTP answers and in-stream ERROR events) with the API server's Status.
import assert from "node:assert/strict";
import http from "node:http";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import { createLogger } from "../../../src/log.js";
import { type Clock, realClock } from "../../../src/runtime/clock.js";
import { Informer } from "../../../src/runtime/informer.js";
import { Kinds } from "../../../src/runtime/kinds.js";
import { KubeConfig } from "../../../src/runtime/kubeconfig.js";
import { ApiError, RestClient, isResourceExpired, isTooLargeResourceVersion } from "../../../src/runtime/rest.js";
import { waitFor } from "../../support/wait.js";
import { listen, loopbackKubeConfig } from "./loopback.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

/** What kube-apiserver answers (storage.NewTooLargeResourceVersionError through errors.NewTimeoutError). */
const tooLarge = (rv: string) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message: `Timeout: Too large resource version: ${rv}, current: 7`,
  reason: "Timeout",
  details: { causes: [{ type: "ResourceVersionTooLarge", message: "Too large resource version" }], retryAfterSeconds: 1 },
  code: 504,
});
const expired = (rv: string) => ({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `too old resource version: ${rv} (7)`, reason: "Expired", code: 410 });

type Refusal = "http-too-large" | "event-too-large" | "event-expired" | "http-expired";

/**
 * Lists answer resourceVersion "100", "200", …; a watch from a refused RV gets `refusal`, other watches stay open.
 * `refuse` decides which RVs are refused (default: only the first list's).
 */
function apiServer(refusal: Refusal, refuse: (rv: string) => boolean = (rv) => rv === "100") {
  const log = { lists: 0, watchesFrom: [] as string[] };
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.searchParams.get("watch") !== "true") {
      log.lists++;
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "ConfigMapList", apiVersion: "v1", metadata: { resourceVersion: String(log.lists * 100) }, items: [] }));
      return;
    }
    const rv = url.searchParams.get("resourceVersion") ?? "";
    log.watchesFrom.push(rv);
    if (!refuse(rv)) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write(JSON.stringify({ type: "BOOKMARK", object: { kind: "ConfigMap", apiVersion: "v1", metadata: { resourceVersion: rv } } }) + "\n");
      open.add(res);
      return;
    }
    const status = refusal.endsWith("too-large") ? tooLarge(rv) : expired(rv);
    if (refusal.startsWith("http")) res.writeHead(status.code, { "Content-Type": "application/json" }).end(JSON.stringify(status));
    else res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ type: "ERROR", object: status }) + "\n");
  });
  return { server, log, close: () => (open.forEach((r) => r.destroy()), server.closeAllConnections(), server.close()) };
}

/** The real clock, recording the delays the informer sleeps for (its relist and retry backoffs). */
function recordingClock(): Clock & { delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    now: realClock.now,
    clearTimeout: realClock.clearTimeout,
    setTimeout: (fn, ms) => {
      if (ms < 60_000) delays.push(ms); // not the watchdog's
      return realClock.setTimeout(fn, ms);
    },
  };
}

async function start(refusal: Refusal, opts: { refuse?: (rv: string) => boolean; random?: () => number } = {}) {
  const api = apiServer(refusal, opts.refuse);
  await listen(api.server);
  const rest = RestClient.fromKubeConfig(loopbackKubeConfig(api.server), { qps: 1000, burst: 1000 });
  const clock = recordingClock();
  const stop = new AbortController();
  const inf = new Informer(rest, Kinds.ConfigMap, { namespace: "ns", logger: quiet, clock, backoff: { initialMs: 20, maxMs: 1000, jitter: 1, random: opts.random ?? (() => 0.5) } });
  const run = inf.run(stop.signal);
  return {
    api,
    inf,
    clock,
    async stop() {
      stop.abort();
      await run;
      rest.close();
      api.close();
    },
  };
}

describe("relist when the server refuses the watch's resourceVersion", () => {
  const running: { stop(): Promise<void> }[] = [];
  after(async () => {
    for (const r of running) await r.stop();
  });

  for (const refusal of ["http-too-large", "event-too-large", "http-expired", "event-expired"] as const) {
    it(`${refusal}: lists again and watches from the new list's resourceVersion, never retrying the refused one`, async () => {
      const t = await start(refusal);
      running.push(t);
      await waitFor(`a relist after ${refusal}`, () => t.inf.stats.relists >= 1 && t.api.log.watchesFrom.includes("200"), { timeoutMs: 5_000, intervalMs: 10 });
      assert.equal(t.api.log.lists, 2, "one list, one relist");
      assert.deepEqual(t.api.log.watchesFrom, ["100", "200"], "the refused resourceVersion was asked for once");
      assert.deepEqual(t.inf.watchState, { phase: "Watching", resourceVersion: "200" });
      assert.equal(t.inf.stats.errors, 0, "a refused resourceVersion is not counted as a failure to retry");
    });
  }

  it("waits a jittered delay before relisting, so that many informers do not relist in lockstep", async () => {
    const a = await start("http-too-large", { random: () => 0.1 });
    const b = await start("http-too-large", { random: () => 0.9 });
    running.push(a, b);
    await waitFor("both relisted", () => a.inf.stats.relists >= 1 && b.inf.stats.relists >= 1, { timeoutMs: 5_000, intervalMs: 10 });
    // initialMs 20, jitter 1: 20·(1 + random).
    assert.deepEqual(a.clock.delays, [22]);
    assert.deepEqual(b.clock.delays, [38]);
  });

  it("backs off further while every resourceVersion keeps being refused, instead of relisting in a tight loop", async () => {
    const t = await start("event-too-large", { refuse: () => true, random: () => 0 });
    running.push(t);
    await waitFor("four relists", () => t.inf.stats.relists >= 4, { timeoutMs: 5_000, intervalMs: 10 });
    assert.deepEqual(t.clock.delays.slice(0, 4), [20, 40, 80, 160]);
    assert.deepEqual(t.api.log.watchesFrom.slice(0, 4), ["100", "200", "300", "400"], "each watch starts from a fresh list");
  });
});

describe("isTooLargeResourceVersion and isResourceExpired", () => {
  const err = (code: number, status: object) => new ApiError(code, status, "WATCH", "/api/v1/configmaps");
  it("match apimachinery's errors, including the cause-less message of API servers before 1.18.6", () => {
    assert.ok(isTooLargeResourceVersion(err(504, tooLarge("9"))));
    assert.ok(isTooLargeResourceVersion(err(504, { reason: "Timeout", message: "Timeout: Too large resource version: 9, current: 7" })));
    assert.ok(isTooLargeResourceVersion(err(504, { reason: "Timeout", details: { causes: [{ message: "Too large resource version" }] } })));
    assert.ok(!isTooLargeResourceVersion(err(504, { reason: "Timeout", message: "Timeout: request did not complete within the allowed duration" })));
    assert.ok(!isTooLargeResourceVersion(err(500, { message: "Too large resource version" })));
    assert.ok(isResourceExpired(err(410, expired("1"))));
    assert.ok(isResourceExpired(err(410, { reason: "Gone" })));
    assert.ok(!isResourceExpired(err(504, tooLarge("9"))));
  });
});

// Bounded cache-sync waits must not pile up in a long-running operator.
describe("Informer.waitForSync", () => {
  it("forgets a waiter whose signal aborted, so repeated bounded waits do not accumulate", async () => {
    // Never run: the informer stays unsynced, as one refused with 403 does.
    const rest = RestClient.fromKubeConfig(KubeConfig.fromString("clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"));
    const inf = new Informer(rest, Kinds.ConfigMap);
    for (let i = 0; i < 50; i++) {
      const ac = new AbortController();
      const wait = inf.waitForSync(ac.signal);
      ac.abort();
      await assert.rejects(wait, /gave up waiting for the ConfigMap cache to sync/);
    }
    assert.equal((inf as unknown as { syncWaiters: unknown[] }).syncWaiters.length, 0);
    rest.close();
  });
});
