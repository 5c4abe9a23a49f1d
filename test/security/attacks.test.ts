// The attack suite of issue 14, end to end: two tenants on the real cluster, each with its own namespace, `deployer`
// ServiceAccount (edit in its namespace only, docs/tenancy.md) and repository on a real `git http-backend` server, and
// one operator process run as installed as far as a test can: the chart is installed (all-in-one, default values),
// the operator is the real entry point started with the args of the installed Deployment, as the chart's
// ServiceAccount (an impersonating kubeconfig), so its RBAC and flags are the chart's secure defaults. It watches
// every namespace (a cross-namespace reference must reach B's objects to be refused, not miss them), restricted to
// this run's objects by --watch-label-selector so it never touches other tests' objects on the shared cluster.
//
// Tenant A then attacks; each attempt must be refused with a condition naming the cause, tenant B's objects and
// status must stay exactly as they were, the operator must keep running, and two canaries (B's webhook Secret, which
// the operator reads, and a Secret in A's repository; plus a file on the operator's host that a symlink chain aims
// at) must never appear in the operator's logs, events, statuses, artifacts (B's nowhere; A's only in A's own) or
// the `mooring` CLI's output (get, diff, render).
import assert from "node:assert/strict";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { Annotations, ApplicationKind, GitRepositoryKind, installCrds } from "../../src/api/index.js";
import { Client, RestClient, RestMapper, type KubeObject } from "../../src/runtime/index.js";
import { testCluster, type TestCluster } from "../support/cluster.js";
import { compiledOperator } from "../support/fault-build.js";
import { GitServer, type TestRepo } from "../support/git-server.js";
import { impersonatingKubeconfig, installChart, type ChartRelease } from "../support/helm.js";
import { describeRun, mooringCli } from "../support/mooring-cli.js";
import { createTestNamespace, type TestNamespace } from "../support/namespace.js";
import { startOperator, type RunningOperator } from "../support/operator.js";
import { waitFor } from "../support/wait.js";

const SHARD_LABEL = "mooring.dev/security-test";
const CANARY_B = `canary-b-${randomUUID()}`;
const CANARY_A = `canary-a-${randomUUID()}`;
const CANARY_HOST = `canary-host-${randomUUID()}`;
const HOOK_A = `hook-a-${randomUUID()}`;
/** Controllers on a loaded 2-core machine: generous, never asserted on. */
const CONVERGE_MS = 240_000;

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
type Obj = KubeObject & {
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  status?: {
    conditions?: Cond[];
    artifact?: { url: string; digest: string; revision: string };
    render?: { artifact?: { url: string; digest: string } };
    sync?: { inventory?: unknown[] };
    history?: unknown[];
    health?: { status?: string };
  };
};

let c: TestCluster;
let a: TestNamespace;
let b: TestNamespace;
let sys: TestNamespace;
let admin: Client;
let rest: RestClient;
let git: GitServer;
let repoA: TestRepo;
let repoB: TestRepo;
let release: ChartRelease | undefined;
let op: RunningOperator | undefined;
let tmp: string;
let outside: string;
let shard: string;
let bApp: Obj;
let bRepo: Obj;
let bConfigMap: Obj;

const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);
const describeConds = (o: Obj | undefined) => (o ? (o.status?.conditions ?? []).map((x) => `${x.type}=${x.status} (${x.reason}: ${x.message})`).join("; ") || "no conditions" : "not found");
const opTail = () => (op ? `\n--- operator log (last lines) ---\n${op.tail(30)}` : "");
const cmYaml = (name: string, data: Record<string, string>, namespace?: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ""}data:\n${Object.entries(data).map(([k, v]) => `  ${k}: "${v}"\n`).join("")}`;
const getApp = (ns: string, name: string) => admin.get<Obj>(ApplicationKind, name, ns);
const getRepo = (ns: string, name: string) => admin.get<Obj>(GitRepositoryKind, name, ns);
const getCm = (ns: string, name: string) => admin.get<Obj>({ apiVersion: "v1", kind: "ConfigMap" }, name, ns);

function gitRepository(ns: string, name: string, url: string, spec: Record<string, unknown> = {}): KubeObject {
  // An hour: every fetch after the first is one the test asks for.
  return { apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name, namespace: ns, labels: { [SHARD_LABEL]: shard } }, spec: { url, ref: { branch: "main" }, interval: "1h", ...spec } } as KubeObject;
}

function application(ns: string, name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "delivery.mooring.dev/v1alpha1",
    kind: "Application",
    metadata: { name, namespace: ns, labels: { [SHARD_LABEL]: shard } },
    spec: { sourceRef: { kind: "GitRepository", name: "repo" }, serviceAccountName: "deployer", interval: "10m", timeout: "30s", ...spec },
  } as KubeObject;
}

async function untilApp(ns: string, name: string, what: string, ok: (x: Obj) => boolean): Promise<Obj> {
  try {
    return await waitFor(`Application ${ns}/${name}: ${what}`, async () => {
      const x = await getApp(ns, name);
      if (x && ok(x)) return x;
      throw new Error(describeConds(x));
    }, { timeoutMs: CONVERGE_MS, intervalMs: 500 });
  } catch (err) {
    throw new Error(`${(err as Error).message}${opTail()}`, { cause: err });
  }
}

/** A's deployer: the Application's identity, bound to edit in A only; and the chart's apply identity may impersonate it. */
async function tenant(ns: string, saUser: string): Promise<void> {
  await admin.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "deployer", namespace: ns } });
  const binding = (name: string, role: string, subject: Record<string, string>) =>
    admin.create({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name, namespace: ns }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role }, subjects: [subject] } as KubeObject);
  await binding("deployer-edit", "edit", { kind: "ServiceAccount", name: "deployer", namespace: ns });
  const [, , saNs, saName] = saUser.split(":");
  await binding("mooring-impersonate", `${release!.fullname}-impersonate`, { kind: "ServiceAccount", name: saName!, namespace: saNs! });
}

/** The symlink chain the old lexical guard missed: `.up -> .hop/..` looks like `k/` lexically, the kernel walks out. */
function lexicalChain(dir: string, link: string, target: string): Record<string, { symlink: string } | string> {
  return {
    [`${dir}/.hop`]: { symlink: path.join(outside, "inner") },
    [`${dir}/.up`]: { symlink: ".hop/.." },
    [`${dir}/${link}`]: { symlink: `.up/${target}` },
    // The decoy the guard's own lookup finds at the lexical location.
    [`${dir}/${target}`]: "decoy\n",
  };
}

/** 10^9 nodes from a few hundred bytes (billion laughs). */
function yamlBomb(): string {
  const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill("*" + String.fromCharCode(96 + i)).join(", ")}]`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  ${lines.join("\n  ")}\n`;
}

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  shard = randomBytes(4).toString("hex");
  [a, b, sys] = await Promise.all([createTestNamespace(c, "sec-a"), createTestNamespace(c, "sec-b"), createTestNamespace(c, "sec-sys")]);
  rest = RestClient.fromKubeConfig(c.kc, { qps: 100, burst: 100 });
  admin = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "test" });
  tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-sec-"));
  outside = path.join(tmp, "outside");
  await mkdir(path.join(outside, "inner"), { recursive: true });
  await writeFile(path.join(outside, "token"), `${CANARY_HOST}\n`);
  git = await GitServer.start();

  // The chart as installed: default values (all-in-one: one process), CRDs shared by the cluster's tests.
  release = installChart({ kubeconfigPath: c.kubeconfigPath, namespace: sys.name, mode: "all-in-one", timeoutSeconds: 180 });
  const saUser = release.serviceAccountUsers["all-in-one"]!;
  const deploy = await admin.get<KubeObject & { spec: { template: { spec: { containers: { args: string[] }[] } } } }>({ apiVersion: "apps/v1", kind: "Deployment" }, release.fullname, sys.name);
  assert.ok(deploy, `the chart's Deployment ${sys.name}/${release.fullname}`);
  // Its args minus the listen addresses, storage and log settings, which startOperator sets to this machine's own.
  const local = /^--(metrics-addr|health-addr|storage-path|artifact-addr|advertised-artifact-addr|webhook-addr|log-level|log-format|controllers)=/;
  // The health rules are the chart's ConfigMap mounted into the Pod: written here from the installed ConfigMap, as the
  // kubelet would, and the flag pointed at the copy.
  const rulesMap = await admin.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: "v1", kind: "ConfigMap" }, `${release.fullname}-health-rules`, sys.name);
  assert.ok(rulesMap?.data?.["rules.yaml"], `the chart's health-rules ConfigMap ${sys.name}/${release.fullname}-health-rules`);
  const rulesFile = path.join(tmp, "health-rules.yaml");
  await writeFile(rulesFile, rulesMap.data["rules.yaml"]);
  const chartArgs = deploy.spec.template.spec.containers[0]!.args
    .filter((x) => x !== "controller" && !local.test(x))
    .map((x) => (x.startsWith("--health-rules-file=") ? `--health-rules-file=${rulesFile}` : x));
  assert.ok(chartArgs.includes(`--health-rules-file=${rulesFile}`), `the chart passes --health-rules-file: ${chartArgs.join(" ")}`);
  assert.ok(chartArgs.includes("--default-service-account=default") && !chartArgs.some((x) => x.startsWith("--allow-cross-namespace-refs")), `secure defaults in the chart's args: ${chartArgs.join(" ")}`);

  await Promise.all([tenant(a.name, saUser), tenant(b.name, saUser)]);
  // Tenant B: its repository, its webhook Secret (canary B: the operator reads it whenever B's receiver is called),
  // its Application, Ready.
  repoB = await git.createRepo("b", { files: { "app/cm.yaml": cmYaml("b-config", { owner: "b" }) } });
  await admin.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "hook", namespace: b.name }, stringData: { token: CANARY_B } } as KubeObject);
  await admin.create(gitRepository(b.name, "repo", repoB.url, { webhook: { secretRef: { name: "hook" } } }));
  await admin.create(application(b.name, "app", { path: "app" }));

  // Tenant A: one repository holding every attack.
  repoA = await git.createRepo("a", {
    files: {
      "own/cm.yaml": cmYaml("a-config", { owner: "a" }),
      "secret/secret.yaml": `apiVersion: v1\nkind: Secret\nmetadata:\n  name: a-secret\nstringData:\n  token: ${CANARY_A}\n`,
      // A configMapGenerator whose file is a symlink chain to the host's canary.
      "chain/kustomization.yaml": "configMapGenerator:\n- name: stolen\n  files:\n  - token=evil\n",
      ...lexicalChain("chain", "evil", "token"),
      // Another tenant's GitRepository and Application, re-pointed at A's repository; a ClusterRoleBinding making A
      // cluster-admin; B's own ConfigMap.
      "steal-crs/gitrepository.yaml": `apiVersion: source.mooring.dev/v1alpha1\nkind: GitRepository\nmetadata:\n  name: repo\n  namespace: ${b.name}\nspec:\n  url: ${repoB.url.replace("/b.git", "/a.git")}\n  ref:\n    branch: main\n  interval: 1m\n`,
      "steal-crs/application.yaml": `apiVersion: delivery.mooring.dev/v1alpha1\nkind: Application\nmetadata:\n  name: app\n  namespace: ${b.name}\nspec:\n  sourceRef:\n    kind: GitRepository\n    name: repo\n  path: own\n`,
      "crb/crb.yaml": `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: ${a.name}-cluster-admin\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n- kind: ServiceAccount\n  name: deployer\n  namespace: ${a.name}\n`,
      // B's own ConfigMap, and one B does not have: the answers must not tell them apart.
      "takeover/cm.yaml": `${cmYaml("b-config", { owner: "a" }, b.name)}---\n${cmYaml("b-nothing", { owner: "a" }, b.name)}`,
      "yamlbomb/bomb.yaml": yamlBomb(),
      // A Handlebars chart whose partial includes itself: recursion without end.
      "loop/Chart.yaml": "name: loop\nversion: 0.1.0\n",
      "loop/values.yaml": "x: 1\n",
      "loop/templates/_loop.hbs": '{{include "loop" this}}\n',
      "loop/templates/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loop\ndata:\n  x: "{{include "loop" this}}"\n',
      // A Go-template chart (rendered by the helm subprocess) that loops 10^10 times over one list of 100, so it
      // allocates nothing per iteration: neither a stack nor a memory limit stops it, only the render deadline.
      // (Recursion through `include` would not do: helm stops nested includes itself, at once. Nested `until
      // 100000` would not either: a new list per iteration hits helm's memory limit within seconds.)
      "goloop/Chart.yaml": "apiVersion: v2\nname: goloop\nversion: 0.1.0\n",
      "goloop/templates/cm.yaml":
        "{{- $l := until 100 }}{{- range $a := $l }}{{ range $b := $l }}{{ range $c := $l }}{{ range $d := $l }}{{ range $e := $l }}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: goloop\n",
    },
  });
  await admin.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "hook", namespace: a.name }, stringData: { token: HOOK_A } } as KubeObject);
  await admin.create(gitRepository(a.name, "repo", repoA.url, { webhook: { secretRef: { name: "hook" } } }));
  // A pack bomb: 40 MB of zeros, a few dozen KB on the wire, past the chart's derived --max-object-size.
  const bomb = await git.createRepo("bomb", { files: { "cm.yaml": cmYaml("bomb", { a: "1" }), "zeros.bin": Buffer.alloc(40_000_000) } });
  await admin.create(gitRepository(a.name, "bomb", bomb.url));

  await mkdir(path.join(tmp, "op-tmp"), { recursive: true });
  const asSa = impersonatingKubeconfig(c.kubeconfigPath, saUser, path.join(tmp, "operator.kubeconfig"));
  op = await startOperator({
    kubeconfigPath: asSa,
    entry: await compiledOperator(),
    args: [...chartArgs, `--watch-label-selector=${SHARD_LABEL}=${shard}`],
    // A /tmp of its own, as a Pod's emptyDir (the render cache and extracted sources live there).
    env: { TMPDIR: path.join(tmp, "op-tmp") },
    logLevel: "debug",
    readyTimeoutMs: 180_000,
  });
  bApp = await untilApp(b.name, "app", "Ready", (x) => cond(x, "Ready")?.status === "True");
  bRepo = (await getRepo(b.name, "repo"))!;
  bConfigMap = (await getCm(b.name, "b-config"))!;
  assert.equal(bConfigMap.data?.owner, "b");
});

after(async () => {
  for (const ns of [a, b]) {
    if (!ns) continue;
    for (const kind of [ApplicationKind, GitRepositoryKind]) for (const o of await admin.list(kind, { namespace: ns.name }).catch(() => [])) await admin.delete(o).catch(() => {});
  }
  await waitFor("the tenants' Mooring objects finalized", async () => {
    for (const ns of [a, b]) for (const kind of [ApplicationKind, GitRepositoryKind]) if ((await admin.list(kind, { namespace: ns.name })).length) return false;
    return true;
  }, { timeoutMs: 60_000 }).catch(() => {});
  await op?.stop();
  try {
    release?.uninstall();
  } catch {
    // best effort: the namespace goes below
  }
  await Promise.all([a?.cleanup(), b?.cleanup(), sys?.cleanup()]);
  await git?.close();
  rest?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** B's Application, GitRepository and ConfigMap exactly as before (spec, status, resourceVersion of the ConfigMap). */
async function assertBUntouched(): Promise<void> {
  const app = await getApp(b.name, "app");
  assert.equal(cond(app, "Ready")?.status, "True", "B's Application is still Ready");
  assert.equal(app?.metadata?.generation, bApp.metadata?.generation);
  assert.deepEqual(app?.spec, bApp.spec);
  assert.deepEqual(app?.status?.sync?.inventory, bApp.status?.sync?.inventory);
  assert.deepEqual(app?.status?.history, bApp.status?.history, "no sync of B's Application happened");
  assert.deepEqual(app?.status?.render, bApp.status?.render);
  const repo = await getRepo(b.name, "repo");
  assert.deepEqual(repo?.spec, bRepo.spec, "B's GitRepository spec");
  assert.deepEqual(repo?.status?.artifact, bRepo.status?.artifact, "B's artifact");
  assert.equal(repo?.metadata?.annotations?.[Annotations.reconcileRequestedAt], bRepo.metadata?.annotations?.[Annotations.reconcileRequestedAt], "no reconcile request on B's GitRepository");
  const cm = await getCm(b.name, "b-config");
  assert.equal(cm?.metadata?.resourceVersion, bConfigMap.metadata?.resourceVersion, "B's ConfigMap was not written");
}

async function assertOperatorRunning(): Promise<void> {
  const exited = await Promise.race([op!.exited, Promise.resolve("running")]);
  assert.equal(exited, "running", `the operator process is still running${opTail()}`);
  const res = await fetch(`${op!.healthUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200, `the operator answers /healthz${opTail()}`);
}

const syncFailedAs = (x: Obj) => cond(x, "Synced")?.reason === "SyncFailed";

describe("tenant A attacks; each is refused naming the cause, B is untouched, the operator keeps running", { concurrency: true }, () => {
  it("a symlink chain (configMapGenerator file) to a file outside the artifact: Rendered=False naming the field, the file and the link that leaves, the file's content nowhere", async () => {
    await admin.create(application(a.name, "chain", { path: "chain" }));
    const app = await untilApp(a.name, "chain", "render refused", (x) => cond(x, "Rendered")?.status === "False");
    const msg = cond(app, "Rendered")!.message;
    // Extraction leaves out every link that the kernel resolves outside the tree (src/render/fetch.ts) and keeps
    // their names beside it, so the generator's lookup of chain/evil, which goes through .up to the left-out .hop,
    // names that link instead of saying the file does not exist.
    assert.match(msg, /chain\/kustomization\.yaml: configMapGenerator "stolen" file "evil" resolves outside the source root: chain\/\.hop is a symlink that leaves the repository/, msg);
    assert.doesNotMatch(msg, /does not exist/, msg);
    assert.equal(await getCm(a.name, "stolen"), undefined, "nothing applied");
    assert.ok(!JSON.stringify(app).includes(CANARY_HOST));
    assert.ok(!msg.includes(outside), "the error does not quote the host path");
  });

  it("a source in B's namespace: CrossNamespaceRefForbidden on SourceReady and Ready, nothing rendered", async () => {
    await admin.create(application(a.name, "xsource", { sourceRef: { kind: "GitRepository", name: "repo", namespace: b.name }, path: "app" }));
    const app = await untilApp(a.name, "xsource", "refused", (x) => cond(x, "Ready")?.reason === "CrossNamespaceRefForbidden" && cond(x, "SourceReady")?.reason === "CrossNamespaceRefForbidden");
    assert.match(cond(app, "Ready")!.message, /spec\.sourceRef\.namespace names GitRepository/);
    assert.equal(app.status?.render, undefined);
  });

  it("rendering B's GitRepository and Application (re-pointed at A's repository): SyncFailed as A's deployer, forbidden", async () => {
    await admin.create(application(a.name, "steal-crs", { path: "steal-crs" }));
    const app = await untilApp(a.name, "steal-crs", "sync failed", syncFailedAs);
    const msg = cond(app, "Synced")!.message;
    assert.match(msg, new RegExp(`as system:serviceaccount:${a.name}:deployer`), msg);
    assert.match(msg, /forbidden|managed by Application/, msg);
  });

  it("a ClusterRoleBinding to cluster-admin in its render: SyncFailed, forbidden; no binding exists", async () => {
    await admin.create(application(a.name, "crb", { path: "crb" }));
    const app = await untilApp(a.name, "crb", "sync failed", syncFailedAs);
    assert.match(cond(app, "Synced")!.message, /ClusterRoleBinding.*forbidden|forbidden.*ClusterRoleBinding/s);
    assert.equal(await admin.get({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding" }, `${a.name}-cluster-admin`), undefined);
  });

  it("a healthCheck on B's namespace: CrossNamespaceRefForbidden naming the entry, B's health not reported", async () => {
    await admin.create(application(a.name, "peek", { path: "own", healthChecks: [{ apiVersion: "v1", kind: "ConfigMap", name: "b-config", namespace: b.name }] }));
    const app = await untilApp(a.name, "peek", "refused", (x) => cond(x, "Ready")?.reason === "CrossNamespaceRefForbidden");
    assert.match(cond(app, "Ready")!.message, /spec\.healthChecks\[0\] \(ConfigMap b-config\) names namespace/);
    assert.notEqual(app.status?.health?.status, "Healthy");
  });

  it("a rendered object that already belongs to B: SyncFailed, forbidden exactly as for an object B does not have; B's Application not named", async () => {
    await admin.create(application(a.name, "takeover", { path: "takeover" }));
    const app = await untilApp(a.name, "takeover", "sync failed", syncFailedAs);
    const msg = cond(app, "Synced")!.message;
    // Before the fix the ownership check (read with the controller's own identity) answered "ConfigMap
    // <b>/b-config is managed by Application <b>.app": which objects B has, and which Application manages them.
    assert.doesNotMatch(msg, /managed by Application/, msg);
    for (const name of ["b-config", "b-nothing"]) {
      assert.match(msg, new RegExp(`ConfigMap ${b.name}/${name}: forbidden: configmaps "${name}" is forbidden: User "system:serviceaccount:${a.name}:deployer" cannot patch`), msg);
    }
    assert.equal((await getCm(b.name, "b-config"))?.data?.owner, "b");
    assert.equal(await getCm(b.name, "b-nothing"), undefined);
  });

  it("B's artifact: A cannot read B's status (its URL), and URLs built from A's own are refused", async () => {
    const mine = await waitFor("A's artifact", async () => (await getRepo(a.name, "repo"))?.status?.artifact, { timeoutMs: CONVERGE_MS });
    // A's own URL works (the server is reachable, so the refusals below are the server's).
    assert.equal((await fetch(mine.url)).status, 200);
    // A's identities cannot read B's GitRepository or Application, where B's URLs are.
    const kcA = impersonatingKubeconfig(c.kubeconfigPath, `system:serviceaccount:${a.name}:deployer`, path.join(tmp, "a.kubeconfig"));
    const asA = RestClient.fromKubeConfig((await import("../../src/runtime/kubeconfig.js")).KubeConfig.fromFile(kcA));
    try {
      await assert.rejects(asA.request("GET", `/apis/source.mooring.dev/v1alpha1/namespaces/${b.name}/gitrepositories/repo`), /403|forbidden/i);
      await assert.rejects(asA.request("GET", `/apis/delivery.mooring.dev/v1alpha1/namespaces/${b.name}/applications/app`), /403|forbidden/i);
    } finally {
      asA.close();
    }
    // Guesses: A's path with B's namespace (A's token), B's digest with A's token, B's directory.
    const u = new URL(mine.url);
    const bUrl = new URL(bRepo.status!.artifact!.url);
    const bDigest = bRepo.status!.artifact!.digest.replace("sha256:", "");
    const myName = path.posix.basename(u.pathname);
    const guesses = [
      u.pathname.replace(`/${a.name}/`, `/${b.name}/`),
      path.posix.join(path.posix.dirname(bUrl.pathname), `${bDigest}${myName.slice(64)}`),
      `${path.posix.dirname(bUrl.pathname)}/`,
      `${path.posix.dirname(bUrl.pathname)}/${bDigest}.tar.gz`,
    ];
    for (const g of guesses) assert.equal((await fetch(new URL(g, u))).status, 404, g);
  });

  it("B's artifact with its URL: the operator will not fetch it for A, and only the release's Pods may reach the artifact port", async () => {
    // Say A learned B's URL (it cannot read it, above): a GitRepository of A's naming it is a failed fetch, nothing
    // of B's is stored for A, and the condition quotes none of the artifact's content.
    await admin.create(gitRepository(a.name, "steal-artifact", bRepo.status!.artifact!.url));
    const repo = await waitFor("the stolen URL refused", async () => {
      const r = await getRepo(a.name, "steal-artifact");
      return cond(r, "FetchFailed")?.status === "True" ? r : undefined;
    }, { timeoutMs: CONVERGE_MS });
    assert.equal(repo.status?.artifact, undefined);
    assert.doesNotMatch(cond(repo, "FetchFailed")!.message, /b-config/);
    // The URL itself is a capability: what keeps a tenant's Pod from using it is the chart's NetworkPolicy, which
    // admits only the release's own Pods to the artifact port. The local cluster has no network plugin to enforce
    // it, so the installed policy is checked instead.
    type Policy = KubeObject & { spec: { podSelector: unknown; ingress: { from?: { podSelector?: unknown }[]; ports?: { port: string }[] }[] } };
    const np = await admin.get<Policy>({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" }, release!.fullname, sys.name);
    assert.ok(np, "the chart installed its NetworkPolicy");
    const artifactRules = np.spec.ingress.filter((r) => r.ports?.some((p) => p.port === "http-artifacts"));
    assert.equal(artifactRules.length, 1);
    assert.deepEqual(artifactRules[0]!.from, [{ podSelector: np.spec.podSelector }], "the artifact port admits the release's own Pods only");
  });

  it("a pack bomb: FetchFailed naming the object-size limit, nothing stored", async () => {
    const repo = await waitFor("the bomb refused", async () => {
      const r = await getRepo(a.name, "bomb");
      return cond(r, "FetchFailed")?.status === "True" ? r : undefined;
    }, { timeoutMs: CONVERGE_MS });
    assert.match(cond(repo, "FetchFailed")!.message, /--max-object-size/);
    assert.equal(repo.status?.artifact, undefined);
  });

  it("a YAML bomb: Rendered=False naming the aliases", async () => {
    await admin.create(application(a.name, "yamlbomb", { path: "yamlbomb" }));
    const app = await untilApp(a.name, "yamlbomb", "render refused", (x) => cond(x, "Rendered")?.status === "False");
    assert.match(cond(app, "Rendered")!.message, /yamlbomb\/bomb\.yaml:1: .*too many aliases/);
  });

  it("a template that recurses forever: Rendered=False naming the template", async () => {
    await admin.create(application(a.name, "loop", { path: "loop" }));
    const app = await untilApp(a.name, "loop", "render refused", (x) => cond(x, "Rendered")?.status === "False");
    // The worker's stack overflows first; the render deadline (60 s) would stop a loop that does not recurse.
    assert.match(cond(app, "Rendered")!.message, /loop\/templates\/cm\.yaml: template failed: Maximum call stack size exceeded/);
  });

  it("a Go-template chart that loops forever: Rendered=False naming the deadline, the helm subprocess killed", async () => {
    // The operator has no flag for the render deadline, so this waits out the default 60 s (run concurrently with
    // the other attacks, it adds about 40 s to the suite). The operator still running is checked after the attacks.
    await admin.create(application(a.name, "goloop", { path: "goloop" }));
    const app = await untilApp(a.name, "goloop", "render refused", (x) => cond(x, "Rendered")?.status === "False");
    assert.match(cond(app, "Rendered")!.message, /goloop.* took longer than 60000 ms and was (stopped|killed)/, cond(app, "Rendered")!.message);
    // helm reads the chart staged under the operator's TMPDIR: no process with that path in its command line may
    // outlive the deadline for long (helm itself ignores SIGTERM while it renders; it must have been killed).
    const opTmp = path.join(tmp, "op-tmp");
    const helmLeft = async () => {
      const left: string[] = [];
      for (const pid of await readdir("/proc").catch(() => [] as string[])) {
        if (!/^\d+$/.test(pid)) continue;
        const cmd = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0").join(" ");
        if (cmd.includes(opTmp) && /helm/.test(cmd)) left.push(`${pid}: ${cmd}`);
      }
      return left;
    };
    await waitFor("no helm process of the operator left", async () => ((await helmLeft()).length === 0 ? true : undefined), { timeoutMs: 20_000, intervalMs: 500 }).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${(await helmLeft()).join("; ")}`, { cause: err });
    });
  });

  it("webhooks with a forged signature, or A's secret at B's receiver: 401, nothing triggered", async () => {
    const body = JSON.stringify({ url: repoB.url, branch: "main" });
    const sign = (secret: string) => "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
    // The operator-wide receiver (/hook) has no Secret in a tenant install (the chart creates none): 503, not 401.
    const tries = [[`/hook/${b.name}/repo`, "forged", 401], [`/hook/${b.name}/repo`, HOOK_A, 401], [`/hook/${a.name}/repo`, "forged", 401], ["/hook", HOOK_A, 503]] as const;
    for (const [p, secret, status] of tries) {
      const res = await fetch(`http://${op!.webhookAddr}${p}`, { method: "POST", body, headers: { "content-type": "application/json", "x-mooring-signature-256": sign(secret) } });
      assert.equal(res.status, status, p);
    }
    assert.match(op!.logs(), /webhook rejected: signature mismatch/);
  });
});

describe("after the attacks", () => {
  it("B's objects and status are untouched and the operator is still running", async () => {
    await assertBUntouched();
    await assertOperatorRunning();
    // Still working for everyone: A's own legitimate Application syncs.
    // An Application outside the run's shard (no label), created first, is left alone (--watch-label-selector): the
    // operator never touches objects of the other tests sharing the cluster.
    const unlabelled = application(a.name, "other-shard", { path: "own" });
    delete unlabelled.metadata!.labels;
    await admin.create(unlabelled);
    await admin.create(application(a.name, "own", { path: "own" }));
    await untilApp(a.name, "own", "Ready", (x) => cond(x, "Ready")?.status === "True");
    const other = await getApp(a.name, "other-shard");
    assert.equal(other?.status, undefined, "the unlabelled Application got no status");
    assert.deepEqual(other?.metadata?.finalizers ?? [], [], "nor a finalizer");
  });

  it("the canaries never appear in logs, events, statuses, artifacts or CLI output", async () => {
    await admin.create(application(a.name, "secret", { path: "secret" }));
    await untilApp(a.name, "secret", "Ready", (x) => cond(x, "Ready")?.status === "True");
    const kc = ["--kubeconfig", c.kubeconfigPath];
    const runs: [string[], string][] = [];
    for (const args of [["get", "apps", "-n", a.name], ["get", "apps", "-n", b.name], ["diff", "secret", "-n", a.name], ["diff", "app", "-n", b.name], ["render", path.join(repoA.workDir, "secret")]]) {
      const full = args[0] === "render" ? args : [...args, ...kc];
      const r = await mooringCli(full);
      assert.ok(r.code <= 1, describeRun(full, r));
      runs.push([full, r.stdout + r.stderr]);
    }
    const events = [...(await admin.list({ apiVersion: "v1", kind: "Event" }, { namespace: a.name })), ...(await admin.list({ apiVersion: "v1", kind: "Event" }, { namespace: b.name }))];
    const statuses: unknown[] = [];
    for (const ns of [a.name, b.name]) for (const kind of [ApplicationKind, GitRepositoryKind]) statuses.push(...(await admin.list<Obj>(kind, { namespace: ns })).map((o) => o.status));
    // Every stored artifact, tarballs decompressed.
    const artifacts: [string, string][] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else {
          const raw = await readFile(p);
          artifacts.push([path.relative(op!.storageDir, p), (p.endsWith(".gz") ? gunzipSync(raw) : raw).toString("latin1")]);
        }
      }
    };
    await walk(op!.storageDir);
    assert.ok(artifacts.length > 0, "artifacts were found to check");
    const places: [string, string][] = [["the operator's log", op!.logs()], ["events", JSON.stringify(events)], ["statuses", JSON.stringify(statuses)], ...runs.map(([args, out]) => [`mooring ${args.join(" ")}`, out] as [string, string])];
    for (const canary of [CANARY_A, CANARY_B, CANARY_HOST]) for (const [where, text] of places) assert.ok(!text.includes(canary), `${canary.split("-").slice(0, 2).join(" ")} in ${where}`);
    for (const [file, text] of artifacts) {
      assert.ok(!text.includes(CANARY_B) && !text.includes(CANARY_HOST), `a canary in artifact ${file}`);
      // A's own Secret is in A's own source and rendered artifacts only (they are what is applied).
      if (text.includes(CANARY_A)) assert.match(file, new RegExp(`/${a.name}/(repo|secret)/`), `canary A in ${file}`);
    }
    assert.ok((await admin.get<Obj>({ apiVersion: "v1", kind: "Secret" }, "a-secret", a.name)), "A's Secret was applied (so it passed through the operator)");
  });
});
