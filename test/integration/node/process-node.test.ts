// The process node (test/support/process-node.ts) against the real local cluster: kwok schedules the Pods of a
// Deployment and the node runs them as real processes — the operator's image entry point with the container's args,
// each in its own network namespace with the IP kwok gave it, as its ServiceAccount, reachable through its Service by
// cluster DNS name — restarts and replaces them like a kubelet, and leaves nothing behind when stopped.
import assert from "node:assert/strict";
import { readFileSync, readlinkSync, rmSync, existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { installCrds } from "../../../src/api/install.js";
import { KubeConfig } from "../../../src/runtime/kubeconfig.js";
import { RestClient } from "../../../src/runtime/rest.js";
import { REPO_ROOT, testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { buildAppDir, NAME_PREFIX, ProcessNode } from "../../support/process-node.js";
import { listNetns, readSysctl, sh, STATE_DIR } from "../../support/process-node-host.js";
import { waitFor } from "../../support/wait.js";

const SA = "pn-operator";
const APP = "pn-source";

/** What the host looks like, to compare before and after the node ran. */
function hostSnapshot() {
  // Every rule and user-defined chain of every table (the empty built-in tables iptables-nft creates are no rule).
  const rules = (save: string) =>
    sh(save, [], { allowFail: true })
      .stdout.split("\n")
      .filter((l) => l.startsWith("-A ") || /^:\S+ - /.test(l))
      .sort()
      .join("\n");
  return {
    netns: listNetns().filter((n) => n.startsWith(NAME_PREFIX)),
    links: sh("ip", ["-o", "link", "show"]).stdout.split("\n").filter((l) => l.includes(`: ${NAME_PREFIX}`)),
    routes: sh("ip", ["route", "show"]).stdout,
    ipv4Rules: rules("iptables-save"),
    ipv6Rules: rules("ip6tables-save"),
    mounts: readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes("mooring-node-") || l.includes("/run/netns/" + NAME_PREFIX)),
    ipForward: readSysctl("net.ipv4.ip_forward"),
  };
}

void describe("the process node runs a namespace's Pods as real processes", () => {
  let c: TestCluster;
  let ns: TestNamespace | undefined;
  let app: string | undefined;
  let node: ProcessNode | undefined;
  let admin: RestClient;
  let before_: ReturnType<typeof hostSnapshot>;

  const podsOf = async (app: string) =>
    (await admin.request<{ items: { metadata: { name: string; uid: string; labels: Record<string, string>; deletionTimestamp?: string }; status?: { podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number }[] } }[] }>("GET", `/api/v1/namespaces/${ns!.name}/pods`, { query: { labelSelector: `app=${app}` } })).items.filter((p) => !p.metadata.deletionTimestamp);
  /** Both replicas running as processes (and Ready), by Pod name. */
  const running = async (app: string, n: number) =>
    waitFor(
      `${n} Pods of ${app} running as ready processes`,
      async () => {
        const pods = await podsOf(app);
        const info = node!.pods();
        const ok = pods.filter((p) => info[p.metadata.name]?.state === "running" && info[p.metadata.name]?.ready);
        return ok.length === n && pods.length === n ? ok : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nnode: ${JSON.stringify(node!.pods())}\nevents: ${node!.events().slice(-10).map((e) => `${e.pod ?? ""} ${e.message.slice(0, 200)}`).join("\n")}\nlogs: ${Object.keys(node!.pods()).map((p) => `--- ${p}\n${node!.logs(p).slice(-800)}`).join("\n")}`);
    });

  before(async () => {
    app = buildAppDir(REPO_ROOT);
    c = await testCluster();
    admin = RestClient.fromKubeConfig(KubeConfig.fromFile(c.kubeconfigPath));
    await installCrds(c.kc);
    ns = await createTestNamespace(c, "node");
    const n = ns.name;
    const post = (p: string, body: unknown) => admin.request("POST", p, { body });
    await post(`/api/v1/namespaces/${n}/serviceaccounts`, { metadata: { name: SA } });
    // What the source controller needs in its namespace (src/controllers.ts) plus leader election, and `get configmaps`;
    // nothing on Secrets beyond get, so listing them is refused.
    await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${n}/roles`, {
      metadata: { name: SA },
      rules: [
        { apiGroups: ["source.mooring.dev"], resources: ["gitrepositories", "gitrepositories/status", "gitrepositories/finalizers"], verbs: ["get", "list", "watch", "patch", "update"] },
        { apiGroups: ["source.mooring.dev"], resources: ["helmrepositories", "helmrepositories/status", "helmcharts", "helmcharts/status"], verbs: ["get", "list", "watch", "patch"] },
        { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
        { apiGroups: [""], resources: ["configmaps"], verbs: ["get"] },
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "patch"] },
        { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
      ],
    });
    await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${n}/rolebindings`, { metadata: { name: SA }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: SA }, subjects: [{ kind: "ServiceAccount", name: SA, namespace: n }] });
    const probe = (path: string, initialDelaySeconds: number, periodSeconds: number) => ({ httpGet: { path, port: "health" }, initialDelaySeconds, periodSeconds, timeoutSeconds: 5, failureThreshold: 3 });
    // The chart's container, reduced to the source controller: its args, env, ports, probes, security context and volumes.
    await post(`/apis/apps/v1/namespaces/${n}/deployments`, {
      metadata: { name: APP },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: APP } },
        template: {
          metadata: { labels: { app: APP } },
          spec: {
            serviceAccountName: SA,
            terminationGracePeriodSeconds: 20,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 },
            containers: [
              {
                name: "manager",
                image: "mooring:process-node-test",
                args: ["controller", "--controllers=source", `--watch-namespace=${n}`, "--leader-elect", `--leader-election-namespace=${n}`, "--leader-election-id=pn-source", "--log-format=json", "--metrics-addr=:8080", "--health-addr=:8081", "--storage-path=/data", "--artifact-addr=:9090", `--advertised-artifact-addr=${APP}.${n}.svc.cluster.local:80`, "--webhook-addr=:9292"],
                env: [
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                ],
                ports: [
                  { name: "http-metrics", containerPort: 8080 },
                  { name: "health", containerPort: 8081 },
                  { name: "http-artifacts", containerPort: 9090 },
                  { name: "http-webhook", containerPort: 9292 },
                ],
                livenessProbe: probe("/healthz", 10, 5),
                readinessProbe: probe("/readyz", 1, 2),
                securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                volumeMounts: [
                  { name: "tmp", mountPath: "/tmp" },
                  { name: "data", mountPath: "/data" },
                ],
              },
            ],
            volumes: [
              { name: "tmp", emptyDir: {} },
              { name: "data", emptyDir: {} },
            ],
          },
        },
      },
    });
    await post(`/api/v1/namespaces/${n}/services`, { metadata: { name: APP }, spec: { selector: { app: APP }, ports: [{ name: "health", port: 80, targetPort: "health" }] } });
    node = await ProcessNode.start({ kubeconfig: c.kubeconfigPath, namespace: n, appDir: app, restartBackoff: { initialMs: 2_000, maxMs: 10_000 }, onLocked: () => (before_ = hostSnapshot()) });
  });

  after(async () => {
    await node?.stop().catch(() => undefined);
    admin?.close();
    await ns?.cleanup();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  void it("runs each replica as the image's entry point with the container's args, in its own netns with the Pod's IP", async () => {
    const pods = await running(APP, 2);
    const hostNet = readlinkSync("/proc/self/ns/net");
    const nets = new Set<string>();
    for (const p of pods) {
      const info = node!.pods()[p.metadata.name]!;
      assert.equal(info.ip, p.status!.podIP, "the node uses the IP kwok assigned");
      const netns = readlinkSync(`/proc/${info.pid}/ns/net`);
      assert.notEqual(netns, hostNet, `${p.metadata.name} runs in the host's network namespace`);
      nets.add(netns);
      const addrs = sh("nsenter", [`--net=/proc/${info.pid}/ns/net`, "ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout;
      assert.match(addrs, new RegExp(`inet ${p.status!.podIP!.replace(/\./g, "\\.")}/32`), `eth0 of ${p.metadata.name} has its Pod IP`);
      // PID 1 of the container is the image's init; its child is node running the entry point with the chart's args.
      const tree = sh("ps", ["-o", "args=", "--ppid", String(info.pid)]).stdout + readFileSync(`/proc/${info.pid}/cmdline`, "utf8").replace(/\0/g, " ");
      assert.match(tree, /dist\/src\/cli\/main\.js controller --controllers=source/, `the process of ${p.metadata.name}: ${tree}`);
      assert.match(tree, /--max-semi-space-size=2/, "node runs with the Dockerfile's flags");
      // Reached from the host at the Pod's IP: the ports the chart sets on every replica do not collide.
      const res = await fetch(`http://${p.status!.podIP}:8081/healthz`);
      assert.equal(res.status, 200);
      const env = readFileSync(`/proc/${sh("pgrep", ["-P", String(info.pid)]).stdout.trim().split("\n")[0] ?? info.pid}/environ`, "utf8").split("\0");
      assert.ok(env.includes(`POD_NAME=${p.metadata.name}`), `fieldRef metadata.name resolved: ${env.join(" ")}`);
      assert.ok(env.includes(`POD_NAMESPACE=${ns!.name}`));
      assert.ok(env.includes("NODE_ENV=production") && env.includes("HOME=/tmp") && env.includes("MOORING_STORAGE_PATH=/data"), "the Dockerfile's ENV");
      assert.ok(env.some((e) => e.startsWith("KUBERNETES_SERVICE_HOST=")) && env.includes("KUBERNETES_SERVICE_PORT=443"), "the kubelet's API server variables");
      assert.ok(env.some((e) => e.startsWith("PN_SOURCE_SERVICE_HOST=")), "Service links of the namespace");
    }
    assert.equal(nets.size, 2, "each replica has a network namespace of its own");
    // The EndpointSlice the real kube-controller-manager made points at those IPs (it follows the Pods' Ready
    // condition a moment later, so wait for it).
    const want = pods.map((p) => p.status!.podIP!).sort();
    let ready: string[] = [];
    await waitFor(`the ${APP} EndpointSlice's ready addresses to be ${want.join(", ")}`, async () => {
      const slices = await admin.request<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }>("GET", `/apis/discovery.k8s.io/v1/namespaces/${ns!.name}/endpointslices`, { query: { labelSelector: `kubernetes.io/service-name=${APP}` } });
      ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses).sort();
      return ready.join() === want.join();
    }, { timeoutMs: 30_000 }).catch(() => undefined);
    assert.deepEqual(ready, want);
  });

  void it("gives each container its ServiceAccount's Pod-bound token, read by the operator's in-cluster config through the kubernetes Service", async (t) => {
    t.diagnostic(`KUBERNETES_SERVICE_HOST=${node!.apiServer().host}: ${node!.apiServer().why}`);
    const [pod] = await running(APP, 2);
    const name = pod!.metadata.name;
    // In the container (its namespaces, root, uid and env), the operator's own loader: KubeConfig.fromDefault finds no
    // kubeconfig under HOME=/tmp and uses the mounted ServiceAccount, verifying the API server with its ca.crt.
    const script = `
      const { KubeConfig } = await import("/app/dist/src/runtime/kubeconfig.js");
      const { RestClient } = await import("/app/dist/src/runtime/rest.js");
      const kc = KubeConfig.fromDefault(process.env);
      const c = RestClient.fromKubeConfig(kc);
      const out = { server: kc.requireCluster().server, uid: process.getuid() };
      const code = (p) => c.request("GET", p).then(() => 200, (e) => e.code);
      out.getConfigMap = await code("/api/v1/namespaces/${ns!.name}/configmaps/kube-root-ca.crt");
      out.listSecrets = await code("/api/v1/namespaces/${ns!.name}/secrets");
      out.listPodsDefault = await code("/api/v1/namespaces/default/pods");
      const r = await c.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", { body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } });
      out.user = r.status.userInfo;
      try { (await import("node:fs")).writeFileSync("/var/run/secrets/kubernetes.io/serviceaccount/x", "1"); out.saWritable = true } catch (e) { out.saWritable = e.code }
      try { (await import("node:fs")).writeFileSync("/app/x", "1"); out.appWritable = true } catch (e) { out.appWritable = e.code }
      try { (await import("node:fs")).writeFileSync("/x", "1"); out.rootWritable = true } catch (e) { out.rootWritable = e.code }
      console.log(JSON.stringify(out));
      c.close();`;
    const r = await node!.exec(name, ["node", "--input-type=module", "-e", script]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { server: string; uid: number; getConfigMap: number; listSecrets: number; listPodsDefault: number; user: { username: string; extra?: Record<string, string[]> }; saWritable: unknown; appWritable: unknown; rootWritable: unknown };
    assert.equal(out.user.username, `system:serviceaccount:${ns!.name}:${SA}`, "the API server sees the Pod's ServiceAccount");
    assert.deepEqual(out.user.extra?.["authentication.kubernetes.io/pod-name"], [name], "the token is bound to the Pod");
    assert.deepEqual(out.user.extra?.["authentication.kubernetes.io/pod-uid"], [pod!.metadata.uid]);
    assert.equal(out.getConfigMap, 200, "its Role allows get configmaps");
    assert.equal(out.listSecrets, 403, "its Role does not allow listing Secrets");
    assert.equal(out.listPodsDefault, 403);
    assert.equal(out.uid, 65532, "runs as the chart's runAsUser");
    // KUBERNETES_SERVICE_HOST/PORT as the node set them: the kubernetes Service (its ClusterIP, or its DNS name when
    // the API server's certificate lacks the IP) on the Service port, never the API server's own address.
    const kubernetes = await admin.request<{ spec: { clusterIP: string } }>("GET", "/api/v1/namespaces/default/services/kubernetes");
    assert.ok([kubernetes.spec.clusterIP, "kubernetes.default.svc"].includes(node!.apiServer().host), node!.apiServer().why);
    assert.equal(out.server, `https://${node!.apiServer().host}:443`);
    assert.equal(out.saWritable, "EROFS");
    assert.equal(out.appWritable, "EROFS", "the image's files are read-only");
    assert.equal(out.rootWritable, "EROFS", "readOnlyRootFilesystem");
    // And the operator itself started with that identity: it got past its RBAC preflight and took the Lease.
    const lease = await waitFor("the pn-source Lease held by one of the Pods", async () => {
      const l = await admin.request<{ spec: { holderIdentity?: string } }>("GET", `/apis/coordination.k8s.io/v1/namespaces/${ns!.name}/leases/pn-source`).catch(() => undefined);
      return l?.spec.holderIdentity;
    });
    assert.ok((await podsOf(APP)).some((p) => lease.startsWith(p.metadata.name)), `Lease holder ${lease}`);
  });

  void it("routes a Service's cluster DNS name to the replicas, from another Pod and from a Pod to itself", async () => {
    const pods = await running(APP, 2);
    const fetchIn = async (pod: string, url: string) => {
      const r = await node!.exec(pod, ["node", "-e", `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }).then(async (r) => console.log(r.status, await r.text()), (e) => { console.log("ERR", e.cause?.code ?? e.message); })`]);
      return r.stdout.trim();
    };
    await node!.waitForServiceRules(ns!.name, APP);
    for (const host of [`${APP}.${ns!.name}.svc.cluster.local`, `${APP}.${ns!.name}.svc`, APP]) {
      assert.match(await fetchIn(pods[0]!.metadata.name, `http://${host}/healthz`), /^200/, `GET http://${host}/healthz from ${pods[0]!.metadata.name}`);
    }
    // A Service that selects only the second replica, asked from that replica itself: hairpin through its ClusterIP.
    const only = pods[1]!.metadata.name;
    await admin.request("PATCH", `/api/v1/namespaces/${ns!.name}/pods/${only}`, { body: { metadata: { labels: { "pn/hairpin": "yes" } } }, contentType: "application/merge-patch+json" });
    await admin.request("POST", `/api/v1/namespaces/${ns!.name}/services`, { body: { metadata: { name: "pn-hairpin" }, spec: { selector: { "pn/hairpin": "yes" }, ports: [{ port: 8000, targetPort: 8081 }] } } });
    await node!.waitForServiceRules(ns!.name, "pn-hairpin");
    await waitFor("the hairpin Service name in the Pods' hosts files", async () => /^200/.test(await fetchIn(only, `http://pn-hairpin.${ns!.name}.svc.cluster.local:8000/healthz`)), { timeoutMs: 20_000 });
    assert.match(await fetchIn(pods[0]!.metadata.name, `http://pn-hairpin:8000/healthz`), /^200/, "and from the other replica");
    // A name that is no Service does not resolve (the hosts file is not a catch-all).
    assert.match(await fetchIn(only, `http://nope.${ns!.name}.svc.cluster.local/healthz`), /^ERR (ENOTFOUND|EAI_AGAIN)/);
  });

  void it("enforces readiness: a Pod whose readiness probe fails is running but not Ready and gets no traffic", async () => {
    const n = ns!.name;
    // The same image with a command of its own (it replaces the ENTRYPOINT): a server whose /ready answers 500.
    const server = "require('http').createServer((q, s) => s.writeHead(q.url === '/ready' ? 500 : 200).end('x')).listen(8081)";
    await admin.request("POST", `/apis/apps/v1/namespaces/${n}/deployments`, {
      body: {
        metadata: { name: "pn-unready" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "pn-unready" } },
          template: {
            metadata: { labels: { app: "pn-unready" } },
            spec: {
              automountServiceAccountToken: false,
              terminationGracePeriodSeconds: 1,
              containers: [{ name: "c", image: "mooring:process-node-test", command: ["node", "-e", server], ports: [{ name: "health", containerPort: 8081 }], readinessProbe: { httpGet: { path: "/ready", port: "health" }, periodSeconds: 1, failureThreshold: 1 } }],
            },
          },
        },
      },
    });
    await admin.request("POST", `/api/v1/namespaces/${n}/services`, { body: { metadata: { name: "pn-unready" }, spec: { selector: { app: "pn-unready" }, ports: [{ port: 80, targetPort: 8081 }] } } });
    const pod = await waitFor("the pn-unready process running", async () => {
      const [p] = await podsOf("pn-unready");
      return p && node!.pods()[p.metadata.name]?.state === "running" ? p : undefined;
    }, { timeoutMs: 60_000 });
    // It serves (from the host, at its IP) but stays not Ready: kwok had marked it Ready, the node's probe says no.
    await waitFor("pn-unready answering at its Pod IP", async () => (await fetch(`http://${pod.status!.podIP}:8081/`).catch(() => undefined))?.status === 200);
    await waitFor("pn-unready Ready=False in the API", async () => {
      const [p] = await podsOf("pn-unready");
      return p?.status?.conditions?.find((cd) => cd.type === "Ready")?.status === "False";
    });
    await new Promise((r) => setTimeout(r, 3000)); // several probe periods
    const [p] = await podsOf("pn-unready");
    assert.equal(p!.status!.conditions!.find((cd) => cd.type === "Ready")?.status, "False", "stays not Ready");
    assert.equal(node!.pods()[p!.metadata.name]!.ready, false);
    const [other] = await podsOf(APP);
    assert.match((await node!.exec(other!.metadata.name, ["node", "-e", `fetch("http://pn-unready/", { signal: AbortSignal.timeout(3000) }).then((r) => console.log(r.status), (e) => console.log("ERR", e.cause?.code ?? e.name))`])).stdout, /^ERR/, "no ready endpoint: the Service refuses");
  });

  void it("restarts a killed container with back-off and reports restartCount, without replacing the Pod", async () => {
    const pods = await running(APP, 2);
    const name = pods[1]!.metadata.name;
    const before = node!.pods()[name]!;
    node!.kill(name, "SIGKILL");
    const after = await waitFor(`${name} restarted`, () => {
      const i = node!.pods()[name];
      return i && i.restarts === before.restarts + 1 && i.state === "running" && i.pid !== before.pid ? i : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(after.ip, before.ip);
    assert.equal(after.netns, before.netns, "same Pod sandbox");
    await waitFor(`${name} restartCount ${before.restarts + 1} in the API`, async () => (await podsOf(APP)).find((p) => p.metadata.name === name)?.status?.containerStatuses?.[0]?.restartCount === before.restarts + 1);
    await running(APP, 2);
    assert.ok(node!.logs(name).split("\n").filter((l) => l.includes("connected to the API server")).length >= 2, "logs of both runs kept");
  });

  void it("stops a deleted Pod's process with SIGTERM and runs the ReplicaSet's replacement", async () => {
    const pods = await running(APP, 2);
    const victim = pods[0]!.metadata.name;
    const { pid } = node!.pods()[victim]!;
    const seen = node!.events().length;
    await admin.request("DELETE", `/api/v1/namespaces/${ns!.name}/pods/${victim}`);
    await waitFor(`${victim}'s process gone`, () => node!.pods()[victim]!.state === "terminated" && !existsSync(`/proc/${pid}`), { timeoutMs: 30_000 });
    const stopping = node!.events().slice(seen).filter((e) => e.pod === victim);
    assert.ok(stopping.some((e) => /Pod deleted: stopping/.test(e.message)), JSON.stringify(stopping));
    assert.ok(!stopping.some((e) => e.message.includes("SIGKILL")), `it exited on SIGTERM within its grace period: ${JSON.stringify(stopping)}`);
    assert.match(node!.logs(victim), /"level":"info"/);
    const now = await running(APP, 2);
    assert.ok(!now.some((p) => p.metadata.name === victim));
    const replacement = now.find((p) => p.metadata.name !== pods[1]!.metadata.name)!;
    assert.notEqual(node!.pods()[replacement.metadata.name]!.pid, pid);
  });

  void it("stop() stops every process and leaves no netns, veth, route, rule, mount or directory behind", async () => {
    const pids = Object.values(node!.pods()).map((p) => p.pid).filter((p): p is number => p !== undefined);
    assert.ok(pids.length >= 2);
    const proxyPid = node!.kubeProxyPid();
    assert.ok(proxyPid && existsSync(`/proc/${proxyPid}`), "kube-proxy runs");
    assert.ok(sh("iptables-save", ["-t", "nat"]).stdout.includes("KUBE-SERVICES"), "kube-proxy wrote its rules");
    assert.ok(listNetns().some((n) => n.startsWith(NAME_PREFIX)));
    await node!.stop({ graceMs: 5_000 });
    node = undefined;
    for (const p of [...pids, proxyPid]) {
      const status = existsSync(`/proc/${p}`) ? readFileSync(`/proc/${p}/status`, "utf8").split("\n").slice(0, 8).join(" ") : "";
      assert.equal(status, "", `process ${p} still running`);
    }
    const now = hostSnapshot();
    for (const k of Object.keys(before_) as (keyof typeof before_)[]) assert.deepEqual(now[k], before_[k], `the host's ${k} as it was before the node started`);
    assert.deepEqual(JSON.parse(readFileSync(`${STATE_DIR}/ledger.json`, "utf8")), [], "nothing left in the ledger");
    assert.ok(!existsSync(`${STATE_DIR}/lock`), "the machine's process-node lock is released");
  });
});
