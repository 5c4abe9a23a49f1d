// The per-kind condition gauges (src/metrics/conditions.ts), read from a real Manager's informer cache at each scrape.
// No API server is faked: the Manager's kubeconfig points at a closed port and is never started; the objects are put
// in the pinned informers' stores, where a watch would put them. test/unit/chart/observability.test.ts checks the
// gauges' names and labels against the chart's alerts and dashboards.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { ApplicationKind, GitRepositoryKind, SyncPolicyKind } from "../../../src/api/kinds.js";
import { createLogger } from "../../../src/log.js";
import { COUNTED_CONDITIONS, registerConditionMetrics } from "../../../src/metrics/conditions.js";
import { KubeConfig } from "../../../src/runtime/kubeconfig.js";
import { Manager } from "../../../src/runtime/manager.js";
import type { KindDescriptor, KubeObject } from "../../../src/runtime/kinds.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const kubeConfig = KubeConfig.fromString(JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "c", cluster: { server: "http://127.0.0.1:1" } }], users: [{ name: "u", user: {} }], contexts: [{ name: "x", context: { cluster: "c", user: "u" } }], "current-context": "x" }));

function manager() {
  const registry = new Registry();
  return { registry, mgr: new Manager({ kubeConfig, registry, logger: quiet }) };
}

let rv = 0;
type Cond = { type?: string; status?: string } | null;
const obj = (name: string, conditions?: Cond[], spec: Record<string, unknown> = {}): KubeObject => ({ metadata: { namespace: "ns", name, resourceVersion: String(++rv) }, spec, ...(conditions ? { status: { conditions } } : {}) }) as KubeObject;

/** Puts objects in the store of the pinned informer of `kind`, as its watch would. */
function put(mgr: Manager, kind: KindDescriptor, ...objs: KubeObject[]) {
  for (const o of objs) mgr.cache.informerFor(kind).store.upsert(o);
}

/** The gauge's series as "labels=value" lines, sorted. */
async function scrape(registry: Registry, name: string): Promise<string[]> {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.map((v) => `${Object.entries(v.labels).map(([k, l]) => `${k}=${l}`).join(",")} ${v.value}`).sort();
}

void describe("mooring_resource_conditions", () => {
  void it("counts each kind's objects by condition type and status, all three statuses of each type the kind has", async () => {
    const { registry, mgr } = manager();
    registerConditionMetrics(mgr, [ApplicationKind, GitRepositoryKind]);
    put(mgr, ApplicationKind, obj("a", [{ type: "Ready", status: "True" }, { type: "Synced", status: "True" }]), obj("b", [{ type: "Ready", status: "False" }, { type: "Stalled", status: "True" }]), obj("c", [{ type: "Ready", status: "Unknown" }]));
    put(mgr, GitRepositoryKind, obj("repo", [{ type: "Ready", status: "False" }, { type: "FetchFailed", status: "True" }]));
    assert.deepEqual(await scrape(registry, "mooring_resource_conditions"), [
      "kind=Application,type=Ready,status=False 1",
      "kind=Application,type=Ready,status=True 1",
      "kind=Application,type=Ready,status=Unknown 1",
      "kind=Application,type=Stalled,status=False 0",
      "kind=Application,type=Stalled,status=True 1",
      "kind=Application,type=Stalled,status=Unknown 0",
      "kind=Application,type=Synced,status=False 0",
      "kind=Application,type=Synced,status=True 1",
      "kind=Application,type=Synced,status=Unknown 0",
      "kind=GitRepository,type=FetchFailed,status=False 0",
      "kind=GitRepository,type=FetchFailed,status=True 1",
      "kind=GitRepository,type=FetchFailed,status=Unknown 0",
      "kind=GitRepository,type=Ready,status=False 1",
      "kind=GitRepository,type=Ready,status=True 0",
      "kind=GitRepository,type=Ready,status=Unknown 0",
    ]);
  });

  void it("ignores condition types it does not count, statuses other than True/False/Unknown, and malformed entries (bounded cardinality)", async () => {
    const { registry, mgr } = manager();
    registerConditionMetrics(mgr, [ApplicationKind]);
    put(mgr, ApplicationKind, obj("a", [{ type: "Custom", status: "True" }, { type: "Ready", status: "true" }, { type: "Ready", status: "Maybe" }, null, {}]), obj("b"), obj("c", []));
    assert.deepEqual(await scrape(registry, "mooring_resource_conditions"), [], "no counted type at a counted status: no series");
    put(mgr, ApplicationKind, obj("d", [{ type: "Healthy", status: "False" }, { type: "Healthy", status: "False" }]));
    assert.deepEqual(await scrape(registry, "mooring_resource_conditions"), ["kind=Application,type=Healthy,status=False 2", "kind=Application,type=Healthy,status=True 0", "kind=Application,type=Healthy,status=Unknown 0"], "a condition listed twice counts twice");
  });

  void it("is read at each scrape: a type no object has any more loses its series", async () => {
    const { registry, mgr } = manager();
    registerConditionMetrics(mgr, [SyncPolicyKind]);
    const p = obj("p", [{ type: "WindowOpen", status: "True" }]);
    put(mgr, SyncPolicyKind, p);
    assert.ok((await scrape(registry, "mooring_resource_conditions")).includes("kind=SyncPolicy,type=WindowOpen,status=True 1"));
    put(mgr, SyncPolicyKind, { ...p, metadata: { ...p.metadata, resourceVersion: String(++rv) }, status: { conditions: [{ type: "WindowOpen", status: "False" }] } } as KubeObject);
    assert.ok((await scrape(registry, "mooring_resource_conditions")).includes("kind=SyncPolicy,type=WindowOpen,status=False 1"));
    mgr.cache.informerFor(SyncPolicyKind).store.delete(p);
    assert.deepEqual(await scrape(registry, "mooring_resource_conditions"), []);
  });

  void it("counts the condition types the controllers set, and only those", () => {
    assert.deepEqual([...COUNTED_CONDITIONS].sort(), ["ArtifactInStorage", "FetchFailed", "Healthy", "Ready", "Reconciling", "RolledBack", "SourceReady", "Rendered", "Stalled", "Synced", "WindowOpen"].sort());
  });
});

void describe("mooring_resources", () => {
  void it("counts each kind's objects, suspended (spec.suspend: true) or not, zeros for a kind with none", async () => {
    const { registry, mgr } = manager();
    registerConditionMetrics(mgr, [ApplicationKind, GitRepositoryKind]);
    put(mgr, ApplicationKind, obj("a", undefined, { suspend: true }), obj("b", undefined, { suspend: false }), obj("c"), obj("d", undefined, { suspend: "true" }));
    assert.deepEqual(await scrape(registry, "mooring_resources"), [
      "kind=Application,suspended=false 3",
      "kind=Application,suspended=true 1",
      "kind=GitRepository,suspended=false 0",
      "kind=GitRepository,suspended=true 0",
    ]);
  });
});

void describe("registerConditionMetrics", () => {
  void it("registers the gauges once per registry; each call adds its kinds, as each controller's set-up does", async () => {
    const { registry, mgr } = manager();
    registerConditionMetrics(mgr, [ApplicationKind]);
    registerConditionMetrics(mgr, [GitRepositoryKind]);
    registerConditionMetrics(mgr, [ApplicationKind]);
    assert.deepEqual(registry.getMetricsAsArray().map((m) => m.name).filter((n) => n.startsWith("mooring_resource")).sort(), ["mooring_resource_conditions", "mooring_resources"]);
    assert.deepEqual(await scrape(registry, "mooring_resources"), ["kind=Application,suspended=false 0", "kind=Application,suspended=true 0", "kind=GitRepository,suspended=false 0", "kind=GitRepository,suspended=true 0"]);
  });

  void it("reads the controllers' pinned informers, and keeps each registry's kinds apart", async () => {
    const one = manager();
    const two = manager();
    registerConditionMetrics(one.mgr, [ApplicationKind]);
    registerConditionMetrics(two.mgr, [GitRepositoryKind]);
    assert.ok(one.mgr.cache.has(ApplicationKind), "the Application informer is the cache's");
    assert.ok(!one.mgr.cache.has(GitRepositoryKind));
    put(one.mgr, ApplicationKind, obj("a"));
    assert.deepEqual(await scrape(one.registry, "mooring_resources"), ["kind=Application,suspended=false 1", "kind=Application,suspended=true 0"]);
    assert.deepEqual(await scrape(two.registry, "mooring_resources"), ["kind=GitRepository,suspended=false 0", "kind=GitRepository,suspended=true 0"]);
  });
});
