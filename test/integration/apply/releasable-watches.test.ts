// Releasable watches (issue 15 item 3), on the real local cluster: an Application's health-check informers and the
// applied-kind informers it holds are released when it is deleted or stops needing them, and the cache then stops
// the informer no Application holds any more. Observed through the cache's own API (entries(): what runs, and who
// holds it), and through the controller's sources: the watch feeding it from a stopped informer is undone.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { CacheEntry } from "../../../src/runtime/cache.js";
import { waitFor } from "../../support/wait.js";
import { configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-release" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const healthCheckEntry = (name: string) => (e: CacheEntry) => e.fieldSelector === `metadata.name=${name}`;
const appliedEntry = (kind: string) => (e: CacheEntry) => e.kind.kind === kind && e.labelSelector !== "";
const entry = (match: (e: CacheEntry) => boolean) => h.mgr.cache.entries().find(match);

async function deleteApp(name: string): Promise<void> {
  await h.admin.delete({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name, namespace: h.ns.name } });
  await waitFor(`Application ${name} gone (finalized)`, async () => (await h.getApp(name)) === undefined, { timeoutMs: 30_000 });
}

describe("releasable watches", () => {
  it("a deleted Application's health-check informer stops, and the applied-kind informer once no Application applies that kind", async () => {
    const sourcesBefore = h.controller.sourceCount;
    await h.createApp("checked", { healthChecks: [{ apiVersion: "v1", kind: "Service", name: "probe-svc" }] });
    await h.publish("checked", [configMap("checked-cm", { a: "1" })]);
    await h.waitApp("checked", "synced", (a) => a.status?.sync?.status === "Synced" && a);
    const hc = await waitFor("the health-check informer held by the Application", () => entry(healthCheckEntry("probe-svc")), { timeoutMs: 30_000 });
    assert.deepEqual(hc.holders, [`${h.ns.name}/checked`]);
    assert.equal(hc.pinned, false, "a held informer is not pinned (it does not count for /readyz)");
    const applied = await waitFor("the applied ConfigMap informer held by the Application", () => entry(appliedEntry("ConfigMap")), { timeoutMs: 30_000 });
    assert.deepEqual(applied.holders, [`${h.ns.name}/checked`]);
    const before = h.mgr.cache.size;
    assert.equal(h.controller.sourceCount, sourcesBefore + 1, "the applied ConfigMap informer feeds the controller");

    await deleteApp("checked");
    await waitFor("the health-check informer stopped", () => entry(healthCheckEntry("probe-svc")) === undefined, { timeoutMs: 10_000 });
    await waitFor("the applied ConfigMap informer stopped", () => entry(appliedEntry("ConfigMap")) === undefined, { timeoutMs: 10_000 });
    assert.equal(h.mgr.cache.size, before - 2, "exactly those two informers were stopped");
    assert.equal(h.controller.sourceCount, sourcesBefore, "the controller's watch of the stopped informer is undone: its sources are back at their baseline");
    assert.equal(h.mgr.cache.hasSynced(), true);
  });

  it("a health check removed from the spec releases its informer; the one still named stays", async () => {
    await h.createApp("two", {
      healthChecks: [
        { apiVersion: "v1", kind: "Service", name: "keep-svc" },
        { apiVersion: "v1", kind: "Service", name: "drop-svc" },
      ],
    });
    await h.publish("two", [configMap("two-cm", { a: "1" })]);
    await waitFor("both health-check informers", () => entry(healthCheckEntry("keep-svc")) && entry(healthCheckEntry("drop-svc")), { timeoutMs: 30_000 });
    const app = await h.getApp("two");
    await h.admin.apply({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "two", namespace: h.ns.name }, spec: { ...app!.spec, healthChecks: [{ apiVersion: "v1", kind: "Service", name: "keep-svc" }] } }, { fieldManager: "test", force: true });
    await waitFor("the removed health check's informer stopped", () => entry(healthCheckEntry("drop-svc")) === undefined, { timeoutMs: 30_000 });
    assert.ok(entry(healthCheckEntry("keep-svc")), "the health check still named keeps its informer");
    assert.ok(entry(appliedEntry("ConfigMap")), "what the Application applied is still watched");
  });

  it("an informer two Applications hold stays until the last of them is deleted", async () => {
    await h.createApp("first", { healthChecks: [{ apiVersion: "v1", kind: "Service", name: "shared-svc" }] });
    await h.createApp("second", { healthChecks: [{ apiVersion: "v1", kind: "Service", name: "shared-svc" }] });
    await h.publish("first", [configMap("first-cm", { a: "1" })]);
    await h.publish("second", [configMap("second-cm", { a: "1" })]);
    await waitFor("both Applications hold the shared health check", () => entry(healthCheckEntry("shared-svc"))?.holders.length === 2, { timeoutMs: 30_000 });
    await deleteApp("first");
    await waitFor("only the second holds it", () => entry(healthCheckEntry("shared-svc"))?.holders.join() === `${h.ns.name}/second`, { timeoutMs: 10_000 });
    // The informer that still runs still wakes the remaining Application: creating the checked Service is seen.
    await h.admin.create({ apiVersion: "v1", kind: "Service", metadata: { name: "shared-svc", namespace: h.ns.name }, spec: { ports: [{ port: 80 }] } });
    await h.waitApp("second", "Healthy once the checked Service exists", (a) => a.status?.health?.status === "Healthy" && a);
    await deleteApp("second");
    await waitFor("the shared health-check informer stopped", () => entry(healthCheckEntry("shared-svc")) === undefined, { timeoutMs: 10_000 });
  });
});
