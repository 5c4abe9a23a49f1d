// The local cluster's life cycle on a cluster of its own (never the shared test cluster): a port already taken is
// refused with a clear line, a stale cluster from an earlier run is recreated, and `down` leaves no process behind.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { REPO_ROOT } from "../../support/cluster.js";

const NAME = "lifecycle-test";
const dir = path.join(process.env.KWOK_WORKDIR ?? path.join(os.homedir(), ".kwok"), "clusters", NAME);

function cluster(verb: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync("bash", [path.join(REPO_ROOT, "hack/cluster.sh"), verb, NAME], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 180_000 });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

function processesOf(): string[] {
  const r = spawnSync("pgrep", ["-f", `${dir}/`], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean);
}

describe("local cluster life cycle", () => {
  after(() => {
    cluster("down");
  });

  it("refuses an API server port that is already in use, naming it", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = cluster("up", { MOORING_APISERVER_PORT: String(port) });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`cluster: error: port ${port} \\(MOORING_APISERVER_PORT\\) is already in use; free it or choose another port`));
      assert.equal(cluster("status").stdout, "absent");
    } finally {
      server.close();
    }
  });

  it("starts, then recreates a stale cluster whose processes died, then leaves no process behind", () => {
    const up = cluster("up");
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout.split("\n").pop(), path.join(dir, "kubeconfig.yaml"));
    const nodes = execFileSync("kubectl", ["--kubeconfig", up.stdout.split("\n").pop()!, "get", "nodes", "--no-headers"], { encoding: "utf8" });
    assert.match(nodes, /\bReady\b/);

    // An earlier run that died: its processes are gone but its state is still on disk.
    spawnSync("pkill", ["-KILL", "-f", `${dir}/`]);
    assert.equal(cluster("status").stdout, "stopped");
    const again = cluster("up");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /found a stale cluster lifecycle-test from an earlier run \(not answering\); recreating it/);
    assert.equal(cluster("status").stdout, "running");

    assert.equal(cluster("down").code, 0);
    assert.deepEqual(processesOf(), []);
    assert.equal(cluster("status").stdout, "absent");
  });
});
