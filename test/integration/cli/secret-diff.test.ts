// `mooring diff` (the real entry point, src/cli/main.ts) against the real API server, on Secrets that kubectl applied
// (so the live objects carry last-applied-configuration, a full copy of their data): a canary value never appears in
// stdout or stderr unless --show-secrets, and the diff still shows which keys change.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { ApplicationKind, FieldManagers, GitRepositoryKind, installCrds } from "../../../src/api/index.js";
import { connect, Exit, type Kube } from "../../../src/cli/kube.js";
import { canonicalJson } from "../../../src/render/canonical.js";
import type { KubeObject } from "../../../src/runtime/index.js";
import { REPO_ROOT, testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";

const run = promisify(execFile);
const MAIN = path.join(REPO_ROOT, "src/cli/main.ts");
const b64 = (s: string) => Buffer.from(s).toString("base64");

// Canary values: the live one, what the render changes it to, a created Secret's and a pruned Secret's.
const LIVE = "canary-diff-live-3c9a1e";
const RENDERED = "canary-diff-rendered-77b0";
const CREATED = "canary-diff-created-e41d";
const PRUNED = "canary-diff-pruned-0fa2";
const ALL = [LIVE, RENDERED, CREATED, PRUNED];

let c: TestCluster;
let ns: TestNamespace;
let kube: Kube;
let server: http.Server;
let body = "";

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "cli-secrets");
  kube = connect({ kubeconfig: c.kubeconfigPath, namespace: ns.name });
  server = http.createServer((_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end(body));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
});

after(async () => {
  kube?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await ns?.cleanup();
});

const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: ns.name },
  type: "Opaque",
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});

async function kubectlApply(obj: KubeObject): Promise<void> {
  const child = run("kubectl", ["--kubeconfig", c.kubeconfigPath, "apply", "-f", "-"]);
  child.child.stdin!.end(JSON.stringify(obj));
  await child;
}

/** An Application whose rendered artifact is `objects` and whose inventory lists `inventory`. */
async function application(name: string, objects: KubeObject[], inventory: string[]): Promise<void> {
  await kube.client.create({
    apiVersion: `${ApplicationKind.group}/${ApplicationKind.version}`,
    kind: "Application",
    metadata: { name, namespace: ns.name },
    spec: { sourceRef: { kind: "GitRepository", name: "repo" } },
  });
  body = canonicalJson(objects);
  const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}.json`;
  const status = (s: Record<string, unknown>, manager: string) =>
    kube.client.applyStatus({ apiVersion: `${ApplicationKind.group}/${ApplicationKind.version}`, kind: "Application", metadata: { name, namespace: ns.name }, status: s } as KubeObject, { fieldManager: manager });
  await status({ render: { artifact: { url, digest, revision: "main@sha1:" + "c".repeat(40), size: body.length } } }, FieldManagers.render);
  await status({ sync: { status: "OutOfSync", inventory: inventory.map((id) => ({ id, v: "v1" })) } }, FieldManagers.sync);
}

async function mooringDiff(...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ["--import", "tsx", MAIN, "diff", "secrets", "--color", "never", "--kubeconfig", c.kubeconfigPath, "-n", ns.name, ...extra], { cwd: REPO_ROOT });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** Fails naming which canary leaked and in which form, never quoting the output. */
function assertNoCanary(text: string): void {
  ALL.forEach((v, i) => {
    assert.ok(!text.includes(v), `canary #${i} is in the output`);
    assert.ok(!text.includes(b64(v)), `canary #${i} is in the output, base64`);
  });
}

describe("mooring diff on Secrets", () => {
  it("masks every Secret value — changed, unchanged, created, pruned, last-applied copy — unless --show-secrets", async () => {
    await kube.client.create({
      apiVersion: `${GitRepositoryKind.group}/${GitRepositoryKind.version}`,
      kind: "GitRepository",
      metadata: { name: "repo", namespace: ns.name },
      spec: { url: "https://git.example.com/team/app.git", ref: { branch: "main" } },
    });
    await kubectlApply(secret("db", { password: LIVE, user: "admin-user" }));
    await kubectlApply(secret("old", { token: PRUNED }));
    const live = await c.core.readNamespacedSecret({ name: "db", namespace: ns.name });
    assert.ok(live.metadata?.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]?.includes(b64(LIVE)), "kubectl apply copied the data into the annotation");
    await application("secrets", [secret("db", { password: RENDERED, user: "admin-user" }), secret("fresh", { key: CREATED })], [`${ns.name}_old__Secret`]);

    const masked = await mooringDiff();
    assert.equal(masked.code, Exit.negative, `exit 1 (differences); stderr: ${masked.stderr.slice(0, 300)}`);
    assertNoCanary(masked.stdout + masked.stderr);
    assert.match(masked.stdout, /# .*_db__Secret: changed/);
    assert.match(masked.stdout, /^- {2}password: "\*\*\* \(before\)"$/m);
    assert.match(masked.stdout, /^\+ {2}password: "\*\*\* \(after\)"$/m);
    assert.match(masked.stdout, /# .*_fresh__Secret: created/);
    assert.match(masked.stdout, /# .*_old__Secret: pruned/);
    assert.match(masked.stderr, /3 objects differ \(1 created, 1 changed, 1 pruned\)/);

    const shown = await mooringDiff("--show-secrets");
    assert.equal(shown.code, Exit.negative);
    for (const v of [LIVE, RENDERED, CREATED, PRUNED]) assert.ok(shown.stdout.includes(b64(v)), "--show-secrets prints the values");
  });
});
