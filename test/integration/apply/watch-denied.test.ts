// The operator's own identity must be able to watch every kind it applies (health and drift come from watches).
// When it may not list a kind, the Application says so — Ready=False (SyncFailed when the apply step meets it,
// WatchFailed elsewhere), naming the resource and the chart value that grants it — instead of waiting silently with
// a worker held; other Applications go on.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds, isForbidden, serviceAccountUser, type KubeObject } from "../../../src/runtime/index.js";
import { collectEvery } from "../../support/gc.js";
import { createTestNamespace } from "../../support/namespace.js";
import { testCluster } from "../../support/cluster.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;
let operatorNs: { name: string; cleanup(): Promise<void> };
// Collections while the operator waits on a watch it may not list, as under the full suite's memory pressure: a
// timeout lost to one once left these reconciles waiting forever, writing nothing (src/runtime/timeout.ts).
let stopCollecting: (() => void) | undefined;

const service = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name }, spec: { clusterIP: "None", selector: { app: name }, ports: [{ port: 80 }] } });

before(async () => {
  stopCollecting = collectEvery(500);
  // The operator's ServiceAccount lives apart; its rights in the test namespace are granted below, before it starts.
  operatorNs = await createTestNamespace(await testCluster(), "apply-op");
  const user = serviceAccountUser(operatorNs.name, "operator");
  h = await startHarness({ prefix: "apply-watch", managerUser: user, cacheSyncTimeoutMs: 3_000, logLevel: "error" /* the refused lists are the point */, grant: async (admin, ns) => {
    await admin.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "operator", namespace: operatorNs.name } });
    await admin.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "operator", namespace: ns },
      rules: [
        { apiGroups: ["delivery.mooring.dev"], resources: ["*"], verbs: ["*"] },
        { apiGroups: ["source.mooring.dev"], resources: ["*"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
        { apiGroups: [""], resources: ["configmaps"], verbs: ["*"] },
        // Services may be written but not listed or watched: the gap under test.
        { apiGroups: [""], resources: ["services"], verbs: ["get", "create", "patch", "update", "delete"] },
      ],
    });
    await admin.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "operator", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "operator" },
      subjects: [{ kind: "ServiceAccount", name: "operator", namespace: operatorNs.name }],
    });
  } });
});

after(async () => {
  stopCollecting?.();
  await h?.stop();
  await h?.ns.cleanup();
  await operatorNs?.cleanup();
});

describe("a kind the operator may not watch", () => {
  it("is reported on the Application with the resource and the fix; another Application is unaffected", async () => {
    await h.createApp("blind");
    await h.publish("blind", [configMap("blind-config", { a: "1" }), service("blind")]);
    await h.createApp("fine");
    await h.publish("fine", [configMap("fine-config", { b: "2" })]);
    const blind = await h.waitApp("blind", "Ready=False naming the watch", (a) => condition(a, "Ready")?.status === "False" && /cannot list services/.test(condition(a, "Ready")!.message) && a, 60_000);
    const msg = condition(blind, "Ready")!.message;
    assert.match(msg, /cannot list services/, msg);
    assert.match(msg, /403|forbidden/i, msg);
    assert.match(msg, /rbac\.apply\.clusterRead/, msg);
    await h.waitApp("fine", "Ready=True", (a) => condition(a, "Ready")?.status === "True", 60_000);
  });

  it("a health check on such a kind is Unknown health, and the sync it follows is kept (not run again and again)", async () => {
    await h.createApp("checked", { healthChecks: [{ apiVersion: "v1", kind: "Service", name: "elsewhere" }] });
    await h.publish("checked", [configMap("checked-config", { c: "3" })]);
    const app = await h.waitApp("checked", "health Unknown naming the watch", (a) => a.status?.health?.status === "Unknown" && /cannot list services/.test(a.status.health.message ?? "") && a, 60_000);
    assert.equal(app.status?.history?.[0]?.phase, "Succeeded");
    assert.deepEqual(app.status?.sync?.inventory?.map((e) => e.id), [`${h.ns.name}_checked-config__ConfigMap`]);
    await new Promise((r) => setTimeout(r, 12_000)); // past a requeue
    assert.equal((await h.getApp("checked"))?.status?.history?.length, 1, "one sync, not one per reconcile");
  });

  it("once granted the Application becomes Ready; revoked again, a restarted operator reports WatchFailed for its inventory", async () => {
    const rules = (list: boolean) => [
      { apiGroups: ["delivery.mooring.dev"], resources: ["*"], verbs: ["*"] },
      { apiGroups: ["source.mooring.dev"], resources: ["*"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
      { apiGroups: [""], resources: ["configmaps"], verbs: ["*"] },
      { apiGroups: [""], resources: ["services"], verbs: ["get", "create", "patch", "update", "delete", ...(list ? ["list", "watch"] : [])] },
    ];
    const role = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "operator", namespace: h.ns.name } };
    await h.admin.patch(role, { rules: rules(true) }, "merge");
    await h.waitApp("blind", "Ready=True once services can be listed", (a) => condition(a, "Ready")?.status === "True", 150_000);
    await h.admin.patch(role, { rules: rules(false) }, "merge");
    // The authorizer's RBAC cache follows the Role within moments: restart only once the revocation holds, or the
    // new manager's first list could still pass.
    const asOperator = h.admin.impersonate(serviceAccountUser(operatorNs.name, "operator"));
    const { waitFor } = await import("../../support/wait.js");
    await waitFor("services no longer listable by the operator", async () => asOperator.list(Kinds.Service, { namespace: h.ns.name }).then(() => false, (err: unknown) => isForbidden(err)));
    await h.restart();
    // On a loaded machine the first WatchFailed may say only that the cache has not synced (the 403 not back within
    // the 3 s bound); the next look, 10 s on, names the refusal.
    const app = await h.waitApp("blind", "Ready=False WatchFailed naming the 403", (a) => condition(a, "Ready")?.reason === "WatchFailed" && /the operator cannot list services: .*403/.test(condition(a, "Ready")!.message) && a, 60_000);
    assert.equal(app.status?.sync?.inventory?.length, 2, "the inventory is kept");
  });
});
