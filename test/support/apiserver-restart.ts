// Hard-kills (SIGKILL) the kube-apiserver of a local cluster made by hack/cluster.sh and starts it again with the
// same command line, as a crash and restart would. Resilience tests need a real kill: on SIGTERM the API server
// shuts down gracefully and keeps serving open watches for a while, so the client never sees the connection break.
// (hack/cluster.sh restart-apiserver sends SIGTERM; see the runtime's report for the change proposed there.)
import { openSync, readFileSync, readdirSync, readlinkSync, writeFileSync, existsSync, closeSync } from "node:fs";
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

function clusterDir(cluster: string): string {
  return path.join(process.env.KWOK_WORKDIR ?? path.join(os.homedir(), ".kwok"), "clusters", cluster);
}

/** Pids whose executable is this cluster's kube-apiserver binary. */
function apiServerPids(dir: string): number[] {
  const bin = path.join(dir, "bin", "kube-apiserver");
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv0 = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")[0];
      if (argv0 === bin) pids.push(Number(entry));
    } catch {
      /* the process ended meanwhile */
    }
  }
  return pids;
}

/**
 * SIGKILLs the cluster's kube-apiserver, waits `pauseMs`, and starts it again (detached, logging to its usual log).
 * Resolves once the new process is started (the caller waits for it to answer).
 */
export async function killAndRestartApiServer(cluster: string, pauseMs = 2000): Promise<number> {
  const dir = clusterDir(cluster);
  const pids = apiServerPids(dir);
  if (pids.length !== 1) throw new Error(`expected one kube-apiserver process for cluster ${cluster}, found ${pids.length} (${pids.join(", ")}); is it up? (bash hack/cluster.sh up ${cluster})`);
  const pid = pids[0]!;
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  const cwd = readlinkSync(`/proc/${pid}/cwd`);
  process.kill(pid, "SIGKILL");
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, "utf8") !== ""; i++) await sleep(100);
  await sleep(pauseMs);
  const logFd = openSync(path.join(dir, "logs", "kube-apiserver.log"), "a");
  const child = spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  child.unref();
  if (!child.pid) throw new Error(`could not start kube-apiserver again for cluster ${cluster}`);
  writeFileSync(path.join(dir, "pids", "kube-apiserver.pid"), `${child.pid}\n`);
  return child.pid;
}
