// The fuzzer (issue 17, part 7): `make fuzz` runs every target of test/fuzz/targets.ts for a share of a time budget,
// each in a worker thread with a memory cap, watched for hangs; a longer run is the same command with a bigger
// budget (docs/reliability.md). Every finding — an exception other than the parser's own error type, an input that
// runs longer than --hang-ms (a hang) or takes more than the thread's memory — is written as a case file (JSON:
// target, seed context, base64 input, outcome) under --out and printed. Findings that match test/fuzz/known.json
// (bugs already recorded, each with its regression test in test/fuzz/regressions/ run by make unit) are reported
// but do not fail the run; a new one exits 1.
//
//   node --import tsx test/fuzz/run.ts [--seconds 60] [--targets yaml,webhook] [--seed N] [--out DIR] [--hang-ms 10000]
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { TARGETS, type Case } from "./targets.js";
import { HEADER_INTS, type FuzzWorkerData, type Outcome } from "./worker.js";

const WORKER = new URL("./worker.ts", import.meta.url).href;

/** A worker thread running test/fuzz/worker.ts under tsx (worker threads do not inherit tsx's loader). */
export function startWorker(data: FuzzWorkerData, maxHeapMb = 512): Worker {
  const bootstrap = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(WORKER)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data, resourceLimits: { maxOldGenerationSizeMb: maxHeapMb, maxYoungGenerationSizeMb: 64 }, stdout: true, stderr: true });
}

export interface Known {
  target: string;
  /** Matched against "<error name>: <message>" or "hang"/"memory". */
  match: string;
  /** The bug, as the todo regression test names it. */
  todo: string;
}

const KNOWN_FILE = new URL("./known.json", import.meta.url);

export function knownFindings(): Known[] {
  return JSON.parse(readFileSync(KNOWN_FILE, "utf8")) as Known[];
}

export function isKnown(known: readonly Known[], target: string, outcome: string): Known | undefined {
  return known.find((k) => k.target === target && new RegExp(k.match).test(outcome));
}

/**
 * Replays one case in a worker with a deadline and a memory cap (the regression tests use it): the outcome, or
 * "hang" when it did not finish in time, or "memory" when it ran out of the thread's heap.
 */
export function replayCase(c: Case, timeoutMs = 10_000, maxHeapMb = 256): Promise<Outcome | { kind: "hang" } | { kind: "memory"; message: string }> {
  return new Promise((resolve) => {
    const w = startWorker({ mode: "replay", target: c.target, seed: c.seed, input: c.input }, maxHeapMb);
    const timer = setTimeout(() => {
      void w.terminate();
      resolve({ kind: "hang" });
    }, timeoutMs);
    w.on("message", (m: { kind: string; outcome: Outcome }) => {
      if (m.kind !== "result") return;
      clearTimeout(timer);
      void w.terminate();
      resolve(m.outcome);
    });
    w.on("error", (err) => {
      clearTimeout(timer);
      resolve({ kind: "memory", message: (err as Error).message });
    });
  });
}

interface Finding extends Case {
  file: string;
  known?: Known;
}

async function fuzzTarget(name: string, seconds: number, rngSeed: number, o: { out: string; hangMs: number; known: Known[] }): Promise<{ runs: number; corpus: number; findings: Finding[]; slow: { ms: number; file: string }[] }> {
  const findings: Finding[] = [];
  const slow: { ms: number; file: string }[] = [];
  let runs = 0;
  let corpus = 0;
  const deadline = Date.now() + seconds * 1000;
  const save = (seed: string, input: string, outcome: string): string => {
    const c: Case = { target: name, seed, input, outcome };
    const file = path.join(o.out, `${name}-${createHash("sha256").update(seed).update(input).digest("hex").slice(0, 12)}.json`);
    writeFileSync(file, JSON.stringify(c, null, 1) + "\n");
    return file;
  };
  let restarts = 0;
  // A worker runs until the deadline; after a hang or an out-of-memory it is replaced for the time left.
  while (Date.now() < deadline - 500) {
    const shared = new SharedArrayBuffer(HEADER_INTS * 4 + 64 * 1024);
    const head = new Int32Array(shared, 0, HEADER_INTS);
    const body = new Uint8Array(shared, HEADER_INTS * 4);
    let seedIds: string[] = [];
    let baseRuns = runs;
    const current = () => ({ seed: seedIds[Atomics.load(head, 2)] ?? "?", input: Buffer.from(body.subarray(0, Atomics.load(head, 1))).toString("base64") });
    const w = startWorker({ mode: "fuzz", target: name, deadline, rngSeed: rngSeed + restarts, shared, slowMs: Math.min(5_000, o.hangMs / 2) });
    restarts++;
    await new Promise<void>((resolve) => {
      let lastCount = -1;
      let lastChange = Date.now();
      const watchdog = setInterval(() => {
        const n = Atomics.load(head, 0);
        if (n !== lastCount) {
          lastCount = n;
          lastChange = Date.now();
          return;
        }
        if (Date.now() - lastChange > o.hangMs && seedIds.length) {
          clearInterval(watchdog);
          const c = current();
          const file = save(c.seed, c.input, "hang");
          findings.push({ target: name, ...c, outcome: "hang", file, known: isKnown(o.known, name, "hang") });
          void w.terminate().then(() => resolve());
        }
      }, 250);
      w.on("message", (m: { kind: string; ids?: string[]; runs?: number; corpus?: number; seed?: string; input?: string; outcome?: Outcome; ms?: number }) => {
        if (m.kind === "seeds") seedIds = m.ids!;
        else if (m.kind === "stats") {
          runs = baseRuns + m.runs!;
          corpus = m.corpus!;
        } else if (m.kind === "finding") {
          const out = m.outcome as Extract<Outcome, { kind: "unexpected" }>;
          const text = `${out.name}: ${out.message}`;
          const file = save(m.seed!, m.input!, `${text}\n${out.stack}`);
          findings.push({ target: name, seed: m.seed!, input: m.input!, outcome: text, file, known: isKnown(o.known, name, text) });
        } else if (m.kind === "slow") slow.push({ ms: m.ms!, file: save(m.seed!, m.input!, `slow: ${m.ms} ms`) });
        else if (m.kind === "done") {
          clearInterval(watchdog);
          void w.terminate().then(() => resolve());
        }
      });
      w.on("error", (err) => {
        clearInterval(watchdog);
        const c = current();
        const outcome = /memory/i.test((err as Error).message) ? "memory" : `worker error: ${(err as Error).message}`;
        const file = save(c.seed, c.input, `${outcome}\n${(err as Error).stack ?? ""}`);
        findings.push({ target: name, ...c, outcome, file, known: isKnown(o.known, name, outcome) });
        resolve();
      });
      w.on("exit", () => {
        clearInterval(watchdog);
        resolve();
      });
    });
    baseRuns = runs;
  }
  return { runs, corpus, findings, slow };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: process.env.MOORING_FUZZ_SECONDS ?? "60" },
      targets: { type: "string", default: Object.keys(TARGETS).join(",") },
      seed: { type: "string" },
      out: { type: "string", default: path.join(os.tmpdir(), "mooring-fuzz-findings") },
      "hang-ms": { type: "string", default: "10000" },
    },
  });
  const targets = values.targets!.split(",").filter(Boolean);
  for (const t of targets) if (!TARGETS[t]) throw new Error(`unknown target ${t}; targets: ${Object.keys(TARGETS).join(", ")}`);
  const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  const total = Number(values.seconds);
  mkdirSync(values.out!, { recursive: true });
  const known = knownFindings();
  console.log(`fuzz: ${total} s over ${targets.join(", ")}; seed ${seed} (repeat with --seed ${seed}); findings in ${values.out}`);
  let fresh = 0;
  const started = Date.now();
  for (const [i, name] of targets.entries()) {
    // The time left, shared among the targets left.
    const seconds = Math.max(1, (total - (Date.now() - started) / 1000) / (targets.length - i));
    const res = await fuzzTarget(name, seconds, seed + i * 7919, { out: values.out!, hangMs: Number(values["hang-ms"]), known });
    console.log(`fuzz: ${name.padEnd(12)} ${String(res.runs).padStart(7)} runs in ${seconds.toFixed(0)} s (${Math.round(res.runs / seconds)}/s), corpus ${res.corpus}, ${res.findings.length} finding(s)${res.slow.length ? `, ${res.slow.length} slow input(s) (max ${Math.max(...res.slow.map((s) => s.ms))} ms)` : ""}`);
    for (const f of res.findings) {
      console.log(`  ${f.known ? "known" : "NEW  "} ${f.outcome?.split("\n")[0]?.slice(0, 200)}\n        ${f.file}${f.known ? `\n        (${f.known.todo})` : ""}`);
      if (!f.known) fresh++;
    }
    for (const s of res.slow.slice(0, 3)) console.log(`  slow  ${s.ms} ms: ${s.file}`);
  }
  if (fresh) {
    console.log(`fuzz: ${fresh} new finding(s): add each as a regression case in test/fuzz/regressions/ (and to test/fuzz/known.json with a todo while the fix is pending)`);
    process.exitCode = 1;
  } else console.log("fuzz: no new finding");
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
