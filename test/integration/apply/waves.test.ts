// Sync waves (delivery.mooring.dev/sync-wave): lower waves first; with health.wait each wave must be healthy
// before the next is applied, and the status says which wave is waited for.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { waitFor } from "../../support/wait.js";
import { condition, configMap, deployment, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-waves" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const wave = (obj: KubeObject, w: number): KubeObject => ({ ...obj, metadata: { ...obj.metadata, annotations: { ...(obj.metadata?.annotations ?? {}), "delivery.mooring.dev/sync-wave": String(w) } } });
const cm = async (name: string) => h.admin.get(Kinds.ConfigMap, name, h.ns.name);

describe("sync waves with health gates", () => {
  it("a wave that is not healthy holds back the later waves, and the status names the wave waited for", async () => {
    await h.createApp("waved");
    // Wave 1's Deployment cannot be scheduled: never healthy.
    await h.publish("waved", [wave(configMap("last", { w: "2" }), 2), wave(deployment("db", { nodeSelector: { "mooring.dev/no-such-node": "true" } }), 1), wave(configMap("first", { w: "-1" }), -1), configMap("zero", { w: "0" })]);
    const a = await h.waitApp("waved", "waiting for wave 1", (a) => /waiting for wave 1 to be healthy before applying wave 2/.test(condition(a, "Synced")?.message ?? "") && a, 30_000);
    assert.equal(condition(a, "Synced")?.status, "False");
    assert.equal(condition(a, "Synced")?.reason, "Progressing");
    assert.equal(condition(a, "Reconciling")?.status, "True");
    assert.equal(condition(a, "Ready")?.status, "Unknown");
    assert.ok(await cm("first"), "wave -1 applied");
    assert.ok(await cm("zero"), "wave 0 applied");
    assert.ok(await h.admin.get(Kinds.Deployment, "db", h.ns.name), "wave 1 applied");
    assert.equal(await cm("last"), undefined, "wave 2 not applied");
    // The objects applied so far are in the inventory (a restart or a prune can find them).
    assert.equal(a.status?.sync?.inventory?.length, 3);
    // Still held back on the next reconciles.
    const n = await h.reconciles();
    h.controller.enqueue({ namespace: h.ns.name, name: "waved" });
    await waitFor("another reconcile", async () => (await h.reconciles()) > n);
    assert.equal(await cm("last"), undefined, "wave 2 still not applied");
  });

  it("once the wave becomes healthy (a fixed render), the next waves are applied in order and the Application is Ready", async () => {
    await h.publish("waved", [wave(configMap("last", { w: "2" }), 2), wave(deployment("db"), 1), wave(configMap("first", { w: "-1" }), -1), configMap("zero", { w: "0" })]);
    const a = await h.waitApp("waved", "Ready", (a) => condition(a, "Ready")?.status === "True" && a, 60_000);
    assert.equal(a.status?.sync?.inventory?.length, 4);
    const last = await cm("last");
    const db = await h.admin.get(Kinds.Deployment, "db", h.ns.name);
    const available = ((db?.status as { conditions?: { type: string; status: string; lastTransitionTime: string }[] })?.conditions ?? []).find((c) => c.type === "Available" && c.status === "True");
    assert.ok(available, "wave 1 is available");
    assert.ok(Date.parse(last!.metadata!.creationTimestamp!) >= Date.parse(available.lastTransitionTime), "wave 2 created after wave 1 became available");
  });

  it("with health.wait off, all waves are applied in one sync even when one is unhealthy", async () => {
    await h.createPolicy("no-wait", { health: { wait: false } });
    await h.createApp("eager", { syncPolicyRef: { name: "no-wait" } });
    await h.publish("eager", [wave(configMap("eager-last", { w: "5" }), 5), wave(deployment("stuck", { nodeSelector: { "mooring.dev/no-such-node": "true" } }), 1)]);
    await h.waitApp("eager", "Synced", (a) => condition(a, "Synced")?.status === "True");
    assert.ok(await cm("eager-last"));
  });

  it("a sync-wave annotation that is not an integer fails the sync, naming the object", async () => {
    await h.createApp("badwave");
    await h.publish("badwave", [{ ...configMap("odd", { a: "1" }), metadata: { name: "odd", annotations: { "delivery.mooring.dev/sync-wave": "soon" } } }]);
    const a = await h.waitApp("badwave", "failed", (a) => condition(a, "Synced")?.status === "False" && a);
    assert.match(condition(a, "Synced")!.message, /ConfigMap odd: annotation delivery\.mooring\.dev\/sync-wave is "soon", not an integer/);
    assert.equal(await cm("odd"), undefined);
  });
});
