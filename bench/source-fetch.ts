// Source fetch benchmark, against the loopback git server (git http-backend), side by side with the git CLI:
//   - cold shallow fetch of a ~5,000-file / ~50 MB repository: isomorphic-git (our transport) vs `git clone --depth 1`
//   - the full sync (fetch + deterministic tar.gz + atomic store) for reference
//   - the cost of a no-op poll (requests, bytes, pack bytes)
//   - peak memory (RSS and heap+arrayBuffers above the baseline) during our fetch
// Scale with BENCH_FILES and BENCH_FILE_KB; BENCH_RUNS repeats (median reported).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ArtifactStorage } from "../src/artifact/storage.js";
import { fetchCommit, listRemoteRefs } from "../src/source/git.js";
import { resolveRef } from "../src/source/refs.js";
import { SourceSyncer } from "../src/source/sync.js";
import { GitServer, git } from "../test/support/git-server.js";

const run = promisify(execFile);
const FILES = Number(process.env.BENCH_FILES ?? 5000);
const FILE_KB = Number(process.env.BENCH_FILE_KB ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TIMEOUT = 600_000;

const mb = (n: number) => (n / 1024 / 1024).toFixed(1) + " MB";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const v = await fn();
  return [performance.now() - t, v];
}

/** Samples memory every 20 ms while `fn` runs; returns the peaks above the values at the start. */
async function peakMemory<T>(fn: () => Promise<T>): Promise<{ value: T; rss: number; heapAndBuffers: number }> {
  global.gc?.();
  const base = process.memoryUsage();
  const baseHeap = base.heapUsed + base.arrayBuffers;
  let rss = 0;
  let heap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss - base.rss);
    heap = Math.max(heap, m.heapUsed + m.arrayBuffers - baseHeap);
  };
  const timer = setInterval(sample, 20);
  try {
    const value = await fn();
    sample();
    return { value, rss, heapAndBuffers: heap };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const server = await GitServer.start();
  const work = await mkdtemp(path.join(os.tmpdir(), "mooring-bench-"));
  try {
    console.log(`creating a repository of ${FILES} files x ${FILE_KB} KB (random, incompressible)...`);
    const repo = await server.createRepo("big");
    for (let i = 0; i < FILES; i++) {
      const dir = path.join(repo.workDir, `dir${String(i % 50).padStart(2, "0")}`);
      if (i < 50) await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, `file${i}.bin`), randomBytes(FILE_KB * 1024));
    }
    await repo.git(["add", "-A"]);
    await repo.git(["commit", "-q", "-m", "big"]);
    await repo.push();
    await git(repo.bareDir, ["gc", "-q"]);

    const storage = new ArtifactStorage({ root: path.join(work, "storage") });
    await storage.init();
    const cliTimes: number[] = [];
    const fetchTimes: number[] = [];
    const syncTimes: number[] = [];
    const classicTimes: number[] = [];
    let syncMem = { rss: 0, heapAndBuffers: 0 };
    let classicMem = { rss: 0, heapAndBuffers: 0 };
    let packBytes = 0;
    let mem = { rss: 0, heapAndBuffers: 0 };
    for (let r = 0; r < RUNS; r++) {
      const dest = path.join(work, `cli-${r}`);
      const [cli] = await time(() => run("git", ["clone", "-q", "--depth", "1", "--single-branch", repo.url, dest], { maxBuffer: 1 << 20, timeout: TIMEOUT }));
      cliTimes.push(cli);
      await rm(dest, { recursive: true, force: true });

      server.resetStats();
      const [f, m] = await time(() =>
        peakMemory(async () => {
          const opts = { timeoutMs: TIMEOUT, tmpDir: work };
          const remote = await listRemoteRefs(repo.url, opts);
          const fetched = await fetchCommit(repo.url, resolveRef(undefined, remote, repo.url), remote, opts);
          await fetched.dispose();
        }),
      );
      fetchTimes.push(f);
      packBytes = server.stats.packBytes;
      if (m.rss > mem.rss) mem = m;

      // isomorphic-git's own fetch (what servers without side-band get), for comparison.
      const [fc, mc] = await time(() =>
        peakMemory(async () => {
          const opts = { timeoutMs: TIMEOUT, tmpDir: work };
          const remote = await listRemoteRefs(repo.url, opts);
          const fetched = await fetchCommit(repo.url, resolveRef(undefined, remote, repo.url), { ...remote, capabilities: [] }, opts);
          await fetched.dispose();
        }),
      );
      classicTimes.push(fc);
      if (mc.rss > classicMem.rss) classicMem = mc;

      const syncer = new SourceSyncer({ storage, tmpDir: work });
      const [s, ms] = await time(() =>
        peakMemory(() => syncer.sync({ key: { kind: "GitRepository", namespace: "bench", name: `r${r}` }, spec: { url: repo.url, timeoutMs: TIMEOUT } })),
      );
      syncTimes.push(s);
      if (ms.rss > syncMem.rss) syncMem = ms;
    }

    const syncer = new SourceSyncer({ storage, tmpDir: work });
    const key = { kind: "GitRepository", namespace: "bench", name: "noop" };
    const first = await syncer.sync({ key, spec: { url: repo.url, timeoutMs: TIMEOUT } });
    server.resetStats();
    const [noopMs, noop] = await time(() =>
      syncer.sync({ key, spec: { url: repo.url, timeoutMs: TIMEOUT }, current: { path: first.artifact.path, revision: first.artifact.revision, digest: first.artifact.digest } }),
    );
    const noopStats = { ...server.stats };

    const cli = median(cliTimes);
    const ours = median(fetchTimes);
    console.log("");
    console.log(`repository: ${FILES} files, ${mb(FILES * FILE_KB * 1024)} of content, pack ${mb(packBytes)} on the wire`);
    console.log(`runs: ${RUNS} (median)`);
    console.log(`git clone --depth 1 (CLI):             ${cli.toFixed(0)} ms   [${cliTimes.map((t) => t.toFixed(0)).join(", ")}]`);
    console.log(`ours: list + streamed shallow pack:    ${ours.toFixed(0)} ms   [${fetchTimes.map((t) => t.toFixed(0)).join(", ")}]`);
    console.log(`ratio ours / git CLI:                  ${(ours / cli).toFixed(2)}x median, ${(Math.min(...fetchTimes) / Math.min(...cliTimes)).toFixed(2)}x best of each   (target: within 2x)`);
    console.log(`isomorphic-git fetch (in memory):      ${median(classicTimes).toFixed(0)} ms   [${classicTimes.map((t) => t.toFixed(0)).join(", ")}]`);
    console.log(`full sync (fetch + tar.gz + store):    ${median(syncTimes).toFixed(0)} ms   [${syncTimes.map((t) => t.toFixed(0)).join(", ")}]`);
    console.log(`peak memory, ours, above start:       RSS ${mb(mem.rss)}, heap+buffers ${mb(mem.heapAndBuffers)} (pack x2 = ${mb(packBytes * 2)})`);
    console.log(`peak memory, ours, full sync:          RSS ${mb(syncMem.rss)}, heap+buffers ${mb(syncMem.heapAndBuffers)}`);
    console.log(`peak memory, isomorphic-git fetch:     RSS ${mb(classicMem.rss)}, heap+buffers ${mb(classicMem.heapAndBuffers)}`);
    console.log(
      `no-op poll: ${noop.kind}, ${noopMs.toFixed(0)} ms, ${noopStats.requests} request(s) (${noopStats.refListings} ref listing, ${noopStats.uploadPacks} upload-pack), ${noopStats.bytesOut} bytes, ${noopStats.packBytes} pack bytes`,
    );
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
