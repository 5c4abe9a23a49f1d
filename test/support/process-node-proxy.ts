// Services for the process node: the real kube-proxy (k8s.io/kubernetes/cmd/kube-proxy at the pinned Kubernetes
// version), in iptables mode, run on the host the way a node runs it. It watches Services and EndpointSlices
// (EndpointSlices the real kube-controller-manager builds from the kwok Pod IPs and the Ready conditions the node
// writes) and DNATs each ClusterIP:port to the ready endpoints, masquerading a Pod that reaches itself (hairpin).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { kubeChains, type Ledger, processStartTime, readSysctl, sh } from "./process-node-host.js";

/** Where `make tools` puts the binaries (hack/tools.sh), unless MOORING_KUBE_PROXY names one. */
export function kubeProxyBinary(): string {
  const explicit = process.env.MOORING_KUBE_PROXY;
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`MOORING_KUBE_PROXY=${explicit} does not exist`);
    return explicit;
  }
  const cache = process.env.MOORING_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "mooring");
  const bin = path.join(cache, "bin/kube-proxy");
  if (!existsSync(bin)) throw new Error(`kube-proxy is not at ${bin}; run 'make tools' (hack/tools.sh builds k8s.io/kubernetes/cmd/kube-proxy at the pinned Kubernetes version), or set MOORING_KUBE_PROXY`);
  return bin;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.once("error", reject);
  });
}

/** sysctls kube-proxy may write; the ledger restores them, so the host is left as found. */
const PROXY_SYSCTLS = [
  "net.ipv4.conf.all.route_localnet",
  "net.netfilter.nf_conntrack_max",
  "net.netfilter.nf_conntrack_tcp_timeout_established",
  "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
  "net.netfilter.nf_conntrack_tcp_be_liberal",
  "net.bridge.bridge-nf-call-iptables",
];

export interface KubeProxy {
  process: ChildProcess;
  healthzPort: number;
  logs(): string;
  /** Waits until kube-proxy has programmed rules for a Service (its KUBE-SVC chain is in the nat table). */
  waitForServiceRules(namespace: string, name: string, timeoutMs?: number): Promise<void>;
}

export async function startKubeProxy(o: { binary: string; kubeconfig: string; nodeName: string; workDir: string; ledger: Ledger }): Promise<KubeProxy> {
  const [healthzPort, metricsPort] = [await freePort(), await freePort()];
  const config = path.join(o.workDir, "kube-proxy.yaml");
  // A KubeProxyConfiguration as a node's kube-proxy DaemonSet would carry, minus what would change the host beyond
  // its own rules: no conntrack table resizing or timeouts (0 = leave as is), no route_localnet (localhost NodePorts
  // off), health and metrics on loopback ports of our choosing (the defaults are fixed ports).
  writeFileSync(
    config,
    [
      "apiVersion: kubeproxy.config.k8s.io/v1alpha1",
      "kind: KubeProxyConfiguration",
      "clientConnection:",
      `  kubeconfig: ${JSON.stringify(o.kubeconfig)}`,
      `hostnameOverride: ${JSON.stringify(o.nodeName)}`,
      "mode: iptables",
      `healthzBindAddress: 127.0.0.1:${healthzPort}`,
      `metricsBindAddress: 127.0.0.1:${metricsPort}`,
      "oomScoreAdj: 0",
      "nodePortAddresses: [primary]",
      "conntrack:",
      "  maxPerCore: 0",
      "  min: 0",
      "  tcpEstablishedTimeout: 0s",
      "  tcpCloseWaitTimeout: 0s",
      "iptables:",
      "  localhostNodePorts: false",
      "  minSyncPeriod: 0s",
      "  syncPeriod: 30s",
      "",
    ].join("\n"),
  );
  for (const key of PROXY_SYSCTLS) {
    let original: string;
    try {
      original = readSysctl(key);
    } catch {
      continue; // not on this kernel (e.g. br_netfilter not loaded)
    }
    o.ledger.add({ kind: "sysctl", key, original });
  }
  // Rules first in the ledger, so they are removed after the process is gone (the ledger undoes newest first).
  o.ledger.add({ kind: "kube-proxy-rules", binary: o.binary, config, chainsBefore: kubeChains() });
  let output = "";
  const child = spawn(o.binary, [`--config=${config}`, "--v=1"], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (b: Buffer) => (output = (output + b.toString()).slice(-200_000)));
  child.stderr!.on("data", (b: Buffer) => (output = (output + b.toString()).slice(-200_000)));
  const spawned = await new Promise<boolean>((resolve) => {
    child.once("spawn", () => resolve(true));
    child.once("error", (err) => {
      output += `\n${err.message}`;
      resolve(false);
    });
  });
  if (!spawned || !child.pid) throw new Error(`kube-proxy could not start: ${output}`);
  o.ledger.add({ kind: "process", pid: child.pid, startTime: processStartTime(child.pid) ?? "", what: "kube-proxy" });
  // /healthz answers 200 once the first full sync of the rules is done.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kube-proxy exited with ${child.exitCode}:\n${output.slice(-4000)}`);
    const ok = await fetch(`http://127.0.0.1:${healthzPort}/healthz`).then((r) => r.status === 200).catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`kube-proxy did not become healthy within 60s:\n${output.slice(-4000)}`);
    await sleep(250);
  }
  return {
    process: child,
    healthzPort,
    logs: () => output,
    async waitForServiceRules(namespace, name, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      const comment = `${namespace}/${name}`;
      for (;;) {
        const nat = sh("iptables-save", ["-t", "nat"], { allowFail: true }).stdout;
        if (nat.split("\n").some((l) => l.includes("-A KUBE-SERVICES") && l.includes(comment))) return;
        if (Date.now() > until) throw new Error(`kube-proxy wrote no rule for Service ${comment} within ${timeoutMs / 1000}s`);
        await sleep(200);
      }
    },
  };
}
