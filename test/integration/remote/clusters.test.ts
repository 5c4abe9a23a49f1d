// Applications that target a remote cluster (spec.kubeConfig.secretRef), end to end on two real local clusters:
// the hub (the test cluster, where the operator runs: source, render and apply as one process through
// src/cli/main.ts) and the remote (./support/remote-cluster.ts, a second kwok cluster). A loopback git server holds
// the manifests. The test proves that apply, prune, drift revert (edit and delete) and finalization act on the remote
// cluster and never on the hub; that two Applications of one remote cluster share one watch of each kind there; that
// a remote cluster that goes off the network (a relay cut) is reported on its Applications (ClusterUnreachable) while an
// Application of the hub keeps syncing, and converges once it is back; that bad Secrets (missing, without the key,
// malformed, with exec or auth-provider plugins, with file paths) are clear conditions; and that no credential of
// the remote kubeconfig appears in the operator's logs, the hub's Events or any status.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { ApplicationKind, installCrds } from "../../../src/api/index.js";
import { Labels } from "../../../src/api/constants.js";
import { connect, type Kube } from "../../../src/cli/kube.js";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { remoteCluster, type RemoteCluster } from "../../support/remote-cluster.js";
import { waitFor } from "../../support/wait.js";

const CONVERGE_MS = 240_000;
const STEP = { timeout: 600_000 };

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
type Obj = KubeObject & { spec?: Record<string, unknown>; data?: Record<string, string>; status?: { conditions?: Cond[]; sync?: { revision?: string; inventory?: { id: string }[] } } };

let hub: TestCluster;
let remote: RemoteCluster;
let ns: TestNamespace;
let kube: Kube;
let far: Kube;
let git: GitServer;
let repo: TestRepo;
let operator: RunningOperator | undefined;
/** The loopback path to the remote API server the Secrets name: taken down and back as a cluster going away. */
let link: Link;
let viaLink = "";
/** Every credential of the remote kubeconfig: none may appear in logs, Events or status. */
let credentials: string[] = [];

const cm = (name: string, v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  v: "${v}"\n`;
const opTail = () => (operator ? `\n--- operator log (last lines) ---\n${operator.tail(60)}` : "");
const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const conds = (o: Obj | undefined) => (o ? (o.status?.conditions ?? []).map((x) => `${x.type}=${x.status} (${x.reason}: ${x.message})`).join("; ") || "no conditions" : "not found");
const app = (name: string) => kube.client.get<Obj>(ApplicationKind, name, ns.name);
const remoteCm = (name: string) => far.client.live().get<Obj>(Kinds.ConfigMap, name, ns.name);
const hubCm = (name: string) => kube.client.live().get<Obj>(Kinds.ConfigMap, name, ns.name);

async function converge<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> {
  try {
    return await waitFor(what, probe, { timeoutMs: CONVERGE_MS, intervalMs: 500 });
  } catch (err) {
    throw new Error(`${(err as Error).message}${opTail()}`, { cause: err });
  }
}

/** Waits for the Application's Ready condition to satisfy `ok` (the condition the apply controller wrote). */
function untilReady(name: string, ok: (c: Cond, a: Obj) => boolean): Promise<Obj> {
  return converge(`Application ${name}: Ready as expected`, async () => {
    const a = await app(name);
    const r = cond(a, "Ready");
    if (a && r && ok(r, a)) return a;
    throw new Error(conds(a));
  });
}

const syncedAt = (name: string, sha: string) => untilReady(name, (r, a) => r.status === "True" && (a.status?.sync?.revision ?? "").endsWith(sha));

const secret = (name: string, data: Record<string, string>): KubeObject =>
  ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: ns.name }, type: "Opaque", stringData: data }) as KubeObject;
const application = (name: string, path: string, kubeConfig?: { name: string; key?: string }): Obj => ({
  apiVersion: "delivery.mooring.dev/v1alpha1",
  kind: "Application",
  metadata: { name, namespace: ns.name },
  spec: { sourceRef: { kind: "GitRepository", name: "fleet" }, path, ...(kubeConfig ? { kubeConfig: { secretRef: kubeConfig } } : {}) },
});

async function requestFetch(tag: string): Promise<void> {
  await kube.client.patch({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name: "fleet", namespace: ns.name } }, { metadata: { annotations: { "mooring.dev/reconcile-requested-at": tag } } }, "merge");
}

type KubeconfigDoc = { users: { name: string; user: Record<string, unknown> }[] };

/** A kubeconfig like the remote's inline one, with its user replaced (plugins and the like). */
function withUser(user: Record<string, unknown>): string {
  const doc = parse(viaLink) as KubeconfigDoc;
  doc.users = doc.users.map((u) => ({ name: u.name, user }));
  return JSON.stringify(doc);
}

/**
 * A TCP relay on 127.0.0.1 to the remote API server (TLS passes through: the server's certificate is for 127.0.0.1,
 * the address either way). down() refuses new connections and cuts the open ones, as a cluster gone from the network;
 * up() listens again on the same port. The remote cluster itself keeps running for the other tests that share it.
 */
class Link {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}
  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(this.port, "127.0.0.1", () => resolve()));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

before(async () => {
  hub = await testCluster();
  remote = await remoteCluster();
  await installCrds(hub.kc);
  ns = await createTestNamespace(hub, "remote");
  kube = connect({ kubeconfig: hub.kubeconfigPath, namespace: ns.name });
  far = connect({ kubeconfig: remote.kubeconfigPath, namespace: ns.name });
  // The remote cluster gets the namespace the objects go to (its own; the hub's namespace is not there).
  await far.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns.name } } as KubeObject);
  // The hub Application is applied as the namespace's default ServiceAccount (the operator's default).
  await kube.client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "default-edit", namespace: ns.name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns.name }],
  } as KubeObject);
  // The client key and certificate, as stored (base64) and as one line of their PEM body.
  const user = (parse(remote.inlineKubeconfig) as KubeconfigDoc).users[0]!.user;
  credentials = [user["client-key-data"], user["client-certificate-data"], user.token]
    .filter((v): v is string => typeof v === "string" && v.length > 20)
    .flatMap((v) => [v, Buffer.from(v, "base64").toString("utf8").split("\n")[2] ?? v]);
  assert.ok(credentials.length >= 4, "the remote kubeconfig has inline credentials to look for");

  git = await GitServer.start();
  const server = new URL(remote.kc.getCurrentCluster()!.server);
  link = new Link({ host: server.hostname, port: Number(server.port) });
  await link.up();
  viaLink = remote.inlineKubeconfig.replace(server.origin, `https://127.0.0.1:${link.port}`);
  assert.notEqual(viaLink, remote.inlineKubeconfig, "the Secrets' kubeconfig goes through the link");
  repo = await git.createRepo("fleet", {
    files: { "spoke/a.yaml": cm("a", "1"), "spoke/b.yaml": cm("b", "1"), "shared/s.yaml": cm("s", "1"), "hub/h.yaml": cm("h", "1"), "extra/x.yaml": cm("x", "1") },
  });
  for (const s of [
    secret("spoke-kubeconfig", { value: viaLink }),
    // The same kubeconfig under another name and Cluster API's key: the same cluster, so the same cache.
    secret("spoke-kubeconfig-copy", { "value.yaml": viaLink }),
    secret("no-key", { config: viaLink }),
    secret("malformed", { value: "apiVersion: v1\nclusters: [ {\n" }),
    secret("exec", { value: withUser({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: "/bin/sh", args: ["-c", "echo pwned"] } }) }),
    secret("auth-provider", { value: withUser({ "auth-provider": { name: "oidc", config: { "id-token": "not-a-real-token" } } }) }),
    secret("file-paths", { value: remote.fileKubeconfig }),
  ]) await kube.client.create(s);
  await kube.client.create({ apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name: "fleet", namespace: ns.name }, spec: { url: repo.url, ref: { branch: "main" }, interval: "1h" } } as Obj);

  operator = await startOperator({ kubeconfigPath: hub.kubeconfigPath, watchNamespace: ns.name, logLevel: "debug", readyTimeoutMs: 180_000 });
  for (const a of [
    application("spoke", "./spoke", { name: "spoke-kubeconfig" }),
    application("shared", "./shared", { name: "spoke-kubeconfig-copy" }),
    application("hub", "./hub"),
    application("missing", "./extra", { name: "not-there" }),
    application("no-key", "./extra", { name: "no-key" }),
    application("wrong-key", "./extra", { name: "spoke-kubeconfig", key: "kubeconfig" }),
    application("malformed", "./extra", { name: "malformed" }),
    application("exec", "./extra", { name: "exec" }),
    application("auth-provider", "./extra", { name: "auth-provider" }),
    application("file-paths", "./extra", { name: "file-paths" }),
  ])
    await kube.client.create(a);
});

after(async () => {
  await link?.down();
  await operator?.stop();
  await git?.close();
  try {
    await far?.client.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns.name } } as KubeObject);
  } catch {
    /* best effort */
  }
  await ns?.cleanup();
});

void describe("remote clusters (spec.kubeConfig)", () => {
  let sha1 = "";

  void it("applies to the remote cluster, and only there; the hub's own Application applies to the hub", STEP, async () => {
    sha1 = await repo.head();
    await syncedAt("spoke", sha1);
    await syncedAt("shared", sha1);
    await syncedAt("hub", sha1);
    for (const n of ["a", "b", "s"]) {
      const o = await remoteCm(n);
      assert.equal(o?.data?.v, "1", `ConfigMap ${n} on the remote cluster`);
      assert.ok(o?.metadata?.labels?.[Labels.application], `ConfigMap ${n} carries the application label`);
      assert.equal(await hubCm(n), undefined, `ConfigMap ${n} must not be on the hub`);
    }
    assert.equal((await hubCm("h"))?.data?.v, "1", "the hub Application's ConfigMap is on the hub");
    assert.equal(await remoteCm("h"), undefined, "and not on the remote cluster");
    const spoke = await app("spoke");
    assert.deepEqual((spoke?.status?.sync?.inventory ?? []).map((e) => e.id).sort(), [`${ns.name}_a__ConfigMap`, `${ns.name}_b__ConfigMap`].sort());
  });

  void it("two Applications of one remote cluster share one cache and one watch of each kind there", STEP, async () => {
    // "spoke" and "shared" name two Secrets holding the same kubeconfig; both applied ConfigMaps there and are
    // Synced, so their drift watches are open. The operator's own gauges say what it holds per remote server.
    const metrics = await (await fetch(operator!.metricsUrl)).text();
    const server = `127.0.0.1:${link.port}`;
    const value = (name: string) => {
      const lines = metrics.split("\n").filter((l) => l.startsWith(`${name}{`));
      const mine = lines.filter((l) => l.includes(`server="https://${server}"`));
      assert.equal(mine.length, 1, `${name}: one series for the remote server (${lines.join(" | ") || "none"})`);
      return Number(mine[0]!.split(" ").pop());
    };
    assert.equal(value("mooring_remote_cluster_caches"), 1, "one cache for the remote cluster");
    assert.equal(value("mooring_remote_cluster_applications"), 2, "used by both Applications");
    assert.equal(value("mooring_remote_cluster_informers"), 1, "one informer (one watch): the label-selected ConfigMaps");
    assert.equal(value("mooring_remote_cluster_reachable"), 1);
  });

  void it("reverts drift on the remote cluster: an edited field and a deleted object", STEP, async () => {
    const a = await remoteCm("a");
    await far.client.patch({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: ns.name } }, { data: { v: "edited" } }, "merge");
    await converge("ConfigMap a reverted on the remote cluster", async () => (await remoteCm("a"))?.data?.v === "1");
    await far.client.delete({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b", namespace: ns.name } });
    const b = await converge("ConfigMap b re-created on the remote cluster", async () => await remoteCm("b"));
    assert.equal(b.data?.v, "1");
    assert.equal((await remoteCm("a"))?.metadata?.uid, a?.metadata?.uid, "the edited object was patched back, not re-created");
    assert.equal(await hubCm("a"), undefined, "nothing was written to the hub");
  });

  void it("prunes on the remote cluster what left the source", STEP, async () => {
    const sha2 = await repo.commit({ "spoke/b.yaml": null, "spoke/a.yaml": cm("a", "2") }, "drop b");
    await requestFetch("prune");
    await syncedAt("spoke", sha2);
    await converge("ConfigMap b pruned from the remote cluster", async () => (await remoteCm("b")) === undefined);
    assert.equal((await remoteCm("a"))?.data?.v, "2");
  });

  void it("bad kubeconfig Secrets are clear conditions; the other Applications are unaffected", STEP, async () => {
    const stalled = async (name: string, reason: string, message: RegExp) => {
      const a = await untilReady(name, (r) => r.reason === reason);
      assert.equal(cond(a, "Ready")?.status, "False", `${name}: ${conds(a)}`);
      assert.equal(cond(a, "Stalled")?.status, "True", `${name} is Stalled: ${conds(a)}`);
      assert.match(cond(a, "Ready")!.message!, message, name);
    };
    await stalled("missing", "KubeConfigNotFound", new RegExp(`Secret ${ns.name}/not-there \\(spec.kubeConfig.secretRef\\) does not exist`));
    await stalled("no-key", "KubeConfigNotFound", /has no key 'value' or 'value.yaml' \(its keys: config\)/);
    await stalled("wrong-key", "KubeConfigNotFound", /has no key 'kubeconfig' \(spec.kubeConfig.secretRef.key\) \(its keys: value\)/);
    await stalled("malformed", "KubeConfigInvalid", /the kubeconfig in Secret .*\/malformed cannot be read: is not valid YAML/);
    await stalled("exec", "KubeConfigInvalid", /exec \(credential plugins are not run for remote clusters/);
    await stalled("auth-provider", "KubeConfigInvalid", /auth-provider \(not run for remote clusters/);
    await stalled("file-paths", "KubeConfigInvalid", /certificate-authority \(a file path; use certificate-authority-data\).*client-certificate \(a file path/);
    // The refused exec plugin never ran, and no Application of a bad Secret wrote anything anywhere.
    assert.doesNotMatch(operator!.logs(), /pwned/);
    for (const name of ["missing", "no-key", "exec"]) assert.equal((await app(name))?.status?.sync?.inventory?.length ?? 0, 0, `${name} applied nothing`);
    assert.equal(cond(await app("spoke"), "Ready")?.status, "True");
    assert.equal(cond(await app("hub"), "Ready")?.status, "True");
    // The missing Secret is created: its watch wakes the Application, which syncs to the remote cluster.
    await kube.client.create(secret("not-there", { value: viaLink }));
    await syncedAt("missing", await repo.head());
    assert.equal((await remoteCm("x"))?.data?.v, "1", "ConfigMap x on the remote cluster");
  });

  void it("a remote cluster that goes away is ClusterUnreachable on its Applications, the hub keeps syncing, and it converges when back", STEP, async () => {
    await link.down();
    const down = await untilReady("spoke", (r) => r.reason === "ClusterUnreachable");
    assert.equal(cond(down, "Ready")?.status, "False");
    assert.match(cond(down, "Ready")!.message!, new RegExp(`the API server https://127\\.0\\.0\\.1:\\d+ of the cluster in Secret ${ns.name}/spoke-kubeconfig does not answer`));
    assert.notEqual(cond(down, "Stalled")?.status, "True", "not Stalled: it is retried");
    // A new commit for both: the hub's Application syncs while the remote cluster is away.
    const sha3 = await repo.commit({ "hub/h.yaml": cm("h", "3"), "spoke/a.yaml": cm("a", "3") }, "while the spoke is away");
    await requestFetch("away");
    await syncedAt("hub", sha3);
    assert.equal((await hubCm("h"))?.data?.v, "3");
    assert.equal(cond(await app("spoke"), "Ready")?.reason, "ClusterUnreachable", "still unreachable while the hub synced");
    await link.up();
    await syncedAt("spoke", sha3);
    assert.equal((await remoteCm("a"))?.data?.v, "3", "the remote cluster converged on the new commit");
    await syncedAt("shared", sha3);
  });

  void it("no credential of the remote kubeconfig is in the logs, the hub's Events or any status", STEP, async () => {
    const logs = operator!.logs();
    const events = JSON.stringify([...(await kube.client.live().list(Kinds.Event, { namespace: ns.name })), ...(await kube.client.live().list(Kinds.EventV1, { namespace: ns.name }))]);
    const statuses = JSON.stringify(await kube.client.live().list(ApplicationKind, { namespace: ns.name }));
    for (const c of credentials) {
      assert.ok(!logs.includes(c), "a credential is in the operator's logs");
      assert.ok(!events.includes(c), "a credential is in an Event");
      assert.ok(!statuses.includes(c), "a credential is in a status");
    }
  });

  void it("a deleted Application prunes its objects on the remote cluster; one whose Secret is gone leaves them, saying so", STEP, async () => {
    await kube.client.delete(application("spoke", "./spoke"));
    await converge("Application spoke gone", async () => (await app("spoke")) === undefined);
    assert.equal(await remoteCm("a"), undefined, "ConfigMap a pruned from the remote cluster");
    // "missing" (now synced) loses its Secret, then is deleted: nothing to reach the cluster with.
    await kube.client.delete({ apiVersion: "v1", kind: "Secret", metadata: { name: "not-there", namespace: ns.name } });
    await untilReady("missing", (r) => r.reason === "KubeConfigNotFound");
    await kube.client.delete(application("missing", "./spoke"));
    await converge("Application missing gone", async () => (await app("missing")) === undefined);
    await converge("an Event saying the objects were left in place", async () => {
      const events = await kube.client.live().list<Obj & { note?: string; reason?: string; regarding?: { name?: string } }>(Kinds.EventV1, { namespace: ns.name });
      return events.some((e) => e.regarding?.name === "missing" && e.reason === "KubeConfigNotFound" && /left in place on the remote cluster/.test(e.note ?? ""));
    });
    assert.equal((await remoteCm("x"))?.data?.v, "1", "ConfigMap x left in place on the remote cluster");
  });
});
