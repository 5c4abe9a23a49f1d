// The fuzzing loop of one target, in a worker thread (so a hang can be stopped and memory is capped by the thread's
// resourceLimits). Before each run the input is copied into shared memory and a counter bumped: the parent reads
// both to name the input that hung or ran out of memory. Inputs that end in a new way (a new result kind or error
// message) join the corpus, a cheap stand-in for coverage feedback.
//
// Modes (workerData.mode):
//   fuzz    mutate and run until the deadline, posting { kind: "finding" | "slow" | "stats" } messages;
//   replay  run one case and post { kind: "result", outcome } (the regression tests use it with a deadline).
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { Rng } from "../support/fault-rng.js";
import { mutate } from "./mutate.js";
import { TARGETS, type Target } from "./targets.js";

export interface FuzzWorkerData {
  mode: "fuzz" | "replay";
  target: string;
  /** fuzz: run until this time (ms since epoch). */
  deadline?: number;
  rngSeed?: number;
  /** Shared: [0] runs started, [1] current input length, [2] current seed index; then the input bytes. */
  shared?: SharedArrayBuffer;
  maxLen?: number;
  slowMs?: number;
  /** replay */
  seed?: string;
  input?: string;
}

export type Outcome = { kind: "ok" } | { kind: "expected"; message: string } | { kind: "unexpected"; name: string; message: string; stack: string };

export const HEADER_INTS = 3;

const d = workerData as FuzzWorkerData;

function describe(err: unknown): { name: string; message: string; stack: string } {
  if (err instanceof Error) return { name: err.name || err.constructor.name, message: err.message, stack: err.stack ?? "" };
  return { name: typeof err, message: String(err), stack: "" };
}

async function runOne(t: Target, seed: string, data: Buffer): Promise<Outcome> {
  try {
    await t.run(seed, data);
    return { kind: "ok" };
  } catch (err) {
    if (t.expected(err)) return { kind: "expected", message: (err as Error).message };
    return { kind: "unexpected", ...describe(err) };
  }
}

/** What makes an outcome "new": its kind and the shape of its message (digits and quoted parts blurred). */
function shape(o: Outcome): string {
  if (o.kind === "ok") return "ok";
  return `${o.kind}:${o.message.replace(/"[^"]*"|'[^']*'|\d+/g, "#").slice(0, 80)}`;
}

async function fuzz(): Promise<void> {
  const t = TARGETS[d.target]!();
  const seeds = t.seeds();
  const r = new Rng(d.rngSeed ?? 1);
  const shared = d.shared!;
  const head = new Int32Array(shared, 0, HEADER_INTS);
  const body = new Uint8Array(shared, HEADER_INTS * 4);
  const maxLen = Math.min(d.maxLen ?? t.maxLen ?? 16 * 1024, body.length);
  parentPort!.postMessage({ kind: "seeds", ids: seeds.map((s) => s.id) });
  const corpus: { seed: number; data: Buffer }[] = seeds.map((s, i) => ({ seed: i, data: s.data }));
  const seen = new Set<string>();
  const reported = new Set<string>();
  let runs = 0;
  let lastStats = Date.now();
  // The seeds themselves first (unmutated), then mutations.
  let next = 0;
  while (Date.now() < d.deadline!) {
    const fromSeed = next < seeds.length;
    const base = fromSeed ? corpus[next++]! : r.bool(0.3) ? corpus[r.int(0, seeds.length - 1)]! : r.pick(corpus);
    const data = fromSeed ? base.data.subarray(0, maxLen) : mutate(base.data, r, corpus.map((c) => c.data), t.dictionary, maxLen);
    body.set(data.subarray(0, maxLen));
    Atomics.store(head, 1, Math.min(data.length, maxLen));
    Atomics.store(head, 2, base.seed);
    Atomics.add(head, 0, 1);
    const started = Date.now();
    const o = await runOne(t, seeds[base.seed]!.id, data);
    const took = Date.now() - started;
    runs++;
    const s = shape(o);
    if (!seen.has(s)) {
      seen.add(s);
      if (corpus.length < 4000) corpus.push({ seed: base.seed, data });
    }
    if (o.kind === "unexpected") {
      const sig = `${o.name}:${o.message.replace(/\d+/g, "#").slice(0, 120)}`;
      if (!reported.has(sig)) {
        reported.add(sig);
        parentPort!.postMessage({ kind: "finding", seed: seeds[base.seed]!.id, input: data.toString("base64"), outcome: o });
      }
    } else if (took > (d.slowMs ?? 2_000)) {
      parentPort!.postMessage({ kind: "slow", seed: seeds[base.seed]!.id, input: data.toString("base64"), ms: took });
    }
    if (Date.now() - lastStats > 1_000) {
      lastStats = Date.now();
      parentPort!.postMessage({ kind: "stats", runs, corpus: corpus.length });
    }
  }
  parentPort!.postMessage({ kind: "stats", runs, corpus: corpus.length });
  await t.close?.();
  parentPort!.postMessage({ kind: "done" });
}

async function replay(): Promise<void> {
  const t = TARGETS[d.target]!();
  const outcome = await runOne(t, d.seed!, Buffer.from(d.input!, "base64"));
  await t.close?.();
  parentPort!.postMessage({ kind: "result", outcome });
}

// Imported by the parent for its types and HEADER_INTS: it runs only in a worker thread.
if (!isMainThread) await (d.mode === "fuzz" ? fuzz() : replay());
