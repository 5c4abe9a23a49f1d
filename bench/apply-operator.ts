// The apply controller alone in its own process, for bench/apply-scale.ts (which forks it so that the RSS and CPU
// it reports are the operator's, not the benchmark's). Talks to its parent over IPC:
//   parent → {cmd: "resync"}  enqueue every Application (a steady-state pass)
//   parent → {cmd: "stats"}   answer {type: "stats", ...}
//   parent → {cmd: "heap-snapshot", file}  write a V8 heap snapshot
//   parent → {cmd: "stop"}    stop the manager and exit
import { Writable } from "node:stream";
import v8 from "node:v8";
import { Registry } from "prom-client";
import { ApplicationKind } from "../src/api/index.js";
import { setupApplyController } from "../src/apply/controller.js";
import { createLogger } from "../src/log.js";
import { KubeConfig, Manager } from "../src/runtime/index.js";

const kubeconfig = process.env.MOORING_TEST_KUBECONFIG;
if (!kubeconfig) throw new Error("set MOORING_TEST_KUBECONFIG");
const namespace = process.env.BENCH_NAMESPACE;
const qps = Number(process.env.BENCH_QPS ?? 50);
const burst = Number(process.env.BENCH_BURST ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const kc = KubeConfig.fromFile(kubeconfig);
const logger = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const registry = new Registry();
const mgr = new Manager({ kubeConfig: kc, namespace, registry, qps, burst, logger });
const { controller } = setupApplyController(mgr, { defaultServiceAccount: undefined, watchNamespace: namespace, concurrency });
const stop = new AbortController();
const running = mgr.start(stop.signal);

async function counter(name: string, filter: (l: Record<string, string | number>) => boolean): Promise<number> {
  const m = registry.getSingleMetric(name) as unknown as { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> };
  return (await m.get()).values.filter((v) => filter(v.labels)).reduce((a, v) => a + v.value, 0);
}

await mgr.elected;
process.send!({ type: "ready" });
process.on("message", (msg: { cmd: string }) => {
  void (async () => {
    if (msg.cmd === "resync") {
      const apps = mgr.cache.informerFor(ApplicationKind).store.list();
      for (const a of apps) controller.enqueue({ namespace: a.metadata!.namespace!, name: a.metadata!.name! });
      process.send!({ type: "resynced", count: apps.length });
    } else if (msg.cmd === "stats") {
      const cpu = process.cpuUsage();
      process.send!({
        type: "stats",
        rssBytes: process.memoryUsage().rss,
        memory: process.memoryUsage(),
        maxRssKiB: process.resourceUsage().maxRSS,
        cpuMicros: cpu.user + cpu.system,
        restWrites: await counter("rest_client_requests_total", (l) => ["POST", "PUT", "PATCH", "DELETE"].includes(String(l.method))),
        restRequests: await counter("rest_client_requests_total", () => true),
        reconciles: await counter("controller_runtime_reconcile_total", (l) => l.controller === "apply"),
      });
    } else if (msg.cmd === "heap-snapshot") {
      // For finding what the heap holds (open the file in Chrome DevTools' Memory tab).
      process.send!({ type: "heap-snapshot", file: v8.writeHeapSnapshot((msg as { cmd: string; file?: string }).file) });
    } else if (msg.cmd === "stop") {
      stop.abort();
      await running.catch(() => {});
      process.exit(0);
    }
  })();
});
