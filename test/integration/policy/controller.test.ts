// The SyncPolicy controller against the real local cluster: status written by server-side apply as mooring-policy on
// the status subresource, the Application count following creates, ref changes and deletes, WindowOpen flipping by
// itself at nextWindowChange (injected clock), invalid specs Stalled, no write when nothing changed, and a status
// someone else edited written back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { Annotations, ApplicationKind, FieldManagers, SyncPolicyKind, installCrds } from "../../../src/api/index.js";
import { createLogger } from "../../../src/log.js";
import { setupSyncPolicyController } from "../../../src/policy/controller.js";
import { Manager } from "../../../src/runtime/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface Policy {
  metadata: { name: string; generation?: number; resourceVersion?: string; managedFields?: { manager: string; subresource?: string }[] };
  status?: { conditions?: Cond[]; applications?: number; nextWindowChange?: string; observedGeneration?: number };
}

const P = { group: SyncPolicyKind.group, version: SyncPolicyKind.version, plural: SyncPolicyKind.plural };
const A = { group: ApplicationKind.group, version: ApplicationKind.version, plural: ApplicationKind.plural };

let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;
let registry: Registry;
let mgr: Manager;
const stop = new AbortController();
let running: Promise<void>;
/** The controller's clock is real time plus this offset, set per test. */
let offsetMs = 0;

const cond = (o: Policy | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const getPolicy = async (name: string) => (await custom.getNamespacedCustomObject({ ...P, namespace: ns.name, name })) as Policy;

async function createPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({ ...P, namespace: ns.name, body: { apiVersion: `${P.group}/${P.version}`, kind: "SyncPolicy", metadata: { name }, spec } });
}

async function createApp(name: string, policy: string | undefined): Promise<void> {
  const spec: Record<string, unknown> = { sourceRef: { kind: "GitRepository", name: "repo" } };
  if (policy) spec.syncPolicyRef = { name: policy };
  await custom.createNamespacedCustomObject({ ...A, namespace: ns.name, body: { apiVersion: `${A.group}/${A.version}`, kind: "Application", metadata: { name }, spec } });
}

const merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "policy");
  registry = new Registry();
  mgr = new Manager({ kubeConfig: c.kc, namespace: ns.name, registry, fieldManager: FieldManagers.policy, logger: createLogger({ level: "warn" }) });
  setupSyncPolicyController(mgr, { concurrency: 2, now: () => Date.now() + offsetMs });
  running = mgr.start(stop.signal);
  await mgr.elected;
});

after(async () => {
  stop.abort();
  await running?.catch(() => {});
  await ns?.cleanup();
});

void describe("SyncPolicy controller", () => {
  void it("reports a policy without windows Ready with WindowOpen=True (NoWindows), as mooring-policy on the status subresource", async () => {
    await createPolicy("plain", {});
    const p = await waitFor("plain Ready", async () => {
      const o = await getPolicy("plain");
      return cond(o, "Ready")?.status === "True" ? o : undefined;
    });
    assert.equal(p.status?.observedGeneration, p.metadata.generation);
    assert.equal(cond(p, "WindowOpen")?.status, "True");
    assert.equal(cond(p, "WindowOpen")?.reason, "NoWindows");
    assert.equal(p.status?.applications, 0);
    assert.equal(p.status?.nextWindowChange, undefined);
    const owner = p.metadata.managedFields?.find((m) => m.manager === FieldManagers.policy);
    assert.equal(owner?.subresource, "status");
  });

  void it("counts the Applications that reference it, following creates, ref changes and deletes", async () => {
    await createPolicy("counted", {});
    await createPolicy("other", {});
    await createApp("a1", "counted");
    await createApp("a2", "counted");
    await createApp("a3", "other");
    await createApp("a4", undefined);
    await waitFor("counted has 2", async () => (await getPolicy("counted")).status?.applications === 2);
    await waitFor("other has 1", async () => (await getPolicy("other")).status?.applications === 1);
    await custom.patchNamespacedCustomObject({ ...A, namespace: ns.name, name: "a2", body: { spec: { syncPolicyRef: { name: "other" } } } }, merge);
    await waitFor("counted has 1 after a ref change", async () => (await getPolicy("counted")).status?.applications === 1);
    await waitFor("other has 2 after a ref change", async () => (await getPolicy("other")).status?.applications === 2);
    await custom.deleteNamespacedCustomObject({ ...A, namespace: ns.name, name: "a1" });
    await waitFor("counted has 0 after a delete", async () => (await getPolicy("counted")).status?.applications === 0);
  });

  void it("flips WindowOpen by itself at nextWindowChange and records an event", async () => {
    // Controller time: 5 s before 10:00 UTC; a deny window opens at 10:00 for an hour.
    offsetMs = Date.parse("2026-06-01T09:59:55Z") - Date.now();
    await createPolicy("nightly", { windows: [{ kind: "deny", schedule: "0 10 * * *", duration: "1h" }] });
    const before = await waitFor("nightly evaluated", async () => {
      const o = await getPolicy("nightly");
      return cond(o, "WindowOpen") ? o : undefined;
    });
    assert.equal(cond(before, "WindowOpen")?.status, "True");
    assert.equal(cond(before, "WindowOpen")?.reason, "OutsideDenyWindows");
    assert.equal(before.status?.nextWindowChange, "2026-06-01T10:00:00Z");
    const closed = await waitFor("the deny window to open", async () => {
      const o = await getPolicy("nightly");
      return cond(o, "WindowOpen")?.status === "False" ? o : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(cond(closed, "WindowOpen")?.reason, "InDenyWindow");
    assert.equal(closed.status?.nextWindowChange, "2026-06-01T11:00:00Z");
    const events = c.kc.makeApiClient(k8s.EventsV1Api);
    await waitFor("a WindowClosed event", async () => {
      const list = await events.listNamespacedEvent({ namespace: ns.name });
      return list.items.some((e) => e.reason === "WindowClosed" && e.regarding?.name === "nightly");
    });
  });

  void it("reports an invalid schedule as Stalled (InvalidSpec), and Ready once the spec is fixed", async () => {
    // The API server accepts five fields of anything; only the in-process check knows 61 is no minute.
    await createPolicy("broken", { windows: [{ kind: "allow", schedule: "61 * * * *", duration: "1h" }] });
    const bad = await waitFor("broken Stalled", async () => {
      const o = await getPolicy("broken");
      return cond(o, "Stalled")?.status === "True" ? o : undefined;
    });
    assert.equal(cond(bad, "Stalled")?.reason, "InvalidSpec");
    assert.match(cond(bad, "Stalled")!.message, /spec\.windows\[0\]\.schedule/);
    assert.equal(cond(bad, "Ready")?.status, "False");
    await custom.patchNamespacedCustomObject({ ...P, namespace: ns.name, name: "broken", body: { spec: { windows: [{ kind: "allow", schedule: "0 6 * * *", duration: "1h" }] } } }, merge);
    const good = await waitFor("broken fixed", async () => {
      const o = await getPolicy("broken");
      return cond(o, "Ready")?.status === "True" ? o : undefined;
    });
    assert.equal(cond(good, "Stalled"), undefined);
    assert.equal(good.status?.observedGeneration, 2);
    assert.ok(good.status?.nextWindowChange);
  });

  void it("writes its status back when someone else edited it: the controller owns its status", async () => {
    offsetMs = 0;
    await createPolicy("owned", {});
    await waitFor("owned Ready", async () => (await getPolicy("owned")).status?.applications === 0 && cond(await getPolicy("owned"), "Ready")?.status === "True");
    // Another writer changes a field the controller owns (as `kubectl edit --subresource=status` would).
    await custom.patchNamespacedCustomObjectStatus({ ...P, namespace: ns.name, name: "owned", body: { status: { applications: 42 } }, fieldManager: "someone-else" }, merge);
    assert.equal((await getPolicy("owned")).status?.applications, 42);
    // Any reconcile (here: an annotation the controller does not read) finds the same status to write, and writes it back.
    await custom.patchNamespacedCustomObject({ ...P, namespace: ns.name, name: "owned", body: { metadata: { annotations: { "example.com/poke": "1" } } } }, merge);
    await waitFor("applications written back", async () => (await getPolicy("owned")).status?.applications === 0);
  });

  void it("does not write status when a reconcile finds nothing new", async () => {
    offsetMs = 0;
    await createPolicy("quiet", {});
    await waitFor("quiet Ready", async () => cond(await getPolicy("quiet"), "Ready")?.status === "True");
    // The write counter is process-wide: let the earlier tests' policies (whose windows the clock reset may flip)
    // settle first, so that only this policy's writes are counted.
    let last = -1;
    await waitFor("no status writes for 1.5 s", async () => {
      const now = await metric("rest_client_requests_total", { method: "PATCH" });
      const quiet = now === last;
      last = now;
      return quiet;
    }, { intervalMs: 1_500, timeoutMs: 30_000 });
    const patchesBefore = await metric("rest_client_requests_total", { method: "PATCH" });
    const reconcilesBefore = await metric("controller_runtime_reconcile_total", { controller: "syncpolicy" });
    await custom.patchNamespacedCustomObject({ ...P, namespace: ns.name, name: "quiet", body: { metadata: { annotations: { [Annotations.reconcileRequestedAt]: "r1" } } } }, merge);
    const rv = (await getPolicy("quiet")).metadata.resourceVersion;
    await waitFor("a reconcile after the request", async () => (await metric("controller_runtime_reconcile_total", { controller: "syncpolicy" })) > reconcilesBefore);
    const patched = (await metric("rest_client_requests_total", { method: "PATCH" })) - patchesBefore;
    const p = await getPolicy("quiet");
    // lastHandledReconcileAt is written once the API declares it for SyncPolicy; then exactly one write is right.
    if ((p.status as Record<string, unknown> | undefined)?.lastHandledReconcileAt === "r1") assert.equal(patched, 1);
    else {
      assert.equal(patched, 0);
      assert.equal(p.metadata.resourceVersion, rv);
    }
  });
});
