// A CRD and its custom resources in one render, immutable fields with and without force, createNamespace,
// and Application deletion with and without prune.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { waitFor } from "../../support/wait.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;
const group = `g${randomBytes(3).toString("hex")}.apply-test.mooring.dev`;
const targetNs = `apply-target-${randomBytes(3).toString("hex")}`;

before(async () => {
  h = await startHarness({ prefix: "apply-feat" });
});

after(async () => {
  await h?.stop();
  await h?.admin.delete({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: `gadgets.${group}` } }).catch(() => {});
  await h?.admin.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: targetNs } }).catch(() => {});
  await h?.ns.cleanup();
});

const crd: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `gadgets.${group}` },
  spec: {
    group,
    scope: "Namespaced",
    names: { plural: "gadgets", singular: "gadget", kind: "Gadget", listKind: "GadgetList" },
    versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", properties: { size: { type: "integer" } } } } } } }],
  },
};
const gadget = (name: string, size: number): KubeObject => ({ apiVersion: `${group}/v1`, kind: "Gadget", metadata: { name }, spec: { size } });

const job = (image: string): KubeObject => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name: "migrate" },
  spec: {
    backoffLimit: 0,
    template: { spec: { restartPolicy: "Never", containers: [{ name: "m", image }], tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }] } },
  },
});

describe("CRDs", () => {
  it("applies a CRD and its custom resources from one render (waiting for the CRD to be Established)", async () => {
    await h.createApp("crds");
    await h.publish("crds", [gadget("g1", 1), gadget("g2", 2), crd]);
    const a = await h.waitApp("crds", "synced", (a) => condition(a, "Synced")?.status === "True" && a, 60_000);
    assert.equal(a.status?.sync?.inventory?.length, 3);
    const g = await h.admin.get({ apiVersion: `${group}/v1`, kind: "Gadget" }, "g2", h.ns.name);
    assert.deepEqual(g?.spec, { size: 2 });
    await h.waitApp("crds", "healthy", (a) => a.status?.health?.status === "Healthy");
  });

  it("deleting the Application with prune on deletes its inventory (custom resources, then the CRD) and the finalizer lets it go", async () => {
    await h.admin.delete({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "crds", namespace: h.ns.name } });
    await waitFor("Application gone", async () => (await h.getApp("crds")) === undefined, { timeoutMs: 60_000 });
    await waitFor("CRD gone", async () => (await h.admin.get(Kinds.CustomResourceDefinition, `gadgets.${group}`)) === undefined, { timeoutMs: 60_000 });
  });
});

describe("unknown kinds", () => {
  it("an object of a kind the API server does not serve fails the sync with the kind named; the objects before it in its phase are applied", async () => {
    await h.createApp("unknown");
    await h.publish("unknown", [configMap("known", { a: "1" }), { apiVersion: `nothing.${group}/v1`, kind: "Nothing", metadata: { name: "x", namespace: h.ns.name } }]);
    const a = await h.waitApp("unknown", "failure", (a) => condition(a, "Synced")?.status === "False" && a);
    assert.match(condition(a, "Synced")!.message, new RegExp(`Nothing .*x: the API server has no resource for kind "Nothing" in "nothing\\.${group.replace(/\./g, "\\.")}/v1"`));
    assert.ok(await h.admin.get(Kinds.ConfigMap, "known", h.ns.name));
  });
});

describe("immutable fields", () => {
  it("without force: the change is refused and reported, the object is left as it was", async () => {
    await h.createApp("jobs");
    await h.publish("jobs", [job("registry.example/migrate:1")]);
    await h.waitApp("jobs", "synced", (a) => condition(a, "Synced")?.status === "True");
    const before = await h.admin.get(Kinds.Job, "migrate", h.ns.name);
    await h.publish("jobs", [job("registry.example/migrate:2")]);
    const a = await h.waitApp("jobs", "immutable reported", (a) => condition(a, "Synced")?.status === "False" && a);
    assert.match(condition(a, "Synced")!.message, /Job .*\/migrate: an immutable field changed.*set options.force/);
    assert.equal((await h.admin.get(Kinds.Job, "migrate", h.ns.name))?.metadata?.uid, before?.metadata?.uid);
  });

  it("with force: the object is deleted and re-created, and the sync says so", async () => {
    await h.createPolicy("force", { options: { force: true }, retry: { limit: 0 } });
    await h.createApp("jobs-forced", { syncPolicyRef: { name: "force" } });
    await h.publish("jobs-forced", [{ ...job("registry.example/migrate:1"), metadata: { name: "migrate-forced" } }]);
    await h.waitApp("jobs-forced", "synced", (a) => condition(a, "Synced")?.status === "True");
    const before = await h.admin.get(Kinds.Job, "migrate-forced", h.ns.name);
    await h.publish("jobs-forced", [{ ...job("registry.example/migrate:2"), metadata: { name: "migrate-forced" } }]);
    const a = await h.waitApp("jobs-forced", "re-created", (a) => /re-created/.test(a.status?.history?.[0]?.message ?? "") && a, 60_000);
    assert.equal(condition(a, "Synced")?.status, "True");
    const after = await h.admin.get<KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }>(Kinds.Job, "migrate-forced", h.ns.name);
    assert.notEqual(after?.metadata?.uid, before?.metadata?.uid);
    assert.equal(after?.spec.template.spec.containers[0]!.image, "registry.example/migrate:2");
  });
});

describe("namespaces and deletion without prune", () => {
  it("createNamespace creates spec.targetNamespace and applies into it", async () => {
    await h.createPolicy("create-ns", { options: { createNamespace: true }, automated: { prune: false } });
    await h.createApp("elsewhere", { syncPolicyRef: { name: "create-ns" }, targetNamespace: targetNs });
    await h.publish("elsewhere", [configMap("there", { a: "1" })]);
    await h.waitApp("elsewhere", "synced", (a) => condition(a, "Synced")?.status === "True" && /created namespace/.test(a.status?.history?.[0]?.message ?? ""));
    assert.ok(await h.admin.get(Kinds.Namespace, targetNs));
    assert.ok(await h.admin.get(Kinds.ConfigMap, "there", targetNs));
    // The target is outside the namespace this operator watches: not mistaken for drift, so no resync loop.
    await h.waitApp("elsewhere", "Ready", (a) => condition(a, "Ready")?.status === "True");
    await new Promise((r) => setTimeout(r, 1000));
    const before = await h.getApp("elsewhere");
    const reconciles = await h.reconciles();
    h.controller.enqueue({ namespace: h.ns.name, name: "elsewhere" });
    await waitFor("another reconcile", async () => (await h.reconciles()) > reconciles);
    await new Promise((r) => setTimeout(r, 500));
    const after = await h.getApp("elsewhere");
    assert.equal(after?.metadata?.resourceVersion, before?.metadata?.resourceVersion, "no status write");
    assert.equal(after?.status?.history?.length, before?.status?.history?.length, "no new sync");
  });

  it("deleting an Application with prune off leaves its objects and removes only the application label", async () => {
    await h.admin.delete({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: "elsewhere", namespace: h.ns.name } });
    await waitFor("Application gone", async () => (await h.getApp("elsewhere")) === undefined, { timeoutMs: 30_000 });
    const cm = await h.admin.get(Kinds.ConfigMap, "there", targetNs);
    assert.ok(cm, "the ConfigMap is kept");
    assert.equal(cm?.metadata?.labels?.["delivery.mooring.dev/application"], undefined, "the claim is removed");
    assert.equal(cm?.metadata?.labels?.["app.kubernetes.io/managed-by"], "mooring");
  });
});
