// The kind end-to-end path cannot run here (no Docker engine), so these tests keep it from rotting:
// the script parses, the workflow runs exactly the script, and both use the pinned tool versions.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { REPO_ROOT } from "../../support/cluster.js";

const script = path.join(REPO_ROOT, "hack/e2e-kind.sh");
const scriptText = readFileSync(script, "utf8");
interface Step { uses?: string; run?: string; with?: Record<string, unknown> }
const workflow = parse(readFileSync(path.join(REPO_ROOT, ".github/workflows/e2e.yaml"), "utf8")) as { on: unknown; jobs: Record<string, { steps: Step[] }> };

void describe("kind end-to-end script and workflow", () => {
  void it("the script is valid bash", () => {
    const r = spawnSync("bash", ["-n", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });

  void it("the script refuses an unknown step with a usage line", () => {
    const r = spawnSync("bash", [script, "bogus"], { encoding: "utf8", timeout: 10_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown step 'bogus'; use: tools, all/);
  });

  void it("the script builds the image, loads it into kind, installs the chart with it and runs the e2e suite", () => {
    for (const step of [/kind create cluster/, /docker build -t "\$IMAGE"/, /kind load docker-image "\$IMAGE"/, /helm upgrade --install[^\n]*charts\/mooring/, /image\.pullPolicy=Never/, /MOORING_TEST_KUBECONFIG=/, /e2e-only/]) {
      assert.match(scriptText, step);
    }
  });

  void it("builds helm with the same version flags as hack/tools.sh", () => {
    const tools = readFileSync(path.join(REPO_ROOT, "hack/tools.sh"), "utf8");
    for (const ld of ["helm.sh/helm/v3/internal/version.version=", "helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1", "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor="]) {
      assert.ok(tools.includes(ld), `hack/tools.sh sets ${ld}`);
      assert.ok(scriptText.includes(ld), `hack/e2e-kind.sh sets ${ld}`);
    }
  });

  void it("the workflow runs on every push with Node 20 and Go, and its only test step is the script", () => {
    assert.ok(workflow.on && typeof workflow.on === "object" && "push" in workflow.on);
    const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
    const node = steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
    assert.equal(String(node?.with?.["node-version"]), "20");
    assert.ok(steps.some((s) => s.uses?.startsWith("actions/setup-go@")));
    const runs = steps.filter((s) => s.run).map((s) => s.run!.trim());
    assert.deepEqual(runs, ["bash hack/e2e-kind.sh tools", "bash hack/e2e-kind.sh"]);
  });
});
