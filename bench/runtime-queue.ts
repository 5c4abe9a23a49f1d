// Benchmark: work queue operations per second and the cost of a no-op reconcile (queue + worker loop + metrics).
// No cluster needed. Prints figures; asserts nothing.
import { Writable } from "node:stream";
import { Registry } from "prom-client";
import { createLogger } from "../src/log.js";
import { Controller, ExponentialFailureRateLimiter, WorkQueue, runtimeMetrics } from "../src/runtime/index.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

async function queueOps(n: number): Promise<void> {
  const q: WorkQueue = new WorkQueue({ metrics: runtimeMetrics(new Registry()).forQueue("bench", (): WorkQueue => q) });
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) q.add(`ns/obj-${i}`);
  for (let i = 0; i < n; i++) q.add(`ns/obj-${i}`); // duplicates: dedup path
  for (let i = 0; i < n; i++) {
    const { key } = await q.get();
    q.done(key);
  }
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const ops = 4 * n; // add, duplicate add, get, done
  console.log(`workqueue: ${n} keys, ${ops} operations (add, dedup add, get, done) in ${s.toFixed(3)} s = ${Math.round(ops / s).toLocaleString("en")} ops/s`);
}

async function noopReconcile(n: number, workers: number): Promise<void> {
  let done = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  const c = new Controller(
    { name: `bench-${workers}`, maxConcurrentReconciles: workers, metrics: runtimeMetrics(new Registry()), logger: quiet, rateLimiter: new ExponentialFailureRateLimiter() },
    async () => {
      if (++done === n) resolveAll();
    },
  );
  const stop = new AbortController();
  const run = c.start(stop.signal);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) c.enqueue({ namespace: "ns", name: `obj-${i}` });
  await all;
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  stop.abort();
  await run;
  console.log(`no-op reconcile (${workers} worker${workers > 1 ? "s" : ""}): ${n} reconciles in ${s.toFixed(3)} s = ${((s / n) * 1e6).toFixed(1)} µs each (${Math.round(n / s).toLocaleString("en")}/s, including queue, metrics and logging)`);
}

await queueOps(200_000);
await noopReconcile(100_000, 1);
await noopReconcile(100_000, 4);
