// Secure by default (docs/tenancy.md), on the real cluster, with the operator's default flags: tenant A tries to
// reach tenant B through every reference that crosses namespaces (its GitRepository, its Application as a
// dependency, its objects as health checks, a cluster-scoped health check) and to write into B's namespace from an
// Application that names no ServiceAccount. Each attempt is refused with a condition that names the field (or the
// identity) and the way out, and B's objects and status stay as they were. Then the same operator restarted with
// --allow-cross-namespace-refs lets the reference through: the refusal was the flag's doing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApplicationKind } from "../../../src/api/index.js";
import type { KubeObject } from "../../../src/runtime/index.js";
import type { TestRepo } from "../../support/git-server.js";
import { type App, application, cond, editor, gitRepository, startTenancy, type Tenancy, untilApp } from "./harness.js";

let t: Tenancy;
let repo: TestRepo;
let bApp: App;
let bConfigMap: KubeObject;

const cm = (name: string, data: Record<string, string>, namespace?: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ""}data:\n${Object.entries(data).map(([k, v]) => `  ${k}: "${v}"\n`).join("")}`;

const getCm = (name: string, namespace: string) => t.admin.get({ apiVersion: "v1", kind: "ConfigMap" }, name, namespace);
const ready = (a: App) => cond(a, "Ready")?.status === "True";
const refused = (a: App) => cond(a, "Ready")?.reason === "CrossNamespaceRefForbidden";

before(async () => {
  t = await startTenancy("lock");
  const [a, b] = [t.a.name, t.b.name];
  repo = await t.git.createRepo("mono", {
    files: {
      "team-a/cm.yaml": cm("team-a-config", { owner: "a" }),
      "own/cm.yaml": cm("own-config", { owner: "a" }),
      "default-sa/cm.yaml": cm("default-sa-config", { owner: "a" }),
      "team-b/cm.yaml": cm("team-b-config", { owner: "b" }),
      // Tenant A's path that plants an object in tenant B's namespace.
      "escape/cm.yaml": cm("planted-by-a", { owner: "a" }, b),
    },
  });
  for (const ns of [a, b]) {
    await editor(t.admin, ns);
    await t.admin.create(gitRepository(t, ns, "mono", repo.url));
  }
  // Tenant B, as it should be: deployed by its own ServiceAccount, Ready.
  await t.admin.create(application(t, b, "app", { sourceRef: { kind: "GitRepository", name: "mono" }, path: "team-b", serviceAccountName: "deployer" }));
  bApp = await untilApp(t, b, "app", "Ready", ready);
  bConfigMap = (await getCm("team-b-config", b))!;
  assert.equal((bConfigMap as { data?: Record<string, string> }).data?.owner, "b");
});

after(async () => {
  await t?.stop();
});

/** B's Application and ConfigMap exactly as before the attempts (status too: nothing re-synced or re-rendered). */
async function assertBUntouched(): Promise<void> {
  const app = await t.admin.get<App>(ApplicationKind, "app", t.b.name);
  assert.ok(app && ready(app), "B's Application is still Ready");
  assert.equal(app.metadata?.generation, bApp.metadata?.generation);
  assert.deepEqual(app.status?.sync?.inventory, bApp.status?.sync?.inventory);
  assert.deepEqual(app.status?.history, bApp.status?.history, "no sync of B's Application happened");
  assert.deepEqual(app.status?.render, bApp.status?.render);
  const live = await getCm("team-b-config", t.b.name);
  assert.equal(live?.metadata?.resourceVersion, bConfigMap.metadata?.resourceVersion, "B's ConfigMap was not written");
  assert.equal(await getCm("planted-by-a", t.b.name), undefined, "nothing was planted in B's namespace");
}

describe("secure by default: cross-namespace references", () => {
  it("a source in another tenant's namespace: SourceReady and Ready False, CrossNamespaceRefForbidden naming spec.sourceRef.namespace and the flag; nothing rendered or applied", async () => {
    await t.admin.create(application(t, t.a.name, "steal-source", { sourceRef: { kind: "GitRepository", name: "mono", namespace: t.b.name }, path: "team-a", serviceAccountName: "deployer" }));
    const app = await untilApp(t, t.a.name, "steal-source", "refused by both controllers", (x) => refused(x) && cond(x, "SourceReady")?.reason === "CrossNamespaceRefForbidden");
    for (const type of ["SourceReady", "Ready"]) {
      assert.equal(cond(app, type)?.status, "False", type);
      assert.match(cond(app, type)!.message, new RegExp(`spec\\.sourceRef\\.namespace names GitRepository ${t.b.name}/mono in another namespace.*--allow-cross-namespace-refs`), type);
    }
    assert.equal(cond(app, "Stalled")?.status, "True");
    assert.equal(app.status?.render, undefined, "nothing rendered from B's repository");
    assert.deepEqual(app.status?.sync?.inventory ?? [], [], "nothing applied");
    await assertBUntouched();
  });

  it("a dependency on another tenant's Application: Stalled, CrossNamespaceRefForbidden naming spec.dependsOn[1]; nothing applied", async () => {
    await t.admin.create(application(t, t.a.name, "wait-on-b", {
      sourceRef: { kind: "GitRepository", name: "mono" },
      path: "team-a",
      serviceAccountName: "deployer",
      dependsOn: [{ name: "steal-source" }, { name: "app", namespace: t.b.name }],
    }));
    const app = await untilApp(t, t.a.name, "wait-on-b", "refused", refused);
    assert.equal(cond(app, "Stalled")?.reason, "CrossNamespaceRefForbidden");
    assert.match(cond(app, "Ready")!.message, new RegExp(`spec\\.dependsOn\\[1\\] names Application ${t.b.name}/app in another namespace.*--allow-cross-namespace-refs`));
    assert.doesNotMatch(cond(app, "Ready")!.message, /Ready|waiting/, "B's state is not reported to A");
    assert.equal(await getCm("team-a-config", t.a.name), undefined, "nothing applied");
    await assertBUntouched();
  });

  it("a health check on another tenant's object, and on a cluster-scoped one: refused naming the entry; one in its own namespace works", async () => {
    await t.admin.create(application(t, t.a.name, "peek", {
      sourceRef: { kind: "GitRepository", name: "mono" },
      path: "team-a",
      serviceAccountName: "deployer",
      healthChecks: [{ apiVersion: "v1", kind: "ConfigMap", name: "team-b-config", namespace: t.b.name }],
    }));
    await t.admin.create(application(t, t.a.name, "peek-cluster", {
      sourceRef: { kind: "GitRepository", name: "mono" },
      path: "team-a",
      serviceAccountName: "deployer",
      healthChecks: [{ apiVersion: "v1", kind: "ConfigMap", name: "team-a-config" }, { apiVersion: "v1", kind: "Namespace", name: t.b.name }],
    }));
    const peek = await untilApp(t, t.a.name, "peek", "refused", refused);
    assert.match(cond(peek, "Ready")!.message, new RegExp(`spec\\.healthChecks\\[0\\] \\(ConfigMap team-b-config\\) names namespace ${t.b.name}, outside the Application's namespace.*--allow-cross-namespace-refs`));
    assert.equal(peek.status?.health?.status ?? "Unknown", "Unknown", "B's object's health is not reported to A");
    const cluster = await untilApp(t, t.a.name, "peek-cluster", "refused", refused);
    assert.match(cond(cluster, "Ready")!.message, /spec\.healthChecks\[1\] \(Namespace .*\) names a cluster-scoped object/);
    await assertBUntouched();
    // The lockdown blocks only what crosses: a health check in the Application's own namespace still works.
    await t.admin.create(application(t, t.a.name, "own", {
      sourceRef: { kind: "GitRepository", name: "mono" },
      path: "own",
      serviceAccountName: "deployer",
      healthChecks: [{ apiVersion: "v1", kind: "ConfigMap", name: "own-config" }],
    }));
    const own = await untilApp(t, t.a.name, "own", "Ready", ready);
    assert.equal(own.status?.health?.status, "Healthy");
  });
});

describe("secure by default: the identity of an Application without a ServiceAccount", () => {
  it("is its namespace's default ServiceAccount: planting an object in B's namespace is refused naming that identity", async () => {
    await t.admin.create(application(t, t.a.name, "no-sa", { sourceRef: { kind: "GitRepository", name: "mono" }, path: "escape" }));
    const app = await untilApp(t, t.a.name, "no-sa", "sync failed", (x) => cond(x, "Synced")?.reason === "SyncFailed");
    const msg = cond(app, "Synced")!.message;
    assert.match(msg, new RegExp(`as system:serviceaccount:${t.a.name}:default`));
    assert.match(msg, /forbidden/);
    assert.equal(cond(app, "Ready")?.status, "False");
    await assertBUntouched();
  });

  it("gets exactly the rights of that ServiceAccount: granted edit in its own namespace, it applies there", async () => {
    await t.admin.create(application(t, t.a.name, "default-sa", { sourceRef: { kind: "GitRepository", name: "mono" }, path: "default-sa" }));
    const denied = await untilApp(t, t.a.name, "default-sa", "sync failed", (x) => cond(x, "Synced")?.reason === "SyncFailed");
    assert.match(cond(denied, "Synced")!.message, new RegExp(`as system:serviceaccount:${t.a.name}:default`));
    await t.admin.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "default-edit", namespace: t.a.name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ kind: "ServiceAccount", name: "default", namespace: t.a.name }],
    } as KubeObject);
    await untilApp(t, t.a.name, "default-sa", "Ready once granted (retry)", ready, 120_000);
    assert.ok(await getCm("default-sa-config", t.a.name));
  });
});

describe("--allow-cross-namespace-refs", () => {
  it("lets the same references through (the refusal was the default's doing)", async () => {
    await t.restart(["--allow-cross-namespace-refs"]);
    // Ready belongs to the apply controller, which takes up the new render a moment after it appears: wait for it.
    const app = await untilApp(t, t.a.name, "steal-source", "rendered from B's GitRepository, and Ready no longer saying the refusal", (x) => cond(x, "SourceReady")?.status === "True" && !!x.status?.render?.artifact && !!cond(x, "Ready") && cond(x, "Ready")?.reason !== "CrossNamespaceRefForbidden");
    assert.notEqual(cond(app, "Ready")?.reason, "CrossNamespaceRefForbidden");
    assert.match(t.logs(), /cross-namespace references are allowed \(--allow-cross-namespace-refs\)/);
  });
});
