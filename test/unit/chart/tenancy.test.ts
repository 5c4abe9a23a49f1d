// The chart's tenancy defaults are the secure ones (docs/tenancy.md): the apply controller impersonates the
// namespace's `default` ServiceAccount for an Application that names none, cross-namespace references are refused,
// and running Applications with the controller's own identity is an explicit opt-out that needs cluster-admin.
// Each Deployment's flags are read back with the operator's own parser, so the chart and the binary agree.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseOperatorArgs, type OperatorConfig } from "../../../src/config.js";
import { CHART_DIR, renderChart, runHelm, type K8sObject } from "../../support/helm.js";

const deployments = (objs: K8sObject[]) => objs.filter((o) => o.kind === "Deployment");
const args = (d: K8sObject) => (d.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args;
const config = (d: K8sObject): OperatorConfig => parseOperatorArgs(args(d).slice(1));
const runsApply = (d: K8sObject) => config(d).controllers.includes("apply");

void describe("chart: tenancy defaults", () => {
  for (const mode of ["split", "all-in-one"] as const) {
    void it(`${mode}: Applications without a ServiceAccount run as their namespace's "default", and cross-namespace references are refused`, () => {
      const ds = deployments(renderChart({ mode }));
      const apply = ds.filter(runsApply);
      assert.equal(apply.length, 1, "one Deployment runs the apply controller");
      assert.ok(args(apply[0]!).includes("--default-service-account=default"), `the flag is explicit: ${args(apply[0]!).join(" ")}`);
      assert.equal(config(apply[0]!).defaultServiceAccount, "default");
      for (const d of ds) {
        assert.equal(config(d).allowCrossNamespaceRefs, false, `${d.metadata.name} refuses cross-namespace references`);
        assert.ok(!args(d).some((a) => a.startsWith("--allow-cross-namespace-refs")), d.metadata.name);
      }
    });
  }

  void it("refuses the own-identity opt-out (defaultServiceAccount empty) unless rbac.apply.clusterAdmin is set too", () => {
    const r = runHelm(["template", "m", CHART_DIR, "--set", "defaultServiceAccount="]);
    assert.notEqual(r.status, 0, "helm template must fail");
    assert.match(r.stderr, /defaultServiceAccount is empty.*single-tenant opt-out.*rbac\.apply\.clusterAdmin=true.*docs\/tenancy\.md/);
    // Without the apply controller there is nothing to opt out of.
    assert.equal(runHelm(["template", "m", CHART_DIR, "--set", "defaultServiceAccount=", "--set", "controllers.apply.enabled=false"]).status, 0);
  });

  void it("the single-tenant opt-out passes an explicit empty --default-service-account (the controller's own identity)", () => {
    for (const mode of ["split", "all-in-one"]) {
      const apply = deployments(renderChart({ mode, defaultServiceAccount: "", "rbac.apply.clusterAdmin": true })).filter(runsApply);
      assert.ok(args(apply[0]!).includes("--default-service-account="), args(apply[0]!).join(" "));
      assert.equal(config(apply[0]!).defaultServiceAccount, undefined);
    }
  });

  void it("allowCrossNamespaceRefs: true passes --allow-cross-namespace-refs to every controller; the old value name is refused", () => {
    for (const d of deployments(renderChart({ allowCrossNamespaceRefs: true }))) assert.equal(config(d).allowCrossNamespaceRefs, true, d.metadata.name);
    const old = runHelm(["template", "m", CHART_DIR, "--set", "forbidCrossNamespaceRefs=true"]);
    assert.notEqual(old.status, 0);
    assert.match(old.stderr, /forbidCrossNamespaceRefs/);
  });
});
