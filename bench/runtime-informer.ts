// Benchmark: informer memory per object with 10,000 ConfigMaps, with and without the transform that drops
// managedFields. Needs the local cluster (MOORING_TEST_KUBECONFIG, as `make bench` sets it). Prints figures.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Writable } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import { createLogger } from "../src/log.js";
import { Client, Informer, Kinds, RestClient, RestMapper, dropManagedFields, type Transform } from "../src/runtime/index.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const N = Number(process.env.BENCH_CONFIGMAPS ?? 10_000);

const kubeconfig = process.env.MOORING_TEST_KUBECONFIG;
if (!kubeconfig) throw new Error("set MOORING_TEST_KUBECONFIG (make bench does) to the local cluster's kubeconfig");
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const rest = RestClient.fromKubeConfig(kc, { qps: 1000, burst: 1000 });
const client = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "bench" });
const ns = `bench-informer-${Date.now().toString(36)}`;

function heap(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function measure(label: string, transform?: Transform): Promise<void> {
  const before = heap();
  const stop = new AbortController();
  const inf = new Informer(rest, Kinds.ConfigMap, { namespace: ns, transform, logger: quiet });
  const run = inf.run(stop.signal);
  const t0 = Date.now();
  await inf.waitForSync();
  const syncMs = Date.now() - t0;
  const after = heap();
  const count = inf.store.size;
  console.log(`informer ${label}: ${count} ConfigMaps, ${Math.round((after - before) / count).toLocaleString("en")} bytes/object on the heap, listed in ${syncMs} ms`);
  stop.abort();
  await run;
}

try {
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < N) {
        const i = next++;
        await client.create({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `cm-${i}`, namespace: ns, labels: { app: "bench", index: String(i % 100) } },
          data: { "config.yaml": `replicas: ${i % 5}\nname: cm-${i}\n`, mode: "bench" },
        });
      }
    }),
  );
  console.log(`created ${N} ConfigMaps in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await measure("without transform", undefined);
  await measure("with dropManagedFields", dropManagedFields);
} finally {
  await client.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }).catch(() => undefined);
  rest.close();
}
