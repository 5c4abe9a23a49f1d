// Ownership between Applications, and server-side apply conflicts with other field managers.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds } from "../../../src/runtime/index.js";
import { waitFor } from "../../support/wait.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-own" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

describe("ownership", () => {
  it("an object managed by another Application is not taken over: the second reports the conflict and leaves it alone", async () => {
    await h.createApp("first");
    await h.publish("first", [configMap("shared", { owner: "first" })]);
    await h.waitApp("first", "first synced", (a) => condition(a, "Synced")?.status === "True");
    await h.createApp("second");
    await h.publish("second", [configMap("shared", { owner: "second" }), configMap("second-only", { x: "1" })]);
    const a = await h.waitApp("second", "conflict reported", (a) => condition(a, "Synced")?.status === "False" && a);
    assert.match(condition(a, "Synced")!.message, new RegExp(`ConfigMap ${h.ns.name}/shared is managed by Application ${h.ns.name}\\.first`));
    const cm = await h.admin.get(Kinds.ConfigMap, "shared", h.ns.name);
    assert.deepEqual(cm?.data, { owner: "first" }, "content untouched");
    assert.equal(cm?.metadata?.labels?.["delivery.mooring.dev/application"], `${h.ns.name}.first`, "claim untouched");
    // And no flip-flop: the first Application stays in sync and keeps it.
    h.controller.enqueue({ namespace: h.ns.name, name: "first" });
    await new Promise((r) => setTimeout(r, 1000));
    const first = await h.getApp("first");
    assert.equal(condition(first!, "Synced")?.status, "True");
    assert.deepEqual((await h.admin.get(Kinds.ConfigMap, "shared", h.ns.name))?.data, { owner: "first" });
  });
});

describe("field manager conflicts", () => {
  it("without force, a field owned by another manager is a conflict naming that manager and the field", async () => {
    await h.admin.apply(configMap("contested", { key: "theirs" }, { metadata: { namespace: h.ns.name } }), { fieldManager: "someone-else", force: true });
    await h.createApp("contender");
    await h.publish("contender", [configMap("contested", { key: "ours" })]);
    const a = await h.waitApp("contender", "conflict reported", (a) => condition(a, "Synced")?.status === "False" && a);
    const msg = condition(a, "Synced")!.message;
    assert.match(msg, /apply conflict/);
    assert.match(msg, /field manager "someone-else"/);
    assert.match(msg, /\.data\.key/);
    assert.deepEqual((await h.admin.get(Kinds.ConfigMap, "contested", h.ns.name))?.data, { key: "theirs" });
  });

  it("with options.force, the fields are taken over", async () => {
    await h.createPolicy("forceful", { options: { force: true } });
    await h.admin.apply(configMap("contested2", { key: "theirs" }, { metadata: { namespace: h.ns.name } }), { fieldManager: "someone-else", force: true });
    await h.createApp("forcer", { syncPolicyRef: { name: "forceful" } });
    await h.publish("forcer", [configMap("contested2", { key: "ours" })]);
    await h.waitApp("forcer", "synced", (a) => condition(a, "Synced")?.status === "True");
    await waitFor("data taken over", async () => ((await h.admin.get(Kinds.ConfigMap, "contested2", h.ns.name))?.data as Record<string, string>)?.key === "ours");
  });
});
