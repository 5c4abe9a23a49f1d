// `mooring diff` (the real entry point, src/cli/main.ts) against the real controllers and API server, on Secrets: the
// operator applies a repository's Secrets, one of them is then re-applied with kubectl (so the live object carries
// last-applied-configuration, a full copy of its data), and a new commit changes, adds and removes Secrets. A canary
// value never appears in stdout or stderr unless --show-secrets, and the diff still shows which keys change. No
// status is written by the test: the render and apply controllers write it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { ApplicationKind, GitRepositoryKind, installCrds } from "../../../src/api/index.js";
import { Exit } from "../../../src/cli/kube.js";
import type { KubeObject } from "../../../src/runtime/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { mooringCli } from "../../support/mooring-cli.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { startOperator, type RunningOperator } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

const run = promisify(execFile);
const b64 = (s: string) => Buffer.from(s).toString("base64");

// Canary values: the live one, what the render changes it to, a created Secret's and a pruned Secret's.
const LIVE = "canary-diff-live-3c9a1e";
const RENDERED = "canary-diff-rendered-77b0";
const CREATED = "canary-diff-created-e41d";
const PRUNED = "canary-diff-pruned-0fa2";
const ALL = [LIVE, RENDERED, CREATED, PRUNED];

let c: TestCluster;
let ns: TestNamespace;
let git: GitServer;
let repo: TestRepo;
let operator: RunningOperator | undefined;

const secret = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: ns.name },
  type: "Opaque",
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});

async function kubectl(args: string[], input?: string): Promise<string> {
  const child = run("kubectl", ["--kubeconfig", c.kubeconfigPath, ...args]);
  if (input !== undefined) child.child.stdin!.end(input);
  return (await child).stdout;
}

async function appStatus(): Promise<{ render?: { artifact?: { revision?: string } }; sync?: { revision?: string }; history?: { phase: string }[] } | undefined> {
  const out = await kubectl(["get", "applications.delivery.mooring.dev", "secrets", "-n", ns.name, "-o", "json"]);
  return (JSON.parse(out) as { status?: never }).status;
}

const mooringDiff = (...extra: string[]) => mooringCli(["diff", "secrets", "--color", "never", "--kubeconfig", c.kubeconfigPath, "-n", ns.name, ...extra]);

/** Fails naming which canary leaked and in which form, never quoting the output. */
function assertNoCanary(text: string): void {
  ALL.forEach((v, i) => {
    assert.ok(!text.includes(v), `canary #${i} is in the output`);
    assert.ok(!text.includes(b64(v)), `canary #${i} is in the output, base64`);
  });
}

before(async () => {
  c = await testCluster();
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "cli-secrets");
  git = await GitServer.start();
  repo = await git.createRepo("secrets", { files: { "deploy/db.yaml": stringify(secret("db", { password: LIVE, user: "admin-user" })), "deploy/old.yaml": stringify(secret("old", { token: PRUNED })) } });
  // A tenant's own identity (the operator applies nothing with its own rights), syncing only when asked.
  await kubectl(["create", "serviceaccount", "deployer", "-n", ns.name]);
  await kubectl(["create", "rolebinding", "deployer-edit", "--clusterrole=edit", `--serviceaccount=${ns.name}:deployer`, "-n", ns.name]);
  await kubectl(
    ["apply", "-f", "-"],
    [
      { apiVersion: `${GitRepositoryKind.group}/${GitRepositoryKind.version}`, kind: "GitRepository", metadata: { name: "repo", namespace: ns.name }, spec: { url: repo.url, ref: { branch: "main" }, interval: "1h" } },
      { apiVersion: `${ApplicationKind.group}/${ApplicationKind.version}`, kind: "SyncPolicy", metadata: { name: "manual", namespace: ns.name }, spec: { automated: { enabled: false, selfHeal: false } } },
      { apiVersion: `${ApplicationKind.group}/${ApplicationKind.version}`, kind: "Application", metadata: { name: "secrets", namespace: ns.name }, spec: { sourceRef: { kind: "GitRepository", name: "repo" }, path: "./deploy", serviceAccountName: "deployer", syncPolicyRef: { name: "manual" } } },
    ]
      .map((o) => stringify(o))
      .join("---\n"),
  );
  operator = await startOperator({ kubeconfigPath: c.kubeconfigPath, watchNamespace: ns.name, logLevel: "info", readyTimeoutMs: 180_000 });
});

after(async () => {
  await kubectl(["delete", "applications.delivery.mooring.dev,gitrepositories.source.mooring.dev", "--all", "-n", ns.name, "--timeout=60s"]).catch(() => undefined);
  await operator?.stop();
  await git?.close();
  await ns?.cleanup();
});

describe("mooring diff on Secrets", () => {
  it("masks every Secret value — changed, unchanged, created, pruned, last-applied copy — unless --show-secrets", { timeout: 600_000 }, async () => {
    const first = await repo.head();
    await waitFor("the first commit rendered", async () => ((await appStatus())?.render?.artifact?.revision ?? "").endsWith(first) || undefined, { timeoutMs: 180_000 });
    const synced = await mooringCli(["sync", "secrets", "--timeout", "3m", "--kubeconfig", c.kubeconfigPath, "-n", ns.name]);
    assert.equal(synced.code, Exit.ok, `mooring sync: ${synced.stderr}${synced.stdout}${operator?.tail(30)}`);
    assertNoCanary(synced.stdout + synced.stderr);
    // kubectl apply of the same Secret: the live object now carries a copy of its data in last-applied-configuration.
    await kubectl(["apply", "-f", "-"], JSON.stringify(secret("db", { password: LIVE, user: "admin-user" })));
    const live = JSON.parse(await kubectl(["get", "secret", "db", "-n", ns.name, "-o", "json"])) as KubeObject;
    assert.ok(live.metadata?.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]?.includes(b64(LIVE)), "kubectl apply copied the data into the annotation");

    const second = await repo.commit({ "deploy/db.yaml": stringify(secret("db", { password: RENDERED, user: "admin-user" })), "deploy/fresh.yaml": stringify(secret("fresh", { key: CREATED })), "deploy/old.yaml": null }, "rotate");
    const fetched = await mooringCli(["reconcile", "gitrepository", "repo", "--wait", "--timeout", "3m", "--kubeconfig", c.kubeconfigPath, "-n", ns.name]);
    assert.equal(fetched.code, Exit.ok, fetched.stderr);
    await waitFor("the second commit rendered", async () => ((await appStatus())?.render?.artifact?.revision ?? "").endsWith(second) || undefined, { timeoutMs: 180_000 });

    const masked = await mooringDiff();
    assert.equal(masked.code, Exit.negative, `exit 1 (differences); stderr: ${masked.stderr.slice(0, 300)}`);
    assertNoCanary(masked.stdout + masked.stderr);
    assert.match(masked.stdout, /# .*_db__Secret: changed/);
    assert.match(masked.stdout, /^- {2}password: "\*\*\* \(before\)"$/m);
    assert.match(masked.stdout, /^\+ {2}password: "\*\*\* \(after\)"$/m);
    assert.match(masked.stdout, /# .*_fresh__Secret: created/);
    assert.match(masked.stdout, /# .*_old__Secret: pruned/);
    assert.match(masked.stderr, /3 objects differ \(1 created, 1 changed, 1 pruned\)/);
    assertNoCanary(operator!.logs());

    const shown = await mooringDiff("--show-secrets");
    assert.equal(shown.code, Exit.negative);
    for (const v of [LIVE, RENDERED, CREATED, PRUNED]) assert.ok(shown.stdout.includes(b64(v)), "--show-secrets prints the values");
  });
});
