// Mooring end to end, driven only as a user drives it: `kubectl apply` of the CRDs and of custom resources, a real
// git server with real pushes (git http-backend, test/support/git-server.ts), `kubectl wait`, and the `mooring` CLI.
// One suite for every cluster: it runs against whatever MOORING_TEST_KUBECONFIG points at.
//
// Operator modes:
// - local (default, `make e2e`): `helm install` the chart (all-in-one, --skip-crds: the suite applies crds/ itself)
//   into a fresh namespace, then run the operator here as a process (test/support/operator.ts) with a kubeconfig
//   that IMPERSONATES the chart's ServiceAccount, so the chart's RBAC is what the scenario exercises. The git server
//   is on loopback, which the local operator reaches directly.
// - in-cluster (MOORING_E2E_OPERATOR=in-cluster, set by hack/e2e-kind.sh): the chart is already installed in
//   MOORING_E2E_NAMESPACE; no local operator. The Pods cannot reach this machine's loopback, so the git server is
//   also exposed on every interface and the GitRepository's URL uses MOORING_E2E_GIT_HOST, an address of this machine
//   the cluster's Pods can reach (for kind on Linux: the gateway of the "kind" Docker network). MOORING_E2E_GIT_HOST
//   works in local mode too (e.g. 127.0.0.1), which is how that path is exercised without Docker.
//
// The scenario is one `describe`, each step an `it`, in order; a step after a failed one fails at once, naming it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { quietly } from "../test/support/cleanup.js";
import { REPO_ROOT, testCluster } from "../test/support/cluster.js";
import { GitServer, type TestRepo } from "../test/support/git-server.js";
import { type ChartRelease, impersonatingKubeconfig, installChart } from "../test/support/helm.js";
import { podReachableUrl } from "../test/support/pod-reachable.js";
import { type RunningOperator, startOperator } from "../test/support/operator.js";
import { waitFor } from "../test/support/wait.js";

const run = promisify(execFile);
const IN_CLUSTER = process.env.MOORING_E2E_OPERATOR === "in-cluster";
const APP = "web";
const REPO = "web";

// ---------------------------------------------------------------------------------------------------------------
// The repository's content: plain manifests under deploy/.

const configMap = (color: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  color: ${color}
`;
const deployment = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: registry.k8s.io/pause:3.10
          env:
            - name: COLOR
              valueFrom:
                configMapKeyRef:
                  name: web-config
                  key: color
`;
const service = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 8080
`;
/** YAML that does not parse: an unclosed flow sequence. */
const brokenYaml = `apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
data: [unclosed
`;

// ---------------------------------------------------------------------------------------------------------------
// Tools: kubectl, the mooring CLI, and small readers of their output.

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
type Obj = { metadata: { name: string; uid?: string; generation?: number; labels?: Record<string, string>; finalizers?: string[] }; spec?: Record<string, unknown>; data?: Record<string, string>; status?: Record<string, unknown> };

let kubeconfig = "";
let operator: RunningOperator | undefined;

function operatorLogTail(): string {
  if (operator) return `\n--- operator log (last lines) ---\n${operator.tail(60)}`;
  if (IN_CLUSTER) return `\n(operator in-cluster: kubectl -n ${process.env.MOORING_E2E_NAMESPACE} logs -l app.kubernetes.io/name=mooring)`;
  return "";
}

async function kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const all = ["--kubeconfig", kubeconfig, ...args];
  if (opts.input !== undefined) {
    // execFile cannot write stdin; a file is the plain way to feed `-f -`-style input.
    const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-e2e-in-"));
    const file = path.join(dir, "input.yaml");
    await writeFile(file, opts.input);
    try {
      return await kubectl(args.map((a) => (a === "-" ? file : a)), { timeoutMs: opts.timeoutMs });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  try {
    const { stdout } = await run("kubectl", all, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`kubectl ${args.join(" ")} failed: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: err });
  }
}

/** The object as JSON, or undefined when it does not exist. */
async function getObject(kind: string, name: string, ns: string): Promise<Obj | undefined> {
  const out = await kubectl(["get", kind, name, "-n", ns, "-o", "json", "--ignore-not-found"]);
  return out.trim() ? (JSON.parse(out) as Obj) : undefined;
}

const conditionOf = (obj: Obj | undefined, type: string) => ((obj?.status?.conditions ?? []) as Cond[]).find((c) => c.type === type);
const describeConditions = (obj: Obj | undefined) =>
  obj ? ((obj.status?.conditions ?? []) as Cond[]).map((c) => `${c.type}=${c.status} (${c.reason ?? ""}: ${c.message ?? ""})`).join("; ") || "no conditions" : "object not found";

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mooring <args>` as a user would (tsx src/cli/main.ts), with the test cluster's kubeconfig. */
async function mooring(args: string[], timeoutMs = 180_000): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [path.join(REPO_ROOT, "src/cli/main.ts"), ...args], {
      cwd: REPO_ROOT,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: "1" },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== "number") throw new Error(`mooring ${args.join(" ")} did not finish: ${e.message}`, { cause: err });
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function mooringOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await mooring(args, timeoutMs);
  assert.equal(r.code, 0, `mooring ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}${operatorLogTail()}`);
  return r.stdout;
}

/** `kubectl wait --for=condition=<cond>`; on timeout the error shows the object's conditions and the operator's log. */
async function kubectlWait(resource: string, ns: string, condition: string, timeoutSeconds: number): Promise<void> {
  try {
    await kubectl(["wait", "-n", ns, `--for=condition=${condition}`, resource, `--timeout=${timeoutSeconds}s`], { timeoutMs: (timeoutSeconds + 30) * 1000 });
  } catch (err) {
    const [kind, name] = resource.split("/");
    const obj = await getObject(kind!, name!, ns).catch(() => undefined);
    throw new Error(`${resource} in ${ns} did not become ${condition} within ${timeoutSeconds}s: ${describeConditions(obj)}\n${(err as Error).message}${operatorLogTail()}`, { cause: err });
  }
}

interface AppRow {
  namespace: string;
  name: string;
  revision: string;
  synced: string;
  health: string;
  ready: string;
  message: string;
}

async function getAppRow(ns: string): Promise<AppRow> {
  const rows = JSON.parse(await mooringOk(["get", "apps", "-n", ns, "-o", "json"])) as AppRow[];
  const row = rows.find((r) => r.name === APP);
  assert.ok(row, `mooring get apps -n ${ns} does not list ${APP}: ${JSON.stringify(rows)}`);
  return row;
}

// ---------------------------------------------------------------------------------------------------------------

void describe("e2e: a user's first GitOps loop with Mooring", () => {
  const ns = `e2e-${randomBytes(4).toString("hex")}`;
  const systemNs = IN_CLUSTER ? (process.env.MOORING_E2E_NAMESPACE ?? "mooring-system") : `e2e-sys-${randomBytes(3).toString("hex")}`;
  let git: GitServer | undefined;
  let forwarder: net.Server | undefined;
  let repo: TestRepo;
  let repoUrl = "";
  let release: ChartRelease | undefined;
  let tmp = "";
  let failedStep: string | undefined;
  const revisions: string[] = [];

  /** Each step runs only when every earlier one passed (the scenario is a chain); otherwise it fails naming the cause. */
  const step = (name: string, fn: () => Promise<void>, timeoutMs = 240_000) =>
    it(name, { timeout: timeoutMs }, async () => {
      if (failedStep) throw new Error(`not run: the earlier step "${failedStep}" failed`);
      try {
        await fn();
      } catch (err) {
        failedStep = name;
        throw err;
      }
    });

  /** Asks the source controller to fetch now (as a user would after a push) and waits until it has. */
  async function fetchNow(): Promise<string> {
    const sha = await repo.head();
    await mooringOk(["reconcile", "gitrepository", REPO, "-n", ns, "--wait", "--timeout", "2m"]);
    const gr = await getObject("gitrepository", REPO, ns);
    const artifact = gr?.status?.artifact as { revision?: string } | undefined;
    assert.ok(artifact?.revision?.endsWith(sha), `GitRepository ${ns}/${REPO} should have fetched ${sha} after the reconcile, has ${artifact?.revision}: ${describeConditions(gr)}`);
    revisions.push(sha);
    return sha;
  }

  /** Waits until the Application has synced `sha` and is Ready again. */
  async function waitSynced(sha: string, timeoutMs = 150_000): Promise<Obj> {
    return waitFor(
      `Application ${ns}/${APP} Ready at revision ${sha}`,
      async () => {
        const app = await getObject("application", APP, ns);
        const revision = (app?.status?.sync as { revision?: string } | undefined)?.revision ?? "";
        if (revision.endsWith(sha) && conditionOf(app, "Ready")?.status === "True") return app;
        throw new Error(`revision ${revision || "none"}; ${describeConditions(app)}`);
      },
      { timeoutMs, intervalMs: 1000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}${operatorLogTail()}`, { cause: err });
    });
  }

  before(async () => {
    const cluster = await testCluster();
    kubeconfig = cluster.kubeconfigPath;
    tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-e2e-"));
    git = await GitServer.start();
  });

  after(async () => {
    // Mooring's objects go first, while the operator still runs to remove its finalizers; after a bounded wait any
    // finalizer left is removed by hand, so a failed run never leaves a namespace stuck in Terminating.
    const mooringKinds = "applications.delivery.mooring.dev,gitrepositories.source.mooring.dev";
    await quietly(`deleting the Mooring objects in ${ns}`, () => kubectl(["delete", mooringKinds, "--all", "-n", ns, "--ignore-not-found", "--timeout=60s"], { timeoutMs: 90_000 }));
    await quietly(`removing finalizers left in ${ns}`, async () => {
      const left = (await kubectl(["get", mooringKinds, "-n", ns, "-o", "name", "--ignore-not-found"])).trim();
      for (const name of left ? left.split("\n") : []) {
        console.error(`e2e clean-up: ${name} in ${ns} was not finalized by the operator; removing its finalizers`);
        await kubectl(["patch", name, "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
      }
    });
    if (operator) {
      const logFile = path.join(os.tmpdir(), `mooring-e2e-operator-${ns}.log`);
      await quietly("saving the operator's log", () => writeFile(logFile, operator!.logs()));
      const exit = await operator.stop();
      console.error(`e2e: operator stopped (${exit}); its log is in ${logFile}`);
    }
    await quietly(`deleting namespace ${ns}`, () => kubectl(["delete", "namespace", ns, "--ignore-not-found", "--wait=false"]));
    if (release) await quietly("helm uninstall", () => release!.uninstall());
    if (!IN_CLUSTER) await quietly(`deleting namespace ${systemNs}`, () => kubectl(["delete", "namespace", systemNs, "--ignore-not-found", "--wait=false"]));
    await quietly("stopping the git server", () => git?.close());
    if (forwarder) await quietly("stopping the git forwarder", () => new Promise<void>((r) => forwarder!.close(() => r())));
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  void step("install: CRDs with kubectl apply, the chart with helm, the operator running as the chart's ServiceAccount", async () => {
    // Server-side: the CRDs are too large for client-side apply's last-applied annotation.
    await kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager=mooring-e2e", "-f", path.join(REPO_ROOT, "crds")]);
    for (const crd of ["gitrepositories.source.mooring.dev", "applications.delivery.mooring.dev", "syncpolicies.delivery.mooring.dev"]) {
      await kubectlWait(`crd/${crd}`, "default", "Established", 60);
    }
    if (IN_CLUSTER) {
      // hack/e2e-kind.sh installed the chart with the image built from this checkout.
      await kubectl(["wait", "-n", systemNs, "--for=condition=Available", "deployment", "--all", "--timeout=180s"], { timeoutMs: 210_000 });
    } else {
      await kubectl(["create", "namespace", systemNs]);
      release = installChart({ kubeconfigPath: kubeconfig, namespace: systemNs, mode: "all-in-one", timeoutSeconds: 180 });
      assert.match(release.output, /STATUS: deployed/, release.output);
      const sa = release.serviceAccountUsers["all-in-one"];
      assert.ok(sa, `the chart release has no all-in-one ServiceAccount: ${JSON.stringify(release.serviceAccountUsers)}`);
      // The identity check the rest of the scenario relies on: the operator really is the chart's ServiceAccount.
      const asSa = impersonatingKubeconfig(kubeconfig, sa, path.join(tmp, "operator.kubeconfig"));
      const whoami = JSON.parse(await run("kubectl", ["--kubeconfig", asSa, "auth", "whoami", "-o", "json"], { timeout: 30_000 }).then((r) => r.stdout)) as {
        status: { userInfo: { username: string } };
      };
      assert.equal(whoami.status.userInfo.username, sa);
      operator = await startOperator({
        kubeconfigPath: asSa,
        controllers: ["source", "render", "apply"],
        // Only this run's namespace: other tests on the shared cluster run controllers of their own.
        watchNamespace: ns,
        // As the chart runs it: a Lease in the release namespace, under the chart's leader-election Role.
        args: ["--leader-elect", `--leader-election-namespace=${systemNs}`],
      });
      const ready = await fetch(`${operator.healthUrl}/readyz`);
      assert.equal(ready.status, 200);
    }
    // The namespace the Application deploys into, and the ServiceAccount it is applied as: the chart's apply
    // controller may only impersonate (least privilege), so the tenant grants its own ServiceAccount the rights,
    // and lets the apply controller impersonate in its namespace (docs/rbac.md): the release's ClusterRole
    // <fullname>-impersonate, bound to its apply ServiceAccount (<fullname>-apply in split mode, <fullname> in
    // all-in-one mode).
    const fullname = release?.fullname ?? process.env.MOORING_E2E_RELEASE ?? "mooring";
    await kubectl(["create", "namespace", ns]);
    await kubectl(["label", "namespace", ns, "mooring.dev/test=true"]);
    await kubectl(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: v1
kind: ServiceAccount
metadata:
  name: deployer
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: deployer-edit
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: edit
subjects:
  - kind: ServiceAccount
    name: deployer
    namespace: ${ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: mooring-impersonate
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: ${fullname}-impersonate
subjects:
  - kind: ServiceAccount
    name: ${fullname}
    namespace: ${systemNs}
  - kind: ServiceAccount
    name: ${fullname}-apply
    namespace: ${systemNs}
`,
    });
  });

  void step("GitRepository + Application: a pushed repository and the two objects that deploy it", async () => {
    repo = await git!.createRepo(REPO, { files: { "deploy/configmap.yaml": configMap("blue"), "deploy/deployment.yaml": deployment(2), "deploy/service.yaml": service, "README.md": "# web\n" } });
    revisions.push(await repo.head());
    repoUrl = repo.url;
    const host = process.env.MOORING_E2E_GIT_HOST;
    if (IN_CLUSTER) assert.ok(host, "MOORING_E2E_OPERATOR=in-cluster needs MOORING_E2E_GIT_HOST: an address of this machine that the cluster's Pods can reach (kind on Linux: the kind network's gateway)");
    if (host) {
      ({ url: repoUrl, forwarder } = await podReachableUrl(repo.url, host));
    }
    // A user's check that the repository is really served: a clone with the git CLI.
    const clone = path.join(tmp, "clone");
    await run("git", ["clone", "-q", repo.url, clone], { timeout: 60_000, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
    await kubectl(["apply", "-n", ns, "-f", "-"], {
      input: `apiVersion: source.mooring.dev/v1alpha1
kind: GitRepository
metadata:
  name: ${REPO}
spec:
  url: ${repoUrl}
  ref:
    branch: main
  # Long on purpose: after each push the scenario asks for a fetch (mooring reconcile), as a user would.
  interval: 10m
---
apiVersion: delivery.mooring.dev/v1alpha1
kind: Application
metadata:
  name: ${APP}
spec:
  sourceRef:
    kind: GitRepository
    name: ${REPO}
  path: ./deploy
  serviceAccountName: deployer
  interval: 1m
  timeout: 2m
`,
    });
    const names = (await kubectl(["get", "gitrepository,application", "-n", ns, "-o", "name"])).trim().split("\n").sort();
    assert.deepEqual(names, [`application.delivery.mooring.dev/${APP}`, `gitrepository.source.mooring.dev/${REPO}`]);
  });

  void step("Ready: the source is fetched, rendered, applied, and reported Ready, Synced and Healthy", async () => {
    const sha = revisions[0]!;
    await kubectlWait(`gitrepository/${REPO}`, ns, "Ready", 120);
    const gr = await getObject("gitrepository", REPO, ns);
    assert.ok((gr?.status?.artifact as { revision: string }).revision.endsWith(sha), JSON.stringify(gr?.status?.artifact));
    await kubectlWait(`application/${APP}`, ns, "Ready", 180);
    const app = await waitSynced(sha);
    assert.equal(conditionOf(app, "Rendered")?.status, "True", describeConditions(app));
    assert.equal((app.status?.render as { objects?: number } | undefined)?.objects, 3);

    // What the repository says is now in the cluster, labelled as Mooring's.
    const cm = await getObject("configmap", "web-config", ns);
    assert.equal(cm?.data?.color, "blue");
    assert.equal(cm?.metadata.labels?.["app.kubernetes.io/managed-by"], "mooring");
    assert.equal(cm?.metadata.labels?.["delivery.mooring.dev/application"], `${ns}.${APP}`);
    assert.equal((await getObject("deployment", "web", ns))?.spec?.replicas, 2);
    assert.ok(await getObject("service", "web", ns), "Service web was not applied");

    const row = await getAppRow(ns);
    assert.deepEqual({ synced: row.synced, health: row.health, ready: row.ready }, { synced: "Synced", health: "Healthy", ready: "True" }, JSON.stringify(row));
    assert.ok(row.revision.endsWith(sha), `mooring get apps shows revision ${row.revision}, expected ${sha}`);
    const tree = await mooringOk(["tree", APP, "-n", ns]);
    for (const line of [`ConfigMap ${ns}/web-config`, `Deployment ${ns}/web`, `Service ${ns}/web`]) assert.ok(tree.includes(line), `mooring tree does not list ${line}:\n${tree}`);
  });

  void step("push a change: the new revision is applied", async () => {
    await repo.commit({ "deploy/configmap.yaml": configMap("green"), "deploy/deployment.yaml": deployment(3) }, "green, three replicas");
    const sha = await fetchNow();
    await waitSynced(sha);
    await waitFor("ConfigMap web-config updated to green", async () => (await getObject("configmap", "web-config", ns))?.data?.color === "green", { timeoutMs: 30_000 });
    assert.equal((await getObject("deployment", "web", ns))?.spec?.replicas, 3);
    const row = await getAppRow(ns);
    assert.ok(row.revision.endsWith(sha), JSON.stringify(row));
  });

  void step("push a deletion: the removed object is pruned", async () => {
    await repo.commit({ "deploy/service.yaml": null }, "remove the Service");
    const sha = await fetchNow();
    const app = await waitSynced(sha);
    await waitFor("Service web pruned", async () => (await getObject("service", "web", ns)) === undefined, { timeoutMs: 60_000 });
    const inventory = ((app.status?.sync as { inventory?: { id: string }[] } | undefined)?.inventory ?? []).map((e) => e.id).sort();
    assert.deepEqual(inventory, [`${ns}_web-config__ConfigMap`, `${ns}_web_apps_Deployment`]);
    // The objects still in the repository are untouched.
    assert.equal((await getObject("configmap", "web-config", ns))?.data?.color, "green");
  });

  let generationBeforeEdit = 0;
  void step("edit a managed object: kubectl scale and kubectl patch of the Deployment", async () => {
    generationBeforeEdit = (await getObject("deployment", "web", ns))?.metadata.generation ?? 0;
    // Self-heal may revert each edit within moments, so the edits are checked by what kubectl reports, not by
    // reading the object back (the generation check in the next step proves they landed).
    assert.match(await kubectl(["scale", "deployment/web", "-n", ns, "--replicas=7"]), /scaled/);
    // Removing a field Mooring set (the container's env) is drift too.
    assert.match(await kubectl(["patch", "deployment/web", "-n", ns, "--type=json", "-p", '[{"op":"remove","path":"/spec/template/spec/containers/0/env"}]']), /patched/);
  });

  void step("self-healed: the Deployment is back to what the repository says", async () => {
    const healed = await waitFor(
      "Deployment web back to 3 replicas with its COLOR env",
      async () => {
        const d = await getObject("deployment", "web", ns);
        const env = ((d?.spec as { template: { spec: { containers: { env?: { name: string }[] }[] } } } | undefined)?.template.spec.containers[0]?.env ?? []).map((e) => e.name);
        if (d?.spec?.replicas === 3 && env.includes("COLOR")) return d;
        throw new Error(`replicas ${String(d?.spec?.replicas)}, env [${env.join(", ")}]`);
      },
      { timeoutMs: 150_000, intervalMs: 1000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}${operatorLogTail()}`, { cause: err });
    });
    // Two edits and at least one re-apply each bumped the generation.
    assert.ok((healed.metadata.generation ?? 0) >= generationBeforeEdit + 3, `the edits and the re-apply changed the spec (generation ${healed.metadata.generation} from ${generationBeforeEdit})`);
    await kubectlWait(`application/${APP}`, ns, "Ready", 120);
    const row = await getAppRow(ns);
    assert.equal(row.synced, "Synced", JSON.stringify(row));
  });

  void step("push broken YAML: the Application reports the file, and the objects applied before stay", async () => {
    const before = { cm: await getObject("configmap", "web-config", ns), deploy: await getObject("deployment", "web", ns) };
    const previous = revisions[revisions.length - 1]!;
    await repo.commit({ "deploy/broken.yaml": brokenYaml }, "broken YAML");
    await fetchNow();
    const app = await waitFor(
      `Application ${ns}/${APP} Rendered=False naming deploy/broken.yaml`,
      async () => {
        const a = await getObject("application", APP, ns);
        const c = conditionOf(a, "Rendered");
        if (c?.status === "False" && c.message?.includes("broken.yaml")) return a;
        throw new Error(describeConditions(a));
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}${operatorLogTail()}`, { cause: err });
    });
    const rendered = conditionOf(app, "Rendered")!;
    assert.equal(rendered.reason, "RenderFailed", describeConditions(app));
    // Nothing was applied from the broken revision: the last synced revision and the objects are as before.
    assert.ok(((app.status?.sync as { revision?: string } | undefined)?.revision ?? "").endsWith(previous), JSON.stringify(app.status?.sync));
    const cm = await getObject("configmap", "web-config", ns);
    const deploy = await getObject("deployment", "web", ns);
    assert.equal(cm?.metadata.uid, before.cm?.metadata.uid);
    assert.equal(cm?.data?.color, "green");
    assert.equal(deploy?.metadata.uid, before.deploy?.metadata.uid);
    assert.equal(deploy?.spec?.replicas, 3);
    assert.equal(await getObject("configmap", "broken", ns), undefined);
    const row = await getAppRow(ns);
    assert.notEqual(row.ready, "True", `mooring get apps still shows the Application Ready after a failed render: ${JSON.stringify(row)}`);
  });

  void step("fix: the next good revision is rendered and applied, and a manual sync succeeds", async () => {
    await repo.commit({ "deploy/broken.yaml": null, "deploy/configmap.yaml": configMap("purple") }, "fix the YAML, purple");
    const sha = await fetchNow();
    const app = await waitSynced(sha);
    assert.equal(conditionOf(app, "Rendered")?.status, "True", describeConditions(app));
    await waitFor("ConfigMap web-config updated to purple", async () => (await getObject("configmap", "web-config", ns))?.data?.color === "purple", { timeoutMs: 30_000 });
    const sync = await mooringOk(["sync", APP, "-n", ns, "--timeout", "2m"]);
    assert.match(sync, /sync Succeeded/, sync);
    const tree = await mooring(["tree", APP, "-n", ns]);
    assert.equal(tree.code, 0, `mooring tree after recovery exited ${tree.code}:\n${tree.stdout}${tree.stderr}`);
  });

  void step("delete the Application: the objects it applied are deleted with it", async () => {
    await kubectl(["delete", "application", APP, "-n", ns, "--timeout=150s"], { timeoutMs: 180_000 });
    assert.equal(await getObject("application", APP, ns), undefined);
    await waitFor(
      "the Application's objects deleted",
      async () => {
        const left = (await kubectl(["get", "deployments,configmaps,services", "-n", ns, "-l", `delivery.mooring.dev/application=${ns}.${APP}`, "-o", "name"])).trim();
        if (left === "") return true;
        throw new Error(`still there: ${left.replace(/\n/g, ", ")}`);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    assert.equal(await getObject("deployment", "web", ns), undefined);
    assert.equal(await getObject("configmap", "web-config", ns), undefined);
    // The source stays until the user deletes it, and then goes too.
    await kubectl(["delete", "gitrepository", REPO, "-n", ns, "--timeout=60s"], { timeoutMs: 90_000 });
    assert.equal(await getObject("gitrepository", REPO, ns), undefined);
  });

  void step("the operator ran the whole scenario without a crash and stops cleanly", async () => {
    if (IN_CLUSTER) {
      const pods = JSON.parse(await kubectl(["get", "pods", "-n", systemNs, "-l", "app.kubernetes.io/name=mooring", "-o", "json"])) as {
        items: { metadata: { name: string }; status: { containerStatuses?: { restartCount: number }[] } }[];
      };
      assert.ok(pods.items.length > 0, `no Mooring Pods in ${systemNs}`);
      for (const p of pods.items) assert.deepEqual(p.status.containerStatuses?.map((c) => c.restartCount), [0], `Pod ${p.metadata.name} restarted`);
      return;
    }
    assert.ok(operator, "no local operator");
    const code = await operator.stop();
    assert.equal(code, 0, `the operator exited with ${code} on SIGTERM:\n${operator.tail(30)}`);
  });
});
