// Where a controller process's memory goes, for bench/pipeline.ts --profile: preloaded into each Mooring controller
// process (node --import), and so into each of its worker threads (they inherit the process's execArgv). Every
// thread samples its V8 heap every 250 ms and keeps the peak of each figure; the process's main thread also keeps
// the process's RSS and what its heap was at the RSS peak. Written to $BENCH_MEM_PROBE/<pid>-<threadId>.json every
// 2 s and at exit. Plain JavaScript: the controllers run compiled code, without tsx.
import { mkdirSync, writeFileSync } from "node:fs";
import v8 from "node:v8";
import { isMainThread, threadId } from "node:worker_threads";

const dir = process.env.BENCH_MEM_PROBE;
if (dir) {
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const peak = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0, rss: 0, spaces: {} };
  let atRssPeak = {};
  const sample = () => {
    const m = process.memoryUsage();
    const h = v8.getHeapStatistics();
    peak.heapTotal = Math.max(peak.heapTotal, h.total_heap_size);
    peak.heapUsed = Math.max(peak.heapUsed, h.used_heap_size);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    for (const s of v8.getHeapSpaceStatistics()) peak.spaces[s.space_name] = Math.max(peak.spaces[s.space_name] ?? 0, s.space_size);
    if (isMainThread && m.rss > peak.rss) {
      peak.rss = m.rss;
      atRssPeak = { heapTotal: h.total_heap_size, heapUsed: h.used_heap_size, external: m.external, arrayBuffers: m.arrayBuffers, mallocedMemory: h.malloced_memory };
    }
  };
  const write = () => {
    const file = `${dir}/${process.pid}-${threadId}.json`;
    writeFileSync(file, JSON.stringify({ pid: process.pid, threadId, main: isMainThread, argv: process.argv.slice(2), ms: Date.now() - started, peak, atRssPeak }));
  };
  sample();
  setInterval(sample, 250).unref();
  setInterval(write, 2000).unref();
  process.on("exit", () => {
    sample();
    write();
  });
}
