// `helm install` of the chart into the real local cluster: the API server validates every object, the
// PodSecurity admission plugin enforces `restricted` on the Pods, kwok's fake nodes run them, and the RBAC
// authorizer answers what each ServiceAccount may do. Each test has its own release and namespace;
// CRDs are never installed here (--skip-crds): they are cluster-wide and other suites own them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { CHART_DIR, helmOk, impersonatingKubeconfig, installChart, type ChartRelease } from "../../support/helm.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

/** Tolerations for every taint on the cluster's nodes (kwok's fake nodes may be tainted), so Pods schedule. */
async function tolerationsForNodes(c: TestCluster): Promise<k8s.V1Toleration[]> {
  const nodes = await c.core.listNode();
  assert.ok(nodes.items.length > 0, "the test cluster has no nodes");
  const seen = new Map<string, k8s.V1Toleration>();
  for (const n of nodes.items) for (const t of n.spec?.taints ?? []) seen.set(`${t.key}:${t.effect}`, { key: t.key, operator: "Exists", effect: t.effect });
  return [...seen.values()];
}

async function canI(c: TestCluster, user: string, attrs: k8s.V1ResourceAttributes): Promise<boolean> {
  const authz = c.kc.makeApiClient(k8s.AuthorizationV1Api);
  const r = await authz.createSubjectAccessReview({ body: { spec: { user, groups: ["system:serviceaccounts", "system:authenticated"], resourceAttributes: attrs } } });
  return r.status?.allowed === true;
}

type Install = ChartRelease & { ns: TestNamespace };

async function install(c: TestCluster, mode: "split" | "all-in-one", extra: string[] = []): Promise<Install> {
  const ns = await createTestNamespace(c, "chart");
  // The API server's own PodSecurity admission refuses any Pod of this namespace that is not `restricted`.
  await c.objects.patch(
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns.name, labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest" } } },
    undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch,
  );
  const tolerations = await tolerationsForNodes(c);
  try {
    const rel = installChart({ kubeconfigPath: c.kubeconfigPath, namespace: ns.name, mode, args: ["--set-json", `tolerations=${JSON.stringify(tolerations)}`, ...extra] });
    return { ...rel, ns };
  } catch (err) {
    await ns.cleanup();
    throw err;
  }
}

async function uninstall(c: TestCluster, i: Install): Promise<void> {
  i.uninstall();
  const rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const left = (await rbac.listClusterRole({ labelSelector: `app.kubernetes.io/instance=${i.release}` })).items.map((r) => r.metadata?.name);
  assert.deepEqual(left, [], "helm uninstall removes the release's ClusterRoles");
}

async function availableDeployments(c: TestCluster, i: Install): Promise<k8s.V1Deployment[]> {
  const list = await c.apps.listNamespacedDeployment({ namespace: i.ns.name, labelSelector: `app.kubernetes.io/instance=${i.release}` });
  return list.items;
}

async function assertPodsAdmittedAndReady(c: TestCluster, i: Install, expected: number): Promise<void> {
  const pods = await waitFor(`${expected} ready Pods of ${i.release}`, async () => {
    const list = await c.core.listNamespacedPod({ namespace: i.ns.name, labelSelector: `app.kubernetes.io/instance=${i.release}` });
    const ready = list.items.filter((p) => p.status?.conditions?.some((cond) => cond.type === "Ready" && cond.status === "True"));
    return ready.length === expected ? list.items : undefined;
  }, { timeoutMs: 60_000 });
  for (const p of pods) {
    const c0 = p.spec!.containers[0]!;
    assert.equal(c0.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(p.spec?.securityContext?.runAsNonRoot, true);
  }
}

void describe("chart installed on the local cluster: split mode with 2 replicas", () => {
  let c: TestCluster;
  let inst: Install | undefined;
  // A tenant namespace the chart grants impersonation in (rbac.apply.tenantNamespaces), and one whose admin grants it.
  let tenant: TestNamespace | undefined;
  let other: TestNamespace | undefined;

  before(async () => {
    c = await testCluster();
    tenant = await createTestNamespace(c, "tenant");
    other = await createTestNamespace(c, "other");
    inst = await install(c, "split", ["--set", "replicas=2", "--set-json", `rbac.apply.tenantNamespaces=${JSON.stringify([tenant.name])}`]);
  });
  after(async () => {
    if (inst) {
      inst.uninstall();
      await inst.ns.cleanup();
    }
    await tenant?.cleanup();
    await other?.cleanup();
  });

  void it("runs one available Deployment per controller, with restricted Pods admitted by PodSecurity", async () => {
    const ds = await availableDeployments(c, inst!);
    assert.deepEqual(ds.map((d) => d.metadata?.name).sort(), ["source", "render", "apply"].map((n) => `${inst!.fullname}-${n}`).sort());
    for (const d of ds) assert.equal(d.status?.availableReplicas, 2, `${d.metadata?.name} has 2 available replicas`);
    await assertPodsAdmittedAndReady(c, inst!, 6);
    // Control: the namespace really enforces `restricted`, so the admitted Pods above passed a real check.
    await assert.rejects(
      c.core.createNamespacedPod({ namespace: inst!.ns.name, dryRun: "All", body: { metadata: { name: "unrestricted" }, spec: { containers: [{ name: "c", image: "busybox" }] } } }),
      (err: unknown) => /violates PodSecurity\W+restricted/.test(String((err as Error).message)),
    );
  });

  void it("creates the artifact, webhook and metrics Services, with the ready Pods as endpoints", async () => {
    const svcs = await c.core.listNamespacedService({ namespace: inst!.ns.name });
    const names = svcs.items.map((s) => s.metadata?.name).sort();
    assert.deepEqual(names, ["metrics", "render", "source", "webhook"].map((n) => `${inst!.fullname}-${n}`));
    const discovery = c.kc.makeApiClient(k8s.DiscoveryV1Api);
    const readyEndpoints = async (svc: string) => {
      const slices = await discovery.listNamespacedEndpointSlice({ namespace: inst!.ns.name, labelSelector: `kubernetes.io/service-name=${inst!.fullname}-${svc}` });
      return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
    };
    // The webhook Service balances over both replicas (a push is recorded on the GitRepository, which the leader sees).
    // the EndpointSlice controller lags under a loaded 2-core machine
    await waitFor(`endpoints of ${inst!.fullname}-webhook`, async () => (await readyEndpoints("webhook")).length === 2, { timeoutMs: 90_000 });
    // The artifact Service reaches only the leader, which labels its own Pod (no operator runs here: the label is
    // put on one Pod by hand, as src/runtime/leaderlabel.ts does): a replica that is not leading has no artifacts.
    assert.equal((await readyEndpoints("source")).length, 0, "no endpoint before a leader labelled its Pod");
    const pods = await c.core.listNamespacedPod({ namespace: inst!.ns.name, labelSelector: "app.kubernetes.io/component=source" });
    const leader = pods.items[0]!;
    await c.core.patchNamespacedPod({ name: leader.metadata!.name!, namespace: inst!.ns.name, body: { metadata: { labels: { "mooring.dev/leader": `${inst!.fullname}-source-leader` } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    await waitFor(`the leader alone as the endpoint of ${inst!.fullname}-source`, async () => {
      const ready = await readyEndpoints("source");
      return ready.length === 1 && ready[0]!.addresses.includes(leader.status!.podIP!);
    }, { timeoutMs: 90_000 });
  });

  void it("gives each ServiceAccount exactly its rights, as the API server's authorizer sees them", async () => {
    const sa = (n: string) => `system:serviceaccount:${inst!.ns.name}:${inst!.fullname}-${n}`;
    const impersonate = (namespace: string, name = "deployer") => ({ group: "", resource: "serviceaccounts", verb: "impersonate", namespace, name });
    assert.equal(await canI(c, sa("apply"), impersonate(tenant!.name)), true, "the apply controller impersonates ServiceAccounts of a tenant namespace the chart granted");
    assert.equal(await canI(c, sa("apply"), impersonate(tenant!.name, "default")), true);
    for (const name of ["default", "deployer", "clusterrole-aggregation-controller", "replicaset-controller"]) {
      assert.equal(await canI(c, sa("apply"), impersonate("kube-system", name)), false, `never kube-system's ServiceAccounts (${name})`);
    }
    assert.equal(await canI(c, sa("apply"), impersonate(other!.name)), false, "nor those of a namespace that did not grant it");
    assert.equal(await canI(c, sa("apply"), { group: "", resource: "serviceaccounts", verb: "impersonate" }), false, "nor cluster-wide");
    for (const n of ["source", "render"]) assert.equal(await canI(c, sa(n), impersonate(tenant!.name)), false, `the ${n} controller may not impersonate`);
    assert.equal(await canI(c, sa("apply"), { group: "apps", resource: "deployments", verb: "create", namespace: "default" }), false, "least privilege: no direct rights on workloads");
    for (const n of ["source", "render", "apply"]) {
      assert.equal(await canI(c, sa(n), { group: "", resource: "secrets", verb: "get", namespace: "x" }), true, `${n} reads Secrets by name`);
      assert.equal(await canI(c, sa(n), { group: "", resource: "secrets", verb: "create", namespace: "x" }), false, `${n} cannot write Secrets`);
      assert.equal(await canI(c, sa(n), { group: "coordination.k8s.io", resource: "leases", verb: "update", namespace: inst!.ns.name }), true, `${n} holds its Lease`);
      assert.equal(await canI(c, sa(n), { group: "coordination.k8s.io", resource: "leases", verb: "update", namespace: "kube-system" }), false, `${n} has no Lease rights elsewhere`);
      assert.equal(await canI(c, sa(n), { group: "events.k8s.io", resource: "events", verb: "create", namespace: "x" }), true, `${n} records events`);
    }
    // No controller may list or watch Secrets, cluster-wide or in a namespace, but the apply controller through its
    // read-everything rule (rbac.apply.clusterRead, default on; off below).
    for (const n of ["source", "render"]) {
      for (const verb of ["list", "watch"]) {
        assert.equal(await canI(c, sa(n), { group: "", resource: "secrets", verb }), false, `${n} cannot ${verb} Secrets cluster-wide`);
        assert.equal(await canI(c, sa(n), { group: "", resource: "secrets", verb, namespace: tenant!.name }), false, `${n} cannot ${verb} a namespace's Secrets`);
      }
    }
    assert.equal(await canI(c, sa("apply"), { group: "", resource: "secrets", verb: "list" }), true, "rbac.apply.clusterRead reads every kind");
    // Each controller its own objects: the source controller GitRepositories, render and apply Applications.
    assert.equal(await canI(c, sa("source"), { group: "source.mooring.dev", resource: "gitrepositories", subresource: "status", verb: "patch", namespace: "x" }), true);
    assert.equal(await canI(c, sa("source"), { group: "delivery.mooring.dev", resource: "applications", subresource: "status", verb: "patch", namespace: "x" }), false);
    assert.equal(await canI(c, sa("render"), { group: "source.mooring.dev", resource: "gitrepositories", verb: "watch" }), true);
    assert.equal(await canI(c, sa("render"), { group: "source.mooring.dev", resource: "gitrepositories", verb: "patch", namespace: "x" }), false, "render reads sources, never writes them");
    for (const n of ["render", "apply"]) assert.equal(await canI(c, sa(n), { group: "delivery.mooring.dev", resource: "applications", subresource: "status", verb: "patch", namespace: "x" }), true, `${n} patches Application status`);
    assert.equal(await canI(c, sa("apply"), { group: "source.mooring.dev", resource: "gitrepositories", verb: "patch", namespace: "x" }), false);
  });

  void it("lets a tenant's admin grant impersonation in their namespace with a RoleBinding", async () => {
    const sa = `system:serviceaccount:${inst!.ns.name}:${inst!.fullname}-apply`;
    const attrs = { group: "", resource: "serviceaccounts", verb: "impersonate", namespace: other!.name, name: "deployer" };
    assert.equal(await canI(c, sa, attrs), false);
    const rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createNamespacedRoleBinding({
      namespace: other!.name,
      body: {
        metadata: { name: `${inst!.fullname}-impersonate` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${inst!.fullname}-impersonate` },
        subjects: [{ kind: "ServiceAccount", name: `${inst!.fullname}-apply`, namespace: inst!.ns.name }],
      },
    });
    await waitFor("the grant seen by the authorizer", async () => canI(c, sa, attrs), { timeoutMs: 20_000 });
    assert.equal(await canI(c, sa, { ...attrs, namespace: "kube-system" }), false, "kube-system still refused");
  });

  void it("gives users of Kubernetes' view and edit roles Mooring's kinds in their namespace (ClusterRole aggregation), never status", async () => {
    const rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const bind = (role: string, user: string) =>
      rbac.createNamespacedRoleBinding({
        namespace: other!.name,
        body: { metadata: { name: `${role}-${user}` }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }] },
      });
    await bind("view", "viewer");
    await bind("edit", "editor");
    const app = (verb: string, extra: Partial<k8s.V1ResourceAttributes> = {}) => ({ group: "delivery.mooring.dev", resource: "applications", verb, namespace: other!.name, ...extra });
    // The kube-controller-manager's aggregation controller fills view and edit from the release's labelled roles.
    await waitFor("view aggregates Mooring's kinds", async () => canI(c, "viewer", app("list")), { timeoutMs: 30_000 });
    await waitFor("edit aggregates Mooring's kinds", async () => canI(c, "editor", app("patch")), { timeoutMs: 30_000 });
    assert.equal(await canI(c, "viewer", { group: "source.mooring.dev", resource: "gitrepositories", verb: "watch", namespace: other!.name }), true);
    assert.equal(await canI(c, "viewer", { group: "notification.mooring.dev", resource: "alerts", verb: "get", namespace: other!.name }), true);
    assert.equal(await canI(c, "viewer", app("patch")), false, "view never writes");
    assert.equal(await canI(c, "editor", { group: "source.mooring.dev", resource: "gitrepositories", verb: "create", namespace: other!.name }), true);
    assert.equal(await canI(c, "editor", app("patch", { subresource: "status" })), false, "the controllers own the status");
    assert.equal(await canI(c, "viewer", app("list", { namespace: inst!.ns.name })), false, "only where the RoleBinding is");
  });

  void it("lets a process run with exactly a chart ServiceAccount's rights through an impersonating kubeconfig", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-chart-"));
    try {
      const kcPath = impersonatingKubeconfig(c.kubeconfigPath, inst!.serviceAccountUsers.apply!, path.join(dir, "kubeconfig"));
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(kcPath);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const secrets = await core.listNamespacedSecret({ namespace: inst!.ns.name });
      assert.ok(Array.isArray(secrets.items), "the apply ServiceAccount may list Secrets (rbac.apply.clusterRead)");
      await assert.rejects(core.createNamespacedConfigMap({ namespace: inst!.ns.name, body: { metadata: { name: "nope" } } }), (err: unknown) => {
        assert.match(String((err as Error).message), /403|forbidden/i);
        return true;
      });
      const renderKc = new k8s.KubeConfig();
      renderKc.loadFromFile(impersonatingKubeconfig(c.kubeconfigPath, inst!.serviceAccountUsers.render!, path.join(dir, "render-kubeconfig")));
      await assert.rejects(renderKc.makeApiClient(k8s.CoreV1Api).listNamespacedSecret({ namespace: inst!.ns.name }), (err: unknown) => {
        assert.match(String((err as Error).message), /403|forbidden/i);
        return true;
      }, "the render ServiceAccount may not list Secrets");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it("prints NOTES telling the user what to apply next", () => {
    const notes = inst!.output.slice(inst!.output.indexOf("NOTES:"));
    assert.match(notes, /NOTES:/);
    assert.match(notes, /kind: GitRepository/);
    assert.match(notes, /kind: Application/);
    assert.match(notes, new RegExp(`${inst!.fullname}-webhook`));
    assert.match(notes, /may only impersonate ServiceAccounts/);
  });

  void it("with rbac.apply.clusterRead=false, no ServiceAccount of the release may list Secrets", async () => {
    helmOk(["upgrade", inst!.release, CHART_DIR, "--kubeconfig", c.kubeconfigPath, "--namespace", inst!.ns.name, "--reuse-values", "--set", "rbac.apply.clusterRead=false", "--wait", "--timeout", "120s"], { timeoutMs: 150_000 });
    for (const n of ["source", "render", "apply"]) {
      const user = `system:serviceaccount:${inst!.ns.name}:${inst!.fullname}-${n}`;
      await waitFor(`${n} without list on Secrets`, async () => !(await canI(c, user, { group: "", resource: "secrets", verb: "list" })), { timeoutMs: 20_000 });
      assert.equal(await canI(c, user, { group: "", resource: "secrets", verb: "watch", namespace: tenant!.name }), false);
    }
  });

  void it("uninstalls cleanly, cluster-scoped objects included", async () => {
    await uninstall(c, inst!);
    assert.deepEqual((await availableDeployments(c, inst!)).map((d) => d.metadata?.name), []);
  });
});

void describe("chart installed on the local cluster: all-in-one mode", () => {
  let c: TestCluster;
  let inst: Install | undefined;

  before(async () => {
    c = await testCluster();
    inst = await install(c, "all-in-one", ["--set", "rbac.apply.clusterAdmin=true"]);
  });
  after(async () => {
    if (inst) {
      inst.uninstall();
      await inst.ns.cleanup();
    }
  });

  void it("runs a single available Deployment with all three controllers", async () => {
    const ds = await availableDeployments(c, inst!);
    assert.deepEqual(ds.map((d) => d.metadata?.name), [inst!.fullname]);
    assert.ok(ds[0]!.spec?.template.spec?.containers[0]?.args?.includes("--controllers=source,render,apply"));
    assert.equal(ds[0]!.status?.availableReplicas, 1);
    await assertPodsAdmittedAndReady(c, inst!, 1);
  });

  void it("grants cluster-admin to its ServiceAccount when rbac.apply.clusterAdmin is set", async () => {
    const user = `system:serviceaccount:${inst!.ns.name}:${inst!.fullname}`;
    assert.equal(await canI(c, user, { group: "apps", resource: "deployments", verb: "create", namespace: "default" }), true);
  });

  void it("uninstalls cleanly", async () => {
    await uninstall(c, inst!);
    const rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const bindings = (await rbac.listClusterRoleBinding({ labelSelector: `app.kubernetes.io/instance=${inst!.release}` })).items;
    assert.deepEqual(bindings.map((b) => b.metadata?.name), []);
  });
});
