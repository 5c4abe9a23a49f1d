import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { setTimeout as sleep } from "node:timers/promises";
import { Controller, type ControllerOptions } from "../../../src/runtime/controller.js";
import { ExponentialFailureRateLimiter } from "../../../src/runtime/ratelimit.js";
import { Priority } from "../../../src/runtime/workqueue.js";
import { runtimeMetrics } from "../../../src/runtime/metrics.js";
import { TerminalError, type ReconcileFunc } from "../../../src/runtime/reconcile.js";
import { createLogger } from "../../../src/log.js";
import { Writable } from "node:stream";
import http from "node:http";
import { Informer } from "../../../src/runtime/informer.js";
import { Kinds } from "../../../src/runtime/kinds.js";
import { RestClient } from "../../../src/runtime/rest.js";
import { listen, loopbackKubeConfig } from "./loopback.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

function make(fn: ReconcileFunc, o: Partial<ControllerOptions> = {}) {
  const registry = new Registry();
  const metrics = runtimeMetrics(registry);
  const c = new Controller({ name: "test", metrics, logger: quiet, rateLimiter: new ExponentialFailureRateLimiter(1, 50), ...o }, fn);
  return { c, registry, metrics };
}

async function until(what: string, cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function value(registry: Registry, name: string, labels: Record<string, string>) {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

/** A loopback API server whose lists hold the named ConfigMaps of namespace ns (watches stay open), and an informer on it. */
async function configMapServer(names: string[]) {
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (!req.url?.includes("watch=true")) {
      const items = names.map((name) => ({ kind: "ConfigMap", apiVersion: "v1", metadata: { name, namespace: "ns", resourceVersion: "10" } }));
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "ConfigMapList", apiVersion: "v1", metadata: { resourceVersion: "10" }, items }));
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    open.add(res);
  });
  await listen(server);
  const inf = new Informer(RestClient.fromKubeConfig(loopbackKubeConfig(server), { qps: 1000, burst: 1000 }), Kinds.ConfigMap, { namespace: "ns", logger: quiet });
  /** Runs the informer and `c` while `body` runs; then stops both and closes the server, whatever body did. */
  const whileRunning = async (c: Controller, body: () => Promise<void>) => {
    const stop = new AbortController();
    const informing = inf.run(stop.signal);
    const run = c.start(stop.signal);
    try {
      await body();
    } finally {
      stop.abort();
      await run;
      await informing;
      for (const r of open) r.destroy();
      server.closeAllConnections();
      server.close();
    }
  };
  return { inf, whileRunning };
}

describe("Controller", () => {
  it("retries a thrown error with backoff, and stops retrying on TerminalError", async () => {
    const calls: Record<string, number> = {};
    const { c, registry } = make(async (req) => {
      calls[req.name] = (calls[req.name] ?? 0) + 1;
      if (req.name === "flaky" && calls[req.name]! < 3) throw new Error("not yet");
      if (req.name === "bad") throw new TerminalError("invalid spec", { cause: new Error("x") });
      return {};
    });
    const stop = new AbortController();
    const run = c.start(stop.signal);
    c.enqueue({ namespace: "ns", name: "flaky" });
    c.enqueue({ namespace: "ns", name: "bad" });
    await until("flaky to succeed", () => calls.flaky === 3);
    await sleep(100);
    assert.equal(calls.bad, 1, "a terminal error is not retried");
    assert.equal(calls.flaky, 3);
    stop.abort();
    await run;
    assert.equal(await value(registry, "controller_runtime_reconcile_total", { controller: "test", result: "error" }), 3);
    assert.equal(await value(registry, "controller_runtime_reconcile_total", { controller: "test", result: "success" }), 1);
    assert.equal(await value(registry, "controller_runtime_terminal_reconcile_errors_total", { controller: "test" }), 1);
    assert.equal(await value(registry, "workqueue_retries_total", { name: "test" }), 2);
  });

  it("requeueAfter reconciles again later; requeue uses the backoff", async () => {
    const times: number[] = [];
    const { c, registry } = make(async () => {
      times.push(Date.now());
      return times.length === 1 ? { requeueAfter: 50 } : times.length === 2 ? { requeue: true } : {};
    });
    const stop = new AbortController();
    const run = c.start(stop.signal);
    c.enqueue({ namespace: "", name: "x" });
    await until("three reconciles", () => times.length === 3);
    stop.abort();
    await run;
    assert.ok(times[1]! - times[0]! >= 45, "requeueAfter waited");
    assert.equal(await value(registry, "controller_runtime_reconcile_total", { controller: "test", result: "requeue_after" }), 1);
    assert.equal(await value(registry, "controller_runtime_reconcile_total", { controller: "test", result: "requeue" }), 1);
  });

  it("never reconciles one object twice at once, while reconciling different objects in parallel", async () => {
    let running = 0;
    let maxRunning = 0;
    const perKey = new Map<string, number>();
    let overlap = false;
    let total = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { c } = make(
      async (req) => {
        const n = (perKey.get(req.name) ?? 0) + 1;
        perKey.set(req.name, n);
        if (n > 1) overlap = true;
        running++;
        maxRunning = Math.max(maxRunning, running);
        // Held until every add is made, so the adds land while the objects are in flight on any machine load.
        await gate;
        await sleep(10);
        running--;
        perKey.set(req.name, n - 1);
        total++;
      },
      { maxConcurrentReconciles: 4 },
    );
    const stop = new AbortController();
    const run = c.start(stop.signal);
    for (let round = 0; round < 5; round++) {
      for (const k of ["a", "b", "c", "d"]) c.enqueue({ namespace: "", name: k });
      await sleep(3);
    }
    open();
    await until("queue idle", () => c.queue.len() === 0 && c.queue.inFlight() === 0);
    stop.abort();
    await run;
    assert.equal(overlap, false);
    assert.ok(maxRunning > 1, `different objects ran in parallel (max ${maxRunning})`);
    assert.ok(total < 20, `adds while queued or in flight were merged (${total} reconciles for 20 adds)`);
  });

  it("aborts the reconcile's signal at its timeout and counts it as an error", async () => {
    let aborted = false;
    let calls = 0;
    const { c, registry } = make(
      async (_req, ctx) => {
        calls++;
        if (calls > 1) return {};
        await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
        aborted = true;
        return {};
      },
      { reconcileTimeoutMs: 30 },
    );
    const stop = new AbortController();
    const run = c.start(stop.signal);
    c.enqueue({ namespace: "", name: "slow" });
    await until("retry after timeout", () => calls === 2);
    stop.abort();
    await run;
    assert.equal(aborted, true);
    assert.equal(await value(registry, "controller_runtime_reconcile_errors_total", { controller: "test" }), 1);
  });

  it("at shutdown lets in-flight reconciles finish and starts no new ones", async () => {
    const finished: string[] = [];
    let started = 0;
    const { c } = make(async (req) => {
      started++;
      await sleep(100);
      finished.push(req.name);
    });
    const stop = new AbortController();
    const run = c.start(stop.signal);
    c.enqueue({ namespace: "", name: "a" });
    await until("a started", () => started === 1);
    c.enqueue({ namespace: "", name: "b" });
    stop.abort();
    await run;
    assert.deepEqual(finished, ["a"]);
    assert.equal(started, 1);
  });

  it("watch() returns what undoes it: the source is gone and its events no longer reach the queue", async () => {
    const { inf, whileRunning } = await configMapServer(["a"]);
    const seen: string[] = [];
    const { c } = make(async (req) => {
      seen.push(req.name);
      return {};
    });
    const baseline = c.sourceCount;
    const undoOne = c.watch(inf, () => [{ namespace: "ns", name: "one" }]);
    c.watch(inf, () => [{ namespace: "ns", name: "two" }]);
    assert.equal(c.sourceCount, baseline + 2);
    undoOne();
    undoOne();
    assert.equal(c.sourceCount, baseline + 1, "undone once, however often called");
    await whileRunning(c, async () => {
      await until("the remaining watch's event reconciled", () => seen.includes("two"));
      await sleep(100);
      assert.deepEqual(seen, ["two"], "the undone watch enqueued nothing");
    });
    assert.equal(c.sourceCount, 0, "a stopped controller holds no source");
  });

  it("watch() enqueues each event's requests with the priority its priority function gives: higher ones first", async () => {
    const { inf, whileRunning } = await configMapServer(["a", "b", "c"]);
    const seen: string[] = [];
    const { c } = make(async (req) => {
      seen.push(req.name);
      return {};
    });
    // The initial list's events are queued before the (single) worker starts: c, given high priority, goes first.
    c.watch(inf, (o) => [{ namespace: "ns", name: o.metadata!.name! }], [], (type, o) => (type === "create" && o.metadata?.name === "c" ? Priority.high : Priority.low));
    await whileRunning(c, async () => {
      await until("all three reconciled", () => seen.length === 3);
      assert.deepEqual(seen, ["c", "a", "b"]);
    });
  });

  it("rejects an invalid worker count with a message saying what to fix", () => {
    assert.throws(() => make(async () => ({}), { maxConcurrentReconciles: 0 }), /maxConcurrentReconciles must be a positive integer/);
  });
});
