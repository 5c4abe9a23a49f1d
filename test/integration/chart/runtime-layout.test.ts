// The image cannot be built here (no Docker engine), so this test rebuilds its runtime stage's file layout
// in a temporary directory — dist/ from `tsc -p tsconfig.build.json`, package.json, and only the production
// dependencies (what `npm ci --omit=dev` installs from the same lock file) — and runs the image's entry point
// from it against the real cluster, as the chart's all-in-one ServiceAccount. It catches a runtime import
// of a dev dependency, a wrong entry-point path, a process that writes into its own directory (the root
// filesystem is read-only in the chart), and a process that does not stop on SIGTERM (tini forwards it).
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, copyFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { imageNodeFlags } from "../../../hack/lib/image-entrypoint.js";
import { installCrds } from "../../../src/api/install.js";
import { REPO_ROOT, testCluster, type TestCluster } from "../../support/cluster.js";
import { impersonatingKubeconfig, installChart, type ChartRelease } from "../../support/helm.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

const ENTRY = "dist/src/cli/main.js"; // the Dockerfile's ENTRYPOINT, checked against package.json by the unit test
const NODE_FLAGS = imageNodeFlags(REPO_ROOT); // as the image's ENTRYPOINT runs node

/** Links node_modules/<name> for every package of the production dependency closure, as npm ci --omit=dev would install. */
function linkProductionDependencies(appDir: string): number {
  const r = spawnSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
  assert.ok(r.stdout, `npm ls failed: ${r.stderr}`);
  const top = r.stdout.split("\n").map((p) => path.relative(REPO_ROOT, p)).filter((rel) => /^node_modules\/(@[^/]+\/)?[^/@]+$/.test(rel));
  for (const rel of top) {
    mkdirSync(path.dirname(path.join(appDir, rel)), { recursive: true });
    symlinkSync(path.join(REPO_ROOT, rel), path.join(appDir, rel), "dir");
  }
  return top.length;
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

function listTree(dir: string, skip: Set<string>): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).filter((p) => !skip.has(p.split(path.sep)[0]!)).sort();
}

void describe("the image's runtime layout (production dependencies only) runs the operator", () => {
  let app: string;
  let c: TestCluster;
  let ns: TestNamespace | undefined;
  let rel: ChartRelease | undefined;
  let proc: ChildProcess | undefined;

  before(async () => {
    app = mkdtempSync(path.join(os.tmpdir(), "mooring-image-"));
    const build = spawnSync(path.join(REPO_ROOT, "node_modules/.bin/tsc"), ["-p", path.join(REPO_ROOT, "tsconfig.build.json"), "--outDir", path.join(app, "dist"), "--declaration", "false", "--sourceMap", "false"], { encoding: "utf8", timeout: 180_000 });
    assert.equal(build.status, 0, `tsc -p tsconfig.build.json failed:\n${build.stdout}${build.stderr}`);
    copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(app, "package.json"));
    assert.ok(linkProductionDependencies(app) > 5);
    for (const dev of ["typescript", "tsx", "eslint"]) assert.ok(!existsSync(path.join(app, "node_modules", dev)), `dev dependency ${dev} must not be in the runtime layout`);
    c = await testCluster();
    // The chart is installed with --skip-crds (other suites share the cluster-wide CRDs): make sure they exist, so
    // this file also passes on its own on a fresh cluster.
    await installCrds(c.kc);
    ns = await createTestNamespace(c, "image");
    rel = installChart({ kubeconfigPath: c.kubeconfigPath, namespace: ns.name, mode: "all-in-one" });
  });

  after(async () => {
    if (proc && proc.exitCode === null) proc.kill("SIGKILL");
    rel?.uninstall();
    await ns?.cleanup();
    rmSync(app, { recursive: true, force: true });
  });

  void it("prints the CLI's help from the entry point", () => {
    const r = spawnSync("node", [ENTRY, "controller", "--help"], { cwd: app, encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /--controllers <list>/);
  });

  void it("starts as the chart's ServiceAccount, answers /healthz, writes only to its volumes, and exits 0 on SIGTERM", async () => {
    const data = path.join(app, "data");
    const tmp = path.join(app, "tmp");
    mkdirSync(data);
    mkdirSync(tmp);
    const initial = listTree(app, new Set(["data", "tmp", "node_modules"]));
    const kubeconfig = impersonatingKubeconfig(c.kubeconfigPath, rel!.serviceAccountUsers["all-in-one"]!, path.join(tmp, "kubeconfig"));
    const [health, metrics, artifact, webhook] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    let output = "";
    // The container's environment: HOME and TMPDIR on the writable volume, storage on /data. Its own namespace only:
    // a cluster-wide operator would reconcile the Applications of the tests running beside it.
    proc = spawn("node", [...NODE_FLAGS, ENTRY, "controller", "--controllers=source,render,apply", `--watch-namespace=${ns!.name}`, `--kubeconfig=${kubeconfig}`, `--health-addr=127.0.0.1:${health}`, `--metrics-addr=127.0.0.1:${metrics}`, `--artifact-addr=127.0.0.1:${artifact}`, `--webhook-addr=127.0.0.1:${webhook}`, "--log-format=json"], {
      cwd: app,
      env: { PATH: process.env.PATH, NODE_ENV: "production", HOME: tmp, TMPDIR: tmp, MOORING_STORAGE_PATH: data },
      stdio: ["ignore", "pipe", "pipe"],
    });
    proc.stdout!.on("data", (b: Buffer) => (output += b.toString()));
    proc.stderr!.on("data", (b: Buffer) => (output += b.toString()));

    await waitFor(`/healthz on :${health}`, async () => {
      if (proc!.exitCode !== null) throw new Error(`the operator exited with ${proc!.exitCode}: ${output}`);
      const res = await fetch(`http://127.0.0.1:${health}/healthz`).catch(() => undefined);
      return res?.status === 200;
    }, { timeoutMs: 30_000 }).catch((err: Error) => {
      throw new Error(`${err.message}; the operator's output so far:\n${output.slice(-2000)}`);
    });

    proc.kill("SIGTERM");
    const code = await waitFor("the operator to exit after SIGTERM", () => (proc!.exitCode !== null || proc!.signalCode !== null) && { code: proc!.exitCode, signal: proc!.signalCode }, { timeoutMs: 20_000 });
    assert.deepEqual(code, { code: 0, signal: null }, `the operator should exit 0 on SIGTERM; output:\n${output}`);
    assert.deepEqual(listTree(app, new Set(["data", "tmp", "node_modules"])), initial, "nothing written outside the storage and tmp volumes");
  });
});
