// The host side of the process node (process-node.ts): running the machine's tools, checking that they exist, and a
// ledger of everything the node changes on the host (network namespaces, veths, routes, sysctls, processes, directories,
// Service rules), persisted as it grows so that stop() — or the next start() after a crash — undoes exactly that.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Where the node keeps its lock and ledger (tmpfs: gone after a reboot, like the namespaces it describes). */
export const STATE_DIR = "/run/mooring-process-node";

export class HostCommandError extends Error {}

/** Runs a command synchronously; a non-zero exit throws with the command line and its output. */
export function sh(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, timeout: opts.timeoutMs ?? 30_000 });
  if (r.error) throw new HostCommandError(`${cmd} ${args.join(" ")} could not run: ${r.error.message}`);
  const res = { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  if (res.status !== 0 && !opts.allowFail) throw new HostCommandError(`${cmd} ${args.join(" ")} failed (exit ${res.status}): ${(r.stderr || r.stdout).trim()}`);
  return res;
}

/** Absolute path of a command on PATH (plus the sbin directories a non-login root shell may lack), or undefined. */
export function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Fails loudly unless this process is root and has every tool the node runs. Returns their absolute paths.
 * Never a skip: a test that needs the node and cannot have it fails with what to install.
 */
export function preflight(tools: string[]): Record<string, string> {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    throw new Error(`the process node must run as root (it creates network namespaces, veths, routes, mounts and Service rules); this process runs as uid ${process.getuid?.()}`);
  }
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const t of tools) {
    const p = which(t);
    if (p) found[t] = p;
    else missing.push(t);
  }
  if (missing.length) {
    throw new Error(`the process node needs ${missing.join(", ")}, missing on this machine: run 'bash hack/process-node-deps.sh' (installs iptables, conntrack, tini; ip comes with iproute2, unshare/nsenter/setpriv with util-linux)`);
  }
  return found;
}

export function readSysctl(key: string): string {
  return readFileSync(path.join("/proc/sys", key.replace(/\./g, "/")), "utf8").trim();
}

export function writeSysctl(key: string, value: string): void {
  writeFileSync(path.join("/proc/sys", key.replace(/\./g, "/")), value);
}

/** A process's start time (clock ticks since boot), so a recycled pid is never mistaken for one of ours. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Whether a process runs (a zombie does not: it is only waiting to be reaped). */
export function alive(pid: number, startTime?: string): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return false;
  return startTime === undefined || fields[19] === startTime;
}

/** One change to the host, in the order made; undone in reverse. */
export type LedgerEntry =
  | { kind: "sysctl"; key: string; original: string }
  | { kind: "netns"; name: string }
  | { kind: "link"; name: string }
  | { kind: "route"; dst: string; dev: string }
  | { kind: "process"; pid: number; startTime: string; what: string }
  | { kind: "dir"; path: string }
  | { kind: "chain"; cmd: string; table: string; chain: string; from: string }
  | { kind: "rule"; cmd: string; table: string; chain: string; spec: string[] }
  | { kind: "kube-proxy-rules"; binary: string; config: string; chainsBefore: string[] };

/**
 * The record of what the node changed, written to STATE_DIR/ledger.json on every change. `undo()` reverts entries
 * newest first and keeps those it could not revert (with the reason), so nothing is forgotten silently.
 */
export class Ledger {
  private entries: LedgerEntry[] = [];
  readonly file = path.join(STATE_DIR, "ledger.json");

  static load(): Ledger {
    const l = new Ledger();
    try {
      l.entries = JSON.parse(readFileSync(l.file, "utf8")) as LedgerEntry[];
    } catch {
      l.entries = [];
    }
    return l;
  }

  add(e: LedgerEntry): void {
    this.entries.push(e);
    this.save();
  }

  remove(pred: (e: LedgerEntry) => boolean): void {
    this.entries = this.entries.filter((e) => !pred(e));
    this.save();
  }

  has(pred: (e: LedgerEntry) => boolean): boolean {
    return this.entries.some(pred);
  }

  list(): readonly LedgerEntry[] {
    return this.entries;
  }

  private save(): void {
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(this.file, JSON.stringify(this.entries, null, 1));
  }

  /** Reverts one entry; throws when it cannot. */
  static async revert(e: LedgerEntry): Promise<void> {
    switch (e.kind) {
      case "process": {
        if (!alive(e.pid, e.startTime)) return;
        process.kill(e.pid, "SIGKILL");
        for (let i = 0; i < 100 && alive(e.pid, e.startTime); i++) await sleep(50);
        if (alive(e.pid, e.startTime)) throw new Error(`${e.what} (pid ${e.pid}) survived SIGKILL`);
        return;
      }
      case "route":
        if (sh("ip", ["route", "show", `${e.dst}/32`, "dev", e.dev], { allowFail: true }).stdout.trim()) sh("ip", ["route", "del", `${e.dst}/32`, "dev", e.dev]);
        return;
      case "link":
        if (sh("ip", ["link", "show", e.name], { allowFail: true }).status === 0) sh("ip", ["link", "del", e.name]);
        return;
      case "netns":
        if (existsSync(`/run/netns/${e.name}`)) sh("ip", ["netns", "del", e.name]);
        return;
      case "sysctl":
        writeSysctl(e.key, e.original);
        return;
      case "dir":
        rmSync(e.path, { recursive: true, force: true });
        return;
      case "rule":
        if (sh(e.cmd, ["-t", e.table, "-C", e.chain, ...e.spec], { allowFail: true }).status === 0) sh(e.cmd, ["-t", e.table, "-D", e.chain, ...e.spec]);
        return;
      case "chain":
        if (sh(e.cmd, ["-t", e.table, "-C", e.from, "-j", e.chain], { allowFail: true }).status === 0) sh(e.cmd, ["-t", e.table, "-D", e.from, "-j", e.chain]);
        if (sh(e.cmd, ["-t", e.table, "-L", e.chain, "-n"], { allowFail: true }).status === 0) {
          sh(e.cmd, ["-t", e.table, "-F", e.chain]);
          sh(e.cmd, ["-t", e.table, "-X", e.chain]);
        }
        return;
      case "kube-proxy-rules": {
        // kube-proxy's own clean-up removes the chains and rules of its proxy modes; it leaves KUBE-FIREWALL (and the
        // jumps to it from INPUT/OUTPUT), so every KUBE-* chain that was not there before kube-proxy started goes too.
        sh(e.binary, ["--cleanup", `--config=${e.config}`], { allowFail: true, timeoutMs: 60_000 });
        removeChains(new Set(e.chainsBefore));
        const left = kubeChains().filter((c) => !e.chainsBefore.includes(c));
        if (left.length) throw new Error(`Service rules left after kube-proxy --cleanup: ${left.join(", ")}`);
        return;
      }
    }
  }

  /** Reverts every entry (or those matching), newest first; returns the failures, keeping those entries. */
  async undo(pred: (e: LedgerEntry) => boolean = () => true): Promise<string[]> {
    const failures: string[] = [];
    for (const e of [...this.entries].reverse()) {
      if (!pred(e)) continue;
      try {
        await Ledger.revert(e);
        this.entries = this.entries.filter((x) => x !== e);
      } catch (err) {
        failures.push(`${JSON.stringify(e)}: ${(err as Error).message}`);
      }
    }
    this.save();
    return failures;
  }
}

/**
 * One process node per machine (like one kubelet per node: the Service rules and the netns names are host-wide).
 * Takes STATE_DIR/lock, waiting up to `waitMs` for another holder; a lock whose holder died is taken over, and the
 * dead holder's ledger undone first (a test run that was SIGKILLed leaves no namespaces behind for the next one).
 */
export async function acquireHostLock(waitMs: number): Promise<{ ledger: Ledger; staleCleanup: string[]; release(): void }> {
  mkdirSync(STATE_DIR, { recursive: true });
  const lock = path.join(STATE_DIR, "lock");
  const me = `${process.pid} ${processStartTime(process.pid)}`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(lock, me, { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder = "";
    try {
      holder = readFileSync(lock, "utf8");
    } catch {
      continue; // released between our attempts
    }
    const [pid, start] = holder.split(" ");
    if (!pid || !alive(Number(pid), start)) {
      rmSync(lock, { force: true }); // its holder is gone; the ledger below undoes what it left
      continue;
    }
    if (Number(pid) === process.pid) throw new Error("a process node is already running in this process (one per machine, like a kubelet per node); stop() it first");
    if (Date.now() > deadline) throw new Error(`another process node (pid ${pid}) holds ${lock}; only one can run on a machine at a time`);
    await sleep(500);
  }
  const ledger = Ledger.load();
  const staleCleanup = ledger.list().length ? await ledger.undo() : [];
  if (staleCleanup.length) {
    rmSync(lock, { force: true });
    throw new Error(`could not clean up what a crashed process node left (ledger ${ledger.file}):\n${staleCleanup.join("\n")}`);
  }
  return {
    ledger,
    staleCleanup,
    release: () => {
      try {
        if (readFileSync(lock, "utf8") === me) rmSync(lock, { force: true });
      } catch {
        /* already gone */
      }
    },
  };
}

const FAMILIES = [
  { save: "iptables-save", restore: "iptables-restore" },
  { save: "ip6tables-save", restore: "ip6tables-restore" },
];

/** Every KUBE-* chain on the host, as "<save command> <table> <chain>". */
export function kubeChains(): string[] {
  const out: string[] = [];
  for (const f of FAMILIES) {
    let table = "";
    for (const line of sh(f.save, [], { allowFail: true }).stdout.split("\n")) {
      if (line.startsWith("*")) table = line.slice(1);
      const m = /^:(KUBE-\S+)/.exec(line);
      if (m) out.push(`${f.save} ${table} ${m[1]}`);
    }
  }
  return out;
}

/** Deletes the KUBE-* chains not in `keep`, and every rule (in any chain) that jumps to one of them. */
function removeChains(keep: Set<string>): void {
  for (const f of FAMILIES) {
    const byTable = new Map<string, string[]>();
    let table = "";
    for (const line of sh(f.save, [], { allowFail: true }).stdout.split("\n")) {
      if (line.startsWith("*")) {
        table = line.slice(1);
        byTable.set(table, []);
      } else if (table && line && !line.startsWith("#") && line !== "COMMIT") byTable.get(table)!.push(line);
    }
    let script = "";
    for (const [t, lines] of byTable) {
      const ours = new Set(lines.map((l) => /^:(KUBE-\S+)/.exec(l)?.[1]).filter((c): c is string => !!c && !keep.has(`${f.save} ${t} ${c}`)));
      if (!ours.size) continue;
      const dels = lines.filter((l) => l.startsWith("-A ")).filter((l) => {
        const [, chain] = l.split(" ");
        const target = /-[jg] (\S+)/.exec(l)?.[1];
        return !ours.has(chain!) && target !== undefined && ours.has(target);
      });
      script += `*${t}\n${dels.map((l) => `-D${l.slice(2)}`).join("\n")}${dels.length ? "\n" : ""}${[...ours].map((c) => `-F ${c}`).join("\n")}\n${[...ours].map((c) => `-X ${c}`).join("\n")}\nCOMMIT\n`;
    }
    if (script) sh(f.restore, ["--noflush"], { input: script });
  }
}

/** Names of the network namespaces on the host (for the test that nothing is left behind). */
export function listNetns(): string[] {
  try {
    return readdirSync("/run/netns");
  } catch {
    return [];
  }
}
