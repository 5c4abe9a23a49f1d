// The chart's observability and health-rule objects, rendered with the pinned helm: the PrometheusRule, the Grafana
// dashboard ConfigMap and the health rules ConfigMap, each gated by its values; and every metric (and label) the
// dashboard and the alerts use exists in the code, read from the registries the controllers register them on.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { parser as promql } from "@prometheus-io/lezer-promql";
import { parse } from "yaml";
import { parseHealthLibrary } from "../../../src/apply/health-library.js";
import { applyMetrics } from "../../../src/apply/metrics.js";
import { parseOperatorArgs } from "../../../src/config.js";
import { registerConditionMetrics } from "../../../src/metrics/conditions.js";
import type { Manager } from "../../../src/runtime/manager.js";
import { runtimeMetrics } from "../../../src/runtime/metrics.js";
import { REPO_ROOT } from "../../support/cluster.js";
import { CHART_DIR, renderChart, type K8sObject } from "../../support/helm.js";

const ALERTS = parse(readFileSync(path.join(CHART_DIR, "files/alerts.yaml"), "utf8")) as { groups: { name: string; rules: { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] };
const DASHBOARD = JSON.parse(readFileSync(path.join(CHART_DIR, "files/dashboard.json"), "utf8")) as Dashboard;
interface Panel { type: string; title: string; panels?: Panel[]; targets?: { expr: string }[] }
interface Dashboard { uid: string; title: string; panels: Panel[]; templating: { list: { name: string; query?: unknown; definition?: string }[] } }

const find = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const applyContainer = (objs: K8sObject[]) => {
  const d = objs.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith("-apply"));
  assert.ok(d, "no apply Deployment rendered");
  return (d.spec as { template: { metadata: { annotations?: Record<string, string> }; spec: { containers: { args: string[]; volumeMounts?: { name: string; mountPath: string }[] }[]; volumes?: { name: string; configMap?: { name: string } }[] } } }).template;
};

/** Every metric the controllers register, with its label names: one registry, every registration function. */
function registeredMetrics(): Map<string, Set<string>> {
  const registry = new Registry();
  runtimeMetrics(registry);
  applyMetrics(registry);
  const noObjects = { store: { list: () => [] } };
  registerConditionMetrics({ metrics: { registry }, cache: { informerFor: () => noObjects } } as unknown as Manager, []);
  const out = new Map<string, Set<string>>();
  for (const m of registry.getMetricsAsArray()) {
    const labels = new Set((m as unknown as { labelNames: string[] }).labelNames);
    const type = (m as unknown as { type?: string }).type ?? m.constructor.name.toLowerCase();
    out.set(m.name, labels);
    if (type === "histogram") {
      out.set(`${m.name}_bucket`, new Set([...labels, "le"]));
      out.set(`${m.name}_sum`, labels);
      out.set(`${m.name}_count`, labels);
    }
  }
  return out;
}

/** The names the controllers are registered under (the controller label of controller_runtime_* metrics). */
function controllerNames(): Set<string> {
  const names = new Set<string>();
  const files = ["src/apply/controller.ts", "src/source/controller.ts", "src/source/helmchart.ts", "src/policy/controller.ts", "src/render/controller.ts"];
  for (const f of files) {
    const text = readFileSync(path.join(REPO_ROOT, f), "utf8");
    for (const m of text.matchAll(/\.controller\("([a-z-]+)"\)/g)) names.add(m[1]!);
    for (const m of text.matchAll(/_CONTROLLER_NAME = "([a-z-]+)"/g)) names.add(m[1]!);
  }
  return names;
}

/** Each selector in a PromQL expression: metric name and label matchers. */
function selectors(expr: string): { metric: string; labels: { name: string; op: string; value: string }[] }[] {
  const out: { metric: string; labels: { name: string; op: string; value: string }[] }[] = [];
  const KEYWORDS = new Set(["sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "histogram_quantile", "topk", "unless", "and", "or", "on", "ignoring", "label_values", "bool"]);
  for (const m of expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?/g)) {
    const name = m[1]!;
    if (KEYWORDS.has(name) || !/_/.test(name) || /^\$|^__/.test(name)) continue;
    // Label names inside a by (...) clause are not metrics.
    const before = expr.slice(0, m.index);
    if (/\b(by|without)\s*\([^)]*$/.test(before)) continue;
    if (/\{[^}]*$/.test(before)) continue;
    const labels = [...(m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((l) => ({ name: l[1]!, op: l[2]!, value: l[3]! }));
    out.push({ metric: name, labels });
  }
  return out;
}

function dashboardExprs(d: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) out.push({ where: `dashboard panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) if (v.definition) out.push({ where: `dashboard variable ${v.name}`, expr: v.definition });
  return out;
}

const alertExprs = () => ALERTS.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));

describe("metrics the dashboard and the alerts use", () => {
  const metrics = registeredMetrics();
  const controllers = controllerNames();

  it("the code registers the metrics this test knows", () => {
    for (const name of ["mooring_application_sync_duration_seconds", "mooring_resource_conditions", "mooring_application_metrics_overflow", "controller_runtime_reconcile_time_seconds", "workqueue_depth"]) assert.ok(metrics.has(name), name);
    for (const name of ["apply", "gitrepository", "helmrepository", "helmchart", "syncpolicy", "render"]) assert.ok(controllers.has(name), name);
  });

  for (const { where, expr } of [...dashboardExprs(DASHBOARD), ...alertExprs()]) {
    it(`${where}: every metric, label and controller exists`, () => {
      const found = selectors(expr);
      assert.ok(found.length > 0, `no metric found in ${expr}`);
      for (const s of found) {
        const labels = metrics.get(s.metric);
        assert.ok(labels, `${where} uses ${s.metric}, which the code does not register (expr: ${expr})`);
        for (const l of s.labels) {
          assert.ok(labels.has(l.name), `${where}: ${s.metric} has no label ${l.name} (it has ${[...labels].join(", ")})`);
          if (l.name === "controller") for (const v of l.value.split("|")) assert.ok(controllers.has(v), `${where}: no controller is named ${v}`);
        }
      }
      // The expression is PromQL as Prometheus parses it: its own grammar (the one its UI uses), after Grafana's
      // variables are replaced as Grafana does before sending the query (a dashboard variable's label_values() is
      // Grafana's, not PromQL).
      if (!where.startsWith("dashboard variable")) {
        const query = expr.replace(/\$__rate_interval|\$__interval/g, "5m").replace(/\$\{?(\w+)\}?/g, "x");
        const errors: string[] = [];
        promql.parse(query).iterate({ enter: (n) => void (n.type.isError && errors.push(`at ${n.from}: "${query.slice(Math.max(0, n.from - 10), n.to + 10)}"`)) });
        assert.deepEqual(errors, [], `${where}: not valid PromQL: ${query}`);
      }
      // Labels grouped by must exist on the metrics grouped.
      for (const g of expr.matchAll(/\bby \(([^)]*)\)/g)) {
        for (const label of g[1]!.split(",").map((x) => x.trim()).filter(Boolean)) {
          assert.ok(found.some((s) => metrics.get(s.metric)!.has(label) || label === "pod"), `${where}: groups by ${label}, which none of ${found.map((s) => s.metric).join(", ")} has`);
        }
      }
    });
  }

  it("the alerts cover sync failures, Stalled, drift, sources and reconcile latency, each with a severity and a summary", () => {
    const names = ALERTS.groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const a of ["MooringApplicationSyncFailing", "MooringStalled", "MooringApplicationDrifted", "MooringSourceNotReady", "MooringReconcileLatencyHigh"]) assert.ok(names.includes(a), a);
    for (const r of ALERTS.groups.flatMap((g) => g.rules)) {
      assert.match(r.labels.severity ?? "", /^(critical|warning|info)$/, r.alert);
      assert.ok(r.annotations.summary && r.annotations.description, r.alert);
      assert.match(r.for ?? "", /^\d+[mh]$/, r.alert);
    }
  });
});

describe("the chart's observability objects", () => {
  it("none by default", () => {
    const objs = renderChart();
    assert.deepEqual(find(objs, "PrometheusRule"), []);
    assert.equal(objs.some((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-dashboard")), false);
  });

  it("prometheusRule.enabled: the alerts as a PrometheusRule, with its labels, leaving out prometheusRule.disabled", () => {
    const objs = renderChart({ "prometheusRule.enabled": true, "prometheusRule.labels.release": "prometheus" }, { extraArgs: ["--set", "prometheusRule.disabled={MooringNoLeader,MooringApplicationDrifted}"] });
    const [rule] = find(objs, "PrometheusRule");
    assert.ok(rule);
    assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
    assert.equal(rule.metadata.labels?.release, "prometheus");
    const groups = (rule.spec as { groups: typeof ALERTS.groups }).groups;
    const names = groups.flatMap((g) => g.rules.map((r) => r.alert));
    assert.equal(names.length, ALERTS.groups.flatMap((g) => g.rules).length - 2);
    assert.ok(!names.includes("MooringNoLeader") && !names.includes("MooringApplicationDrifted"));
    // The rules are rendered as written (Prometheus's own {{ $labels }} templates untouched by Helm).
    const sync = groups.flatMap((g) => g.rules).find((r) => r.alert === "MooringApplicationSyncFailing")!;
    assert.equal(sync.expr, ALERTS.groups[0]!.rules[0]!.expr);
    assert.match(sync.annotations.summary!, /\{\{ \$labels\.namespace \}\}/);
  });

  it("grafanaDashboard.enabled: the dashboard JSON in a ConfigMap the sidecar selects", () => {
    const objs = renderChart({ "grafanaDashboard.enabled": true, "grafanaDashboard.namespace": "monitoring", "grafanaDashboard.annotations.grafana_folder": "GitOps" });
    const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "mooring-dashboard");
    assert.ok(cm);
    assert.equal(cm.metadata.namespace, "monitoring");
    assert.equal(cm.metadata.labels?.grafana_dashboard, "1");
    assert.deepEqual(JSON.parse((cm.data as Record<string, string>)["mooring.json"]!), DASHBOARD);
    assert.equal(DASHBOARD.uid, "mooring-overview");
  });

  it("metrics.maxApplications is the apply controller's --metrics-max-applications", () => {
    const args = applyContainer(renderChart({ "metrics.maxApplications": 0 })).spec.containers[0]!.args;
    assert.equal(parseOperatorArgs(args.slice(1)).metricsMaxApplications, 0);
    assert.equal(parseOperatorArgs(applyContainer(renderChart()).spec.containers[0]!.args.slice(1)).metricsMaxApplications, 500);
  });

  it("a bad value is refused by the schema, naming it", () => {
    assert.throws(() => renderChart({ "metrics.maxApplications": -1 }), /maxApplications/);
    assert.throws(() => renderChart({ "prometheusRule.enable": true }), /prometheusRule/);
  });
});

describe("the chart's health rules", () => {
  const rulesOf = (objs: K8sObject[]) => {
    const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-health-rules"));
    assert.ok(cm, "no health rules ConfigMap");
    return (cm.data as Record<string, string>)["rules.yaml"]!;
  };
  const library = parseHealthLibrary(readFileSync(path.join(CHART_DIR, "files/health-rules.yaml"), "utf8"), "files/health-rules.yaml");

  it("by default: the library in a ConfigMap, mounted into the apply controller, named by --health-rules-file; the Pods roll when it changes", () => {
    const objs = renderChart();
    const rules = parseHealthLibrary(rulesOf(objs), "rendered rules.yaml");
    assert.deepEqual(rules.list().map((r) => `${r.apiVersion} ${r.kind}`), library.list().map((r) => `${r.apiVersion} ${r.kind}`));
    const t = applyContainer(objs);
    const c = t.spec.containers[0]!;
    const file = parseOperatorArgs(c.args.slice(1)).healthRulesFile!;
    const mount = c.volumeMounts!.find((m) => m.name === "health-rules")!;
    assert.equal(path.dirname(file), mount.mountPath);
    assert.equal(t.spec.volumes!.find((v) => v.name === "health-rules")!.configMap!.name, "mooring-health-rules");
    assert.match(t.metadata.annotations?.["checksum/health-rules"] ?? "", /^[0-9a-f]{64}$/);
    // Only the apply controller reads them.
    for (const d of find(objs, "Deployment").filter((x) => !x.metadata.name.endsWith("-apply"))) assert.doesNotMatch(JSON.stringify(d), /health-rules/);
    const changed = applyContainer(renderChart({ "healthRules.defaults": false }));
    assert.notEqual(changed.metadata.annotations?.["checksum/health-rules"], t.metadata.annotations?.["checksum/health-rules"]);
  });

  it("healthRules.extra adds rules and replaces the library's for the same kind; defaults: false leaves only them", () => {
    const extra = ["--set-string", "healthRules.extra[0].apiVersion=cert-manager.io/v1,healthRules.extra[0].kind=Certificate,healthRules.extra[0].current=true", "--set-string", "healthRules.extra[1].apiVersion=example.com/v1,healthRules.extra[1].kind=Widget,healthRules.extra[1].current=has(status.ok)"];
    const rules = parseHealthLibrary(rulesOf(renderChart({}, { extraArgs: extra })), "rendered");
    assert.equal(rules.size, library.size + 1);
    assert.equal(rules.get("cert-manager.io/v1", "Certificate")!.exprs.inProgress, undefined);
    assert.ok(rules.get("example.com/v1", "Widget"));
    const only = parseHealthLibrary(rulesOf(renderChart({ "healthRules.defaults": false }, { extraArgs: extra })), "rendered");
    assert.deepEqual(only.list().map((r) => r.kind).sort(), ["Certificate", "Widget"]);
    assert.equal(parseHealthLibrary(rulesOf(renderChart({ "healthRules.defaults": false })), "rendered").size, 0);
  });

  it("healthRules.enabled: false: no ConfigMap, no flag, no mount", () => {
    const objs = renderChart({ "healthRules.enabled": false });
    assert.equal(objs.some((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-health-rules")), false);
    const t = applyContainer(objs);
    assert.equal(parseOperatorArgs(t.spec.containers[0]!.args.slice(1)).healthRulesFile, undefined);
    assert.doesNotMatch(JSON.stringify(t), /health-rules/);
  });

  it("all-in-one mode mounts them into its one Deployment", () => {
    const objs = renderChart({ mode: "all-in-one" });
    const [d] = find(objs, "Deployment");
    assert.match(JSON.stringify(d), /--health-rules-file=/);
  });

  it("an extra rule without current is refused by the schema", () => {
    assert.throws(() => renderChart({}, { extraArgs: ["--set", "healthRules.extra[0].apiVersion=a/v1,healthRules.extra[0].kind=A"] }), /current/);
  });
});
