// The Helm chart rendered offline with the pinned helm: lint, both modes, security, RBAC, Services, probes,
// and that the container flags are ones the operator's own CLI accepts.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { parseOperatorArgs } from "../../../src/config.js";
import { LEADER_LABEL } from "../../../src/operator.js";
import { CHART_DIR, parseObjects, renderChart, runHelm, type K8sObject } from "../../support/helm.js";
import { restrictedViolations } from "./pss.js";

type Obj = Record<string, unknown>;
interface Container { name: string; args: string[]; ports?: { name: string; containerPort: number }[]; securityContext: Obj; livenessProbe?: Obj; readinessProbe?: Obj; volumeMounts?: { name: string; mountPath: string }[]; resources?: Obj }
interface PodSpec extends Obj { serviceAccountName: string; containers: Container[]; volumes?: Obj[] }
interface Rule { apiGroups?: string[]; resources?: string[]; verbs: string[] }
interface Subject { kind: string; name: string; namespace?: string }

const NS = "mooring-system";
const of = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name} rendered; have: ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`);
  return o;
};
const podSpec = (d: K8sObject) => (d.spec as { template: { spec: PodSpec } }).template.spec;
const podLabels = (d: K8sObject) => (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
const container = (d: K8sObject) => podSpec(d).containers[0]!;
const flag = (c: Container, name: string) => c.args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const rules = (o: K8sObject) => (o.rules ?? []) as Rule[];
const subjects = (o: K8sObject) => (o.subjects ?? []) as Subject[];
const roleRef = (o: K8sObject) => o.roleRef as { kind: string; name: string };
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const grants = (rs: Rule[], group: string, resource: string, verb: string) =>
  rs.some((r) => (r.apiGroups ?? []).includes(group) && (r.resources ?? []).includes(resource) && r.verbs.includes(verb));

function assertPodSecurity(deployments: K8sObject[]) {
  assert.ok(deployments.length > 0, "no Deployments rendered");
  for (const d of deployments) {
    const spec = podSpec(d);
    assert.deepEqual(restrictedViolations(spec, `Deployment ${d.metadata.name}`), []);
    for (const c of spec.containers) {
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, `${d.metadata.name}/${c.name}: root filesystem must be read-only`);
      const tmp = c.volumeMounts?.find((m) => m.mountPath === "/tmp");
      assert.ok(tmp, `${d.metadata.name}/${c.name}: /tmp must be a writable volume`);
      const vol = spec.volumes?.find((v) => v.name === tmp.name);
      assert.ok(vol && "emptyDir" in vol, `${d.metadata.name}: /tmp must be an emptyDir`);
    }
  }
}

function assertProbes(deployments: K8sObject[]) {
  for (const d of deployments) {
    const c = container(d);
    const live = c.livenessProbe as { httpGet: { path: string; port: string } } | undefined;
    const ready = c.readinessProbe as { httpGet: { path: string; port: string } } | undefined;
    assert.equal(live?.httpGet.path, "/healthz", `${d.metadata.name}: liveness probe on /healthz`);
    assert.equal(ready?.httpGet.path, "/readyz", `${d.metadata.name}: readiness probe on /readyz`);
    const health = c.ports?.find((p) => p.name === live.httpGet.port);
    assert.ok(health, `${d.metadata.name}: probe port ${live.httpGet.port} is not a container port`);
    assert.equal(ready.httpGet.port, live.httpGet.port);
    // The probed port is the one the process listens on for health.
    assert.equal(parseOperatorArgs(c.args.slice(1)).healthAddr, `:${health.containerPort}`);
    assert.ok(c.ports?.some((p) => p.name === "http-metrics" && parseOperatorArgs(c.args.slice(1)).metricsAddr === `:${p.containerPort}`), `${d.metadata.name}: metrics port`);
  }
}

/** Every Service selects the Pods of some Deployment, and its targetPort is a port those Pods declare. */
/** A Pod's labels once it leads: the operator adds mooring.dev/leader=<its Lease> (src/runtime/leaderlabel.ts). */
function leaderPodLabels(d: K8sObject): Record<string, string> {
  const cfg = parseOperatorArgs(container(d).args.slice(1));
  return cfg.leaderElect ? { ...podLabels(d), [LEADER_LABEL]: cfg.leaderElectionId } : podLabels(d);
}

function assertServicesReachPods(objs: K8sObject[]) {
  const deployments = of(objs, "Deployment");
  for (const svc of of(objs, "Service")) {
    const spec = svc.spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
    const targets = deployments.filter((d) => matches(spec.selector, leaderPodLabels(d)));
    assert.ok(targets.length > 0, `Service ${svc.metadata.name} selects no Deployment's Pods`);
    for (const p of spec.ports) {
      for (const d of targets) assert.ok(container(d).ports?.some((cp) => cp.name === p.targetPort), `Service ${svc.metadata.name}: Pods of ${d.metadata.name} have no port ${p.targetPort}`);
    }
  }
}

/** Bindings name only rendered ServiceAccounts and rendered roles (cluster-admin aside). */
function assertBindingsResolve(objs: K8sObject[]) {
  const sas = new Set(of(objs, "ServiceAccount").map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
  for (const b of [...of(objs, "ClusterRoleBinding"), ...of(objs, "RoleBinding")]) {
    for (const s of subjects(b)) assert.ok(sas.has(`${s.namespace}/${s.name}`), `${b.kind} ${b.metadata.name} binds ServiceAccount ${s.namespace}/${s.name}, which the chart does not create`);
    const ref = roleRef(b);
    if (ref.name === "cluster-admin") continue;
    named(objs, ref.kind, ref.name);
  }
}

void describe("chart: helm lint", () => {
  for (const mode of ["split", "all-in-one"]) {
    void it(`is clean in ${mode} mode (--strict)`, () => {
      const r = runHelm(["lint", CHART_DIR, "--strict", "--kube-version", "1.36.0", "--set", `mode=${mode}`]);
      assert.equal(r.status, 0, `helm lint failed:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/);
    });
  }
});

void describe("chart: Kubernetes versions", () => {
  void it("refuses Kubernetes older than 1.28, naming the requirement", () => {
    const r = runHelm(["template", "m", CHART_DIR, "--kube-version", "1.27.3"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /requires kubeVersion: >=1\.28\.0-0/);
  });
});

void describe("chart: split mode (the default)", () => {
  const objs = renderChart();
  const deployments = of(objs, "Deployment");

  void it("renders one Deployment per controller, each running only its controller", () => {
    assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), ["mooring-apply", "mooring-render", "mooring-source"]);
    for (const d of deployments) {
      const c = container(d);
      assert.equal(c.args[0], "controller");
      const name = d.metadata.name.replace("mooring-", "");
      assert.deepEqual(parseOperatorArgs(c.args.slice(1)).controllers, [name]);
      assert.equal(podSpec(d).serviceAccountName, d.metadata.name, "each controller has its own ServiceAccount");
      assert.ok(c.resources && "requests" in c.resources, `${d.metadata.name}: resources set`);
    }
  });

  void it("gives every Pod the restricted Pod Security Standard and a read-only root filesystem", () => assertPodSecurity(deployments));

  void it("probes /healthz and /readyz on the health port, and declares the metrics port", () => assertProbes(deployments));

  void it("passes flags the operator's CLI accepts, with leader election on in the release namespace", () => {
    for (const d of deployments) {
      const cfg = parseOperatorArgs(container(d).args.slice(1));
      assert.equal(cfg.leaderElect, true);
      assert.equal(cfg.leaderElectionNamespace, NS);
      assert.equal(cfg.logFormat, "json");
    }
  });

  void it("gives each controller its own Lease, named from the release and the controller, so each elects a leader", () => {
    const leases = deployments.map((d) => parseOperatorArgs(container(d).args.slice(1)).leaderElectionId);
    assert.deepEqual(leases.sort(), ["mooring-apply-leader", "mooring-render-leader", "mooring-source-leader"]);
    // The chart creates the Leases, so `helm uninstall` removes them with the rest.
    assert.deepEqual(of(objs, "Lease").map((l) => `${l.metadata.namespace}/${l.metadata.name}`).sort(), leases.map((l) => `${NS}/${l}`));
    const other = of(renderChart({}, { release: "other" }), "Deployment").map((d) => parseOperatorArgs(container(d).args.slice(1)).leaderElectionId);
    assert.equal(other.filter((l) => leases.includes(l)).length, 0, `a second release in the namespace uses other Leases: ${other.join(", ")}`);
  });

  void it("gives the source and render controllers artifact storage on an emptyDir and an advertised Service address", () => {
    for (const name of ["mooring-source", "mooring-render"]) {
      const d = named(objs, "Deployment", name);
      const cfg = parseOperatorArgs(container(d).args.slice(1));
      assert.equal(cfg.storagePath, "/data");
      const mount = container(d).volumeMounts?.find((m) => m.mountPath === "/data");
      assert.ok(mount, `${name}: /data mounted`);
      assert.ok(podSpec(d).volumes?.some((v) => v.name === mount.name && "emptyDir" in v), `${name}: /data is an emptyDir`);
      assert.equal(cfg.advertisedArtifactAddr, `${name}.${NS}.svc.cluster.local:80`);
      const svc = named(objs, "Service", name);
      const selector = (svc.spec as { selector: Record<string, string> }).selector;
      assert.ok(matches(selector, leaderPodLabels(d)), `Service ${name} selects the leading ${name} Pod`);
      assert.ok(!matches(selector, podLabels(d)), `Service ${name} does not select a ${name} Pod that is not leading (it has no artifacts)`);
    }
    const apply = named(objs, "Deployment", "mooring-apply");
    assert.equal(flag(container(apply), "advertised-artifact-addr"), undefined, "the apply controller serves no artifacts");
  });

  void it("routes the webhook Service to the source controller and the metrics Service to every controller", () => {
    const webhook = named(objs, "Service", "mooring-webhook");
    const sel = (webhook.spec as { selector: Record<string, string> }).selector;
    assert.deepEqual(deployments.filter((d) => matches(sel, podLabels(d))).map((d) => d.metadata.name), ["mooring-source"]);
    assert.ok(flag(container(named(objs, "Deployment", "mooring-source")), "webhook-addr"));
    const metrics = named(objs, "Service", "mooring-metrics");
    const msel = (metrics.spec as { selector: Record<string, string> }).selector;
    assert.equal(deployments.filter((d) => matches(msel, podLabels(d))).length, 3);
    assertServicesReachPods(objs);
  });

  // Every right, with its reason, is compared with docs/rbac.md in rbac.test.ts; these check the shape.
  void it("gives each controller a ClusterRole of its own, bound to its ServiceAccount, and the apply controller impersonation only where granted", () => {
    for (const c of ["source", "render", "apply"]) {
      const role = named(objs, "ClusterRole", `mooring-${c}`);
      assert.ok(grants(rules(role), "events.k8s.io", "events", "create"), `${c} records events`);
      assert.deepEqual(subjects(named(objs, "ClusterRoleBinding", `mooring-${c}`)).map((s) => s.name), [`mooring-${c}`]);
      for (const verb of ["create", "update", "patch", "delete", "list", "watch"]) assert.ok(!grants(rules(role), "", "secrets", verb), `${c}: secrets are read by name only, not ${verb}`);
    }
    assert.ok(grants(rules(named(objs, "ClusterRole", "mooring-source")), "", "secrets", "get"));
    assert.ok(grants(rules(named(objs, "ClusterRole", "mooring-render")), "", "configmaps", "watch"));
    const le = named(objs, "Role", "mooring-leader-election");
    assert.equal(le.metadata.namespace, NS);
    assert.ok(grants(rules(le), "coordination.k8s.io", "leases", "update"));

    const apply = named(objs, "ClusterRole", "mooring-apply");
    const readAll = rules(apply).find((r) => (r.resources ?? []).includes("*"));
    assert.deepEqual(readAll?.verbs, ["get", "list", "watch"], "the apply controller reads every kind (health, drift) and writes none directly");
    for (const verb of ["create", "patch", "update", "delete"]) assert.ok(!grants(rules(apply), "apps", "deployments", verb), `no direct ${verb} on workloads`);
    assert.ok(grants(rules(named(objs, "ClusterRole", "mooring-impersonate")), "", "serviceaccounts", "impersonate"), "the ClusterRole tenants bind");
    assert.equal(of(objs, "RoleBinding").filter((b) => roleRef(b).name === "mooring-impersonate").length, 0, "bound nowhere by default");
    for (const role of [...of(objs, "ClusterRole"), ...of(objs, "Role")]) {
      for (const r of rules(role)) {
        assert.ok(!r.verbs.includes("*"), `${role.metadata.name}: no wildcard verbs`);
        if (r !== readAll) assert.ok(!(r.resources ?? []).includes("*") && !(r.apiGroups ?? []).includes("*"), `${role.metadata.name}: no wildcards outside the apply controller's read rule`);
      }
    }
    assert.ok(!of(objs, "ClusterRoleBinding").some((b) => roleRef(b).name === "cluster-admin"), "no cluster-admin by default");
    assertBindingsResolve(objs);
  });

  // The notify controller is opt-in (controllers.notify.enabled: false), but its CRDs ship either way (Helm installs
  // crds/ unconditionally): so the check is made with every controller the chart can run enabled.
  void it("covers every CRD the chart ships: some controller, the opt-in notify one included, watches the kind and patches its status", () => {
    const crdDir = path.join(CHART_DIR, "crds");
    const files = readdirSync(crdDir).filter((f) => f.endsWith(".yaml"));
    assert.ok(files.length >= 3, `the chart's crds/ holds the generated CRDs (found ${files.length}); run 'make generate'`);
    const everything = renderChart({ "controllers.notify.enabled": true });
    const all = ["source", "render", "apply", "notify"].flatMap((c) => rules(named(everything, "ClusterRole", `mooring-${c}`)));
    for (const f of files) {
      for (const crd of parseObjects(readFileSync(path.join(crdDir, f), "utf8")).filter((o) => o.kind === "CustomResourceDefinition")) {
        const spec = crd.spec as { group: string; names: { plural: string } };
        assert.ok(grants(all, spec.group, spec.names.plural, "watch"), `watch ${spec.names.plural}.${spec.group}`);
        assert.ok(grants(all, spec.group, `${spec.names.plural}/status`, "patch"), `patch ${spec.names.plural}.${spec.group}/status`);
      }
    }
  });

  void it("names cluster-scoped objects after the release, so two releases do not collide", () => {
    const other = renderChart({}, { release: "second", namespace: "elsewhere" });
    const clusterScoped = (os: K8sObject[]) => os.filter((o) => o.kind.startsWith("Cluster")).map((o) => `${o.kind}/${o.metadata.name}`);
    const mine = clusterScoped(objs);
    assert.ok(mine.length >= 4);
    for (const n of clusterScoped(other)) assert.ok(!mine.includes(n), `${n} collides between releases`);
    assert.ok(clusterScoped(other).every((n) => n.includes("second")));
  });

  void it("renders no ServiceMonitor or PodDisruptionBudget unless asked", () => {
    assert.equal(of(objs, "ServiceMonitor").length, 0);
    assert.equal(of(objs, "PodDisruptionBudget").length, 0);
  });
});

void describe("chart: all-in-one mode", () => {
  const objs = renderChart({ mode: "all-in-one" });
  const deployments = of(objs, "Deployment");

  void it("renders a single Deployment running every controller", () => {
    assert.equal(deployments.length, 1);
    const d = deployments[0]!;
    assert.deepEqual(parseOperatorArgs(container(d).args.slice(1)).controllers, ["source", "render", "apply"]);
    assert.equal(of(objs, "ServiceAccount").length, 1);
    assert.equal(podSpec(d).serviceAccountName, of(objs, "ServiceAccount")[0]!.metadata.name);
  });

  void it("meets the restricted Pod Security Standard and has probes", () => {
    assertPodSecurity(deployments);
    assertProbes(deployments);
  });

  void it("points the artifact, webhook and metrics Services at that Deployment", () => {
    assert.deepEqual(of(objs, "Service").map((s) => s.metadata.name).sort(), ["mooring-artifacts", "mooring-metrics", "mooring-webhook"]);
    assertServicesReachPods(objs);
    const cfg = parseOperatorArgs(container(deployments[0]!).args.slice(1));
    assert.equal(cfg.advertisedArtifactAddr, `mooring-artifacts.${NS}.svc.cluster.local:80`);
  });

  void it("binds every controller's role, and impersonation in the tenant namespaces, to the one ServiceAccount", () => {
    for (const c of ["source", "render", "apply"]) assert.deepEqual(subjects(named(objs, "ClusterRoleBinding", `mooring-${c}`)).map((s) => s.name), ["mooring"]);
    assertBindingsResolve(objs);
    const tenants = renderChart({ mode: "all-in-one" }, { extraArgs: ["--set-json", 'rbac.apply.tenantNamespaces=["team-a"]'] });
    const rb = of(tenants, "RoleBinding").filter((b) => roleRef(b).name === "mooring-impersonate");
    assert.deepEqual(rb.map((b) => `${b.metadata.namespace}: ${subjects(b).map((s) => s.name).join()}`), ["team-a: mooring"]);
  });
});

void describe("chart: values", () => {
  void it("runs 2 replicas with leader election", () => {
    for (const mode of ["split", "all-in-one"]) {
      const ds = of(renderChart({ mode, replicas: 2 }), "Deployment");
      for (const d of ds) {
        assert.equal((d.spec as { replicas: number }).replicas, 2);
        assert.equal(parseOperatorArgs(container(d).args.slice(1)).leaderElect, true);
      }
    }
  });

  void it("refuses 2 replicas without leader election, saying why", () => {
    const r = runHelm(["template", "m", CHART_DIR, "--set", "replicas=2", "--set", "leaderElection.enabled=false"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /replicas: 2 replicas need leaderElection\.enabled=true/);
  });

  void it("refuses to disable every controller", () => {
    const r = runHelm(["template", "m", CHART_DIR, "--set", "controllers.source.enabled=false,controllers.render.enabled=false,controllers.apply.enabled=false"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /enable at least one of controllers\.source/);
  });

  void it("runs the notify controller only when enabled: its own Deployment, ServiceAccount, ClusterRole and Lease, no derived limits", () => {
    assert.equal(of(renderChart(), "Deployment").filter((d) => d.metadata.name === "mooring-notify").length, 0, "off by default");
    const objs = renderChart({ "controllers.notify.enabled": true });
    const d = named(objs, "Deployment", "mooring-notify");
    const cfg = parseOperatorArgs(container(d).args.slice(1));
    assert.deepEqual(cfg.controllers, ["notify"]);
    assert.equal(podSpec(d).serviceAccountName, "mooring-notify");
    assert.deepEqual(subjects(named(objs, "ClusterRoleBinding", "mooring-notify")).map((s) => s.name), ["mooring-notify"]);
    named(objs, "Lease", "mooring-notify-leader");
    // It renders, fetches and downloads nothing, so no size limit is derived from its memory (a zero share once
    // divided by zero and failed the whole install).
    for (const f of ["max-object-size", "max-source-size", "render-worker-heap", "max-rendered-size", "max-storage-size"]) assert.equal(flag(container(d), f), undefined, f);
    assertPodSecurity([d]);
    assertProbes([d]);
    assertBindingsResolve(objs);
    const role = rules(named(objs, "ClusterRole", "mooring-notify"));
    for (const verb of ["list", "watch"]) assert.ok(!grants(role, "", "secrets", verb), `Providers' Secrets are read by name only, not ${verb}`);
    const aio = of(renderChart({ mode: "all-in-one", "controllers.notify.enabled": true }), "Deployment");
    assert.deepEqual(parseOperatorArgs(container(aio[0]!).args.slice(1)).controllers, ["source", "render", "apply", "notify"]);
    const alone = renderChart({ "controllers.source.enabled": false, "controllers.render.enabled": false, "controllers.apply.enabled": false, "controllers.notify.enabled": true });
    assert.deepEqual(of(alone, "Deployment").map((x) => x.metadata.name), ["mooring-notify"]);
  });

  void it("runs any subset of controllers", () => {
    const split = of(renderChart({ "controllers.render.enabled": false }), "Deployment");
    assert.deepEqual(split.map((d) => d.metadata.name).sort(), ["mooring-apply", "mooring-source"]);
    const aio = of(renderChart({ mode: "all-in-one", "controllers.render.enabled": false }), "Deployment");
    assert.deepEqual(parseOperatorArgs(container(aio[0]!).args.slice(1)).controllers, ["source", "apply"]);
    const noApply = renderChart({ "controllers.apply.enabled": false });
    assert.equal(of(noApply, "ClusterRole").filter((r) => r.metadata.name === "mooring-apply").length, 0, "no impersonation without the apply controller");
  });

  void it("binds cluster-admin to the apply controller only when rbac.apply.clusterAdmin is true", () => {
    const objs = renderChart({ "rbac.apply.clusterAdmin": true });
    const admin = of(objs, "ClusterRoleBinding").filter((b) => roleRef(b).name === "cluster-admin");
    assert.equal(admin.length, 1);
    assert.deepEqual(subjects(admin[0]!).map((s) => s.name), ["mooring-apply"]);
  });

  void it("adds extra rules to the apply controller's ClusterRole", () => {
    const objs = renderChart({}, { extraArgs: ["--set-json", 'rbac.apply.extraRules=[{"apiGroups":["apps"],"resources":["deployments"],"verbs":["get","patch"]}]'] });
    assert.ok(grants(rules(named(objs, "ClusterRole", "mooring-apply")), "apps", "deployments", "patch"));
  });

  void it("passes the default ServiceAccount to the apply controller only", () => {
    const objs = renderChart({ defaultServiceAccount: "deployer" });
    for (const d of of(objs, "Deployment")) {
      const apply = d.metadata.name === "mooring-apply";
      assert.equal(flag(container(d), "default-service-account"), apply ? "--default-service-account=deployer" : undefined, d.metadata.name);
      if (apply) assert.equal(parseOperatorArgs(container(d).args.slice(1)).defaultServiceAccount, "deployer");
    }
  });

  void it("passes the operator settings through as flags", () => {
    const objs = renderChart({ watchNamespace: "team-a", allowCrossNamespaceRefs: true, concurrency: 8, qps: 20, burst: 40, logLevel: "debug", logFormat: "text", "extraArgs[0]": "--log-level=warn" });
    for (const d of of(objs, "Deployment")) {
      const cfg = parseOperatorArgs(container(d).args.slice(1));
      assert.equal(cfg.watchNamespace, "team-a");
      assert.equal(cfg.allowCrossNamespaceRefs, true);
      assert.deepEqual([cfg.concurrency, cfg.qps, cfg.burst, cfg.logFormat], [8, 20, 40, "text"]);
      assert.equal(cfg.logLevel, "warn", "extraArgs come last, so they override");
    }
  });

  void it("keeps the selector labels when podLabels name the same keys, and spreads Pods with a default selector", () => {
    const objs = renderChart({ "podLabels.app\\.kubernetes\\.io/component": "mine", "podLabels.team": "a" }, { extraArgs: ["--set-json", 'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"kubernetes.io/hostname","whenUnsatisfiable":"ScheduleAnyway"}]'] });
    for (const d of of(objs, "Deployment")) {
      const labels = podLabels(d);
      assert.equal(labels.team, "a");
      const selector = (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      assert.ok(matches(selector, labels), `${d.metadata.name}: its selector matches its Pods`);
      const tsc = (podSpec(d).topologySpreadConstraints as { labelSelector: { matchLabels: Record<string, string> } }[])[0]!;
      assert.deepEqual(tsc.labelSelector.matchLabels, selector);
    }
  });

  void it("renders a ServiceMonitor for the metrics Service when enabled", () => {
    const objs = renderChart({ "serviceMonitor.enabled": true, "serviceMonitor.labels.release": "prometheus" });
    const sm = named(objs, "ServiceMonitor", "mooring");
    assert.equal(sm.apiVersion, "monitoring.coreos.com/v1");
    assert.equal(sm.metadata.labels?.release, "prometheus");
    const spec = sm.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
    const svc = of(objs, "Service").filter((s) => matches(spec.selector.matchLabels, s.metadata.labels ?? {}));
    assert.deepEqual(svc.map((s) => s.metadata.name), ["mooring-metrics"]);
    assert.equal(spec.endpoints[0]!.port, (svc[0]!.spec as { ports: { name: string }[] }).ports[0]!.name);
  });

  void it("pins the image by digest, and passes tolerations and a PodDisruptionBudget through", () => {
    const digest = "sha256:" + "a".repeat(64);
    const objs = renderChart({ "image.digest": digest, "podDisruptionBudget.enabled": true, "tolerations[0].key": "kwok.x-k8s.io/node", "tolerations[0].operator": "Exists" });
    for (const d of of(objs, "Deployment")) {
      assert.equal((podSpec(d).containers[0] as unknown as { image: string }).image, `ghcr.io/mooring-dev/mooring@${digest}`);
      assert.deepEqual(podSpec(d).tolerations, [{ key: "kwok.x-k8s.io/node", operator: "Exists" }]);
    }
    assert.equal(of(objs, "PodDisruptionBudget").length, 3);
  });

  void it("uses the chart's appVersion as the default image tag", () => {
    const d = of(renderChart(), "Deployment")[0]!;
    assert.equal((podSpec(d).containers[0] as unknown as { image: string }).image, "ghcr.io/mooring-dev/mooring:0.1.0");
  });
});

void describe("chart: invalid values are refused by the schema with a readable message", () => {
  const cases: { set: string; mentions: RegExp[] }[] = [
    { set: "mode=bogus", mentions: [/mode/, /split/] },
    { set: "replicas=-1", mentions: [/replicas/, /minimum|>= 0|less than/i] },
    { set: "bogus=1", mentions: [/bogus/, /additional/i] },
    { set: "logLevel=loud", mentions: [/logLevel/, /info/] },
    { set: "image.pullPolicy=Sometimes", mentions: [/pullPolicy/, /IfNotPresent/] },
    { set: "ports.metrics=70000", mentions: [/metrics/, /maximum|<= 65535|greater than/i] },
    { set: "rbac.apply.typo=true", mentions: [/typo/, /additional/i] },
    { set: "concurrency=0", mentions: [/concurrency/, /minimum|>= 1|less than/i] },
    { set: "image.digest=latest", mentions: [/digest/] },
    { set: "service.artifact.type=LoadBalancer", mentions: [/type/, /ClusterIP/] },
  ];
  for (const c of cases) {
    void it(`refuses ${c.set}`, () => {
      const [key, value] = c.set.split("=") as [string, string];
      const setArg = /^-?\d+$/.test(value) || value === "true" ? "--set" : "--set-string";
      const r = runHelm(["template", "m", CHART_DIR, setArg, `${key}=${value}`]);
      assert.notEqual(r.status, 0, `helm accepted ${c.set}`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/);
      for (const m of c.mentions) assert.match(r.stderr, m, `the message for ${c.set} should match ${m}:\n${r.stderr}`);
    });
  }
});
