// Benchmark: drift detection and self-heal of the apply controller, on the real cluster.
//
//   MOORING_TEST_KUBECONFIG=... npx tsx --expose-gc bench/drift-latency.ts [--objects 200 --apps 10 --edits 30]
//
// 1. M managed ConfigMaps spread over A Applications are applied by an in-process apply controller (the render
//    controller's part — the rendered artifact and status.render — is played by this process, as in the tests).
// 2. Memory per managed object: heap growth (after GC) from before the Applications exist to all of them synced,
//    divided by M. It covers everything the controller keeps per object: the label-selected watch cache, the applied
//    (rendered) copy drift is measured against, inventory and status.
// 3. Steady state: one safety-net pass (every Application reconciled with nothing changed), counting the operator's
//    API requests (rest_client_requests_total); beside it, the dry-run-every-object strategy (a server-side apply
//    dry run per object per interval, what Flux's drift detection does) on the same objects, counted the same way.
// 4. Revert latency: N edits (merge patches of a data key, one at a time, on objects picked at random); the latency
//    is from just before the PATCH is sent to the moment the controller's watch cache shows the reverted value.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { ApplicationKind, FieldManagers, installCrds } from "../src/api/index.js";
import { setupApplyController } from "../src/apply/controller.js";
import { ArtifactStorage } from "../src/artifact/storage.js";
import { startArtifactServer } from "../src/artifact/server.js";
import { createLogger } from "../src/log.js";
import { canonicalJson } from "../src/render/canonical.js";
import { Client, Kinds, Manager, RestClient, RestMapper, type KubeObject } from "../src/runtime/index.js";

const { values: flags } = parseArgs({
  options: {
    objects: { type: "string", default: "200" },
    apps: { type: "string", default: "10" },
    edits: { type: "string", default: "30" },
    "timeout-s": { type: "string", default: "300" },
  },
});
const M = Number(flags.objects);
const A = Math.min(Number(flags.apps), M);
const N = Number(flags.edits);
const deadline = Date.now() + Number(flags["timeout-s"]) * 1000;
const kubeconfig = process.env.MOORING_TEST_KUBECONFIG;
if (!kubeconfig) throw new Error("set MOORING_TEST_KUBECONFIG to the local cluster's kubeconfig");
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);

const gc = (globalThis as { gc?: () => void }).gc;
const heap = async () => {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, probe: () => boolean | Promise<boolean>, stepMs = 20): Promise<void> {
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

const ns = `bench-drift-${Date.now().toString(36)}`;
let adminRequests = 0;
const rest = RestClient.fromKubeConfig(kc, { qps: 500, burst: 500, onRequest: () => void adminRequests++ });
const admin = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "bench" });
await installCrds(kc);
await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-drift-bench-"));
const storage = new ArtifactStorage({ root: dir });
await storage.init();
const server = await startArtifactServer("127.0.0.1:0", { root: dir });
const registry = new Registry();
const logger = createLogger({ level: "warn", format: "text" });
const mgr = new Manager({ kubeConfig: kc, namespace: ns, registry, qps: 200, burst: 400, logger, gracefulShutdownTimeoutMs: 10_000 });
const { controller } = setupApplyController(mgr, { defaultServiceAccount: undefined, watchNamespace: ns, concurrency: 4 });
const stop = new AbortController();
const running = mgr.start(stop.signal);
const sum = async (name: string, filter: (l: Record<string, string | number>) => boolean = () => true) => {
  const m = registry.getSingleMetric(name) as unknown as { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> } | undefined;
  return m ? (await m.get()).values.filter((v) => filter(v.labels)).reduce((a, v) => a + v.value, 0) : 0;
};
const operatorRequests = () => sum("rest_client_requests_total");
const reconciles = () => sum("controller_runtime_reconcile_total", (l) => l.controller === "apply");

try {
  await mgr.elected;
  // The shared label-selected ConfigMap informer (the same one the controller watches) shows what the controller sees.
  const cmInformer = mgr.cache.informerFor(Kinds.ConfigMap, { labelSelector: "delivery.mooring.dev/application" });
  await cmInformer.waitForSync(stop.signal);
  const heapBefore = await heap();

  const apps = Array.from({ length: A }, (_, i) => `app-${i}`);
  const objectsOf = new Map<string, KubeObject[]>();
  for (let i = 0; i < M; i++) {
    const app = apps[i % A]!;
    const list = objectsOf.get(app) ?? [];
    list.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `cm-${i}`, namespace: ns, labels: { "app.kubernetes.io/managed-by": "mooring", "delivery.mooring.dev/application": `${ns}.${app}` } },
      data: { value: `v${i}`, payload: "x".repeat(200) },
    });
    objectsOf.set(app, list);
  }
  const t0 = Date.now();
  for (const app of apps) {
    await admin.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: app, namespace: ns }, spec: { sourceRef: { kind: "GitRepository", name: "unused" } } });
    const bytes = Buffer.from(canonicalJson(objectsOf.get(app)!));
    const stored = await storage.write({ kind: "application", namespace: ns, name: app }, (async function* () { yield bytes; })(), ".json");
    await admin.applyStatus(
      { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: app, namespace: ns }, status: { render: { artifact: { url: `http://127.0.0.1:${server.port}/${stored.path}`, digest: stored.digest, revision: `main@sha1:${"0".repeat(40)}`, size: stored.size } } } },
      { fieldManager: FieldManagers.render, force: true },
    );
  }
  const appInformer = mgr.cache.informerFor<KubeObject>(ApplicationKind);
  await until("all Applications synced", () =>
    apps.every((a) => ((appInformer.store.get(`${ns}/${a}`)?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === "Synced" && c.status === "True")), 100);
  const syncSeconds = (Date.now() - t0) / 1000;
  console.error(`synced in ${syncSeconds.toFixed(1)} s`);
  await sleep(2000);
  const heapAfter = await heap();

  // Steady state: one safety-net pass over every Application.
  const r0 = await reconciles();
  const q0 = await operatorRequests();
  for (const app of apps) controller.enqueue({ namespace: ns, name: app });
  await until("the steady-state pass", async () => (await reconciles()) >= r0 + A, 20);
  await sleep(500);
  const steadyMooring = (await operatorRequests()) - q0;

  // The dry-run-every-object strategy on the same objects.
  const d0 = adminRequests;
  const dryStart = Date.now();
  for (const list of objectsOf.values()) for (const o of list) await admin.apply(o, { fieldManager: FieldManagers.apply, force: true, dryRun: true });
  const steadyDryRun = adminRequests - d0;
  const dryRunMs = Date.now() - dryStart;

  // Revert latency.
  const latencies: number[] = [];
  const corrected0 = await sum("mooring_application_drift_corrected_total");
  for (let e = 0; e < N; e++) {
    const i = Math.floor(Math.random() * M);
    const name = `cm-${i}`;
    const prevRv = cmInformer.store.get(`${ns}/${name}`)?.metadata?.resourceVersion;
    const start = performance.now();
    const patched = await admin.patch({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns } }, { data: { value: `edited-${e}` } }, "merge", { fieldManager: "kubectl-edit" });
    const editRv = patched.metadata?.resourceVersion;
    // Reverted: the cache shows a version that is neither the one before the edit nor the edit, holding the original.
    await until(`revert of ${name}`, () => {
      const o = cmInformer.store.get(`${ns}/${name}`);
      const rv = o?.metadata?.resourceVersion;
      return rv !== prevRv && rv !== editRv && (o?.data as Record<string, string> | undefined)?.value === `v${i}`;
    }, 2);
    latencies.push(performance.now() - start);
  }
  const corrected = (await sum("mooring_application_drift_corrected_total")) - corrected0;

  const perObjectKiB = (heapAfter - heapBefore) / M / 1024;
  console.log(`drift benchmark: ${M} managed ConfigMaps in ${A} Applications, ${N} edits${gc ? "" : " (run with --expose-gc for exact memory)"}`);
  console.log(`  initial sync of everything:                ${syncSeconds.toFixed(1)} s`);
  console.log(`  memory per managed object:                 ${perObjectKiB.toFixed(2)} KiB heap (cache + applied copy + status), ${(heapAfter - heapBefore) / 1048576 < 0 ? 0 : ((heapAfter - heapBefore) / 1048576).toFixed(1)} MiB total`);
  console.log(`  steady-state API requests per interval:    mooring ${steadyMooring} (${A} reconciles)  vs  dry-run every object ${steadyDryRun} (${dryRunMs} ms)`);
  console.log(`  drift revert latency over ${N} edits:       p50 ${pct(latencies, 50).toFixed(0)} ms, p95 ${pct(latencies, 95).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms`);
  console.log(`  corrections counted by the controller:     ${corrected}`);
} finally {
  stop.abort();
  await running.catch(() => {});
  await server.close();
  await admin.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }).catch(() => {});
  rest.close();
  await rm(dir, { recursive: true, force: true });
}
