// The runtime's Prometheus metrics (src/runtime/metrics.ts): controller-runtime's and client-go's names, one set per
// registry, a queue's hooks feeding its series, and the in-progress gauges read from the tracked queues at scrape.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { runtimeMetrics } from "../../../src/runtime/metrics.js";
import type { WorkQueue } from "../../../src/runtime/workqueue.js";

const queueWithAges = (total: number, longest: number) => ({ processingAges: () => ({ total, longest }) }) as unknown as WorkQueue;
const value = async (r: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> => {
  const m = (await r.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
};

void describe("runtime metrics", () => {
  void it("register controller-runtime's and client-go's names once per registry", async () => {
    const r = new Registry();
    const m = runtimeMetrics(r);
    assert.equal(runtimeMetrics(r), m, "the same set for the same registry");
    assert.notEqual(runtimeMetrics(new Registry()), m);
    const names = (await r.getMetricsAsJSON()).map((x) => x.name);
    assert.deepEqual(names, [
      "workqueue_depth",
      "workqueue_adds_total",
      "workqueue_retries_total",
      "workqueue_queue_duration_seconds",
      "workqueue_work_duration_seconds",
      "workqueue_unfinished_work_seconds",
      "workqueue_longest_running_processor_seconds",
      "controller_runtime_reconcile_total",
      "controller_runtime_reconcile_errors_total",
      "controller_runtime_terminal_reconcile_errors_total",
      "controller_runtime_reconcile_time_seconds",
      "controller_runtime_active_workers",
      "controller_runtime_max_concurrent_reconciles",
      "rest_client_requests_total",
      "leader_election_master_status",
    ]);
  });

  void it("feed a queue's series through its hooks, under its name", async () => {
    const r = new Registry();
    const hooks = runtimeMetrics(r).forQueue("apps", () => undefined);
    hooks.add();
    hooks.add();
    hooks.retry();
    hooks.depth(7);
    hooks.queueDuration(0.5);
    hooks.workDuration(2);
    assert.equal(await value(r, "workqueue_adds_total", { name: "apps" }), 2);
    assert.equal(await value(r, "workqueue_retries_total", { name: "apps" }), 1);
    assert.equal(await value(r, "workqueue_depth", { name: "apps" }), 7);
    const text = await r.metrics();
    assert.match(text, /^workqueue_queue_duration_seconds_bucket\{le="1",name="apps"\} 1$/m);
    assert.match(text, /^workqueue_work_duration_seconds_bucket\{le="1",name="apps"\} 0$/m);
    assert.match(text, /^workqueue_work_duration_seconds_sum\{name="apps"\} 2$/m);
  });

  void it("read the in-progress gauges from the tracked queues at each scrape, and stop after untrack", async () => {
    const r = new Registry();
    const m = runtimeMetrics(r);
    let q: WorkQueue | undefined = queueWithAges(3.5, 2);
    m.forQueue("apps", () => q);
    m.forQueue("gone", () => undefined);
    assert.equal(await value(r, "workqueue_unfinished_work_seconds", { name: "apps" }), 3.5);
    assert.equal(await value(r, "workqueue_longest_running_processor_seconds", { name: "apps" }), 2);
    assert.equal(await value(r, "workqueue_unfinished_work_seconds", { name: "gone" }), 0, "a queue not there reads 0");
    q = queueWithAges(10, 9);
    assert.equal(await value(r, "workqueue_longest_running_processor_seconds", { name: "apps" }), 9);
    m.untrackQueue("apps");
    q = queueWithAges(99, 99);
    assert.notEqual(await value(r, "workqueue_unfinished_work_seconds", { name: "apps" }), 99, "an untracked queue is not read");
  });
});
