// `mooring diff` (the real entry point) dry-runs as the Application's identity, as the apply controller writes:
// its spec.serviceAccountName, else the operator's default ServiceAccount of its namespace (`default` unless
// --default-service-account says otherwise; "" for the caller's own credentials). So a user sees what the controller
// would be refused: a ServiceAccount without rights, or an object in another tenant's namespace. A user who may not
// impersonate that identity gets one line saying which RBAC the diff needs (docs/tenancy.md), and the diff works once
// granted it. No operator runs: the test publishes the rendered artifact itself, as the render controller would.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { parseDocument } from "yaml";
import { ApplicationKind, FieldManagers, installCrds } from "../../../src/api/index.js";
import { connect, Exit, type Kube } from "../../../src/cli/kube.js";
import { canonicalJson } from "../../../src/render/canonical.js";
import type { KubeObject } from "../../../src/runtime/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { type CliResult, describeRun, mooringCli } from "../../support/mooring-cli.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";

const run = promisify(execFile);

let c: TestCluster;
let a: TestNamespace;
let b: TestNamespace;
let kube: Kube;
let server: http.Server;
let dir: string;
const bodies = new Map<string, string>();

const configMap = (name: string, namespace?: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(namespace ? { namespace } : {}) }, data: { k: "v" } });

/** An Application in tenant A whose rendered artifact is `objects` (status written as the render controller would). */
async function application(name: string, objects: KubeObject[], spec: Record<string, unknown> = {}): Promise<void> {
  await kube.client.create({ apiVersion: `${ApplicationKind.group}/${ApplicationKind.version}`, kind: "Application", metadata: { name, namespace: a.name }, spec: { sourceRef: { kind: "GitRepository", name: "repo" }, ...spec } });
  const body = canonicalJson(objects);
  bodies.set(`/${name}.json`, body);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}.json`;
  const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
  await kube.client.applyStatus(
    { apiVersion: `${ApplicationKind.group}/${ApplicationKind.version}`, kind: "Application", metadata: { name, namespace: a.name }, status: { render: { artifact: { url, digest, revision: "main@sha1:" + "d".repeat(40), size: body.length } } } } as KubeObject,
    { fieldManager: FieldManagers.render },
  );
}

async function diff(app: string, extra: string[] = [], kubeconfig = c.kubeconfigPath): Promise<CliResult> {
  return mooringCli(["diff", app, "--color", "never", "--kubeconfig", kubeconfig, "-n", a.name, ...extra]);
}

function expectCode(r: CliResult, code: number, args: string): void {
  assert.equal(r.code, code, describeRun(["diff", args], r));
}

async function rbac(obj: Record<string, unknown>): Promise<void> {
  await kube.client.create({ apiVersion: "rbac.authorization.k8s.io/v1", ...obj } as KubeObject);
}

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  [a, b] = await Promise.all([createTestNamespace(c, "diffid-a"), createTestNamespace(c, "diffid-b")]);
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: a.name });
  dir = await mkdtemp(path.join(os.tmpdir(), "mooring-diffid-"));
  server = http.createServer((req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end(bodies.get(req.url ?? "") ?? "[]"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  // Tenant A's deployer may edit namespace A only; A's default ServiceAccount may do nothing.
  await kube.client.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "deployer", namespace: a.name } });
  await rbac({ kind: "RoleBinding", metadata: { name: "deployer-edit", namespace: a.name }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" }, subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: a.name }] });
  await application("named", [configMap("named-cm")], { serviceAccountName: "deployer" });
  await application("unnamed", [configMap("unnamed-cm")]);
  await application("escape", [configMap("planted", b.name)], { serviceAccountName: "deployer" });
});

after(async () => {
  kube?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await Promise.all([a?.cleanup(), b?.cleanup()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("mooring diff as the Application's identity", () => {
  it("impersonates spec.serviceAccountName, and says so", async () => {
    const r = await diff("named");
    expectCode(r, Exit.negative, "named");
    assert.match(r.stdout, /_named-cm__ConfigMap: created/);
    assert.match(r.stderr, new RegExp(`dry-run as system:serviceaccount:${a.name}:deployer \\(the Application's spec\\.serviceAccountName\\)`));
  });

  it("without one, dry-runs as the namespace's default ServiceAccount, which may do nothing: the object is reported forbidden, exit 2", async () => {
    const r = await diff("unnamed");
    expectCode(r, Exit.error, "unnamed");
    assert.match(r.stderr, new RegExp(`dry-run as system:serviceaccount:${a.name}:default \\(the operator's default ServiceAccount`));
    assert.match(r.stderr, new RegExp(`_unnamed-cm__ConfigMap: not allowed \\(HTTP 403\\).*system:serviceaccount:${a.name}:default`));
  });

  it("--default-service-account names the operator's real default; an empty one uses the caller's own credentials", async () => {
    const named = await diff("unnamed", ["--default-service-account", "deployer"]);
    expectCode(named, Exit.negative, "unnamed --default-service-account deployer");
    assert.match(named.stderr, new RegExp(`dry-run as system:serviceaccount:${a.name}:deployer`));
    const own = await diff("unnamed", ["--default-service-account="]);
    expectCode(own, Exit.negative, "unnamed --default-service-account=");
    assert.match(own.stderr, /dry-run with your own credentials/);
    const env = await mooringCli(["diff", "unnamed", "--kubeconfig", c.kubeconfigPath, "-n", a.name], { env: { MOORING_DEFAULT_SERVICE_ACCOUNT: "deployer" } });
    expectCode(env, Exit.negative, "unnamed (MOORING_DEFAULT_SERVICE_ACCOUNT=deployer)");
  });

  it("an object in another tenant's namespace is refused as the controller would refuse it", async () => {
    const r = await diff("escape");
    expectCode(r, Exit.error, "escape");
    assert.match(r.stderr, new RegExp(`${b.name}_planted__ConfigMap: not allowed \\(HTTP 403\\).*system:serviceaccount:${a.name}:deployer`));
    assert.equal(await kube.client.get({ apiVersion: "v1", kind: "ConfigMap" }, "planted", b.name), undefined);
  });

  it("a user who may not impersonate the identity gets one line naming the RBAC the diff needs; granted it, the diff works", async () => {
    // A tenant user with its own token: may read Applications and ConfigMaps in A, not impersonate.
    await kube.client.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "tenant-user", namespace: a.name } });
    await rbac({ kind: "Role", metadata: { name: "diff-reader", namespace: a.name }, rules: [{ apiGroups: ["delivery.mooring.dev"], resources: ["applications", "syncpolicies"], verbs: ["get"] }, { apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }] });
    const user = { kind: "ServiceAccount", name: "tenant-user", namespace: a.name };
    await rbac({ kind: "RoleBinding", metadata: { name: "diff-reader", namespace: a.name }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "diff-reader" }, subjects: [user] });
    const token = (await run("kubectl", ["--kubeconfig", c.kubeconfigPath, "create", "token", "tenant-user", "-n", a.name, "--duration=10m"])).stdout.trim();
    const doc = parseDocument(await readFile(c.kubeconfigPath, "utf8"));
    const users = doc.get("users") as { items: { set(k: string, v: unknown): void }[] };
    for (const u of users.items) u.set("user", { token });
    const kubeconfig = path.join(dir, "tenant.kubeconfig");
    await writeFile(kubeconfig, doc.toString(), { mode: 0o600 });

    const denied = await diff("named", [], kubeconfig);
    expectCode(denied, Exit.error, "named (as tenant-user)");
    assert.match(denied.stderr, new RegExp(`cannot dry-run as system:serviceaccount:${a.name}:deployer \\(the Application's spec\\.serviceAccountName\\).*the diff needs the impersonate verb on serviceaccounts "deployer" in namespace ${a.name}`));
    assert.equal(denied.stderr.trim().split("\n").length, 1, `one line: ${denied.stderr}`);

    // The Role docs/tenancy.md gives a tenant for `mooring diff`.
    await rbac({ kind: "Role", metadata: { name: "diff-as-deployer", namespace: a.name }, rules: [{ apiGroups: [""], resources: ["serviceaccounts"], resourceNames: ["deployer"], verbs: ["impersonate"] }] });
    await rbac({ kind: "RoleBinding", metadata: { name: "diff-as-deployer", namespace: a.name }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "diff-as-deployer" }, subjects: [user] });
    let granted: CliResult | undefined;
    for (let i = 0; i < 20; i++) {
      granted = await diff("named", [], kubeconfig);
      if (granted.code !== Exit.error) break;
      await new Promise((r) => setTimeout(r, 500)); // RBAC takes effect within moments
    }
    expectCode(granted!, Exit.negative, "named (as tenant-user, granted impersonate)");
    assert.match(granted!.stdout, /_named-cm__ConfigMap: created/);
  });
});
