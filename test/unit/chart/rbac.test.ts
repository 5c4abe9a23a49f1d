// The chart's RBAC against the committed list of rights in docs/rbac.md: for both modes and with each option on and
// off, every (ServiceAccount, where, group, resource, name, verb) the rendered Roles and bindings grant must be a
// row of the table, every row whose condition holds must be granted, and every row must say why. So a rule added to
// the chart without a reason in the list fails here, and so does a right the list promises that is gone.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../../support/cluster.js";
import { CHART_DIR, renderChart, runHelm, type K8sObject } from "../../support/helm.js";

const NS = "mooring-system";
const CONTROLLERS = ["source", "render", "apply", "notify"] as const;
type Controller = (typeof CONTROLLERS)[number];

export interface Row {
  controllers: Controller[];
  where: "cluster" | "release namespace" | "tenant namespaces" | "kubeconfig namespaces";
  group: string;
  resource: string;
  /** Helm value holding the resourceNames, when the row is restricted to names. */
  namesFrom?: string;
  verbs: string[];
  when: { path: string; negate: boolean }[];
  why: string;
  line: number;
}

/** Parses the table after the `rbac-list` marker; throws naming the line of a malformed row or a row without a reason. */
export function parseRightsTable(markdown: string): Row[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.includes("<!-- rbac-list"));
  if (start < 0) throw new Error("docs/rbac.md has no <!-- rbac-list --> marker before its table");
  const rows: Row[] = [];
  for (let i = start + 3; i < lines.length && lines[i]!.startsWith("|"); i++) {
    const cells = lines[i]!.split("|").slice(1, -1).map((c) => c.trim());
    const where = `docs/rbac.md:${i + 1}`;
    if (cells.length !== 7) throw new Error(`${where}: expected 7 cells, found ${cells.length}`);
    const [who, scope, group, resource, verbs, when, why] = cells as [string, string, string, string, string, string, string];
    const controllers = who.split(",").map((s) => s.trim());
    for (const c of controllers) if (!(CONTROLLERS as readonly string[]).includes(c)) throw new Error(`${where}: unknown controller "${c}"`);
    if (!["cluster", "release namespace", "tenant namespaces", "kubeconfig namespaces"].includes(scope)) throw new Error(`${where}: unknown place "${scope}"`);
    if (why.replace(/[`.*_ ]/g, "").length < 10) throw new Error(`${where}: the right ${verbs} ${resource} has no reason`);
    const m = /^(\S+) \(names: ([\w.]+)\)$/.exec(resource);
    rows.push({
      controllers: controllers as Controller[],
      where: scope as Row["where"],
      group: group === "core" ? "" : group,
      resource: m ? m[1]! : resource,
      ...(m ? { namesFrom: m[2]! } : {}),
      verbs: verbs.split(",").map((v) => v.trim()),
      when: when ? when.split(" and ").map((w) => (w.startsWith("not ") ? { path: w.slice(4).trim(), negate: true } : { path: w.trim(), negate: false })) : [],
      why,
      line: i + 1,
    });
  }
  if (rows.length < 10) throw new Error(`docs/rbac.md: the rights table has only ${rows.length} rows`);
  return rows;
}

/** The chart's default values, overlaid with a scenario's (dotted paths). */
function valueAt(values: Record<string, unknown>, p: string): unknown {
  return p.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), values);
}
const truthy = (v: unknown) => (Array.isArray(v) ? v.length > 0 : Boolean(v));

interface Scenario {
  name: string;
  mode: "split" | "all-in-one";
  /** Values as the chart sees them (the defaults that matter here, overlaid). */
  values: Record<string, unknown>;
}

const DEFAULTS = {
  controllers: { source: { enabled: true }, render: { enabled: true }, apply: { enabled: true }, notify: { enabled: false } },
  leaderElection: { enabled: true },
  defaultServiceAccount: "default",
  rbac: { create: true, render: { watchSecrets: false }, apply: { clusterAdmin: false, clusterRead: true, extraRules: [] as unknown[], tenantNamespaces: [] as string[], serviceAccountNames: [] as string[], kubeConfigSecretNamespaces: [] as string[] } },
};

function merge(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = merge(out[k], v);
    return out;
  }
  return b;
}

const tuple = (sa: string, where: string, group: string, resource: string, name: string | undefined, verb: string) => `${sa} | ${where} | ${group || "core"} | ${resource}${name ? `/${name}` : ""} | ${verb}`;

/** What the rendered Roles and bindings grant, as tuples. */
function granted(objs: K8sObject[]): Set<string> {
  const roles = new Map<string, K8sObject>();
  for (const o of objs) if (o.kind === "ClusterRole" || o.kind === "Role") roles.set(`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o);
  const out = new Set<string>();
  for (const b of objs.filter((o) => o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding")) {
    const ref = b.roleRef as { kind: string; name: string };
    const where = b.kind === "ClusterRoleBinding" ? "cluster" : b.metadata.namespace === NS ? "release namespace" : `namespace ${b.metadata.namespace}`;
    const subjects = (b.subjects as { kind: string; name: string; namespace: string }[]).map((s) => {
      assert.equal(s.kind, "ServiceAccount", `${b.kind} ${b.metadata.name} binds a ${s.kind}`);
      assert.equal(s.namespace, NS, `${b.kind} ${b.metadata.name} binds a ServiceAccount of another namespace`);
      return s.name;
    });
    if (ref.kind === "ClusterRole" && ref.name === "cluster-admin") {
      for (const sa of subjects) out.add(tuple(sa, where, "(ClusterRole cluster-admin)", "(ClusterRole cluster-admin)", undefined, "all"));
      continue;
    }
    const role = roles.get(`${ref.kind}/${ref.kind === "Role" ? b.metadata.namespace : ""}/${ref.name}`);
    assert.ok(role, `${b.kind} ${b.metadata.name} refers to ${ref.kind} ${ref.name}, which the chart does not render`);
    for (const r of (role.rules ?? []) as { apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; verbs: string[]; nonResourceURLs?: string[] }[]) {
      assert.equal(r.nonResourceURLs, undefined, `${ref.name}: non-resource URLs are not expected`);
      for (const sa of subjects) for (const g of r.apiGroups ?? [""]) for (const res of r.resources ?? []) for (const v of r.verbs) for (const n of r.resourceNames ?? [undefined]) out.add(tuple(sa, where, g, res, n, v));
    }
  }
  return out;
}

/** What the table says the chart grants in a scenario. */
function expected(rows: Row[], s: Scenario): Set<string> {
  const v = s.values;
  const enabled = CONTROLLERS.filter((c) => valueAt(v, `controllers.${c}.enabled`) === true);
  const sas: { name: string; controllers: Controller[] }[] = s.mode === "all-in-one" ? [{ name: "mooring", controllers: enabled }] : enabled.map((c) => ({ name: `mooring-${c}`, controllers: [c] }));
  const out = new Set<string>();
  if (!valueAt(v, "rbac.create")) return out;
  const tenants = (valueAt(v, "rbac.apply.tenantNamespaces") as string[]) ?? [];
  const kubeconfigs = (valueAt(v, "rbac.apply.kubeConfigSecretNamespaces") as string[]) ?? [];
  for (const row of rows) {
    if (!row.when.every((w) => truthy(valueAt(v, w.path)) !== w.negate)) continue;
    for (const sa of sas) {
      if (!row.controllers.some((c) => sa.controllers.includes(c))) continue;
      const places = row.where === "cluster" ? ["cluster"] : row.where === "release namespace" ? ["release namespace"] : (row.where === "tenant namespaces" ? tenants : kubeconfigs).map((t) => `namespace ${t}`);
      if (row.resource === "(rbac.apply.extraRules)") {
        // Whatever the installer gave, as the chart renders it into the apply controller's ClusterRole.
        for (const r of valueAt(v, "rbac.apply.extraRules") as { apiGroups?: string[]; resources?: string[]; verbs: string[] }[]) {
          for (const g of r.apiGroups ?? [""]) for (const res of r.resources ?? []) for (const verb of r.verbs) out.add(tuple(sa.name, "cluster", g, res, undefined, verb));
        }
        continue;
      }
      let names: (string | undefined)[] = [undefined];
      if (row.namesFrom) {
        names = [...((valueAt(v, row.namesFrom) as string[]) ?? [])];
        const dsa = valueAt(v, "defaultServiceAccount") as string;
        if (dsa && !names.includes(dsa)) names.push(dsa);
      }
      for (const where of places) for (const verb of row.verbs) for (const n of names) out.add(tuple(sa.name, where, row.group, row.resource, n, verb));
    }
  }
  return out;
}

const toSet = (s: Record<string, unknown>, prefix = ""): Record<string, string | number | boolean> => {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, val] of Object.entries(s)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (val && typeof val === "object" && !Array.isArray(val)) Object.assign(out, toSet(val as Record<string, unknown>, key));
    else if (!Array.isArray(val)) out[key] = val as string | number | boolean;
  }
  return out;
};
const jsonArgs = (s: Record<string, unknown>, prefix = ""): string[] =>
  Object.entries(s).flatMap(([k, val]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    if (Array.isArray(val)) return ["--set-json", `${key}=${JSON.stringify(val)}`];
    return val && typeof val === "object" ? jsonArgs(val as Record<string, unknown>, key) : [];
  });

const SCENARIOS: (Omit<Scenario, "values"> & { set: Record<string, unknown> })[] = [
  { name: "split, defaults", mode: "split", set: {} },
  { name: "all-in-one, defaults", mode: "all-in-one", set: {} },
  { name: "split, every option flipped", mode: "split", set: { rbac: { render: { watchSecrets: true }, apply: { clusterRead: false } }, leaderElection: { enabled: false } } },
  { name: "split, tenant namespaces", mode: "split", set: { rbac: { apply: { tenantNamespaces: ["team-a", "team-b"] } } } },
  { name: "split, tenant namespaces and ServiceAccount names", mode: "split", set: { rbac: { apply: { tenantNamespaces: ["team-a"], serviceAccountNames: ["deployer", "default"] } } } },
  {
    name: "all-in-one, cluster-admin (single tenant), extra rules, names",
    mode: "all-in-one",
    set: { defaultServiceAccount: "", rbac: { apply: { clusterAdmin: true, tenantNamespaces: ["team-a"], serviceAccountNames: ["deployer"], extraRules: [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "patch"] }] } } },
  },
  { name: "split, remote clusters' kubeconfig Secrets without clusterRead", mode: "split", set: { rbac: { apply: { clusterRead: false, kubeConfigSecretNamespaces: ["fleet", "team-a"] } } } },
  { name: "all-in-one, remote clusters' kubeconfig Secrets", mode: "all-in-one", set: { rbac: { apply: { kubeConfigSecretNamespaces: ["fleet"] } } } },
  { name: "split, render disabled", mode: "split", set: { controllers: { render: { enabled: false } }, rbac: { apply: { tenantNamespaces: ["team-a"] } } } },
  { name: "all-in-one, apply disabled", mode: "all-in-one", set: { controllers: { apply: { enabled: false } }, rbac: { render: { watchSecrets: true } } } },
  { name: "split, notify enabled (opt-in)", mode: "split", set: { controllers: { notify: { enabled: true } } } },
  { name: "all-in-one, notify enabled, render disabled", mode: "all-in-one", set: { controllers: { notify: { enabled: true }, render: { enabled: false } } } },
  { name: "split, notify alone, no leader election", mode: "split", set: { controllers: { source: { enabled: false }, render: { enabled: false }, apply: { enabled: false }, notify: { enabled: true } }, leaderElection: { enabled: false } } },
  { name: "RBAC not created", mode: "split", set: { rbac: { create: false } } },
];

const rows = parseRightsTable(readFileSync(path.join(REPO_ROOT, "docs/rbac.md"), "utf8"));

void describe("chart RBAC against docs/rbac.md", () => {
  for (const sc of SCENARIOS) {
    void it(`grants exactly the listed rights: ${sc.name}`, () => {
      const values = merge(merge(DEFAULTS, { mode: sc.mode }), sc.set) as Record<string, unknown>;
      const objs = renderChart({ mode: sc.mode, ...toSet(sc.set) }, { extraArgs: jsonArgs(sc.set) });
      const have = granted(objs);
      const want = expected(rows, { name: sc.name, mode: sc.mode, values });
      const unexplained = [...have].filter((t) => !want.has(t)).sort();
      const missing = [...want].filter((t) => !have.has(t)).sort();
      assert.deepEqual(unexplained, [], `granted by the chart but not listed (with a reason) in docs/rbac.md:\n${unexplained.join("\n")}`);
      assert.deepEqual(missing, [], `listed in docs/rbac.md but not granted by the chart:\n${missing.join("\n")}`);
      if (sc.name === "RBAC not created") assert.equal(have.size, 0);
    });
  }

  void it("uses every row of the table in some scenario", () => {
    const used = new Set<number>();
    for (const sc of SCENARIOS) {
      const values = merge(merge(DEFAULTS, { mode: sc.mode }), sc.set) as Record<string, unknown>;
      for (const r of rows) {
        const one = expected([r], { name: sc.name, mode: sc.mode, values });
        if (one.size > 0) used.add(r.line);
      }
    }
    const unused = rows.filter((r) => !used.has(r.line)).map((r) => `docs/rbac.md:${r.line} ${r.verbs.join(",")} ${r.resource}`);
    assert.deepEqual(unused, []);
  });

  void it("refuses a row without a reason, and an unknown controller", () => {
    const head = "<!-- rbac-list -->\n| Controller | Where | API group | Resource | Verbs | When | Why |\n|---|---|---|---|---|---|---|\n";
    const good = "| source | cluster | core | secrets | get | | Credentials named by spec.secretRef. |\n".repeat(10);
    assert.equal(parseRightsTable(head + good).length, 10);
    assert.throws(() => parseRightsTable(head + good + "| apply | cluster | core | secrets | list | |  |\n"), /docs\/rbac\.md:14: the right list secrets has no reason/);
    assert.throws(() => parseRightsTable(head + "| tenant | cluster | core | secrets | get | | Credentials named by spec.secretRef. |\n" + good), /unknown controller "tenant"/);
  });
});

void describe("chart RBAC: what no default grants", () => {
  const objs = renderChart();
  const have = [...granted(objs)];

  void it("lets no controller list or watch Secrets, but for the apply controller's optional read-everything rule", () => {
    const secretReads = have.filter((t) => / \| core \| secrets \| (list|watch)$/.test(t));
    assert.deepEqual(secretReads, []);
    const wildcard = have.filter((t) => t.includes("| * | * |"));
    assert.deepEqual(wildcard.sort(), ["mooring-apply | cluster | * | * | get", "mooring-apply | cluster | * | * | list", "mooring-apply | cluster | * | * | watch"]);
    const noRead = [...granted(renderChart({ "rbac.apply.clusterRead": false }))];
    assert.deepEqual(noRead.filter((t) => /secrets \| (list|watch)$|\| \* \| \* \|/.test(t)), [], "with clusterRead=false nothing may list Secrets");
  });

  void it("lets the apply controller impersonate nowhere until a namespace grants it, and never cluster-wide", () => {
    assert.deepEqual(have.filter((t) => t.endsWith("| impersonate")), []);
    const role = objs.find((o) => o.kind === "ClusterRole" && o.metadata.name === "mooring-impersonate");
    assert.ok(role, "the ClusterRole tenants bind exists");
    const withTenants = renderChart({}, { extraArgs: ["--set-json", 'rbac.apply.tenantNamespaces=["team-a"]'] });
    const imp = [...granted(withTenants)].filter((t) => t.endsWith("| impersonate"));
    assert.deepEqual(imp, ["mooring-apply | namespace team-a | core | serviceaccounts | impersonate"]);
    for (const o of [...objs, ...withTenants].filter((x) => x.kind === "ClusterRoleBinding")) {
      assert.notEqual((o.roleRef as { name: string }).name, "mooring-impersonate", "impersonation is never bound cluster-wide");
    }
  });

  void it("refuses kube-system (and the other system namespaces) as a tenant namespace", () => {
    for (const ns of ["kube-system", "kube-public", "kube-node-lease"]) {
      const r = runHelm(["template", "m", CHART_DIR, "--set-json", `rbac.apply.tenantNamespaces=["team-a","${ns}"]`]);
      assert.notEqual(r.status, 0, `${ns} accepted`);
      assert.match(r.stderr, /tenantNamespaces/);
    }
  });
});

describe("users' rights: Mooring's kinds aggregated into view, edit and admin (rbac.aggregateToDefaultRoles)", () => {
  /** Every kind the CRDs define, as <plural>.<group>, from crds/ (so a new kind must be added to the chart too). */
  const crdKinds = readdirSync(path.join(REPO_ROOT, "crds"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => { const [group, plural] = f.replace(/\.yaml$/, "").split("_") as [string, string]; return `${plural}.${group}`; })
    .sort();
  const aggregated = (objs: K8sObject[]) => objs.filter((o) => o.kind === "ClusterRole" && Object.keys(o.metadata.labels ?? {}).some((l) => l.startsWith("rbac.authorization.k8s.io/aggregate-to-")));
  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
  const rights = (role: K8sObject) => ((role as unknown as { rules: Rule[] }).rules).flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${res}.${g}`)).filter((k) => crdKinds.includes(k)).flatMap((k) => r.verbs.map((v) => `${k} ${v}`))).sort();
  const all = (verbs: string[]) => crdKinds.flatMap((k) => verbs.map((v) => `${k} ${v}`)).sort();

  void it("by default: a view role (into view, edit, admin) reading every Mooring kind, an edit role (into edit, admin) writing them, never their status, bound to no one", () => {
    const objs = renderChart();
    const roles = aggregated(objs);
    assert.deepEqual(roles.map((r) => r.metadata.name).sort(), ["mooring-edit", "mooring-view"]);
    const view = roles.find((r) => r.metadata.name === "mooring-view")!;
    const edit = roles.find((r) => r.metadata.name === "mooring-edit")!;
    const on = (r: K8sObject) => Object.entries(r.metadata.labels ?? {}).filter(([k, v]) => k.startsWith("rbac.authorization.k8s.io/aggregate-to-") && v === "true").map(([k]) => k.split("aggregate-to-")[1]).sort();
    assert.deepEqual(on(view), ["admin", "edit", "view"]);
    assert.deepEqual(on(edit), ["admin", "edit"], "view users never write");
    assert.deepEqual(rights(view), all(["get", "list", "watch"]));
    assert.deepEqual(rights(edit), all(["create", "delete", "deletecollection", "patch", "update"]));
    for (const r of roles) {
      const resources = (r as unknown as { rules: Rule[] }).rules.flatMap((x) => x.resources);
      assert.ok(!resources.some((x) => x.includes("/") || x === "*"), `${r.metadata.name} grants no subresource (status) and no wildcard: ${resources.join(",")}`);
    }
    const bound = objs.filter((o) => o.kind.endsWith("Binding")).map((b) => (b as unknown as { roleRef: { name: string } }).roleRef.name);
    assert.ok(!bound.includes("mooring-view") && !bound.includes("mooring-edit"), "no binding of the release uses them");
  });

  void it("none with rbac.aggregateToDefaultRoles=false or rbac.create=false", () => {
    assert.deepEqual(aggregated(renderChart({ "rbac.aggregateToDefaultRoles": false })), []);
    assert.deepEqual(aggregated(renderChart({ "rbac.create": false })), []);
  });
});
