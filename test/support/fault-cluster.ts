// Control-plane faults on the local kwok cluster (hack/cluster.sh runs it with kwokctl --runtime=binary, so every
// component is a plain process whose command line is in /proc): SIGKILL a component and start it again with the
// same command line, working directory, log file and pid file, as a crash and a restart by a supervisor would;
// request an etcd compaction through etcd's gRPC gateway (POST /v3/kv/compaction on its client port: etcdctl is
// not built), so that watches resumed from an older resourceVersion get 410 Gone.
//
// Only the fault cluster (MOORING_TEST_CLUSTER, mooring-faults under `make faults`) is ever touched: every helper
// takes the cluster name, and refuses the shared test clusters.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export type Component = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kwok-controller";
export const COMPONENTS: readonly Component[] = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"];

const SHARED = new Set(["mooring-test", "mooring-cold", "mooring-e2e", "mooring"]);

export function clusterDir(cluster: string): string {
  if (SHARED.has(cluster)) throw new Error(`refusing to inject control-plane faults into the shared cluster ${cluster}; run the fault suite on its own cluster (make faults uses mooring-faults)`);
  return path.join(process.env.KWOK_WORKDIR ?? path.join(os.homedir(), ".kwok"), "clusters", cluster);
}

interface Proc {
  pid: number;
  argv: string[];
  cwd: string;
}

/** The running processes of a component: those whose executable is the cluster's copy of its binary. */
export function componentProcs(cluster: string, component: Component): Proc[] {
  const bin = path.join(clusterDir(cluster), "bin", component);
  const out: Proc[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (argv[0] === bin) out.push({ pid: Number(entry), argv, cwd: readlinkSync(`/proc/${entry}/cwd`) });
    } catch {
      /* ended meanwhile */
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] !== "Z";
  } catch {
    return false;
  }
}

/** Command lines of every component, recorded while the cluster is healthy, to start any of them again later. */
export class ControlPlane {
  private readonly cmd = new Map<Component, Proc>();
  /** Components started again by `heal` because they had died on their own (reported by the tests). */
  readonly healed: string[] = [];

  constructor(readonly cluster: string) {
    for (const c of COMPONENTS) {
      const procs = componentProcs(cluster, c);
      if (procs.length !== 1) throw new Error(`expected one ${c} process for cluster ${cluster}, found ${procs.length}; is it up? (bash hack/cluster.sh up ${cluster})`);
      this.cmd.set(c, procs[0]!);
    }
  }

  get dir(): string {
    return clusterDir(this.cluster);
  }

  /** etcd's client URL, from its command line (--advertise-client-urls, with 0.0.0.0 read as loopback). */
  get etcdUrl(): string {
    const arg = this.cmd.get("etcd")!.argv.find((a) => a.startsWith("--advertise-client-urls="))!;
    return arg.slice(arg.indexOf("=") + 1).split(",")[0]!.replace("0.0.0.0", "127.0.0.1");
  }

  /** SIGKILLs the component and waits until it is gone. */
  async kill(c: Component): Promise<void> {
    for (const p of componentProcs(this.cluster, c)) {
      process.kill(p.pid, "SIGKILL");
      for (let i = 0; i < 100 && alive(p.pid); i++) await sleep(50);
    }
  }

  /** Starts the component with its recorded command line (detached, appending to its log, updating its pid file). */
  start(c: Component): number {
    const p = this.cmd.get(c)!;
    const logFd = openSync(path.join(this.dir, "logs", `${c}.log`), "a");
    const child = spawn(p.argv[0]!, p.argv.slice(1), { cwd: p.cwd, detached: true, stdio: ["ignore", logFd, logFd] });
    closeSync(logFd);
    child.unref();
    if (!child.pid) throw new Error(`could not start ${c} again for cluster ${this.cluster}`);
    const pidFile = path.join(this.dir, "pids", `${c}.pid`);
    if (existsSync(path.dirname(pidFile))) writeFileSync(pidFile, `${child.pid}\n`);
    return child.pid;
  }

  /** SIGKILL, a pause, and a start with the same command line. */
  async restart(c: Component, pauseMs: number): Promise<void> {
    await this.kill(c);
    await sleep(pauseMs);
    this.start(c);
  }

  /**
   * Starts again every component that is no longer running (kube-controller-manager and kube-scheduler exit when
   * they cannot renew their leases during a long outage, as they would in a real cluster, where the kubelet restarts
   * them). Returns the components started.
   */
  heal(): Component[] {
    const started: Component[] = [];
    for (const c of COMPONENTS) {
      if (componentProcs(this.cluster, c).length === 0) {
        this.start(c);
        started.push(c);
        this.healed.push(c);
      }
    }
    return started;
  }

  /** etcd's current revision (a range request through the gRPC gateway). */
  async etcdRevision(): Promise<number> {
    const res = await fetch(`${this.etcdUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: Buffer.from("/registry/namespaces/default").toString("base64") }), signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`etcd range: HTTP ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { header?: { revision?: string } };
    return Number(body.header?.revision);
  }

  /** Compacts etcd's history up to its current revision (physically): every older resourceVersion is gone. */
  async compact(): Promise<number> {
    const revision = await this.etcdRevision();
    const res = await fetch(`${this.etcdUrl}/v3/kv/compaction`, { method: "POST", body: JSON.stringify({ revision: String(revision), physical: true }), signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`etcd compaction at ${revision}: HTTP ${res.status} ${await res.text()}`);
    return revision;
  }

  /** Waits until etcd answers a range request. */
  async waitEtcd(timeoutMs = 30_000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; ; ) {
      try {
        await this.etcdRevision();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`etcd of ${this.cluster} did not answer within ${timeoutMs} ms: ${(err as Error).message}`);
        await sleep(200);
      }
    }
  }
}
