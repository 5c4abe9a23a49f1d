// The web UI as the chart installs it: `helm install` with ui.enabled=true (all-in-one mode: the operator's Pod and
// the UI's; the test needs only the UI's), in a namespace whose Pod Security admission enforces `restricted`, both Pods run by the
// process node (test/support/process-node.ts) as their own ServiceAccounts. Through the UI's Service (ClusterIP,
// routed by the real kube-proxy): a ServiceAccount's token signs in (the UI's TokenReview), the pages list the
// tenant's Application (read with the UI's own ClusterRole), actions are refused (the chart's default ui.readOnly),
// and a request without a token is refused. In a browser (Debian's chromium), as a user would.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { buildUi } from "../hack/build-ui.js";
import { quietly } from "../test/support/cleanup.js";
import { REPO_ROOT, testCluster } from "../test/support/cluster.js";
import { CHART_DIR } from "../test/support/helm.js";
import { buildAppDir, startProcessNode, type ProcessNode } from "../test/support/process-node.js";
import { launchBrowser, newPage } from "../test/support/ui.js";
import { waitFor } from "../test/support/wait.js";

const run = promisify(execFile);
let kubeconfig = "";

async function kubectl(args: string[], input?: string): Promise<string> {
  try {
    const p = run("kubectl", ["--kubeconfig", kubeconfig, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    if (input !== undefined) p.child.stdin!.end(input);
    return (await p).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(" ")} failed: ${(e.stderr || e.message).trim()}`, { cause: err });
  }
}

async function helm(args: string[]): Promise<string> {
  try {
    return (await run("helm", ["--kubeconfig", kubeconfig, ...args], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(" ")} failed: ${(e.stderr || e.message).trim()}`, { cause: err });
  }
}

void describe("e2e: the web UI as the chart installs it (ui.enabled), its Pod run by the process node", () => {
  const system = `mooring-ui-${randomBytes(3).toString("hex")}`;
  const tenant = `tenant-${randomBytes(3).toString("hex")}`;
  const release = "mooring";
  let node: ProcessNode | undefined;
  let appDir = "";
  let installed = false;
  let base = "";
  let token = "";

  const podLogs = () => {
    if (!node) return "";
    const pods = node.pods();
    return Object.keys(pods).map((p) => `--- ${p} (${pods[p]!.state}) ---\n${node!.logs(p).split("\n").slice(-20).join("\n")}`).join("\n");
  };

  before(async () => {
    kubeconfig = (await testCluster()).kubeconfigPath;
    // The image's /app: compiled code and production modules, plus the UI's bundle as the Dockerfile's npm run build makes it.
    appDir = buildAppDir(REPO_ROOT);
    await buildUi(path.join(appDir, "dist/ui"));
  });

  after(async () => {
    await quietly(`deleting namespace ${tenant}`, () => kubectl(["delete", "namespace", tenant, "--ignore-not-found", "--wait=false"]));
    if (installed) await quietly("helm uninstall", () => helm(["uninstall", release, "-n", system, "--wait", "--timeout", "120s"]));
    await quietly("stopping the process node", () => node?.stop());
    await quietly(`deleting namespace ${system}`, () => kubectl(["delete", "namespace", system, "--ignore-not-found", "--wait=false"]));
    await quietly("removing the app directory", () => rm(appDir, { recursive: true, force: true }));
  });

  it("installs with ui.enabled under the restricted Pod Security Standard, and the UI signs in a token user, lists, and refuses actions", { timeout: 900_000 }, async () => {
    await kubectl(["create", "namespace", system]);
    // The API server's own PodSecurity admission refuses any Pod of this namespace that is not `restricted`.
    await kubectl(["label", "namespace", system, "pod-security.kubernetes.io/enforce=restricted"]);
    const out = await helm(["install", release, CHART_DIR, "-n", system, "--set", "mode=all-in-one", "--set", "ui.enabled=true", "--wait", "--timeout", "180s"]);
    installed = true;
    assert.match(out, /STATUS: deployed/);
    node = await startProcessNode({ kubeconfig, namespace: system, appDir });
    // The UI's Pod only: the page needs the CRDs and the API server, not the operator (which runs beside it).
    await waitFor(
      "the UI's Pod running and ready on the process node",
      async () => {
        const pods = (JSON.parse(await kubectl(["get", "pods", "-n", system, "-l", "app.kubernetes.io/component=ui", "-o", "json"])) as { items: { metadata: { name: string; deletionTimestamp?: string } }[] }).items.filter((p) => !p.metadata.deletionTimestamp);
        const info = node!.pods();
        const ready = pods.filter((p) => info[p.metadata.name]?.state === "running" && info[p.metadata.name]?.ready);
        if (pods.length !== 1 || ready.length !== 1) throw new Error(`${ready.length}/${pods.length} ready: ${pods.map((p) => `${p.metadata.name}=${info[p.metadata.name]?.state ?? "not started"}`).join(", ")}`);
        return true;
      },
      { timeoutMs: 300_000, intervalMs: 1000 },
    ).catch((err: Error) => {
      err.message += `\n${podLogs()}`;
      throw err;
    });

    // A tenant with one Application, and a user (a ServiceAccount) who may read it.
    await kubectl(["create", "namespace", tenant]);
    await kubectl(["apply", "-f", "-"], `apiVersion: delivery.mooring.dev/v1alpha1\nkind: Application\nmetadata:\n  name: shop\n  namespace: ${tenant}\nspec:\n  sourceRef: { kind: GitRepository, name: nowhere }\n  path: ./shop\n`);
    await kubectl(["create", "serviceaccount", "reader", "-n", tenant]);
    await kubectl(["create", "role", "app-reader", "-n", tenant, "--verb=get,list,watch", "--resource=applications.delivery.mooring.dev"]);
    await kubectl(["create", "rolebinding", "app-reader", "-n", tenant, "--role=app-reader", `--serviceaccount=${tenant}:reader`]);
    token = (await kubectl(["create", "token", "reader", "-n", tenant, "--duration=10m"])).trim();

    const svc = JSON.parse(await kubectl(["get", "service", `${release}-ui`, "-n", system, "-o", "json"])) as { spec: { clusterIP: string; ports: { port: number }[] } };
    await node.waitForServiceRules(system, `${release}-ui`, 120_000);
    base = `http://${svc.spec.clusterIP}:${svc.spec.ports[0]!.port}`;

    // Through the Service: no token, no answer; a token, its user.
    const anon = await waitFor("the UI's Service to answer", async () => fetch(`${base}/api/whoami`, { signal: AbortSignal.timeout(5_000) }), { timeoutMs: 60_000, intervalMs: 1000 });
    assert.equal(anon.status, 401);
    const who = (await (await fetch(`${base}/api/whoami`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { user: string; readOnly: boolean; mode: string };
    assert.deepEqual(who, { ...who, user: `system:serviceaccount:${tenant}:reader`, readOnly: true, mode: "token" });
    const refused = await fetch(`${base}/api/apps/${tenant}/shop/actions/sync`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "X-Requested-By": "mooring-ui" } });
    assert.equal(refused.status, 403, "the chart's UI is read-only by default");

    // In a browser, as a user: sign in with the token, see the tenant's Application.
    const browser = await launchBrowser();
    try {
      const { page } = await newPage(browser, { viewport: { width: 1360, height: 800 } });
      await page.goto(base);
      await page.waitForSelector("#token", { timeout: 60_000 });
      await page.fill("#token", token);
      await page.click('button[type="submit"]');
      // The list draws only the rows near the viewport, and the cluster may hold other tests' Applications (make test
      // runs this after the integration tests, whose long list leaves 300 in a terminating namespace): search, as a
      // user with many Applications would.
      await page.waitForSelector("#f-q", { timeout: 120_000 });
      await page.fill("#f-q", `${tenant}/shop`);
      await page.waitForSelector(`tr[data-key="${tenant}/shop"]`, { timeout: 120_000 });
      assert.match((await page.textContent("#user")) ?? "", new RegExp(`system:serviceaccount:${tenant}:reader · read-only`));
      await page.click(`tr[data-key="${tenant}/shop"] a`);
      await page.waitForSelector('button[data-action="sync"][disabled]', { timeout: 60_000 });
    } finally {
      await browser.close();
    }
    // The UI's Pod runs as its own ServiceAccount (the token the in-cluster loader reads is the one mounted).
    const [uiPod] = Object.keys(node.pods()).filter((p) => p.startsWith(`${release}-ui-`));
    assert.ok(uiPod, `a UI Pod: ${Object.keys(node.pods()).join(", ")}`);
    const sub = await node.exec(uiPod, ["node", "-e", "const p=require('fs').readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/token','utf8').split('.')[1];console.log(JSON.parse(Buffer.from(p,'base64url')).sub)"]);
    assert.equal(sub.stdout.trim(), `system:serviceaccount:${system}:${release}-ui`);
  });
});
