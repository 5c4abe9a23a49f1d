// What users and the CLI wait on, written by the apply controller itself (never by the test): observedGeneration,
// lastHandledReconcileAt; the ownership label for names past Kubernetes' 63-character label limit; and
// options.applyOutOfSyncOnly, seen through the objects' managedFields (an object not sent gets no "mooring" entry).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { ownerLabelValue } from "../../../src/api/ownership.js";
import { waitFor } from "../../support/wait.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-status" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const managers = (o: KubeObject | undefined) => ((o?.metadata?.managedFields ?? []) as { manager?: string }[]).map((m) => m.manager);
const dataOf = (o: KubeObject | undefined) => (o as { data?: Record<string, string> } | undefined)?.data;

describe("status fields", () => {
  it("observedGeneration follows each spec change, and lastHandledReconcileAt each reconcile request", async () => {
    await h.createApp("gen");
    await h.publish("gen", [configMap("gen-a", { a: "1" })]);
    const first = await h.waitApp("gen", "Ready", (a) => condition(a, "Ready")?.status === "True" && a);
    assert.equal(first.status?.observedGeneration, first.metadata?.generation);

    await h.admin.patch(first, { spec: { interval: "7m" } }, "merge");
    const bumped = await h.waitApp("gen", "observedGeneration of the new spec", (a) => a.status?.observedGeneration === a.metadata?.generation && a.metadata!.generation! > first.metadata!.generation! && a);
    assert.ok(bumped);

    for (const value of ["first-request", "second-request"]) {
      await h.admin.patch(first, { metadata: { annotations: { "mooring.dev/reconcile-requested-at": value } } }, "merge");
      await h.waitApp("gen", `lastHandledReconcileAt=${value}`, (a) => a.status?.lastHandledReconcileAt === value);
    }
  });
});

describe("ownership label", () => {
  // 63-character names: namespace + "." + name is far past the label limit.
  const long = `long-${"x".repeat(58)}`;

  it("an Application whose <namespace>.<name> is longer than 63 characters applies, labels validly and heals drift", async () => {
    await h.createApp(long);
    await h.publish(long, [configMap("long-owned", { color: "blue" })]);
    await h.waitApp(long, "Ready", (a) => condition(a, "Ready")?.status === "True");
    const cm = await h.admin.get(Kinds.ConfigMap, "long-owned", h.ns.name);
    const label = cm?.metadata?.labels?.["delivery.mooring.dev/application"];
    assert.equal(label, ownerLabelValue(h.ns.name, long));
    assert.ok(label!.length <= 63, label);
    assert.equal(cm?.metadata?.annotations?.["delivery.mooring.dev/application-ref"], `${h.ns.name}/${long}`);
    // The watch maps the object back to its Application through the annotation: an edit is reverted.
    await h.admin.patch(cm!, { data: { color: "red" } }, "merge", { fieldManager: "kubectl-edit" });
    await waitFor("self-heal of the long-named Application's ConfigMap", async () => dataOf(await h.admin.get(Kinds.ConfigMap, "long-owned", h.ns.name))?.color === "blue" || undefined);
  });
});

describe("options.applyOutOfSyncOnly", () => {
  const preexisting = (name: string, app: string) =>
    configMap(name, { same: "yes" }, {
      metadata: {
        name,
        namespace: h.ns.name,
        labels: { "app.kubernetes.io/managed-by": "mooring", "delivery.mooring.dev/application": ownerLabelValue(h.ns.name, app) },
        annotations: { "delivery.mooring.dev/application-ref": `${h.ns.name}/${app}` },
      },
    });

  it("sends only the objects that differ from the cluster; with the option off every object is applied", async () => {
    await h.createPolicy("out-of-sync-only", { options: { applyOutOfSyncOnly: true } });
    // Objects already live with exactly the rendered content, written by another field manager.
    for (const [name, app] of [["oos-same", "oos"], ["all-same", "all"]] as const) {
      await h.admin.apply(preexisting(name, app), { fieldManager: "earlier-release" });
    }
    await h.createApp("oos", { syncPolicyRef: { name: "out-of-sync-only" } });
    await h.createApp("all");
    await h.publish("oos", [preexisting("oos-same", "oos"), configMap("oos-new", { n: "1" })]);
    await h.publish("all", [preexisting("all-same", "all"), configMap("all-new", { n: "1" })]);
    const oos = await h.waitApp("oos", "synced", (a) => a.status?.history?.[0]?.phase === "Succeeded" && a);
    await h.waitApp("all", "synced", (a) => a.status?.history?.[0]?.phase === "Succeeded");
    assert.match(oos.status!.history![0]!.message!, /1 created, 0 configured, 1 unchanged/);
    assert.ok(!managers(await h.admin.get(Kinds.ConfigMap, "oos-same", h.ns.name)).includes("mooring"), "the in-sync object was not sent");
    assert.ok(managers(await h.admin.get(Kinds.ConfigMap, "oos-new", h.ns.name)).includes("mooring"));
    assert.ok(managers(await h.admin.get(Kinds.ConfigMap, "all-same", h.ns.name)).includes("mooring"), "without the option every object is applied");
    const inv = oos.status!.sync!.inventory!.map((e) => e.id).sort();
    assert.equal(inv.length, 2, `both objects are in the inventory: ${inv.join(", ")}`);

    // A change to the in-sync object is applied (a new key: data.same stays the earlier manager's, no conflict).
    await h.publish("oos", [{ ...preexisting("oos-same", "oos"), data: { same: "yes", more: "1" } }, configMap("oos-new", { n: "1" })]);
    await waitFor("the changed object applied", async () => dataOf(await h.admin.get(Kinds.ConfigMap, "oos-same", h.ns.name))?.more === "1" || undefined);
    assert.ok(managers(await h.admin.get(Kinds.ConfigMap, "oos-same", h.ns.name)).includes("mooring"));
  });
});
