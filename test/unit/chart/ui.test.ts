// The chart's web UI (ui.enabled): off by default; when on, a restricted Pod whose flags `mooring ui` accepts, a
// ClusterRole that impersonates users only when actions are allowed, and no proxy mode without trusted addresses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Command } from "commander";
import { registerUiCommand } from "../../../src/ui/command.js";
import { renderChart, runHelm, CHART_DIR, type K8sObject } from "../../support/helm.js";
import { restrictedViolations } from "./pss.js";

type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[] };
const ui = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind && o.metadata.name === "mooring-ui");
const impersonates = (rules: Rule[], resource: string) => rules.some((r) => (r.resources ?? []).includes(resource) && r.verbs.includes("impersonate"));

/** The UI container's args, parsed by the real `mooring ui` command: unknown flags are errors. */
function parseUiArgs(args: string[]): Record<string, unknown> {
  const program = new Command("mooring");
  registerUiCommand(program);
  const cmd = program.commands.find((c) => c.name() === "ui")!;
  assert.equal(args[0], "ui");
  const { unknown } = cmd.parseOptions(args.slice(1));
  assert.deepEqual(unknown, [], `flags mooring ui does not know: ${unknown.join(" ")}`);
  return cmd.opts();
}

void describe("chart: the web UI", () => {
  void it("renders nothing for the UI by default", () => {
    assert.deepEqual(renderChart().filter((o) => o.metadata.name.endsWith("-ui")), []);
  });

  void it("with ui.enabled: a restricted Pod, read-only, token sign-in, flags mooring ui accepts, a Service on its port", () => {
    const objs = renderChart({ "ui.enabled": true });
    const [dep] = ui(objs, "Deployment");
    assert.ok(dep, "a UI Deployment");
    const spec = (dep.spec as { template: { spec: Record<string, unknown> & { serviceAccountName: string; containers: { args: string[]; securityContext: { readOnlyRootFilesystem?: boolean } }[] } } }).template.spec;
    assert.deepEqual(restrictedViolations(spec, "Deployment mooring-ui"), []);
    assert.equal(spec.containers[0]!.securityContext.readOnlyRootFilesystem, true);
    assert.equal(spec.serviceAccountName, "mooring-ui");
    const opts = parseUiArgs(spec.containers[0]!.args);
    assert.equal(opts.readOnly, true);
    assert.equal(opts.auth, "token");
    assert.equal(opts.address, ":8080");
    const [svc] = ui(objs, "Service");
    assert.deepEqual((svc!.spec as { ports: { targetPort: string }[] }).ports.map((p) => p.targetPort), ["http-ui"]);
    const rules = (ui(objs, "ClusterRole")[0]!.rules ?? []) as Rule[];
    assert.ok(!impersonates(rules, "users") && !impersonates(rules, "groups"), "a read-only UI impersonates no user");
    assert.ok(impersonates(rules, "serviceaccounts"), "the diff's dry run impersonates the Application's ServiceAccount");
    assert.ok(rules.some((r) => (r.resources ?? []).includes("tokenreviews") && r.verbs.includes("create")), "token sign-in reviews tokens");
    assert.ok(rules.some((r) => (r.resources ?? []).includes("subjectaccessreviews") && r.verbs.includes("create")), "a read-only UI still asks what each user may list");
  });

  void it("with actions allowed and a proxy: impersonation of users and groups, the proxy's flags, no TokenReviews", () => {
    const objs = renderChart({ "ui.enabled": true, "ui.readOnly": false, "ui.auth": "proxy", "ui.proxy.trustedCIDRs[0]": "127.0.0.1/32", "ui.namespace": "team-a" });
    const spec = (ui(objs, "Deployment")[0]!.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec;
    const opts = parseUiArgs(spec.containers[0]!.args);
    assert.equal(opts.readOnly, false);
    assert.equal(opts.auth, "proxy");
    assert.deepEqual(opts.trustedProxy, ["127.0.0.1/32"]);
    assert.equal(opts.namespace, "team-a");
    const rules = (ui(objs, "ClusterRole")[0]!.rules ?? []) as Rule[];
    assert.ok(impersonates(rules, "users") && impersonates(rules, "groups"));
    assert.ok(!rules.some((r) => (r.resources ?? []).includes("tokenreviews")));
  });

  void it("refuses auth: proxy without trusted addresses, saying why", () => {
    const r = runHelm(["template", "mooring", CHART_DIR, "--set", "ui.enabled=true", "--set", "ui.auth=proxy"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ui.proxy.trustedCIDRs is empty/);
  });
});
