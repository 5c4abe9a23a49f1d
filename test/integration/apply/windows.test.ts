// Sync windows with an injected clock: a deny window blocks automated syncs and self-heal (SyncWindowClosed, with
// when they are next allowed), allow windows restrict them, manual syncs pass only where the window says so.
// The clock only moves forward (real time plus an offset), so the controller's own timestamps stay ordered.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds } from "../../../src/runtime/index.js";
import { waitFor } from "../../support/wait.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;
let offset = 0;
const DAY = 86_400_000;
/** An instant `days` after today, at hh:mm UTC. */
const at = (days: number, hh: number, mm: number) => {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  return d.getTime() + days * DAY + (hh * 60 + mm) * 60_000;
};
const setClock = (t: number) => {
  offset = t - Date.now();
};

before(async () => {
  h = await startHarness({ prefix: "apply-windows", now: () => Date.now() + offset });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const cm = async (name: string) => h.admin.get(Kinds.ConfigMap, name, h.ns.name);
const poke = (app: string) => h.controller.enqueue({ namespace: h.ns.name, name: app });
const deny = (manualSync = false) => ({ windows: [{ kind: "deny", schedule: "0 12 * * *", duration: "1h", timeZone: "UTC", manualSync }] });

describe("deny window", () => {
  it("blocks an automated sync: Synced/Ready False SyncWindowClosed, saying when syncs are next allowed", async () => {
    setClock(at(1, 12, 30));
    await h.createPolicy("no-noon", deny());
    await h.createApp("gated", { syncPolicyRef: { name: "no-noon" } });
    await h.publish("gated", [configMap("gated-cm", { v: "1" })]);
    const a = await h.waitApp("gated", "blocked", (a) => condition(a, "Synced")?.reason === "SyncWindowClosed" && a);
    const synced = condition(a, "Synced")!;
    assert.equal(synced.status, "False");
    assert.match(synced.message, /automated sync \(or self-heal\) blocked by deny window 0/);
    assert.match(synced.message, new RegExp(`next allowed at ${new Date(at(1, 13, 0)).toISOString()}`));
    assert.equal(condition(a, "Ready")?.status, "False");
    assert.equal(condition(a, "Ready")?.reason, "SyncWindowClosed");
    assert.equal(await cm("gated-cm"), undefined);
  });

  it("once the window has closed, the sync runs", async () => {
    setClock(at(1, 14, 0));
    poke("gated");
    await h.waitApp("gated", "synced", (a) => condition(a, "Synced")?.status === "True");
    assert.ok(await cm("gated-cm"));
  });

  it("self-heal counts as a sync: drift inside the window is reported, not reverted, and corrected once the window closes", async () => {
    setClock(at(2, 12, 30));
    await h.admin.patch({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "gated-cm", namespace: h.ns.name } }, { data: { v: "hacked" } }, "merge", { fieldManager: "kubectl-edit" });
    const a = await h.waitApp("gated", "heal blocked", (a) => condition(a, "Synced")?.reason === "SyncWindowClosed" && a, 15_000);
    assert.deepEqual(a.status?.sync?.drifted, [`${h.ns.name}_gated-cm__ConfigMap`]);
    assert.match(condition(a, "Synced")!.message, /drifted: ConfigMap .*\/gated-cm \(\/data\/v\)/);
    assert.equal(((await cm("gated-cm"))?.data as Record<string, string>).v, "hacked", "not reverted inside the window");
    setClock(at(2, 14, 0));
    poke("gated");
    await waitFor("reverted", async () => ((await cm("gated-cm"))?.data as Record<string, string>).v === "1", { timeoutMs: 15_000 });
    const b = await h.waitApp("gated", "synced again", (a) => condition(a, "Synced")?.status === "True" && a);
    assert.equal(b.status?.sync?.drifted, undefined);
  });
});

describe("manual syncs", () => {
  it("pass a deny window with manualSync: true", async () => {
    setClock(at(3, 12, 30));
    await h.createPolicy("no-noon-manual-ok", deny(true));
    await h.createApp("manual-ok", { syncPolicyRef: { name: "no-noon-manual-ok" } });
    await h.publish("manual-ok", [configMap("manual-ok-cm", { v: "1" })]);
    await h.waitApp("manual-ok", "blocked", (a) => condition(a, "Synced")?.reason === "SyncWindowClosed");
    await h.admin.patch({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "manual-ok", namespace: h.ns.name } }, { metadata: { annotations: { "delivery.mooring.dev/sync-requested-at": "now-1" } } }, "merge", { fieldManager: "mooring-cli" });
    const a = await h.waitApp("manual-ok", "synced", (a) => condition(a, "Synced")?.status === "True" && a);
    assert.equal(a.status?.history?.[0]?.initiatedBy, "manual");
    assert.ok(await cm("manual-ok-cm"));
  });

  it("are blocked by a deny window without manualSync, and say so", async () => {
    await h.createPolicy("no-noon-strict", deny(false));
    await h.createApp("manual-no", { syncPolicyRef: { name: "no-noon-strict" } }, { "delivery.mooring.dev/sync-requested-at": "now-1" });
    await h.publish("manual-no", [configMap("manual-no-cm", { v: "1" })]);
    const a = await h.waitApp("manual-no", "blocked", (a) => condition(a, "Synced")?.reason === "SyncWindowClosed" && a);
    assert.match(condition(a, "Synced")!.message, /^manual sync blocked by deny window 0/);
    assert.equal(await cm("manual-no-cm"), undefined);
  });
});

describe("allow windows", () => {
  it("outside every allow window automated syncs wait; inside one they run", async () => {
    setClock(at(4, 14, 0));
    await h.createPolicy("only-noon", { windows: [{ kind: "allow", schedule: "0 12 * * *", duration: "1h", timeZone: "UTC" }] });
    await h.createApp("noon", { syncPolicyRef: { name: "only-noon" } });
    await h.publish("noon", [configMap("noon-cm", { v: "1" })]);
    const a = await h.waitApp("noon", "blocked", (a) => condition(a, "Synced")?.reason === "SyncWindowClosed" && a);
    assert.match(condition(a, "Synced")!.message, /the allow windows, none of which is open/);
    assert.match(condition(a, "Synced")!.message, new RegExp(`next allowed at ${new Date(at(5, 12, 0)).toISOString()}`));
    assert.equal(await cm("noon-cm"), undefined);
    setClock(at(5, 12, 30));
    poke("noon");
    await h.waitApp("noon", "synced", (a) => condition(a, "Synced")?.status === "True");
    assert.ok(await cm("noon-cm"));
  });
});
