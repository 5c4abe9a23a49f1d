// dependsOn: an Application waits for its dependencies to be Ready at their current generation and revision; a
// missing dependency is reported; a cycle is Stalled, named; a dependency's change wakes its dependents.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds } from "../../../src/runtime/index.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-deps" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const cm = async (name: string) => h.admin.get(Kinds.ConfigMap, name, h.ns.name);

describe("dependsOn", () => {
  it("a missing dependency is reported (DependencyNotReady, naming it) and nothing is applied", async () => {
    await h.createApp("top", { dependsOn: [{ name: "mid" }] });
    await h.createApp("mid", { dependsOn: [{ name: "base" }] });
    await h.publish("top", [configMap("top-cm", { a: "1" })]);
    await h.publish("mid", [configMap("mid-cm", { a: "1" })]);
    const mid = await h.waitApp("mid", "dependency reported", (a) => condition(a, "Synced")?.reason === "DependencyNotReady" && a);
    assert.match(condition(mid, "Synced")!.message, new RegExp(`dependency Application ${h.ns.name}/base does not exist`));
    assert.equal(condition(mid, "Ready")?.status, "False");
    assert.equal(condition(mid, "Ready")?.reason, "DependencyNotReady");
    const top = await h.waitApp("top", "dependency reported", (a) => condition(a, "Synced")?.reason === "DependencyNotReady" && a);
    assert.match(condition(top, "Synced")!.message, new RegExp(`dependency Application ${h.ns.name}/mid is not Ready`));
    assert.equal(await cm("mid-cm"), undefined);
    assert.equal(await cm("top-cm"), undefined);
  });

  it("the chain syncs in order once the missing dependency exists and is Ready (woken by watch, no polling)", async () => {
    await h.createApp("base");
    await h.publish("base", [configMap("base-cm", { a: "1" })]);
    const base = await h.waitApp("base", "Ready", (a) => condition(a, "Ready")?.status === "True" && a);
    const mid = await h.waitApp("mid", "Ready", (a) => condition(a, "Ready")?.status === "True" && a);
    const top = await h.waitApp("top", "Ready", (a) => condition(a, "Ready")?.status === "True" && a);
    assert.ok(await cm("top-cm"));
    const t = (a: typeof base) => Date.parse(a.status!.history![0]!.startedAt);
    assert.ok(t(base) <= t(mid) && t(mid) <= t(top), "base, then mid, then top");
  });

  it("a dependency that has a newer render not yet applied holds its dependents' new syncs back", async () => {
    await h.createPolicy("manual-only", { automated: { enabled: false } });
    await h.createApp("slow", { syncPolicyRef: { name: "manual-only" } }, { "delivery.mooring.dev/sync-requested-at": "1" });
    await h.publish("slow", [configMap("slow-cm", { v: "1" })]);
    await h.waitApp("slow", "Ready", (a) => condition(a, "Ready")?.status === "True");
    await h.createApp("after-slow", { dependsOn: [{ name: "slow" }] });
    await h.publish("slow", [configMap("slow-cm", { v: "2" })]);
    await h.publish("after-slow", [configMap("after-slow-cm", { a: "1" })]);
    const a = await h.waitApp("after-slow", "waiting", (a) => condition(a, "Synced")?.reason === "DependencyNotReady" && a);
    assert.match(condition(a, "Synced")!.message, /slow/);
    assert.equal(await cm("after-slow-cm"), undefined);
  });

  it("a cycle is Stalled, naming the cycle", async () => {
    await h.createApp("ping", { dependsOn: [{ name: "pong" }] });
    await h.createApp("pong", { dependsOn: [{ name: "ping" }] });
    await h.publish("ping", [configMap("ping-cm", { a: "1" })]);
    await h.publish("pong", [configMap("pong-cm", { a: "1" })]);
    const a = await h.waitApp("ping", "stalled", (a) => condition(a, "Stalled")?.status === "True" && a);
    assert.equal(condition(a, "Stalled")!.reason, "DependencyNotReady");
    assert.match(condition(a, "Stalled")!.message, new RegExp(`dependency cycle: ${h.ns.name}/ping → ${h.ns.name}/pong → ${h.ns.name}/ping`));
    const b = await h.waitApp("pong", "stalled", (a) => condition(a, "Stalled")?.status === "True" && a);
    assert.match(condition(b, "Stalled")!.message, new RegExp(`${h.ns.name}/pong → ${h.ns.name}/ping → ${h.ns.name}/pong`));
    assert.equal(await cm("ping-cm"), undefined);
  });
});
