// The set-up scripts fail with one clear line naming the cause and what to do, never a bare trace or a silent pass.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../../support/cluster.js";

function run(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync("bash", [path.join(REPO_ROOT, "hack", script), ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

const emptyCache = () => mkdtempSync(path.join(tmpdir(), "mooring-cache-"));

describe("hack/tools.sh", () => {
  it("without Go says to install it", () => {
    const r = run("tools.sh", [], { PATH: "/usr/bin:/bin", MOORING_CACHE: emptyCache() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tools: error: Go is not installed; install Go 1\.26\+ .* and run 'make tools' again$/m);
  });

  it("with an unreachable module proxy and nothing cached says so", () => {
    const r = run("tools.sh", [], { GOPROXY: "http://127.0.0.1:9", MOORING_CACHE: emptyCache() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tools: error: the Go module proxy http:\/\/127\.0\.0\.1:9 is unreachable .*check the network or set GOPROXY/);
  });
});

describe("hack/cluster.sh", () => {
  it("before the tools are built says to run make tools", () => {
    const r = run("cluster.sh", ["up", "never-built"], { MOORING_CACHE: emptyCache() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cluster: error: kwokctl is not built yet; run 'make tools'/);
  });

  it("refuses an invalid cluster name and an unknown verb", () => {
    assert.match(run("cluster.sh", ["up", "Bad_Name"], {}).stderr, /invalid cluster name 'Bad_Name'/);
    const r = run("cluster.sh", ["launch"], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /usage: cluster\.sh up\|down\|status\|kubeconfig\|restart-apiserver/);
  });

  it("reports an absent cluster as absent", () => {
    const r = run("cluster.sh", ["status", "no-such-cluster"], {});
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), "absent");
  });
});
