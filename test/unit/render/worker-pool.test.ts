// The render worker pool (src/render/worker-pool.ts) on real worker threads: tiny echo workers instead of the
// renderer (the pool never looks inside its workers), so that what is tested is the pool's own bookkeeping —
// reuse by slot, a bound on the workers alive with waiters served in order, retirement and replacement, shutdown.
import assert from "node:assert/strict";
import { once } from "node:events";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { RenderWorkerPool, type PooledWorker } from "../../../src/render/worker-pool.js";

/** Answers each message with itself; "exit" makes it exit on its own (a worker that died while idle). */
const ECHO = `const { parentPort } = require("node:worker_threads");
parentPort.on("message", (m) => (m === "exit" ? process.exit(3) : parentPort.postMessage(m)));`;

const started: { heapMb: number; worker: Worker }[] = [];
let failNextStart = false;

function newPool(max: number): RenderWorkerPool {
  return new RenderWorkerPool((heapMb) => {
    if (failNextStart) {
      failNextStart = false;
      throw new Error("cannot start a worker");
    }
    const worker = new Worker(ECHO, { eval: true });
    started.push({ heapMb, worker });
    return worker;
  }, max);
}

/** A round trip through the worker: it is alive and answering. */
async function ask(w: PooledWorker, msg: string): Promise<string> {
  w.worker.postMessage(msg);
  const [reply] = (await once(w.worker, "message")) as [string];
  return reply;
}

/** Whether `p` has settled after the pending callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

const exited = (w: PooledWorker): Promise<unknown[]> => once(w.worker, "exit");

void describe("RenderWorkerPool", () => {
  // The pool unrefs idle workers (an idle worker must not keep the process alive): the test keeps the event loop
  // open itself while it waits for one to exit.
  let keepAlive: NodeJS.Timeout | undefined;
  beforeEach(() => {
    keepAlive = setInterval(() => {}, 1_000);
  });
  afterEach(async () => {
    clearInterval(keepAlive);
    // Busy workers a test left are its own to end; terminating an exited worker is harmless.
    await Promise.all(started.splice(0).map((s) => s.worker.terminate()));
  });

  void it("reuses an idle worker only for the same reuse key and heap size", async () => {
    const pool = newPool(8);
    const w1 = await pool.acquire("team-a", 64);
    assert.equal(await ask(w1, "one"), "one");
    pool.release(w1, true);
    assert.equal(pool.idleCount, 1);
    const again = await pool.acquire("team-a", 64);
    assert.equal(again, w1, "the idle worker of team-a served team-a's next render");
    assert.equal(again.renders, 1);
    assert.equal(await ask(again, "two"), "two");
    const otherHeap = await pool.acquire("team-a", 128);
    const otherKey = await pool.acquire("team-b", 64);
    assert.notEqual(otherHeap.worker, w1.worker);
    assert.notEqual(otherKey.worker, w1.worker);
    assert.deepEqual(started.map((s) => s.heapMb), [64, 128, 64], "each new worker started with its render's heap");
    assert.deepEqual(pool.stats, { started: 3, reused: 1, waited: 0 });
    assert.equal(pool.liveCount, 3);
    await pool.close();
  });

  void it("never reuses a worker without a reuse key, or one released as not reusable (timed out, out of memory, failed)", async () => {
    const pool = newPool(4);
    const fresh = await pool.acquire(undefined, 64);
    const gone = exited(fresh);
    pool.release(fresh, true);
    await gone;
    assert.equal(pool.idleCount, 0);
    assert.equal(pool.liveCount, 0);
    const bad = await pool.acquire("team-a", 64);
    const badGone = exited(bad);
    pool.release(bad, false);
    await badGone;
    const next = await pool.acquire("team-a", 64);
    assert.notEqual(next.worker, bad.worker, "a new worker replaces the one given up");
    assert.equal(await ask(next, "ok"), "ok");
    assert.deepEqual(pool.stats, { started: 3, reused: 0, waited: 0 });
    pool.release(next, false);
  });

  void it("drops an idle worker that exits on its own; the next render starts a new one", async () => {
    const pool = newPool(1);
    const w = await pool.acquire("team-a", 64);
    pool.release(w, true);
    const gone = exited(w);
    w.worker.postMessage("exit");
    await gone;
    assert.equal(pool.idleCount, 0);
    assert.equal(pool.liveCount, 0, "its place is free again");
    const next = await pool.acquire("team-a", 64);
    assert.notEqual(next.worker, w.worker);
    assert.equal(await ask(next, "hi"), "hi");
    assert.equal(pool.stats.reused, 0);
    pool.release(next, false);
  });

  void it("retires a worker after 100 renders", async () => {
    const pool = newPool(1);
    let w = await pool.acquire("team-a", 64);
    const first = w.worker;
    const gone = once(first, "exit");
    for (let i = 1; i < 100; i++) {
      pool.release(w, true);
      w = await pool.acquire("team-a", 64);
      assert.equal(w.worker, first);
    }
    pool.release(w, true);
    await gone;
    assert.equal(pool.idleCount, 0);
    assert.equal(pool.liveCount, 0);
    assert.deepEqual(pool.stats, { started: 1, reused: 99, waited: 0 });
  });

  void it("keeps at most maxWorkers alive: renders wait, in the order they came, and an idle worker of another key makes room", async () => {
    const pool = newPool(1);
    const w1 = await pool.acquire("team-a", 64);
    const order: string[] = [];
    const p2 = pool.acquire("team-a", 64).then((w) => (order.push("second"), w));
    const p3 = pool.acquire("team-b", 64).then((w) => (order.push("third"), w));
    assert.equal(await settled(p2), false, "all busy: the render waits");
    assert.equal(pool.stats.waited, 2);
    pool.release(w1, true);
    const w2 = await p2;
    assert.equal(w2, w1, "the first waiter got the worker back, warm");
    assert.equal(await settled(p3), false, "the second still waits: the only worker is busy");
    const w1Gone = exited(w1);
    pool.release(w2, true);
    const w3 = await p3;
    await w1Gone;
    assert.notEqual(w3.worker, w1.worker, "team-a's idle worker was retired to start team-b's");
    assert.deepEqual(order, ["second", "third"]);
    assert.equal(pool.liveCount, 1);
    assert.equal(pool.idleCount, 0);
    pool.release(w3, false);
  });

  void it("retires the longest-idle worker of another key, not a newer one", async () => {
    const pool = newPool(2);
    const a = await pool.acquire("a", 64);
    const b = await pool.acquire("b", 64);
    pool.release(a, true);
    await new Promise((r) => setTimeout(r, 5)); // distinct idle times
    pool.release(b, true);
    const aGone = exited(a);
    const c = await pool.acquire("c", 64);
    await aGone;
    assert.equal(pool.liveCount, 2);
    assert.equal(await pool.acquire("b", 64), b, "b, idle for less time, was kept");
    assert.equal(await ask(b, "still here"), "still here");
    pool.release(b, false);
    pool.release(c, false);
  });

  void it("takes a new bound at once: raising it starts a waiting render; a bound below 1 or not an integer is refused", async () => {
    const pool = newPool(1);
    const w1 = await pool.acquire("a", 64);
    const p2 = pool.acquire("a", 64);
    assert.equal(await settled(p2), false);
    pool.setMaxWorkers(2);
    const w2 = await p2;
    assert.notEqual(w2.worker, w1.worker);
    assert.equal(pool.max, 2);
    assert.equal(pool.liveCount, 2);
    for (const n of [0, -1, 1.5, Number.NaN]) assert.throws(() => pool.setMaxWorkers(n), /render workers must be a positive integer/);
    assert.equal(pool.max, 2, "a refused bound leaves the old one");
    pool.release(w1, false);
    pool.release(w2, false);
  });

  void it("a worker that cannot start takes no place", async () => {
    const pool = newPool(1);
    failNextStart = true;
    await assert.rejects(pool.acquire("a", 64), /cannot start a worker/);
    assert.equal(pool.liveCount, 0);
    const w = await pool.acquire("a", 64);
    assert.equal(await ask(w, "up"), "up");
    pool.release(w, false);
  });

  void it("close terminates the idle workers, not busy ones", async () => {
    const pool = newPool(2);
    const idle = await pool.acquire("a", 64);
    const busy = await pool.acquire("b", 64);
    pool.release(idle, true);
    const idleGone = exited(idle);
    await pool.close();
    await idleGone;
    assert.equal(pool.idleCount, 0);
    assert.equal(pool.liveCount, 1);
    assert.equal(await ask(busy, "busy"), "busy", "the busy worker lives on");
    const next = await pool.acquire("a", 64);
    assert.notEqual(next.worker, idle.worker, "a's next render starts a new worker");
    pool.release(busy, false);
    pool.release(next, false);
    assert.equal(pool.liveCount, 0);
  });
});
