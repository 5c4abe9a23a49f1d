// Impersonation: every write on an Application's objects is made as its ServiceAccount (here given by the
// operator's --default-service-account), so a tenant cannot apply what that ServiceAccount may not; and
// cross-namespace references, refused by default (--allow-cross-namespace-refs).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-id", defaultServiceAccount: "deployer" });
  const ns = h.ns.name;
  await h.admin.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "deployer", namespace: ns } });
  await h.admin.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "configmaps-only", namespace: ns },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] }],
  });
  await h.admin.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "deployer", namespace: ns },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmaps-only" },
    subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: ns }],
  });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const secret = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Secret", metadata: { name }, stringData: { password: "not-a-real-one" } });

describe("impersonation", () => {
  it("applies what the ServiceAccount may apply, and reports what it may not, naming the identity", async () => {
    await h.createApp("tenant");
    await h.publish("tenant", [configMap("allowed", { a: "1" }), secret("denied")]);
    const a = await h.waitApp("tenant", "failure reported", (a) => condition(a, "Synced")?.status === "False" && a);
    const msg = condition(a, "Synced")!.message;
    assert.match(msg, new RegExp(`as system:serviceaccount:${h.ns.name}:deployer`));
    assert.match(msg, /Secret .*\/denied: forbidden/);
    assert.equal(await h.admin.get(Kinds.Secret, "denied", h.ns.name), undefined, "the Secret was not created");
    assert.ok(await h.admin.get(Kinds.ConfigMap, "allowed", h.ns.name), "the ConfigMap was");
  });

  it("spec.serviceAccountName wins over the default, and a ServiceAccount with no rights can apply nothing", async () => {
    await h.createApp("nobody", { serviceAccountName: "nobody" });
    await h.publish("nobody", [configMap("by-nobody", { a: "1" })]);
    const a = await h.waitApp("nobody", "failure reported", (a) => condition(a, "Synced")?.status === "False" && a);
    assert.match(condition(a, "Synced")!.message, new RegExp(`as system:serviceaccount:${h.ns.name}:nobody.*forbidden`));
    assert.equal(await h.admin.get(Kinds.ConfigMap, "by-nobody", h.ns.name), undefined);
  });
});

describe("cross-namespace references", () => {
  it("are refused by default (Stalled, CrossNamespaceRefForbidden), and nothing is applied", async () => {
    await h.createApp("cross", { sourceRef: { kind: "GitRepository", name: "repo", namespace: "elsewhere" } });
    await h.publish("cross", [configMap("cross-cm", { a: "1" })]);
    const a = await h.waitApp("cross", "Stalled", (a) => condition(a, "Stalled")?.status === "True" && a);
    assert.equal(condition(a, "Stalled")?.reason, "CrossNamespaceRefForbidden");
    assert.match(condition(a, "Stalled")!.message, /spec\.sourceRef\.namespace names GitRepository elsewhere\/repo .*--allow-cross-namespace-refs/);
    assert.equal(await h.admin.get(Kinds.ConfigMap, "cross-cm", h.ns.name), undefined);
  });
});
