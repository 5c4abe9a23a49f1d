// SyncPolicy semantics: manual mode waits for the annotation, retries with backoff then Stalled, suspend.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { waitFor } from "../../support/wait.js";
import { condition, configMap, deployment, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-policy" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const invalidService: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "broken" }, spec: { ports: [{ port: 70000 }] } };

describe("manual sync", () => {
  it("with automation off, a new render is reported OutOfSync and not applied until the sync-requested-at annotation", async () => {
    await h.createPolicy("manual", { automated: { enabled: false } });
    await h.createApp("manual", { syncPolicyRef: { name: "manual" } });
    await h.publish("manual", [configMap("manual-cm", { a: "1" })]);
    const a = await h.waitApp("manual", "OutOfSync", (a) => a.status?.sync?.status === "OutOfSync" && a);
    assert.match(condition(a, "Synced")!.message, /waiting for a manual sync/);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await h.admin.get(Kinds.ConfigMap, "manual-cm", h.ns.name), undefined, "nothing applied without the request");
    await h.admin.patch(a, { metadata: { annotations: { "delivery.mooring.dev/sync-requested-at": "2026-11-21T22:00:00Z" } } }, "merge");
    await waitFor("applied on request", async () => (await h.admin.get(Kinds.ConfigMap, "manual-cm", h.ns.name)) !== undefined);
    const synced = await h.waitApp("manual", "Synced", (a) => a.status?.sync?.status === "Synced" && a);
    assert.equal(synced.status?.history?.[0]?.initiatedBy, "manual");
    // The same request value is not handled twice: a new render waits again.
    await h.publish("manual", [configMap("manual-cm", { a: "2" })]);
    await h.waitApp("manual", "OutOfSync again", (a) => a.status?.sync?.status === "OutOfSync");
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual((await h.admin.get(Kinds.ConfigMap, "manual-cm", h.ns.name))?.data, { a: "1" });
    // Turning automation on in the SyncPolicy wakes its Applications (the SyncPolicy watch) and syncs.
    const policy = await h.admin.get({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "SyncPolicy" }, "manual", h.ns.name);
    await h.admin.patch(policy!, { spec: { automated: { enabled: true } } }, "merge");
    await waitFor("applied automatically", async () => ((await h.admin.get(Kinds.ConfigMap, "manual-cm", h.ns.name))?.data as Record<string, string>)?.a === "2");
  });
});

describe("retry", () => {
  it("retries a failed sync with backoff up to the limit, then is Stalled until a new render fixes it", async () => {
    await h.createPolicy("retry-once", { retry: { limit: 1, backoff: { duration: "1s", factor: 2, maxDuration: "2s" } } });
    await h.createApp("retry", { syncPolicyRef: { name: "retry-once" } });
    await h.publish("retry", [configMap("retry-cm", { a: "1" }), invalidService]);
    const a = await h.waitApp("retry", "Stalled", (a) => condition(a, "Stalled")?.status === "True" && a, 30_000);
    const failed = (a.status?.history ?? []).filter((e) => e.phase === "Failed");
    assert.equal(failed.length, 2, "the first attempt and one retry");
    assert.match(condition(a, "Stalled")!.message, /retries exhausted \(limit 1\)/);
    assert.equal(condition(a, "Reconciling"), undefined);
    // Stalled means no more attempts.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await h.getApp("retry"))?.status?.history?.filter((e) => e.phase === "Failed").length, 2);
    // The next change (a fixed render) syncs again.
    await h.publish("retry", [configMap("retry-cm", { a: "1" })]);
    const fixed = await h.waitApp("retry", "Synced after the fix", (a) => condition(a, "Synced")?.status === "True" && a);
    assert.equal(condition(fixed, "Stalled"), undefined);
  });
});

describe("pruneLast", () => {
  it("defers pruning until the rest of the render is healthy, then prunes", async () => {
    await h.createPolicy("prune-last", { options: { pruneLast: true } });
    await h.createApp("last", { syncPolicyRef: { name: "prune-last" } });
    await h.publish("last", [deployment("last"), configMap("last-old", { a: "1" })]);
    await h.waitApp("last", "Ready", (a) => condition(a, "Ready")?.status === "True", 60_000);
    await h.publish("last", [deployment("last", { replicas: 2 }), configMap("last-new", { a: "1" })]);
    const a = await h.waitApp("last", "deferred prune recorded", (a) => /will be pruned once the rest is healthy \(pruneLast\)/.test(a.status?.history?.[0]?.message ?? "") && a);
    assert.equal(a.status?.history?.[0]?.phase, "Succeeded");
    await waitFor("last-old pruned", async () => (await h.admin.get(Kinds.ConfigMap, "last-old", h.ns.name)) === undefined, { timeoutMs: 60_000 });
    const done = await h.waitApp("last", "inventory without last-old", (a) => a.status?.sync?.inventory?.length === 2 && a);
    assert.ok(!done.status?.sync?.inventory?.some((e) => e.id.includes("_last-old_")));
  });
});

describe("suspend", () => {
  it("a suspended Application applies nothing and says so", async () => {
    await h.createApp("paused", { suspend: true });
    await h.publish("paused", [configMap("paused-cm", { a: "1" })]);
    const a = await h.waitApp("paused", "Suspended reported", (a) => condition(a, "Ready")?.reason === "Suspended" && a);
    assert.match(condition(a, "Ready")!.message, /suspended/);
    assert.equal(await h.admin.get(Kinds.ConfigMap, "paused-cm", h.ns.name), undefined);
  });
});
