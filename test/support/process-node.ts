// A kubelet-like node agent that runs real processes for the Pods of one namespace of the local kwok cluster.
//
// kwok schedules Pods onto fake nodes, gives them an IP and marks them Running, but starts nothing. This agent does
// what a node would do with those Pods, as faithfully as a machine without a container runtime allows:
//
// - Process: the container's argv is the image's ENTRYPOINT/CMD from the Dockerfile (process-node-image.ts), replaced
//   by the container's command/args exactly as rendered (with $(VAR) expansion); the working directory is the image's
//   WORKDIR, which holds the app dir (the image's /app rebuilt from dist/ + production node_modules). It runs in its
//   own network, mount, PID, UTS and IPC namespaces (PID 1 is tini when the machine has it, as in the image), in a root
//   filesystem assembled from read-only binds of the host's /usr and /etc, read-only as a whole when the container
//   sets readOnlyRootFilesystem, as the container's uid/gid (setpriv, no_new_privs, every capability dropped).
// - Environment: the image's ENV, the Service variables a kubelet injects (KUBERNETES_SERVICE_HOST/PORT and
//   <SVC>_SERVICE_HOST...), HOSTNAME, and the container's env/envFrom with fieldRef/configMapKeyRef/secretKeyRef
//   resolved (process-node-pod.ts).
// - Identity: every volume is materialised like the kubelet's atomic writer (..data symlink). The projected
//   kube-api-access volume the ServiceAccount admission plugin adds gets a token from the TokenRequest API for the
//   Pod's ServiceAccount, bound to the Pod (boundObjectRef kind Pod, name, uid; refreshed at 80% of its life), the
//   kube-root-ca.crt ConfigMap's ca.crt and the namespace; it appears at /var/run/secrets/kubernetes.io/serviceaccount,
//   so the operator's own in-cluster loader (src/runtime/kubeconfig.ts) is what reads it. emptyDirs are fresh host
//   directories bind-mounted at their mountPath.
// - Network: a netns per Pod with a veth pair: the Pod side has the IP kwok assigned (/32, default route to the
//   169.254.1.1 gateway on the host side, like the ptp/Calico CNI plugins), the host side a /32 route to the Pod, so
//   the ports of every replica never collide and the EndpointSlices the real kube-controller-manager builds point at
//   the real processes. Services are the real kube-proxy (process-node-proxy.ts), which also routes the `kubernetes`
//   Service to the API server. Cluster DNS is the Pod's /etc/hosts (kubelet-managed in a real Pod too), listing
//   every Service's ClusterIP under <svc>.<ns>.svc.<domain>, <svc>.<ns>.svc, <svc>.<ns> (and <svc> in its namespace),
//   rewritten in place when Services change.
// - API server: kubelets set KUBERNETES_SERVICE_HOST to the `kubernetes` Service's ClusterIP. kwokctl's serving
//   certificate lists the host's IPs, 127.0.0.1 and the names kubernetes.default.svc[.cluster.local], but not that
//   ClusterIP unless the cluster was created with it in --kube-apiserver-cert-sans. The node reads the certificate: if
//   the ClusterIP is in it, it is used as a kubelet would; otherwise KUBERNETES_SERVICE_HOST=kubernetes.default.svc,
//   which the Pod's hosts file resolves to the same ClusterIP, so TLS is verified against the CA for a name the
//   certificate holds and the connection still goes through the Service (kube-proxy's DNAT to the endpoint).
// - Lifecycle: a deleted Pod's process gets SIGTERM, then SIGKILL after its grace period; an exited container is
//   restarted with the kubelet's back-off (immediately, then 10 s doubling to 5 min); liveness, readiness and
//   startup probes (httpGet, tcpSocket, exec) run from the host like the kubelet's, and the node writes the Pod's
//   Ready/ContainersReady conditions and container status (restartCount, state) itself. kwok marks a Pod Ready when
//   it starts it, and only while it is Pending; once the Pod is Running, kwok leaves its conditions to us, so
//   readiness here is enforced: a Pod whose /readyz fails leaves its Services' EndpointSlices as it would on a node.
//
// Not modelled: resource limits (no cgroups), seccomp profiles, emptyDir sizeLimit/medium, image pulls, multiple
// containers, init containers, lifecycle hooks and hostNetwork Pods (refused with the reason in pods()).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, statSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import tls from "node:tls";
import { KubeConfig } from "../../src/runtime/kubeconfig.js";
import { isNotFound, RestClient } from "../../src/runtime/rest.js";
import { REPO_ROOT } from "./cluster.js";
import { acquireHostLock, type Ledger, listNetns, preflight, processStartTime, readSysctl, sh, writeSysctl } from "./process-node-host.js";
import { containerArgv, readImageConfig, type ImageConfig } from "./process-node-image.js";
import { containerEnv, expand, fieldRefValue, hostsFile, probePort, runAs, unsupported, type Container, type KeyToPath, type ObjectReader, type Pod, type Probe, type Service } from "./process-node-pod.js";
import { kubeProxyBinary, startKubeProxy, type KubeProxy } from "./process-node-proxy.js";

export { buildAppDir } from "./process-node-image.js";

/** The gateway address on every host-side veth (the Pod's default route points at it). */
const GATEWAY = "169.254.1.1";
/** Prefix of every netns and host-side veth the node creates. */
export const NAME_PREFIX = "mpn";
/** The nat chain of the Pods' egress masquerading. */
const EGRESS_CHAIN = "MPN-EGRESS";

export interface ProcessNodeOptions {
  /** kubeconfig of the node's own credentials (the cluster's admin kubeconfig, as kwok's nodes have). */
  kubeconfig: string;
  /** The namespace whose Pods this node runs (the chart's release namespace). */
  namespace: string;
  /** The image's /app: built dist/ + production node_modules (buildAppDir), mounted read-only at the image's WORKDIR. */
  appDir: string;
  clusterDomain?: string;
  /** The repository whose Dockerfile describes the image (default: this one). */
  repoRoot?: string;
  /** The kubelet's container restart back-off (default 10 s doubling to 300 s; the first restart is immediate). */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** How long start() waits for another process node on this machine to stop (default 60 s). */
  lockWaitMs?: number;
  /**
   * Called once the machine's lock is held and a crashed predecessor's leftovers are undone, before the node changes
   * anything: the moment to record the host as it is (another process node may have held it until then).
   */
  onLocked?: () => void;
  /** Called for every event the node records (also kept in events()). */
  onEvent?: (e: NodeEvent) => void;
}

export interface NodeEvent {
  at: Date;
  pod?: string;
  message: string;
  error?: boolean;
}

export interface PodProcessInfo {
  uid: string;
  /** Host pid of the container's PID 1 (tini, or node without it); undefined while not running. */
  pid?: number;
  ip: string;
  netns: string;
  restarts: number;
  ready: boolean;
  state: "starting" | "running" | "backoff" | "terminating" | "terminated" | "refused";
  /** Why the node could not run the Pod (state refused), or why its last start failed. */
  error?: string;
}

interface LogRun {
  startedAt: Date;
  lines: string[];
}

interface ProbeState {
  successes: number;
  failures: number;
  ok: boolean;
}

interface PodRuntime {
  uid: string;
  name: string;
  pod: Pod;
  container: Container;
  ip: string;
  netns: string;
  hostVeth: string;
  dir: string;
  state: PodProcessInfo["state"];
  error?: string;
  child?: ChildProcess;
  initPid?: number;
  startedAt?: Date;
  runs: LogRun[];
  restarts: number;
  backoffMs: number;
  backoffUpdated: number;
  timers: Set<NodeJS.Timeout>;
  runTimers: Set<NodeJS.Timeout>;
  probes: { startup?: ProbeState; readiness?: ProbeState; liveness?: ProbeState };
  ready: boolean;
  lastTerminated?: { exitCode: number; signal?: string; finishedAt: string; startedAt: string };
  reportedStatus?: string;
  statusLoop?: Promise<void>;
  statusDirty?: boolean;
  exited?: Promise<void>;
  env?: Record<string, string>;
  uidGid?: { uid: number; gid: number };
  terminating?: Promise<void>;
  starting?: Promise<void>;
  sandboxReady: boolean;
}

const MAX_LOG_LINES = 20_000;

export class ProcessNode {
  private readonly client: RestClient;
  private readonly image: ImageConfig;
  private readonly domain: string;
  private readonly pods_ = new Map<string, PodRuntime>(); // by uid
  private readonly byName = new Map<string, PodRuntime>(); // latest runtime per Pod name, kept after termination
  private readonly events_: NodeEvent[] = [];
  private services: Service[] = [];
  private readonly abort = new AbortController();
  private reconciling?: Promise<void>;
  private again = false;
  private stopped = false;
  private kubeProxy?: KubeProxy;
  private apiServerHost?: { host: string; why: string };
  private launcher = "";
  private tools: Record<string, string> = {};
  private exitHandler?: () => void;
  private release?: () => void;
  private baseDir = "";
  private watchLoops: Promise<void>[] = [];
  private resyncTimer?: NodeJS.Timeout;
  private readonly reader: ObjectReader;

  private constructor(
    private readonly o: ProcessNodeOptions,
    private readonly ledger: Ledger,
  ) {
    this.client = RestClient.fromKubeConfig(KubeConfig.fromFile(o.kubeconfig), { qps: 100, burst: 200, userAgent: "mooring-process-node" });
    this.image = readImageConfig(o.repoRoot ?? REPO_ROOT);
    this.domain = o.clusterDomain ?? "cluster.local";
    this.reader = {
      configMap: async (ns, name) => {
        try {
          return ((await this.client.request<{ data?: Record<string, string> }>("GET", `/api/v1/namespaces/${ns}/configmaps/${name}`)).data ?? {});
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      secret: async (ns, name) => {
        try {
          const data = (await this.client.request<{ data?: Record<string, string> }>("GET", `/api/v1/namespaces/${ns}/secrets/${name}`)).data ?? {};
          return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64")]));
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
    };
  }

  /**
   * Starts the node: checks root and the tools (failing loudly otherwise), takes the machine's process-node lock
   * (cleaning up after a crashed predecessor), starts kube-proxy and begins running the namespace's Pods.
   */
  static async start(o: ProcessNodeOptions): Promise<ProcessNode> {
    const tools = preflight(["ip", "nsenter", "unshare", "setpriv", "mount", "umount", "pivot_root", "hostname", "env", "iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore", "conntrack"]);
    const proxyBinary = kubeProxyBinary();
    if (!existsSync(path.join(o.appDir, "package.json"))) throw new Error(`appDir ${o.appDir} is not the image's app dir (no package.json); build it with buildAppDir()`);
    if ((statSync(o.appDir).mode & 0o005) !== 0o005) throw new Error(`appDir ${o.appDir} must be world-readable (the container runs as a non-root uid)`);
    const lock = await acquireHostLock(o.lockWaitMs ?? 60_000);
    try {
      o.onLocked?.();
    } catch (err) {
      lock.release();
      throw err;
    }
    const node = new ProcessNode(o, lock.ledger);
    node.tools = tools;
    node.release = lock.release;
    try {
      await node.init(proxyBinary);
    } catch (err) {
      await node.stop().catch(() => undefined);
      throw err;
    }
    return node;
  }

  private async init(proxyBinary: string): Promise<void> {
    // At exit without stop() (a crashed test), kill the containers at least; the next start() undoes the rest.
    this.exitHandler = () => {
      for (const rt of this.pods_.values()) if (rt.initPid) try { process.kill(rt.initPid, "SIGKILL"); } catch { /* gone */ }
      this.kubeProxy?.process.kill("SIGKILL");
    };
    process.on("exit", this.exitHandler);
    this.baseDir = mkdtempSync(path.join(os.tmpdir(), "mooring-node-"));
    this.ledger.add({ kind: "dir", path: this.baseDir });
    this.launcher = path.join(this.baseDir, "launch.sh");
    writeFileSync(this.launcher, launcherScript(this.tools), { mode: 0o755 });
    // Pod egress to outside the node is masqueraded, as CNI plugins do (ptp/bridge ipMasq): a Pod reaches the host's
    // DNS resolver and the world with the node's address. One chain, one rule per Pod.
    this.ledger.add({ kind: "chain", cmd: "iptables", table: "nat", chain: EGRESS_CHAIN, from: "POSTROUTING" });
    sh("iptables", ["-t", "nat", "-N", EGRESS_CHAIN]);
    sh("iptables", ["-t", "nat", "-A", "POSTROUTING", "-j", EGRESS_CHAIN]);
    const forward = readSysctl("net.ipv4.ip_forward");
    if (forward !== "1") {
      this.ledger.add({ kind: "sysctl", key: "net.ipv4.ip_forward", original: forward });
      writeSysctl("net.ipv4.ip_forward", "1");
    }
    const nodes = await this.client.request<{ items: { metadata: { name: string }; spec?: { podCIDR?: string; podCIDRs?: string[] } }[] }>("GET", "/api/v1/nodes");
    const nodeName = nodes.items[0]?.metadata.name;
    if (!nodeName) throw new Error("the cluster has no Node (kwok creates them: hack/cluster.sh scales one)");
    this.services = await this.listServices();
    // kwok hands out Pod IPs from the Node's podCIDR; if Service IPs come from the same range, the Pod that gets the
    // kubernetes Service's IP (kwok starts at .1) can never reach the API server: the address is its own.
    const kubeIp = this.services.find((s) => s.metadata.namespace === "default" && s.metadata.name === "kubernetes")?.spec.clusterIP;
    for (const n of nodes.items) {
      for (const cidr of n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])) {
        if (kubeIp && inCidr(kubeIp, cidr)) {
          throw new Error(`the cluster's Service IPs overlap the Pod IPs kwok assigns: the kubernetes Service is ${kubeIp}, inside node ${n.metadata.name}'s podCIDR ${cidr}, so a Pod would get a Service's IP as its own. Create the cluster with a Service range of its own (kwokctl create cluster --extra-args kube-apiserver=service-cluster-ip-range=10.96.0.0/16, and kubeApiserverCertSANs: [10.96.0.1] in its KwokctlConfiguration)`);
        }
      }
    }
    this.kubeProxy = await startKubeProxy({ binary: proxyBinary, kubeconfig: this.o.kubeconfig, nodeName, workDir: this.baseDir, ledger: this.ledger });
    this.apiServerHost = await this.chooseApiServerHost();
    this.event(undefined, `API server for Pods: KUBERNETES_SERVICE_HOST=${this.apiServerHost.host} (${this.apiServerHost.why})`);
    const ns = this.o.namespace;
    this.watchLoops.push(this.watchLoop(`/api/v1/namespaces/${ns}/pods`), this.watchLoop("/api/v1/services"));
    this.resyncTimer = setInterval(() => this.trigger(), 5_000);
    await this.reconcileNow();
  }

  // ---------------------------------------------------------------------------------------------------- public API

  /** The Pods the node runs (and ran), by name: host pid of PID 1, IP, restarts, readiness and state. */
  pods(): Record<string, PodProcessInfo> {
    const out: Record<string, PodProcessInfo> = {};
    for (const [name, rt] of this.byName) {
      out[name] = { uid: rt.uid, pid: rt.state === "running" ? rt.initPid : undefined, ip: rt.ip, netns: rt.netns, restarts: rt.restarts, ready: rt.ready, state: rt.state, error: rt.error };
    }
    return out;
  }

  /** The captured stdout and stderr of a Pod's container, every run (restarts included) in order. */
  logs(pod: string, o: { runs?: "all" | "current" } = {}): string {
    const rt = this.byName.get(pod);
    if (!rt) throw new Error(`no Pod ${pod} on this node (it runs ${[...this.byName.keys()].join(", ") || "nothing"})`);
    const runs = o.runs === "current" ? rt.runs.slice(-1) : rt.runs;
    return runs.map((r) => r.lines.join("\n")).filter(Boolean).join("\n");
  }

  /** Sends a signal to a Pod's container (its PID 1) without deleting the Pod: the node restarts it like a kubelet. */
  kill(pod: string, signal: NodeJS.Signals = "SIGKILL"): void {
    const rt = this.byName.get(pod);
    if (!rt || rt.state !== "running" || !rt.initPid) throw new Error(`Pod ${pod} has no running container on this node (state ${rt?.state ?? "unknown"})`);
    process.kill(rt.initPid, signal);
    this.event(rt.name, `sent ${signal} to the container (pid ${rt.initPid})`);
  }

  /** Runs a command inside a Pod's container (its namespaces, root, working directory, user and env), like kubectl exec. */
  exec(pod: string, argv: string[], o: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const rt = this.byName.get(pod);
    if (!rt || rt.state !== "running" || !rt.initPid || !rt.uidGid) return Promise.reject(new Error(`Pod ${pod} has no running container on this node`));
    const args = ["--target", String(rt.initPid), "--net", "--mount", "--uts", "--ipc", "--pid", "--root", "--wd", "--setuid", String(rt.uidGid.uid), "--setgid", String(rt.uidGid.gid), "--", ...argv];
    return new Promise((resolve) => {
      execFile(this.tools.nsenter!, args, { env: rt.env, timeout: o.timeoutMs ?? 30_000, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1) : 0;
        resolve({ code, stdout, stderr: stderr + (err && code === -1 ? err.message : "") });
      });
    });
  }

  /** What the node recorded (starts, exits, restarts, probe failures, refusals), oldest first. */
  events(): readonly NodeEvent[] {
    return this.events_;
  }

  /** The address Pods get in KUBERNETES_SERVICE_HOST, and why. */
  apiServer(): { host: string; why: string } {
    return this.apiServerHost!;
  }

  /** kube-proxy's output (for a failing test's message). */
  proxyLogs(): string {
    return this.kubeProxy?.logs() ?? "";
  }

  /** The host pid of kube-proxy. */
  kubeProxyPid(): number | undefined {
    return this.kubeProxy?.process.pid;
  }

  /** Waits until kube-proxy has programmed a Service's ClusterIP rules (it has ready endpoints). */
  async waitForServiceRules(namespace: string, name: string, timeoutMs?: number): Promise<void> {
    await this.kubeProxy!.waitForServiceRules(namespace, name, timeoutMs);
  }

  /**
   * Stops every container (SIGTERM, SIGKILL after `graceMs` or each Pod's grace period), kube-proxy, and removes every
   * netns, veth, route, Service rule, sysctl change and directory the node made. Throws when anything is left behind.
   */
  async stop(o: { graceMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await this.reconciling?.catch(() => undefined);
    await Promise.allSettled(this.watchLoops);
    await Promise.all([...this.pods_.values()].map((rt) => this.terminate(rt, o.graceMs ?? graceSeconds(rt.pod) * 1000, "node stopping")));
    if (this.kubeProxy && this.kubeProxy.process.exitCode === null) {
      this.kubeProxy.process.kill("SIGTERM");
      await waitExit(this.kubeProxy.process, 10_000);
      if (this.kubeProxy.process.exitCode === null && this.kubeProxy.process.signalCode === null) this.kubeProxy.process.kill("SIGKILL");
      await waitExit(this.kubeProxy.process, 10_000);
    }
    const failures = await this.ledger.undo();
    this.client.close();
    if (this.exitHandler) process.off("exit", this.exitHandler);
    const left = [
      ...listNetns().filter((n) => n.startsWith(NAME_PREFIX)).map((n) => `netns ${n}`),
      ...sh("ip", ["-o", "link", "show"]).stdout.split("\n").filter((l) => new RegExp(`^\\d+: ${NAME_PREFIX}`).test(l)).map((l) => `link ${l.split(":")[1]!.trim()}`),
      ...(this.baseDir && existsSync(this.baseDir) ? [`directory ${this.baseDir}`] : []),
    ];
    if (!failures.length && !left.length) this.release?.();
    if (failures.length || left.length) throw new Error(`the process node could not clean up everything:\n${[...failures, ...left].join("\n")}`);
  }

  // ---------------------------------------------------------------------------------------------------- watching

  private event(pod: string | undefined, message: string, error = false): void {
    const e = { at: new Date(), pod, message, error };
    this.events_.push(e);
    if (this.events_.length > 5000) this.events_.shift();
    this.o.onEvent?.(e);
    if (error) process.stderr.write(`process-node: ${pod ? `${pod}: ` : ""}${message}\n`);
  }

  /** List (by reconcile) + watch: every event triggers a reconcile; a broken stream is re-opened after a pause. */
  private async watchLoop(p: string): Promise<void> {
    while (!this.stopped) {
      try {
        const list = await this.client.request<{ metadata: { resourceVersion: string } }>("GET", p, { query: { limit: 1 }, signal: this.abort.signal });
        this.trigger();
        for await (const _ of this.client.watch(p, { query: { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: false }, signal: this.abort.signal })) {
          if (this.stopped) return;
          this.trigger();
        }
      } catch (err) {
        if (this.stopped) return;
        this.event(undefined, `watch ${p}: ${(err as Error).message}; re-listing`);
        await sleep(1000);
      }
    }
  }

  private trigger(): void {
    if (this.stopped) return;
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = this.reconcile()
      .catch((err: Error) => this.event(undefined, `reconcile failed: ${err.message}`, true))
      .finally(() => {
        this.reconciling = undefined;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
  }

  private async reconcileNow(): Promise<void> {
    this.trigger();
    while (this.reconciling) await this.reconciling;
  }

  private async listServices(): Promise<Service[]> {
    return (await this.client.request<{ items: Service[] }>("GET", "/api/v1/services")).items;
  }

  private async reconcile(): Promise<void> {
    const [podList, services] = await Promise.all([this.client.request<{ items: Pod[] }>("GET", `/api/v1/namespaces/${this.o.namespace}/pods`), this.listServices()]);
    if (this.stopped) return;
    const servicesChanged = JSON.stringify(services.map((s) => [s.metadata, s.spec.clusterIP])) !== JSON.stringify(this.services.map((s) => [s.metadata, s.spec.clusterIP]));
    this.services = services;
    const seen = new Set<string>();
    for (const pod of podList.items) {
      seen.add(pod.metadata.uid);
      const rt = this.pods_.get(pod.metadata.uid);
      if (rt) {
        rt.pod = pod;
        if (pod.metadata.deletionTimestamp && !rt.terminating) void this.terminate(rt, graceSeconds(pod) * 1000, "Pod deleted");
        continue;
      }
      if (pod.metadata.deletionTimestamp || pod.status?.phase !== "Running" || !pod.status.podIP) continue;
      this.admit(pod);
    }
    for (const rt of this.pods_.values()) {
      if (!seen.has(rt.uid) && !rt.terminating) void this.terminate(rt, graceSeconds(rt.pod) * 1000, "Pod deleted");
    }
    if (servicesChanged) for (const rt of this.pods_.values()) if (rt.sandboxReady && !rt.terminating) this.writeHosts(rt);
  }

  // ---------------------------------------------------------------------------------------------------- Pod lifecycle

  private admit(pod: Pod): void {
    const short = pod.metadata.uid.replace(/-/g, "").slice(0, 8);
    const rt: PodRuntime = {
      uid: pod.metadata.uid,
      name: pod.metadata.name,
      pod,
      container: pod.spec.containers[0]!,
      ip: pod.status!.podIP!,
      netns: `${NAME_PREFIX}-${short}`,
      hostVeth: `${NAME_PREFIX}${short}`,
      dir: path.join(this.baseDir, "pods", pod.metadata.uid),
      state: "starting",
      runs: [],
      restarts: 0,
      backoffMs: 0,
      backoffUpdated: 0,
      timers: new Set(),
      runTimers: new Set(),
      probes: {},
      ready: false,
      sandboxReady: false,
    };
    this.pods_.set(rt.uid, rt);
    this.byName.set(rt.name, rt);
    const why = unsupported(pod);
    const clash = this.services.find((s) => s.spec.clusterIP === rt.ip);
    if (clash) why.push(`its IP ${rt.ip} is also the ClusterIP of Service ${clash.metadata.namespace}/${clash.metadata.name}`);
    if (why.length) {
      rt.state = "refused";
      rt.error = `the process node cannot run this Pod: ${why.join("; ")}`;
      this.event(rt.name, rt.error, true);
      void this.reportStatus(rt); // kwok marked it Ready; it is not
      return;
    }
    this.startPod(rt);
  }

  private startPod(rt: PodRuntime): void {
    rt.starting = this.startPodOnce(rt);
  }

  private async startPodOnce(rt: PodRuntime): Promise<void> {
    const gone = () => rt.terminating !== undefined || this.stopped;
    try {
      // kwok reuses a released IP at once; a terminating Pod may still hold it (its process is in its grace period).
      while ([...this.pods_.values()].some((o) => o !== rt && o.ip === rt.ip && o.sandboxReady)) {
        if (gone()) return;
        await sleep(100);
      }
      if (gone()) return;
      await this.reportStatus(rt); // not ready until the process runs (and its readiness probe passes)
      this.createSandbox(rt);
      await this.writeVolumes(rt);
      const { uid, gid } = runAs(rt.pod, rt.container, this.image.user);
      rt.uidGid = { uid, gid };
      rt.env = await containerEnv({ pod: rt.pod, container: rt.container, imageEnv: this.image.env, services: this.services, reader: this.reader, kubernetesHostOverride: this.apiServerHost!.host });
      if (gone()) return;
      this.startContainer(rt);
      rt.error = undefined;
    } catch (err) {
      if (gone()) return;
      // Like a kubelet whose sandbox or volume set-up failed: tear down what was made and try again later.
      rt.error = `could not start (retrying in 5s): ${(err as Error).message}`;
      this.event(rt.name, rt.error, true);
      await this.teardownSandbox(rt);
      const t = setTimeout(() => {
        rt.timers.delete(t);
        if (!gone()) this.startPod(rt);
      }, 5_000);
      rt.timers.add(t);
    }
  }

  /** Removes the Pod's netns, veth, route, egress rule and directory (the process must be gone). */
  private async teardownSandbox(rt: PodRuntime): Promise<void> {
    const failures = await this.ledger.undo((e) => (e.kind === "route" && e.dev === rt.hostVeth) || (e.kind === "rule" && e.spec[1] === `${rt.ip}/32`) || (e.kind === "link" && e.name === rt.hostVeth) || (e.kind === "netns" && e.name === rt.netns));
    if (failures.length) this.event(rt.name, `sandbox clean-up failed: ${failures.join("; ")}`, true);
    rt.sandboxReady = false;
    rmSync(rt.dir, { recursive: true, force: true });
  }

  private createSandbox(rt: PodRuntime): void {
    for (const sub of ["rootfs", "volumes"]) mkdirSync(path.join(rt.dir, sub), { recursive: true });
    const peer = `${NAME_PREFIX}p${rt.hostVeth.slice(NAME_PREFIX.length)}`;
    this.ledger.add({ kind: "netns", name: rt.netns });
    sh("ip", ["netns", "add", rt.netns]);
    this.ledger.add({ kind: "link", name: rt.hostVeth });
    sh("ip", ["link", "add", rt.hostVeth, "type", "veth", "peer", "name", peer]);
    sh("ip", ["link", "set", peer, "netns", rt.netns]);
    const inNs = (...args: string[]) => sh("ip", ["-n", rt.netns, ...args]);
    inNs("link", "set", peer, "name", "eth0");
    inNs("link", "set", "lo", "up");
    inNs("addr", "add", `${rt.ip}/32`, "dev", "eth0");
    inNs("link", "set", "eth0", "up");
    inNs("route", "add", GATEWAY, "dev", "eth0", "scope", "link");
    inNs("route", "add", "default", "via", GATEWAY, "dev", "eth0");
    sh("ip", ["addr", "add", `${GATEWAY}/32`, "dev", rt.hostVeth]);
    sh("ip", ["link", "set", rt.hostVeth, "up"]);
    this.ledger.add({ kind: "route", dst: rt.ip, dev: rt.hostVeth });
    sh("ip", ["route", "add", `${rt.ip}/32`, "dev", rt.hostVeth, "scope", "link"]);
    const egress = ["-s", `${rt.ip}/32`, "!", "-o", `${NAME_PREFIX}+`, "-j", "MASQUERADE"];
    this.ledger.add({ kind: "rule", cmd: "iptables", table: "nat", chain: EGRESS_CHAIN, spec: egress });
    sh("iptables", ["-t", "nat", "-A", EGRESS_CHAIN, ...egress]);
    this.writeHosts(rt);
    rt.sandboxReady = true;
  }

  private writeHosts(rt: PodRuntime): void {
    // In place (same inode): the file is bind-mounted into the Pod's mount namespace, where a rename would not show.
    writeFileSync(path.join(rt.dir, "hosts"), hostsFile(rt.pod, this.services, this.domain), { mode: 0o644 });
  }

  /** Volumes as the kubelet writes them: emptyDirs fresh (0777), the others through an atomic ..data symlink swap. */
  private async writeVolumes(rt: PodRuntime): Promise<void> {
    const { uid } = runAs(rt.pod, rt.container, this.image.user);
    const fsUser = rt.container.securityContext?.runAsUser ?? rt.pod.spec.securityContext?.runAsUser;
    for (const v of rt.pod.spec.volumes ?? []) {
      const dir = path.join(rt.dir, "volumes", v.name);
      mkdirSync(dir, { recursive: true });
      if (v.emptyDir) {
        chmodSync(dir, 0o777);
        continue;
      }
      const files = new Map<string, { data: Buffer; mode: number; owner?: number }>();
      const pick = (data: Record<string, Buffer>, items: KeyToPath[] | undefined, mode: number, what: string) => {
        if (!items) for (const [k, b] of Object.entries(data)) files.set(k, { data: b, mode });
        else
          for (const it of items) {
            const b = data[it.key];
            if (!b) throw new Error(`volume ${v.name}: key ${it.key} not in ${what}`);
            files.set(it.path, { data: b, mode: it.mode ?? mode });
          }
      };
      const cm = async (name: string, optional?: boolean) => {
        const d = await this.reader.configMap(rt.pod.metadata.namespace, name);
        if (!d && !optional) throw new Error(`volume ${v.name}: ConfigMap ${name} not found`);
        return Object.fromEntries(Object.entries(d ?? {}).map(([k, s]) => [k, Buffer.from(s)]));
      };
      const secret = async (name: string, optional?: boolean) => {
        const d = await this.reader.secret(rt.pod.metadata.namespace, name);
        if (!d && !optional) throw new Error(`volume ${v.name}: Secret ${name} not found`);
        return d ?? {};
      };
      if (v.configMap) pick(await cm(v.configMap.name, v.configMap.optional), v.configMap.items, v.configMap.defaultMode ?? 0o644, `ConfigMap ${v.configMap.name}`);
      if (v.secret) pick(await secret(v.secret.secretName, v.secret.optional), v.secret.items, v.secret.defaultMode ?? 0o644, `Secret ${v.secret.secretName}`);
      let tokenRefresh: { source: { path: string; expirationSeconds?: number; audience?: string }; mode: number } | undefined;
      if (v.projected) {
        const mode = v.projected.defaultMode ?? 0o644;
        for (const s of v.projected.sources) {
          if (s.configMap) pick(await cm(s.configMap.name, s.configMap.optional), s.configMap.items, mode, `ConfigMap ${s.configMap.name}`);
          if (s.secret) pick(await secret(s.secret.name, s.secret.optional), s.secret.items, mode, `Secret ${s.secret.name}`);
          if (s.downwardAPI) {
            for (const it of s.downwardAPI.items) {
              if (!it.fieldRef) throw new Error(`volume ${v.name}: downwardAPI item ${it.path} without fieldRef`);
              files.set(it.path, { data: Buffer.from(fieldRefValue(rt.pod, it.fieldRef.fieldPath)), mode: it.mode ?? mode });
            }
          }
          if (s.serviceAccountToken) {
            // The kubelet makes a token file 0600 and owned by the Pod's user when it has one (volumeutil.FsUserFrom).
            const tokenMode = fsUser !== undefined ? 0o600 : mode;
            files.set(s.serviceAccountToken.path, { data: Buffer.from(await this.requestToken(rt, s.serviceAccountToken)), mode: tokenMode, owner: fsUser !== undefined ? uid : undefined });
            tokenRefresh = { source: s.serviceAccountToken, mode: tokenMode };
          }
        }
      }
      atomicWrite(dir, files);
      if (tokenRefresh) this.scheduleTokenRefresh(rt, v.name, tokenRefresh.source, files, (tokenRefresh.source.expirationSeconds ?? 3600) * 1000);
    }
  }

  /** TokenRequest for the Pod's ServiceAccount, bound to the Pod like the kubelet's projected token. */
  private async requestToken(rt: PodRuntime, src: { expirationSeconds?: number; audience?: string }): Promise<string> {
    const sa = rt.pod.spec.serviceAccountName ?? "default";
    const res = await this.client.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${rt.pod.metadata.namespace}/serviceaccounts/${sa}/token`, {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { audiences: src.audience ? [src.audience] : [], expirationSeconds: src.expirationSeconds ?? 3607, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: rt.name, uid: rt.uid } },
      },
    });
    return res.status.token;
  }

  private scheduleTokenRefresh(rt: PodRuntime, volume: string, src: { path: string; expirationSeconds?: number; audience?: string }, files: Map<string, { data: Buffer; mode: number; owner?: number }>, lifeMs: number): void {
    // The kubelet refreshes a projected token when 80% of its life has passed.
    const t = setTimeout(() => {
      rt.timers.delete(t);
      if (rt.terminating || this.stopped) return;
      this.requestToken(rt, src)
        .then((token) => {
          if (rt.terminating || this.stopped) return;
          files.set(src.path, { ...files.get(src.path)!, data: Buffer.from(token) });
          atomicWrite(path.join(rt.dir, "volumes", volume), files);
          this.event(rt.name, `refreshed the ServiceAccount token in volume ${volume}`);
          this.scheduleTokenRefresh(rt, volume, src, files, lifeMs);
        })
        .catch((err: Error) => this.event(rt.name, `token refresh failed: ${err.message}`, true));
    }, lifeMs * 0.8);
    rt.timers.add(t);
  }

  private mounts(rt: PodRuntime): string {
    const entries: { kind: "dir" | "file" | "overlay"; src: string; dst: string; ro: boolean }[] = [];
    entries.push({ kind: "dir", src: this.o.appDir, dst: this.image.workdir, ro: true });
    for (const m of rt.container.volumeMounts ?? []) {
      const vol = (rt.pod.spec.volumes ?? []).find((v) => v.name === m.name);
      if (!vol) throw new Error(`volumeMount ${m.name} names no volume`);
      const src = path.join(rt.dir, "volumes", m.name, m.subPath ?? "");
      const ro = m.readOnly === true || !vol.emptyDir; // the kubelet mounts configMap/secret/projected read-only
      entries.push({ kind: existsSync(src) && statSync(src).isFile() ? "file" : "dir", src, dst: m.mountPath, ro });
    }
    entries.push({ kind: "file", src: path.join(rt.dir, "hosts"), dst: "/etc/hosts", ro: false });
    // A runtime creates a missing mount point in the image's own filesystem (e.g. /etc/mooring/health-rules). Here /usr,
    // /etc and /opt are the host's, bound read-only: such a top directory becomes a copy-on-write overlay of the host's,
    // in which the mount point can be made; the host's directory is never written.
    const overlays = new Set<string>();
    for (const e of entries) {
      const top = e.dst.split("/")[1] ?? "";
      if (HOST_DIRS.includes(top) && !existsSync(e.kind === "dir" ? e.dst : path.dirname(e.dst))) overlays.add(top);
    }
    for (const top of overlays) entries.push({ kind: "overlay", src: `/${top}`, dst: `/${top}`, ro: true }); // src: the lower (host) directory; never empty (read splits on runs of tabs)
    const termLog = path.join(rt.dir, "termination-log");
    writeFileSync(termLog, "", { mode: 0o666 });
    chmodSync(termLog, 0o666);
    entries.push({ kind: "file", src: termLog, dst: rt.container.terminationMessagePath ?? "/dev/termination-log", ro: false });
    // Parents before children, as runtimes order mounts by destination (an overlay before what is mounted in it).
    const sorted = entries.sort((a, b) => a.dst.split("/").length - b.dst.split("/").length || Number(b.kind === "overlay") - Number(a.kind === "overlay"));
    return sorted.map((e) => [e.kind, e.src, e.dst, e.ro ? "ro" : "rw"].join("\t")).join("\n") + "\n";
  }

  private startContainer(rt: PodRuntime): void {
    const env = rt.env!;
    const { argv: rawArgv, dropped } = containerArgv(this.image, rt.container);
    const lookup = (n: string) => env[n];
    const argv = rawArgv.map((a) => expand(a, lookup));
    if (dropped.length && rt.runs.length === 0) this.event(rt.name, `${dropped.join(" ")} is not on this machine; running ${argv[0]} directly (bash hack/process-node-deps.sh installs tini)`);
    if ("PWD" in env || "OLDPWD" in env) throw new Error("a container env named PWD/OLDPWD is not supported by the node's launcher");
    const { uid, gid, readOnlyRoot } = runAs(rt.pod, rt.container, this.image.user);
    const mountsFile = path.join(rt.dir, "mounts");
    writeFileSync(mountsFile, this.mounts(rt));
    const workdir = rt.container.workingDir ?? this.image.workdir;
    const child = spawn(
      this.tools.nsenter!,
      [`--net=/run/netns/${rt.netns}`, "--", this.tools.unshare!, "--mount", "--propagation", "private", "--pid", "--fork", "--uts", "--ipc", "--", "/bin/sh", this.launcher, path.join(rt.dir, "rootfs"), mountsFile, rt.pod.spec.hostname ?? rt.name, workdir, String(uid), String(gid), readOnlyRoot ? "1" : "0", "--", ...argv],
      { env, stdio: ["ignore", "pipe", "pipe"] },
    );
    const run: LogRun = { startedAt: new Date(), lines: [] };
    rt.runs.push(run);
    rt.child = child;
    rt.state = "running";
    rt.startedAt = run.startedAt;
    rt.initPid = undefined;
    const capture = (stream: NodeJS.ReadableStream) => {
      let partial = "";
      stream.on("data", (b: Buffer) => {
        const parts = (partial + b.toString("utf8")).split("\n");
        partial = parts.pop()!;
        run.lines.push(...parts);
        if (run.lines.length > MAX_LOG_LINES) run.lines.splice(0, run.lines.length - MAX_LOG_LINES);
      });
      stream.on("end", () => {
        if (partial) run.lines.push(partial);
        partial = "";
      });
    };
    capture(child.stdout!);
    capture(child.stderr!);
    rt.exited = new Promise((resolve) => child.once("close", () => resolve()));
    child.once("error", (err) => run.lines.push(`process-node: could not start the container: ${err.message}`));
    child.once("close", (code, signal) => this.onExit(rt, child, code, signal));
    if (child.pid) {
      const unsharePid = child.pid;
      this.ledger.add({ kind: "process", pid: unsharePid, startTime: processStartTime(unsharePid) ?? "", what: `Pod ${rt.name}` });
      void this.findInit(rt, child, unsharePid);
    }
    this.event(rt.name, `started container ${rt.container.name}: ${argv.join(" ")}`);
    this.startProbes(rt, child);
    void this.reportStatus(rt);
  }

  /** The container's PID 1 is the forked child of `unshare --fork`. */
  private async findInit(rt: PodRuntime, child: ChildProcess, unsharePid: number): Promise<void> {
    for (let i = 0; i < 200 && rt.child === child && child.exitCode === null; i++) {
      let kids = "";
      try {
        kids = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim();
      } catch {
        return;
      }
      if (kids) {
        const pid = Number(kids.split(/\s+/)[0]);
        rt.initPid = pid;
        this.ledger.add({ kind: "process", pid, startTime: processStartTime(pid) ?? "", what: `Pod ${rt.name} PID 1` });
        return;
      }
      await sleep(10);
    }
  }

  private onExit(rt: PodRuntime, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const pid = child.pid;
    const init = rt.initPid;
    this.ledger.remove((e) => e.kind === "process" && (e.pid === pid || e.pid === init));
    for (const t of rt.runTimers) clearTimeout(t);
    rt.runTimers.clear();
    rt.probes = {};
    rt.initPid = undefined;
    rt.child = undefined;
    rt.ready = false;
    rt.lastTerminated = { exitCode: code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0), signal: signal ?? undefined, startedAt: rt.startedAt!.toISOString(), finishedAt: new Date().toISOString() };
    this.event(rt.name, `container exited (code ${code}${signal ? `, signal ${signal}` : ""})`);
    if (rt.terminating || this.stopped) {
      rt.state = "terminated";
      return;
    }
    // restartPolicy Always, with the kubelet's back-off: the first restart at once, then 10 s doubling to 5 min; an
    // entry unused for twice the maximum starts over.
    const { initialMs, maxMs } = this.o.restartBackoff ?? { initialMs: 10_000, maxMs: 300_000 };
    const now = Date.now();
    if (now - rt.backoffUpdated > 2 * maxMs) rt.backoffMs = 0;
    const delay = rt.backoffMs;
    rt.backoffMs = rt.backoffMs ? Math.min(rt.backoffMs * 2, maxMs) : initialMs;
    rt.backoffUpdated = now;
    rt.state = "backoff";
    void this.reportStatus(rt);
    const t = setTimeout(() => {
      rt.timers.delete(t);
      if (rt.terminating || this.stopped) return;
      rt.restarts++;
      try {
        this.startContainer(rt);
      } catch (err) {
        rt.error = `restart failed: ${(err as Error).message}`;
        this.event(rt.name, rt.error, true);
      }
    }, delay);
    rt.timers.add(t);
  }

  /** SIGTERM, then SIGKILL after the grace period; then the sandbox is torn down. */
  private terminate(rt: PodRuntime, graceMs: number, why: string): Promise<void> {
    if (rt.terminating) return rt.terminating;
    rt.terminating = (async () => {
      this.event(rt.name, `${why}: stopping (grace ${Math.round(graceMs / 1000)}s)`);
      for (const t of [...rt.timers, ...rt.runTimers]) clearTimeout(t);
      rt.timers.clear();
      rt.runTimers.clear();
      if (rt.state !== "refused") rt.state = "terminating";
      await rt.starting; // it notices `terminating` at its next step and stops there
      const child = rt.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        // The container's PID 1 may not be known yet if the launcher is still assembling the root filesystem.
        for (let i = 0; i < 100 && !rt.initPid && child.exitCode === null; i++) await sleep(10);
        const target = rt.initPid ?? child.pid!;
        try {
          process.kill(target, "SIGTERM");
        } catch {
          /* already gone */
        }
        if (!(await waitExit(child, graceMs))) {
          this.event(rt.name, `still running after ${Math.round(graceMs / 1000)}s: SIGKILL`);
          // The container's PID 1 only: its parent (unshare) reaps it and exits. Killing the parent too would orphan
          // PID 1 to the host's init, as a zombie.
          try {
            process.kill(rt.initPid ?? child.pid!, "SIGKILL");
          } catch {
            /* gone */
          }
          await waitExit(child, 10_000);
        }
      }
      await rt.exited;
      await this.teardownSandbox(rt);
      if (rt.state !== "refused") rt.state = "terminated";
      this.pods_.delete(rt.uid);
    })();
    return rt.terminating;
  }

  // ---------------------------------------------------------------------------------------------------- probes and status

  private startProbes(rt: PodRuntime, child: ChildProcess): void {
    const c = rt.container;
    const startup = c.startupProbe;
    if (startup) rt.probes.startup = { successes: 0, failures: 0, ok: false };
    if (c.readinessProbe) rt.probes.readiness = { successes: 0, failures: 0, ok: false };
    if (c.livenessProbe) rt.probes.liveness = { successes: 0, failures: 0, ok: true };
    const current = () => rt.child === child && !rt.terminating && !this.stopped;
    const loop = (kind: "startup" | "readiness" | "liveness", probe: Probe) => {
      const tick = async () => {
        if (!current()) return;
        if (kind !== "startup" && rt.probes.startup && !rt.probes.startup.ok) return schedule((probe.periodSeconds ?? 10) * 1000);
        const st = rt.probes[kind]!;
        const res = await this.probe(rt, probe);
        if (!current()) return;
        if (res.ok) {
          st.failures = 0;
          st.successes++;
          if (!st.ok && st.successes >= (kind === "readiness" ? (probe.successThreshold ?? 1) : 1)) st.ok = true;
        } else {
          st.successes = 0;
          st.failures++;
          if (st.failures >= (probe.failureThreshold ?? 3)) {
            if (kind === "readiness") {
              if (st.ok) this.event(rt.name, `readiness probe failed ${st.failures} times: ${res.message}`);
              st.ok = false;
            } else {
              this.event(rt.name, `${kind} probe failed ${st.failures} times (${res.message}): restarting the container`);
              st.failures = 0;
              const grace = (probe.terminationGracePeriodSeconds ?? graceSeconds(rt.pod)) * 1000;
              const init = rt.initPid;
              if (init) {
                try {
                  process.kill(init, "SIGTERM");
                } catch {
                  /* gone */
                }
                void waitExit(child, grace).then((exited) => {
                  if (!exited && rt.initPid === init) try { process.kill(init, "SIGKILL"); } catch { /* gone */ }
                });
              }
              return;
            }
          }
        }
        if (kind === "startup" && st.ok) {
          this.updateReady(rt);
          return; // a startup probe stops once it succeeded
        }
        this.updateReady(rt);
        schedule((probe.periodSeconds ?? 10) * 1000);
      };
      const schedule = (ms: number) => {
        if (!current()) return;
        const t = setTimeout(() => {
          rt.runTimers.delete(t);
          void tick();
        }, ms);
        rt.runTimers.add(t);
      };
      schedule((probe.initialDelaySeconds ?? 0) * 1000);
    };
    if (startup) loop("startup", startup);
    if (c.readinessProbe) loop("readiness", c.readinessProbe);
    if (c.livenessProbe) loop("liveness", c.livenessProbe);
    this.updateReady(rt);
  }

  private async probe(rt: PodRuntime, p: Probe): Promise<{ ok: boolean; message: string }> {
    const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
    try {
      if (p.httpGet) {
        const port = probePort(p.httpGet.port, rt.container);
        const host = p.httpGet.host ?? rt.ip;
        const url = `${(p.httpGet.scheme ?? "HTTP").toLowerCase()}://${host}:${port}${p.httpGet.path ?? "/"}`;
        const headers: Record<string, string> = { "User-Agent": "kube-probe/1.36", Accept: "*/*" };
        for (const h of p.httpGet.httpHeaders ?? []) headers[h.name] = h.value;
        const res = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer().catch(() => undefined);
        return { ok: res.status >= 200 && res.status < 400, message: `GET ${url}: HTTP ${res.status}` };
      }
      if (p.tcpSocket) {
        const port = probePort(p.tcpSocket.port, rt.container);
        const host = p.tcpSocket.host ?? rt.ip;
        await new Promise<void>((resolve, reject) => {
          const s = net.connect({ host, port, timeout: timeoutMs }, () => {
            s.destroy();
            resolve();
          });
          s.once("timeout", () => s.destroy(new Error("timeout")));
          s.once("error", reject);
        });
        return { ok: true, message: `tcp ${host}:${port}` };
      }
      if (p.exec) {
        const r = await this.exec(rt.name, p.exec.command, { timeoutMs });
        return { ok: r.code === 0, message: `exec ${p.exec.command.join(" ")}: exit ${r.code} ${r.stderr.trim().slice(0, 200)}` };
      }
      return { ok: false, message: "probe without a handler" };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  }

  private updateReady(rt: PodRuntime): void {
    const running = rt.state === "running" && rt.child !== undefined;
    const started = !rt.probes.startup || rt.probes.startup.ok;
    const ready = running && started && (!rt.probes.readiness || rt.probes.readiness.ok);
    if (ready !== rt.ready) {
      rt.ready = ready;
      this.event(rt.name, ready ? "ready" : "not ready");
    }
    void this.reportStatus(rt);
  }

  /**
   * Writes the Pod's Ready/ContainersReady conditions and the container's status, as the kubelet does. One patch at
   * a time per Pod, always of the latest state, so two changes in quick succession never land in the wrong order.
   */
  private reportStatus(rt: PodRuntime): Promise<void> {
    rt.statusDirty = true;
    rt.statusLoop ??= (async () => {
      while (rt.statusDirty) {
        rt.statusDirty = false;
        await this.patchStatus(rt);
      }
      rt.statusLoop = undefined;
    })();
    return rt.statusLoop;
  }

  private async patchStatus(rt: PodRuntime): Promise<void> {
    if (this.stopped || rt.terminating) return;
    const c = rt.container;
    const running = rt.state === "running";
    const state = running
      ? { running: { startedAt: rt.startedAt!.toISOString() }, waiting: null, terminated: null }
      : { waiting: { reason: rt.state === "backoff" ? "CrashLoopBackOff" : rt.state === "refused" ? "CreateContainerError" : "ContainerCreating", message: rt.error ?? null }, running: null, terminated: null };
    const key = JSON.stringify([rt.ready, rt.restarts, running, rt.state]);
    if (rt.reportedStatus === key) return;
    rt.reportedStatus = key;
    const status = rt.ready ? "True" : "False";
    const now = new Date().toISOString();
    const cond = (type: string) => ({ type, status, lastTransitionTime: now, reason: rt.ready ? null : "ContainersNotReady", message: rt.ready ? null : `containers with unready status: [${c.name}]` });
    const body = {
      status: {
        conditions: [cond("Ready"), cond("ContainersReady")],
        containerStatuses: [
          {
            name: c.name,
            image: c.image ?? "",
            imageID: "",
            ready: rt.ready,
            started: running && (!rt.probes.startup || rt.probes.startup.ok),
            restartCount: rt.restarts,
            state,
            lastState: rt.lastTerminated ? { terminated: { exitCode: rt.lastTerminated.exitCode, signal: undefined, reason: rt.lastTerminated.exitCode === 0 ? "Completed" : "Error", startedAt: rt.lastTerminated.startedAt, finishedAt: rt.lastTerminated.finishedAt } } : {},
          },
        ],
      },
    };
    try {
      await this.client.request("PATCH", `/api/v1/namespaces/${rt.pod.metadata.namespace}/pods/${rt.name}/status`, { body, contentType: "application/strategic-merge-patch+json" });
    } catch (err) {
      rt.reportedStatus = undefined;
      if (!isNotFound(err)) this.event(rt.name, `could not update the Pod's status: ${(err as Error).message}`, true);
    }
  }

  // ---------------------------------------------------------------------------------------------------- API server address

  /**
   * The `kubernetes` Service's ClusterIP when the API server's certificate holds it (as a kubelet would set it),
   * else its DNS name kubernetes.default.svc, when the certificate holds that (see the header comment).
   */
  private async chooseApiServerHost(): Promise<{ host: string; why: string }> {
    const svc = this.services.find((s) => s.metadata.namespace === "default" && s.metadata.name === "kubernetes");
    const ip = svc?.spec.clusterIP;
    if (!ip) throw new Error("the cluster has no default/kubernetes Service with a ClusterIP");
    const kc = KubeConfig.fromFile(this.o.kubeconfig);
    const server = new URL(kc.requireCluster().server);
    const tlsOpts = kc.tlsOptions();
    const sans = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: server.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(server.port || 443), ca: tlsOpts.ca, rejectUnauthorized: false, servername: net.isIP(server.hostname) ? undefined : server.hostname }, () => {
        const cert = s.getPeerCertificate();
        s.destroy();
        resolve(cert.subjectaltname ?? "");
      });
      s.once("error", reject);
      s.setTimeout(10_000, () => s.destroy(new Error("TLS handshake timed out")));
    });
    const list = sans.split(/,\s*/);
    if (list.includes(`IP Address:${ip}`)) return { host: ip, why: `the API server's certificate holds the kubernetes Service IP ${ip}, as a kubelet sets it` };
    const name = "kubernetes.default.svc";
    if (list.includes(`DNS:${name}`)) {
      return { host: name, why: `the API server's certificate (SANs ${sans}) does not hold the Service IP ${ip}; ${name}, which it holds, resolves to ${ip} in every Pod's hosts file, so TLS is verified and the traffic still goes through the Service` };
    }
    throw new Error(`the API server's certificate holds neither the kubernetes Service IP ${ip} nor ${name} (SANs: ${sans}); Pods could not verify it`);
  }
}

// ---------------------------------------------------------------------------------------------------- helpers

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  if (!net.isIPv4(ip) || !net.isIPv4(base!)) return false;
  const n = (a: string) => a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(base!) / size);
}

/**
 * The grace period for stopping a Pod's container. kwok, standing in for the kubelet, force-deletes (grace 0) every
 * Pod as soon as it is marked for deletion, so the grace the deleter asked for is usually gone by the time the node
 * sees the Pod: a 0 here is kwok's and the Pod's terminationGracePeriodSeconds applies. Like the kubelet, at least 2 s.
 */
function graceSeconds(pod: Pod): number {
  const asked = pod.metadata.deletionGracePeriodSeconds || (pod.spec.terminationGracePeriodSeconds ?? 30);
  return Math.max(asked, 2);
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.off("exit", done);
      resolve(false);
    }, ms);
    const done = () => {
      clearTimeout(t);
      resolve(true);
    };
    child.once("exit", done);
  });
}

/** The kubelet's AtomicWriter: files in a timestamped directory, published by renaming the ..data symlink. */
function atomicWrite(dir: string, files: Map<string, { data: Buffer; mode: number; owner?: number }>): void {
  const ts = `..${new Date().toISOString().replace(/[:.]/g, "_")}_${Math.random().toString(36).slice(2, 8)}`;
  const tsDir = path.join(dir, ts);
  mkdirSync(tsDir, { mode: 0o755 });
  chmodSync(tsDir, 0o755);
  for (const [rel, f] of files) {
    const p = path.join(tsDir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, f.data, { mode: f.mode });
    chmodSync(p, f.mode);
    if (f.owner !== undefined) chownSync(p, f.owner, -1);
  }
  const tmp = path.join(dir, "..data_tmp");
  rmSync(tmp, { force: true });
  symlinkSync(ts, tmp);
  let old: string | undefined;
  try {
    old = readlinkSafe(path.join(dir, "..data"));
  } catch {
    old = undefined;
  }
  renameSync(tmp, path.join(dir, "..data"));
  for (const rel of files.keys()) {
    const top = rel.split("/")[0]!;
    const link = path.join(dir, top);
    if (!existsSync(link)) symlinkSync(path.join("..data", top), link);
  }
  if (old && old !== ts) rmSync(path.join(dir, old), { recursive: true, force: true });
  chmodSync(dir, 0o755);
}

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

/**
 * The container's launcher, run as root inside the new mount/PID/UTS/IPC namespaces (in the Pod's netns): it sets the
 * hostname, assembles the root filesystem on a private tmpfs (read-only binds of the host's /usr and /etc, a minimal
 * /dev, /proc of the new PID namespace, read-only /sys), bind-mounts the image's app dir and the volumes, makes the root
 * read-only if asked, pivots into it, and execs the container's argv as its uid/gid, with no_new_privs and no capabilities.
 * Nothing it mounts is visible outside the Pod's mount namespace, which dies with the container.
 */
/** The host's directories a container's root binds read-only. */
const HOST_DIRS = ["usr", "etc", "opt"];

function launcherScript(t: Record<string, string>): string {
  const mount = t.mount!;
  return `#!/bin/sh
# launch.sh ROOTFS MOUNTS HOSTNAME WORKDIR UID GID READONLY -- ARGV...   (written by test/support/process-node.ts)
set -eu
root=$1 mounts=$2 host=$3 workdir=$4 uid=$5 gid=$6 rofs=$7
shift 7
[ "\${1:-}" = -- ] && shift
${t.hostname} "$host"
${mount} -t tmpfs -o mode=0755 rootfs "$root"
robind() { ${mount} --rbind "$1" "$2"; ${mount} -o remount,bind,ro "$2"; }
for d in ${HOST_DIRS.join(" ")}; do if [ -d "/$d" ] && [ ! -L "/$d" ]; then mkdir "$root/$d"; robind "/$d" "$root/$d"; fi; done
for l in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$root/$l"; elif [ -d "/$l" ]; then mkdir "$root/$l"; robind "/$l" "$root/$l"; fi
done
mkdir "$root/dev" "$root/proc" "$root/sys" "$root/run" "$root/tmp" "$root/var"
${mount} -t tmpfs -o mode=0755,nosuid,size=64k dev "$root/dev"
for n in null zero full random urandom tty; do touch "$root/dev/$n"; ${mount} --bind "/dev/$n" "$root/dev/$n"; done
ln -s /proc/self/fd "$root/dev/fd"; ln -s /proc/self/fd/0 "$root/dev/stdin"; ln -s /proc/self/fd/1 "$root/dev/stdout"; ln -s /proc/self/fd/2 "$root/dev/stderr"
mkdir "$root/dev/shm" "$root/dev/pts"
${mount} -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=64m shm "$root/dev/shm"
${mount} -t proc -o nosuid,nodev,noexec proc "$root/proc"
robind /sys "$root/sys"
ln -s ../run "$root/var/run"
tab=$(printf '\\t')
overlays=""
while IFS=$tab read -r kind src dst mode; do
  [ -n "$kind" ] || continue
  case $kind in
    overlay)
      # The host's read-only bind of $dst is replaced by an overlay of it whose writes go to a tmpfs of the Pod's own.
      [ -d "$root/.overlay" ] || { mkdir "$root/.overlay"; ${mount} -t tmpfs -o mode=0700 overlay-upper "$root/.overlay"; }
      ${t.umount} -R "$root/$dst"
      mkdir -p "$root/.overlay/$dst/upper" "$root/.overlay/$dst/work"
      ${mount} -t overlay overlay -o "lowerdir=$src,upperdir=$root/.overlay/$dst/upper,workdir=$root/.overlay/$dst/work" "$root/$dst"
      overlays="$overlays $dst"
      continue ;;
    dir) mkdir -p "$root/$dst" ;;
    file) mkdir -p "$root/$(dirname "$dst")"; [ -e "$root/$dst" ] || touch "$root/$dst" ;;
  esac
  ${mount} --bind "$src" "$root/$dst"
  if [ "$mode" = ro ]; then ${mount} -o remount,bind,ro "$root/$dst"; fi
done < "$mounts"
# The overlays are read-only to the container, as the binds they replace were.
for d in $overlays; do ${mount} -o remount,ro "$root/$d"; done
# pivot_root, then detach the host's tree: nothing outside the Pod's root stays reachable (or referenced, like the
# /run/netns mounts of other Pods that the copied mount namespace would otherwise keep alive).
mkdir "$root/.oldroot"
cd "$root"
${t.pivot_root} . .oldroot
cd /
${t.umount} -l /.oldroot
rmdir /.oldroot
if [ -d /.overlay ]; then ${t.umount} -l /.overlay; rmdir /.overlay; fi
if [ "$rofs" = 1 ]; then ${mount} -o remount,ro /; fi
unset PWD OLDPWD
exec ${t.setpriv} --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- ${t.env} -C "$workdir" -- "$@"
`;
}

/** Starts a process node (see ProcessNode). */
export function startProcessNode(o: ProcessNodeOptions): Promise<ProcessNode> {
  return ProcessNode.start(o);
}
