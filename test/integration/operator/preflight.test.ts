// The operator refuses to crash on a cluster that is not ready for it: missing CRDs and missing RBAC are named in
// one log line each, and the operator waits for them instead of exiting.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { installCrds } from "../../../src/api/install.js";
import { createLogger } from "../../../src/log.js";
import { describePermission, missingKinds, missingPermissions, waitForKinds } from "../../../src/preflight.js";
import { REPO_ROOT, testCluster, type TestCluster } from "../../support/cluster.js";
import { impersonatingKubeconfig } from "../../support/helm.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

describe("operator preflight", () => {
  let c: TestCluster;
  let ns: TestNamespace;
  let saKubeconfig: string;
  before(async () => {
    c = await testCluster();
    await installCrds(c.kc);
    ns = await createTestNamespace(c, "preflight");
    await c.core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: "powerless" } } });
    saKubeconfig = impersonatingKubeconfig(c.kubeconfigPath, `system:serviceaccount:${ns.name}:powerless`, path.join(mkdtempSync(path.join(tmpdir(), "preflight-")), "kubeconfig"));
  });
  after(async () => ns?.cleanup());

  it("names a kind the API server does not serve, and not the ones it does", async () => {
    const missing = await missingKinds(c.kc, [
      { group: "source.mooring.dev", version: "v1alpha1", kind: "GitRepository", plural: "gitrepositories", namespaced: true },
      { group: "nothing.mooring.dev", version: "v1", kind: "Ghost", plural: "ghosts", namespaced: true },
    ]);
    assert.deepEqual(missing, ["ghosts.nothing.mooring.dev"]);
  });

  it("names the permissions a ServiceAccount lacks, asked of the real authorizer", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(saKubeconfig);
    const wanted = [
      { verb: "list", group: "source.mooring.dev", resource: "gitrepositories" },
      { verb: "get", group: "", resource: "serviceaccounts", namespace: ns.name },
    ];
    const admin = await missingPermissions(c.kc, wanted);
    assert.deepEqual(admin, [], "the admin identity has every permission");
    const missing = (await missingPermissions(kc, wanted)).map(describePermission);
    assert.deepEqual(missing, ["list gitrepositories.source.mooring.dev (cluster-wide)", `get serviceaccounts in namespace ${ns.name}`]);
  });

  it("waitForKinds names a missing CRD once while it waits, and returns once the API server serves it", async () => {
    const group = `waited-${ns.name}.mooring.dev`;
    const kind = { group, version: "v1", kind: "Waited", plural: "waiteds", namespaced: true };
    let out = "";
    const stream = new Writable({ write: (chunk: Buffer, _enc, done) => ((out += chunk.toString()), done()) });
    const stop = new AbortController();
    const waiting = waitForKinds(c.kc, [kind], createLogger({ level: "error", format: "json", stream }), stop.signal, 50);
    const ext = c.kc.makeApiClient(k8s.ApiextensionsV1Api);
    try {
      await waitFor("the missing-CRD log line", () => out.includes("CRDs not installed"));
      await new Promise((r) => setTimeout(r, 500)); // several more polls, same answer: not logged again
      assert.equal(out.trim().split("\n").length, 1, out);
      assert.match(out, new RegExp(`CRDs not installed: waiteds\\.${group.replace(/\./g, "\\.")};`));
      await ext.createCustomResourceDefinition({
        body: {
          metadata: { name: `waiteds.${group}` },
          spec: { group, scope: "Namespaced", names: { plural: "waiteds", singular: "waited", kind: "Waited" }, versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", x_kubernetes_preserve_unknown_fields: true } } }] },
        },
      });
      const done = await Promise.race([waiting.then(() => "returned"), new Promise((r) => setTimeout(() => r("still waiting"), 30_000))]);
      assert.equal(done, "returned");
      assert.equal(stop.signal.aborted, false, "it returned because the kind is served, not because it was stopped");
    } finally {
      stop.abort();
      await ext.deleteCustomResourceDefinition({ name: `waiteds.${group}` }).catch(() => undefined);
    }
  });

  it("a running operator without RBAC logs the missing permission and keeps waiting instead of crashing", async () => {
    const child = spawn(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [path.join(REPO_ROOT, "src/cli/main.ts"), "controller", "--controllers=source", "--health-addr=127.0.0.1:0", "--metrics-addr=0", "--log-format=json"], {
      env: { ...process.env, KUBECONFIG: saKubeconfig },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const line = await waitFor("the missing-permission log line", () => out.split("\n").find((l) => l.includes("missing RBAC permission")), { timeoutMs: 90_000 }); // tsx compiles at start-up: slow on a loaded machine
      assert.match(line, /list gitrepositories\.source\.mooring\.dev \(cluster-wide\)/);
      assert.equal(child.exitCode, null, "the operator is still running");
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
    }
    assert.doesNotMatch(out, /\n\s+at /, "no stack trace was printed");
  });
});
