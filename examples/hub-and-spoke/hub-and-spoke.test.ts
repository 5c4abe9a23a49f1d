// The hub-and-spoke example, run as its README says: the files of repo/ pushed to a Git server (a loopback one
// here), bootstrap.yaml applied on the hub (its URL pointed at that server), the spoke's kubeconfig Secret created —
// and from then on only Git changes. Two real local clusters: the test cluster is the hub (where the operator runs:
// source, render and apply as one process through src/cli/main.ts) and a second one is the spoke. It proves that one
// repository drives both clusters, each from its own path (clusters/hub, clusters/spoke) over a shared base, and the
// rollback-by-revert flow: a bad commit to the shared base reaches both clusters, `git revert` of it brings both
// back, and each Application's history shows the three commits.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { ApplicationKind, installCrds } from "../../src/api/index.js";
import { connect, type Kube } from "../../src/cli/kube.js";
import { Kinds, type KubeObject } from "../../src/runtime/index.js";
import { testCluster, type TestCluster } from "../../test/support/cluster.js";
import { GitServer, type CommitFiles, type TestRepo } from "../../test/support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../test/support/namespace.js";
import { startOperator, type RunningOperator } from "../../test/support/operator.js";
import { remoteCluster, type RemoteCluster } from "../../test/support/remote-cluster.js";
import { waitFor } from "../../test/support/wait.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONVERGE_MS = 300_000;
const STEP = { timeout: 600_000 };

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
type Obj = KubeObject & {
  spec?: Record<string, any>;
  data?: Record<string, string>;
  status?: { conditions?: Cond[]; sync?: { revision?: string }; history?: { revision: string; phase: string }[] };
};

let hub: TestCluster;
let spoke: RemoteCluster;
let ns: TestNamespace;
let kube: Kube;
let far: Kube;
let git: GitServer;
let repo: TestRepo;
let operator: RunningOperator | undefined;

const opTail = () => (operator ? `\n--- operator log (last lines) ---\n${operator.tail(60)}` : "");
const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const conds = (o: Obj | undefined) => (o ? (o.status?.conditions ?? []).map((x) => `${x.type}=${x.status} (${x.reason}: ${x.message})`).join("; ") || "no conditions" : "not found");

async function converge<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  try {
    return await waitFor(what, probe, { timeoutMs: CONVERGE_MS, intervalMs: 1000 });
  } catch (err) {
    throw new Error(`${(err as Error).message}${opTail()}`, { cause: err });
  }
}

/** Every file under repo/, as the example repository's first commit. */
function exampleRepo(dir = path.join(HERE, "repo"), prefix = ""): CommitFiles {
  const files: CommitFiles = {};
  for (const name of readdirSync(dir)) {
    const abs = path.join(dir, name);
    if (statSync(abs).isDirectory()) Object.assign(files, exampleRepo(abs, `${prefix}${name}/`));
    else files[`${prefix}${name}`] = readFileSync(abs, "utf8");
  }
  return files;
}

/** Both Applications Ready on `sha`, and the fleet Application too. */
async function allSyncedAt(sha: string): Promise<void> {
  for (const name of ["fleet", "hub", "spoke"]) {
    await converge(`Application ${name} Ready at ${sha.slice(0, 8)}`, async () => {
      const a = await kube.client.get<Obj>(ApplicationKind, name, ns.name);
      if (cond(a, "Ready")?.status === "True" && (a?.status?.sync?.revision ?? "").endsWith(sha)) return a;
      throw new Error(`${a?.status?.sync?.revision}: ${conds(a)}`);
    });
  }
}

/** What each cluster runs: the settings and the Deployment's image and replicas. */
async function running(k: Kube): Promise<{ greeting?: string; cluster?: string; image?: string; replicas?: number }> {
  const cm = await k.client.live().get<Obj>(Kinds.ConfigMap, "web-settings", ns.name);
  const d = await k.client.live().get<Obj>(Kinds.Deployment, "web", ns.name);
  return { greeting: cm?.data?.GREETING, cluster: cm?.data?.CLUSTER, image: d?.spec?.template?.spec?.containers?.[0]?.image, replicas: d?.spec?.replicas };
}

async function fetchNow(tag: string): Promise<void> {
  await kube.client.patch({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name: "fleet", namespace: ns.name } }, { metadata: { annotations: { "mooring.dev/reconcile-requested-at": tag } } }, "merge");
}

before(async () => {
  hub = await testCluster();
  spoke = await remoteCluster();
  await installCrds(hub.kc);
  ns = await createTestNamespace(hub, "fleet");
  kube = connect({ kubeconfig: hub.kubeconfigPath, namespace: ns.name });
  far = connect({ kubeconfig: spoke.kubeconfigPath, namespace: ns.name });
  // The spoke gets the namespace its objects go to (the Applications' namespace on the hub).
  await far.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns.name } } as KubeObject);
  // The namespace's default ServiceAccount applies on the hub: the workloads (edit) and the fleet's Applications.
  await kube.client.create({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "default-edit", namespace: ns.name }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" }, subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }] } as KubeObject);
  await kube.client.create({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "fleet-applications", namespace: ns.name }, rules: [{ apiGroups: ["delivery.mooring.dev"], resources: ["applications"], verbs: ["*"] }] } as KubeObject);
  await kube.client.create({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "fleet-applications", namespace: ns.name }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "fleet-applications" }, subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }] } as KubeObject);
  git = await GitServer.start();
  repo = await git.createRepo("platform/fleet", { files: exampleRepo() });
  // The spoke's kubeconfig, as the README says: every certificate inline.
  await kube.client.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "spoke-kubeconfig", namespace: ns.name }, stringData: { value: spoke.inlineKubeconfig } } as KubeObject);
  operator = await startOperator({ kubeconfigPath: hub.kubeconfigPath, watchNamespace: ns.name, logLevel: "debug", readyTimeoutMs: 180_000 });
  // bootstrap.yaml, with the repository's URL pointed at the loopback server.
  for (const doc of parseAllDocuments(readFileSync(path.join(HERE, "bootstrap.yaml"), "utf8"))) {
    const obj = doc.toJS() as Obj;
    if (obj.kind === "GitRepository") obj.spec!.url = repo.url;
    obj.metadata = { ...obj.metadata, namespace: ns.name };
    await kube.client.create(obj);
  }
});

after(async () => {
  await operator?.stop();
  await git?.close();
  try {
    await far?.client.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns.name } } as KubeObject);
  } catch {
    /* best effort */
  }
  await ns?.cleanup();
});

void describe("examples/hub-and-spoke", () => {
  let good = "";
  let bad = "";

  void it("one repository drives two clusters, each from its own path over the shared base", STEP, async () => {
    good = await repo.head();
    await allSyncedAt(good);
    assert.deepEqual(await running(kube), { greeting: "hello", cluster: "hub", image: "registry.example/web:1.0.0", replicas: 1 }, "the hub runs clusters/hub");
    assert.deepEqual(await running(far), { greeting: "hello", cluster: "spoke", image: "registry.example/web:1.0.0", replicas: 2 }, "the spoke runs clusters/spoke");
    const spokeApp = await kube.client.get<Obj>(ApplicationKind, "spoke", ns.name);
    assert.equal(spokeApp?.spec?.kubeConfig?.secretRef?.name, "spoke-kubeconfig", "the spoke's Application came from fleet/spoke.yaml");
    assert.equal(cond(spokeApp, "Healthy")?.status, "True", `the spoke's Deployment is available there: ${conds(spokeApp)}`);
  });

  void it("a bad commit to the shared base reaches both clusters", STEP, async () => {
    const deployment = readFileSync(path.join(HERE, "repo/bases/web/deployment.yaml"), "utf8").replace("registry.example/web:1.0.0", "registry.example/web:2.0.0-rc1");
    const settings = readFileSync(path.join(HERE, "repo/bases/web/settings.yaml"), "utf8").replace("GREETING: hello", "GREETING: hola");
    bad = await repo.commit({ "bases/web/deployment.yaml": deployment, "bases/web/settings.yaml": settings }, "web 2.0.0-rc1 (bad)");
    await fetchNow("bad");
    await allSyncedAt(bad);
    assert.deepEqual(await running(kube), { greeting: "hola", cluster: "hub", image: "registry.example/web:2.0.0-rc1", replicas: 1 });
    assert.deepEqual(await running(far), { greeting: "hola", cluster: "spoke", image: "registry.example/web:2.0.0-rc1", replicas: 2 });
  });

  void it("git revert of it brings both clusters back, and each history shows the three commits", STEP, async () => {
    await repo.git(["revert", "--no-edit", bad]);
    await repo.push();
    const reverted = await repo.head();
    assert.notEqual(reverted, good, "a revert is a new commit: history moves forward");
    await fetchNow("revert");
    await allSyncedAt(reverted);
    assert.deepEqual(await running(kube), { greeting: "hello", cluster: "hub", image: "registry.example/web:1.0.0", replicas: 1 });
    assert.deepEqual(await running(far), { greeting: "hello", cluster: "spoke", image: "registry.example/web:1.0.0", replicas: 2 });
    for (const name of ["hub", "spoke"]) {
      const a = await kube.client.get<Obj>(ApplicationKind, name, ns.name);
      const revisions = (a?.status?.history ?? []).filter((h) => h.phase === "Succeeded").map((h) => h.revision.slice(-40));
      for (const sha of [good, bad, reverted]) assert.ok(revisions.includes(sha), `${name}'s history has ${sha.slice(0, 8)}: ${revisions.join(", ")}`);
    }
  });
});
