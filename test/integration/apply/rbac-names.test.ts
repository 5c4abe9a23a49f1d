// RBAC objects named with "_" through the whole apply loop on the real cluster (docs/reliability.md, fixed bug 3).
// Role, ClusterRole, RoleBinding and ClusterRoleBinding names are path segments, not DNS names, so "read_only" is
// valid; the inventory id joined fields with "_", so reading the id back threw, and the Application was never Ready,
// never recorded its inventory and left its objects behind when deleted. The API server also checks each recorded id
// against the CRD's pattern (three "_" exactly), which is why the escaped id must keep that shape.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../../../src/runtime/index.js";
import { waitFor } from "../../support/wait.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-rbac-names" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const RBAC = "rbac.authorization.k8s.io";
const role = (name: string): KubeObject => ({ apiVersion: `${RBAC}/v1`, kind: "Role", metadata: { name }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }] });
const binding = (name: string, roleName: string): KubeObject => ({
  apiVersion: `${RBAC}/v1`,
  kind: "RoleBinding",
  metadata: { name },
  roleRef: { apiGroup: RBAC, kind: "Role", name: roleName },
  subjects: [{ kind: "ServiceAccount", name: "default", namespace: h.ns.name }],
});
const get = (kind: string, name: string) => h.admin.live().get({ apiVersion: `${RBAC}/v1`, kind }, name, h.ns.name);

describe("RBAC names holding '_'", () => {
  const app = "rbac";

  it("are applied, recorded in the inventory (escaped) and assessed: the Application becomes Ready", async () => {
    await h.createApp(app);
    await h.publish(app, [role("read_only"), binding("read_only", "read_only"), configMap("plain", { a: "1" })]);
    const a = await h.waitApp(app, "Ready=True", (a) => condition(a, "Ready")?.status === "True" && a, 60_000);
    assert.deepEqual(a.status?.sync?.inventory?.map((e) => e.id).sort(), [
      `${h.ns.name}_plain__ConfigMap`,
      `${h.ns.name}_read%5Fonly_${RBAC}_Role`,
      `${h.ns.name}_read%5Fonly_${RBAC}_RoleBinding`,
    ]);
    assert.equal(a.status?.health?.status, "Healthy");
  });

  it("one removed from the render is pruned", async () => {
    await h.publish(app, [role("read_only"), configMap("plain", { a: "1" })]);
    await waitFor("RoleBinding read_only pruned", async () => (await get("RoleBinding", "read_only")) === undefined, { timeoutMs: 60_000 });
    const a = await h.waitApp(app, "inventory of 2", (a) => a.status?.sync?.inventory?.length === 2 && condition(a, "Ready")?.status === "True" && a);
    assert.match(a.status?.history?.[0]?.message ?? "", /pruned 1/);
  });

  it("deleting the Application deletes them and the finalizer lets it go", async () => {
    await h.admin.delete({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: app, namespace: h.ns.name } });
    await waitFor("Application gone", async () => (await h.getApp(app)) === undefined, { timeoutMs: 60_000 });
    await waitFor("Role read_only gone", async () => (await get("Role", "read_only")) === undefined, { timeoutMs: 30_000 });
  });
});
