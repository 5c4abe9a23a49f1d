// Mooring as installed: `helm install` of the chart with its DEFAULT values (split mode, leader election, its RBAC),
// and every Pod of the release run the way the chart defines it, by the process node (test/support/process-node.ts):
// the image's entry point with each container's args and env, as the Pod's own ServiceAccount (a bound token at
// /var/run/secrets/kubernetes.io/serviceaccount, read by the operator's in-cluster loader), in a network namespace
// with the Pod's IP, reaching the other controllers' artifact Services at the DNS names the chart advertises through
// the real kube-proxy. Nothing here sets a flag or writes a status: the chart decides the one, the controllers the other.
//
// The run: the quickstart reaches Ready; each controller set holds its own Lease; `mooring reconcile --wait` returns;
// a push announced through the webhook Service is applied; drift is reverted; with 2 replicas the leaders are killed
// in the middle and a push is still applied; `helm uninstall` leaves nothing behind; all-in-one mode does it again.
// docs/install.md says what this proves and what a real node would add.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { quietly } from "../test/support/cleanup.js";
import { REPO_ROOT, testCluster } from "../test/support/cluster.js";
import { GitServer, type TestRepo } from "../test/support/git-server.js";
import { CHART_DIR } from "../test/support/helm.js";
import { podReachableUrl } from "../test/support/pod-reachable.js";
import { buildAppDir, startProcessNode, type ProcessNode } from "../test/support/process-node.js";
import { waitFor } from "../test/support/wait.js";

const run = promisify(execFile);
const TENANT = "quickstart";
const APPS = ["hello", "echo", "greeter"];
const WEBHOOK_TOKEN = `e2e-${randomBytes(12).toString("hex")}`;

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
type Obj = {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  status?: Record<string, unknown>;
};

let kubeconfig = "";

async function kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const all = ["--kubeconfig", kubeconfig, ...args];
  try {
    const child = run("kubectl", all, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024 });
    if (opts.input !== undefined) {
      child.child.stdin!.end(opts.input);
    }
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`kubectl ${args.join(" ")} failed: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: err });
  }
}

async function helm(args: string[], timeoutMs = 240_000): Promise<string> {
  try {
    return (await run("helm", ["--kubeconfig", kubeconfig, ...args], { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`helm ${args.join(" ")} failed: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: err });
  }
}

async function getObject(kind: string, name: string, ns: string): Promise<Obj | undefined> {
  const out = await kubectl(["get", kind, name, "-n", ns, "-o", "json", "--ignore-not-found"]);
  return out.trim() ? (JSON.parse(out) as Obj) : undefined;
}

async function list(kind: string, ns: string, selector?: string): Promise<Obj[]> {
  const out = await kubectl(["get", kind, "-n", ns, "-o", "json", ...(selector ? ["-l", selector] : [])]);
  return (JSON.parse(out) as { items: Obj[] }).items;
}

const conditionOf = (o: Obj | undefined, type: string) => ((o?.status?.conditions ?? []) as Cond[]).find((c) => c.type === type);
const describeConditions = (o: Obj | undefined) => (o ? ((o.status?.conditions ?? []) as Cond[]).map((c) => `${c.type}=${c.status} (${c.reason}: ${c.message})`).join("; ") || "no conditions" : "not found");

/** `mooring <args>` through the real entry point, as a user runs it with their kubeconfig. */
async function mooring(args: string[], timeoutMs = 240_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "src/cli/main.ts"), ...args], {
      cwd: REPO_ROOT,
      timeout: timeoutMs,
      env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: "1" },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== "number") throw new Error(`mooring ${args.join(" ")} did not finish: ${e.message}`, { cause: err });
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

void describe("e2e: the chart as installed (default values), its Pods run by the process node", () => {
  const system = `mooring-${randomBytes(3).toString("hex")}`;
  const release = "mooring";
  let node: ProcessNode | undefined;
  let appDir = "";
  let tmp = "";
  let git: GitServer | undefined;
  let forwarder: net.Server | undefined;
  let repo: TestRepo;
  let repoUrl = "";
  let failedStep: string | undefined;
  let installed: string | undefined;

  const nodeLogs = () => {
    if (!node) return "";
    const pods = node.pods();
    return Object.keys(pods)
      .map((p) => `--- ${p} (${pods[p]!.state}, ${pods[p]!.restarts} restarts) ---\n${node!.logs(p).split("\n").slice(-25).join("\n")}`)
      .join("\n");
  };

  const step = (name: string, fn: () => Promise<void>, timeoutMs = 420_000) =>
    it(name, { timeout: timeoutMs }, async () => {
      if (failedStep) throw new Error(`not run: the earlier step "${failedStep}" failed`);
      try {
        await fn();
      } catch (err) {
        failedStep = name;
        (err as Error).message += `\n${nodeLogs()}`;
        throw err;
      }
    });

  async function waitApps(what: string, ok: (app: Obj) => boolean, timeoutMs = 240_000): Promise<void> {
    await waitFor(
      what,
      async () => {
        const states: string[] = [];
        for (const name of APPS) {
          const app = await getObject("application", name, TENANT);
          if (!app || !ok(app)) states.push(`${name}: ${describeConditions(app)} (revision ${(app?.status?.sync as { revision?: string } | undefined)?.revision ?? "none"})`);
        }
        if (states.length) throw new Error(states.join("\n"));
        return true;
      },
      { timeoutMs, intervalMs: 1000 },
    );
  }

  const readyAt = (sha: string) => (app: Obj) => conditionOf(app, "Ready")?.status === "True" && ((app.status?.sync as { revision?: string } | undefined)?.revision ?? "").endsWith(sha);

  /** Every Pod of the release runs its process and passes its readiness probe. */
  async function waitPodsReady(expected: number): Promise<void> {
    await waitFor(
      `${expected} Pods of the release running and ready on the process node`,
      async () => {
        const pods = await list("pods", system);
        const live = pods.filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp);
        const info = node!.pods();
        const ready = live.filter((p) => info[p.metadata.name]?.state === "running" && info[p.metadata.name]?.ready);
        if (live.length !== expected || ready.length !== expected) {
          throw new Error(`${ready.length}/${live.length} ready: ${live.map((p) => `${p.metadata.name}=${info[p.metadata.name]?.state ?? "not started"}${info[p.metadata.name]?.ready ? "/ready" : ""}`).join(", ")}`);
        }
        return true;
      },
      { timeoutMs: 240_000, intervalMs: 1000 },
    );
  }

  /** holder of each Lease of the release, by Lease name. */
  async function leaseHolders(): Promise<Record<string, string>> {
    const leases = await list("leases", system);
    return Object.fromEntries(leases.map((l) => [l.metadata.name, String((l.spec as { holderIdentity?: string }).holderIdentity ?? "")]));
  }

  /** The Pod names behind a Service's ready endpoints. */
  async function endpointPods(service: string): Promise<string[]> {
    const slices = await list("endpointslices.discovery.k8s.io", system, `kubernetes.io/service-name=${service}`);
    return slices
      .flatMap((s) => ((s as unknown as { endpoints?: { conditions?: { ready?: boolean }; targetRef?: { name?: string } }[] }).endpoints ?? []))
      .filter((e) => e.conditions?.ready)
      .map((e) => e.targetRef?.name ?? "?")
      .sort();
  }

  /** Commits a change to the quickstart's plain ConfigMap and announces it through the webhook Service. */
  async function pushThroughWebhook(message: string, webhookService: string): Promise<string> {
    const file = path.join(repo.workDir, "plain/configmap.yaml");
    const text = await readFile(file, "utf8");
    const next = text.replace(/message: .*/, `message: ${message}`);
    assert.notEqual(next, text, "plain/configmap.yaml has a message to change");
    const sha = await repo.commit({ "plain/configmap.yaml": next }, message);
    const svc = await getObject("service", webhookService, system);
    const ip = (svc?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    assert.ok(ip, `Service ${system}/${webhookService} has a ClusterIP`);
    await node!.waitForServiceRules(system, webhookService, 120_000);
    const body = JSON.stringify({ ref: "refs/heads/main", url: repoUrl });
    const signature = `sha256=${createHmac("sha256", WEBHOOK_TOKEN).update(body).digest("hex")}`;
    // Through the Service's ClusterIP, as a Git host behind an Ingress would reach it (kube-proxy's rules route it).
    const res = await waitFor(
      `the webhook Service ${webhookService} to accept the push`,
      async () => {
        const r = await fetch(`http://${ip}:80/`, { method: "POST", headers: { "content-type": "application/json", "x-mooring-signature-256": signature }, body, signal: AbortSignal.timeout(10_000) });
        const text = await r.text();
        if (r.status !== 202) throw new Error(`HTTP ${r.status}: ${text}`);
        return JSON.parse(text) as { triggered?: number };
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    assert.equal(res.triggered, 1, "the push matched the quickstart's GitRepository");
    return sha;
  }

  /** The grant `helm install` prints in its NOTES, for the apply controller's ServiceAccount `sa`. */
  async function grantImpersonation(sa: string): Promise<void> {
    const notes = await helm(["get", "notes", release, "-n", system]);
    const line = notes.split("\n").find((l) => l.includes("create rolebinding") && l.includes("impersonate"));
    assert.ok(line, `the NOTES say how to grant impersonation:\n${notes}`);
    const args = line.trim().replace(/^kubectl /, "").split(/\s+/).map((a) => (a === "default" ? TENANT : a));
    assert.ok(args.includes(`--serviceaccount=${system}:${sa}`), `the NOTES' grant names ${system}:${sa}: ${line}`);
    await kubectl(args);
  }

  async function uninstall(): Promise<void> {
    await helm(["uninstall", release, "-n", system, "--wait", "--timeout", "180s"]);
    installed = undefined;
  }

  before(async () => {
    const cluster = await testCluster();
    kubeconfig = cluster.kubeconfigPath;
    tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-e2e-installed-"));
    appDir = buildAppDir(REPO_ROOT);
    git = await GitServer.start();
    const files: Record<string, string> = {};
    for (const rel of ["plain/configmap.yaml", "plain/deployment.yaml", "plain/service.yaml", "chart/Chart.yaml", "chart/values.yaml", "chart/templates/deployment.yaml", "chart/templates/service.yaml"]) {
      files[rel] = await readFile(path.join(REPO_ROOT, "examples/quickstart", rel), "utf8");
    }
    for (const rel of (await run("git", ["ls-files", "examples/quickstart/kustomize"], { cwd: REPO_ROOT })).stdout.trim().split("\n")) {
      files[rel.slice("examples/quickstart/".length)] = await readFile(path.join(REPO_ROOT, rel), "utf8");
    }
    repo = await git.createRepo("quickstart", { files });
    ({ url: repoUrl, forwarder } = await podReachableUrl(repo.url));
  });

  after(async () => {
    if (failedStep && node) {
      const file = path.join(os.tmpdir(), `mooring-e2e-installed-${system}.log`);
      await quietly("saving the Pods' logs", () => writeFile(file, nodeLogs()));
      console.error(`e2e: the Pods' logs are in ${file}`);
    }
    // Mooring's objects first, while the controllers still run to remove their finalizers.
    await quietly(`deleting namespace ${TENANT}`, () => kubectl(["delete", "namespace", TENANT, "--ignore-not-found", "--timeout=90s"], { timeoutMs: 120_000 }));
    await quietly("removing finalizers left", async () => {
      const left = (await kubectl(["get", "applications.delivery.mooring.dev,gitrepositories.source.mooring.dev", "-n", TENANT, "-o", "name", "--ignore-not-found"])).trim();
      for (const name of left ? left.split("\n") : []) await kubectl(["patch", name, "-n", TENANT, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    });
    if (installed) await quietly("helm uninstall", () => uninstall());
    await quietly("stopping the process node", () => node?.stop());
    await quietly(`deleting namespace ${system}`, () => kubectl(["delete", "namespace", system, "--ignore-not-found", "--wait=false"]));
    await quietly("stopping the git server", async () => {
      forwarder?.close();
      await git?.close();
    });
    await quietly("removing temporary files", async () => {
      await rm(tmp, { recursive: true, force: true });
      await rm(appDir, { recursive: true, force: true });
    });
  });

  void step("helm install with the chart's default values; the process node runs its three Pods as their ServiceAccounts", async () => {
    await kubectl(["create", "namespace", system]);
    // The webhook receiver's HMAC secret, where the chart's source controller reads it (--webhook-secret's default).
    await kubectl(["create", "secret", "generic", "mooring-webhook", "-n", system, `--from-literal=token=${WEBHOOK_TOKEN}`]);
    const out = await helm(["install", release, CHART_DIR, "-n", system, "--wait", "--timeout", "180s"]);
    installed = "split";
    assert.match(out, /STATUS: deployed/);
    node = await startProcessNode({ kubeconfig, namespace: system, appDir });
    await waitPodsReady(3);
    // Each process is its Pod's ServiceAccount: the token the operator reads is the one the node mounted.
    for (const component of ["source", "render", "apply"]) {
      const [pod] = await list("pods", system, `app.kubernetes.io/component=${component}`);
      const who = await node.exec(pod!.metadata.name, ["node", "-e", "const p=require('fs').readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/token','utf8').split('.')[1];console.log(JSON.parse(Buffer.from(p,'base64url')).sub)"]);
      assert.equal(who.stdout.trim(), `system:serviceaccount:${system}:${release}-${component}`, `${component}: ${who.stderr}`);
    }
  });

  void step("each controller set elects its own leader (three Leases, three holders); the artifact Services reach the leaders", async () => {
    const holders = await waitFor(
      "three Leases with holders",
      async () => {
        const h = await leaseHolders();
        const names = Object.keys(h).sort();
        if (names.join() !== [`${release}-apply-leader`, `${release}-render-leader`, `${release}-source-leader`].join() || Object.values(h).some((v) => !v)) throw new Error(JSON.stringify(h));
        return h;
      },
      { timeoutMs: 120_000 },
    );
    assert.equal(new Set(Object.values(holders)).size, 3, `each Lease has its own holder: ${JSON.stringify(holders)}`);
    for (const component of ["source", "render"]) {
      const pods = (await list("pods", system, `app.kubernetes.io/component=${component}`)).map((p) => p.metadata.name);
      await waitFor(`the ${component} artifact Service to reach its leader`, async () => ((await endpointPods(`${release}-${component}`)).join() === pods.join() ? true : undefined), { timeoutMs: 120_000 });
    }
  });

  void step("the quickstart, as a user applies it, reaches Ready: rendered by the render Pod from the source Pod's artifacts, applied by the apply Pod", async () => {
    const manifest = (await readFile(path.join(REPO_ROOT, "examples/quickstart/quickstart.yaml"), "utf8")).replace("http://127.0.0.1:19418/quickstart.git", repoUrl);
    // The namespace's admin lets the apply controller impersonate its ServiceAccounts, with the command the chart's
    // NOTES print (the chart grants impersonation nowhere by default).
    await kubectl(["create", "namespace", TENANT]);
    await grantImpersonation(`${release}-apply`);
    await kubectl(["apply", "-f", "-"], { input: manifest });
    const sha = await repo.head();
    await waitApps("the quickstart's Applications Ready at the first commit", readyAt(sha));
    const app = await getObject("application", "hello", TENANT);
    const url = (app?.status?.render as { artifact?: { url?: string } } | undefined)?.artifact?.url ?? "";
    assert.match(url, new RegExp(`^http://${release}-render\\.${system}\\.svc\\.cluster\\.local(:80)?/`), `the rendered artifact is advertised at the render Service: ${url}`);
    const cm = await getObject("configmap", "hello-config", TENANT);
    assert.ok(cm, "the plain ConfigMap is applied");
  });

  void step("mooring reconcile application --wait returns as soon as the apply controller handled the request", async () => {
    const r = await mooring(["reconcile", "application", "hello", "-n", TENANT, "--wait", "--timeout", "2m"]);
    assert.equal(r.code, 0, `${r.stderr}${r.stdout}`);
    assert.match(r.stdout, /reconciled: Ready=True/);
    const app = await getObject("application", "hello", TENANT);
    assert.equal(app?.status?.observedGeneration, (app?.metadata as { generation?: number }).generation);
  });

  void step("a push announced through the webhook Service is fetched, rendered and applied", async () => {
    const sha = await pushThroughWebhook("pushed through the webhook", `${release}-webhook`);
    await waitApps("the quickstart at the pushed commit", readyAt(sha), 120_000);
    assert.equal((await getObject("configmap", "hello-config", TENANT))?.data?.message, "pushed through the webhook");
  });

  void step("drift is reverted: a ConfigMap edited by hand is put back", async () => {
    await kubectl(["patch", "configmap", "hello-config", "-n", TENANT, "--type=merge", "-p", '{"data":{"message":"edited by hand"}}']);
    await waitFor("self-heal of hello-config", async () => ((await getObject("configmap", "hello-config", TENANT))?.data?.message === "pushed through the webhook" ? true : undefined), { timeoutMs: 120_000 });
  });

  void step("2 replicas: the leaders are killed in the middle, a new leader serves the artifacts, and a push is still applied", async () => {
    await helm(["upgrade", release, CHART_DIR, "-n", system, "--reuse-values", "--set", "replicas=2", "--wait", "--timeout", "180s"]);
    await waitPodsReady(6);
    const before = await leaseHolders();
    // The source leader's Pod is deleted (its artifacts go with it); the render leader's process is SIGKILLed (its
    // container restarts in the same Pod, which must not keep the leader label).
    const sourceLeader = before[`${release}-source-leader`]!;
    const renderLeader = before[`${release}-render-leader`]!;
    const podOf = async (holder: string, component: string) => {
      const pods = (await list("pods", system, `app.kubernetes.io/component=${component}`)).map((p) => p.metadata.name);
      const pod = pods.find((p) => holder.startsWith(p));
      assert.ok(pod, `the Lease holder ${holder} is one of the ${component} Pods ${pods.join(", ")}`);
      return pod;
    };
    const sourcePod = await podOf(sourceLeader, "source");
    const renderPod = await podOf(renderLeader, "render");
    await kubectl(["delete", "pod", sourcePod, "-n", system, "--wait=false"]);
    node!.kill(renderPod, "SIGKILL");
    const sha = await pushThroughWebhook("pushed while the leaders were failing over", `${release}-webhook`);
    const after = await waitFor(
      "new source and render leaders",
      async () => {
        const h = await leaseHolders();
        return h[`${release}-source-leader`] && h[`${release}-source-leader`] !== sourceLeader && h[`${release}-render-leader`] !== renderLeader && h[`${release}-render-leader`] ? h : undefined;
      },
      { timeoutMs: 120_000 },
    );
    await waitApps("the quickstart at the commit pushed during the failover", readyAt(sha), 240_000);
    assert.equal((await getObject("configmap", "hello-config", TENANT))?.data?.message, "pushed while the leaders were failing over");
    // The artifact Services follow the new leaders, and only them.
    for (const component of ["source", "render"]) {
      const holder = after[`${release}-${component}-leader`]!;
      await waitFor(`the ${component} artifact Service to reach only the new leader`, async () => {
        const eps = await endpointPods(`${release}-${component}`);
        return eps.length === 1 && holder.startsWith(eps[0]!) ? true : undefined;
      }, { timeoutMs: 120_000 });
    }
    const render = await getObject("application", "hello", TENANT);
    const url = (render?.status?.render as { artifact?: { url?: string } } | undefined)?.artifact?.url;
    assert.ok(url, "the Application names its rendered artifact");
  });

  void step("helm uninstall stops every process and leaves none of the release's objects behind", async () => {
    await uninstall();
    await waitFor("no Pod of the release left", async () => ((await list("pods", system)).length === 0 ? true : undefined), { timeoutMs: 120_000 });
    await waitFor("no process left on the node", async () => (Object.values(node!.pods()).every((p) => p.state === "terminated" || p.pid === undefined) ? true : undefined), { timeoutMs: 60_000 });
    const kinds = "deployments,replicasets,services,serviceaccounts,roles,rolebindings,leases,configmaps,poddisruptionbudgets,networkpolicies";
    const left = (await kubectl(["get", kinds, "-n", system, "-l", `app.kubernetes.io/instance=${release}`, "-o", "name"])).trim();
    assert.equal(left, "", `left in ${system} after uninstall:\n${left}`);
    const leases = (await list("leases", system)).map((l) => l.metadata.name);
    assert.deepEqual(leases, [], "no Lease left (the chart owns them)");
    const cluster = (await kubectl(["get", "clusterroles,clusterrolebindings", "-l", `app.kubernetes.io/instance=${release}`, "-o", "name"])).trim();
    assert.equal(cluster, "", `cluster-scoped objects left:\n${cluster}`);
  });

  void step("all-in-one mode: one Pod runs every controller, adopts the existing Applications and applies a push", async () => {
    await helm(["install", release, CHART_DIR, "-n", system, "--set", "mode=all-in-one", "--wait", "--timeout", "180s"]);
    installed = "all-in-one";
    await waitPodsReady(1);
    // The all-in-one ServiceAccount is another identity: the tenant grants it too (the split release's grant went
    // with nothing: it names a ServiceAccount that no longer exists).
    await kubectl(["delete", "rolebinding", `${release}-impersonate`, "-n", TENANT, "--ignore-not-found"]);
    await grantImpersonation(release);
    const sha = await pushThroughWebhook("pushed in all-in-one mode", `${release}-webhook`);
    await waitApps("the quickstart at the commit pushed in all-in-one mode", readyAt(sha), 240_000);
    assert.equal((await getObject("configmap", "hello-config", TENANT))?.data?.message, "pushed in all-in-one mode");
    await kubectl(["patch", "configmap", "hello-config", "-n", TENANT, "--type=merge", "-p", '{"data":{"message":"edited again"}}']);
    await waitFor("self-heal in all-in-one mode", async () => ((await getObject("configmap", "hello-config", TENANT))?.data?.message === "pushed in all-in-one mode" ? true : undefined), { timeoutMs: 120_000 });
    // Deleting the Applications while the operator runs: their finalizers prune what they applied.
    await kubectl(["delete", "applications.delivery.mooring.dev", "--all", "-n", TENANT, "--timeout=120s"], { timeoutMs: 150_000 });
    assert.equal(await getObject("configmap", "hello-config", TENANT), undefined, "pruned with its Application");
    await uninstall();
    await waitFor("no Pod of the release left", async () => ((await list("pods", system)).length === 0 ? true : undefined), { timeoutMs: 120_000 });
  });
});
