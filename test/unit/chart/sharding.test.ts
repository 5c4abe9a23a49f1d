// Sharding in the chart (sharding.shards, docs/scaling.md), rendered offline with the pinned helm: no shards renders
// exactly what the chart rendered before sharding existed; with shards, each shard has its own Deployments, Leases
// and artifact Services, reconciles only its own label, and its render/apply fetch from its own shard's artifacts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseOperatorArgs } from "../../../src/config.js";
import { renderChart, type K8sObject } from "../../support/helm.js";

const KEY = "sharding.mooring.dev/key";
interface Container { args: string[] }
const of = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const names = (objs: K8sObject[], kind: string) => of(objs, kind).map((o) => o.metadata.name).sort();
const byName = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name}; have ${names(objs, kind).join(", ")}`);
  return o;
};
const args = (d: K8sObject) => (d.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!.args;
const flagValue = (d: K8sObject, flag: string) => args(d).find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);
const selector = (d: K8sObject) => (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
const podLabels = (d: K8sObject) => (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
const svcSelector = (s: K8sObject) => (s.spec as { selector: Record<string, string> }).selector;
const matches = (sel: Record<string, string>, labels: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
const shards = (list: string[]) => ({ "sharding.shards": `{${list.join(",")}}` });
/** The objects with the watch-label-selector argument removed, to compare a sharded render's default shard with the unsharded one. */
const withoutSelector = (objs: K8sObject[]) => JSON.parse(JSON.stringify(objs, (k, v: unknown) => (k === "args" && Array.isArray(v) ? v.filter((a) => !String(a).startsWith("--watch-label-selector=")) : v))) as K8sObject[];

for (const mode of ["split", "all-in-one"] as const) {
  const controllers = mode === "split" ? ["source", "render", "apply"] : ["all-in-one"];
  const base = (c: string) => (mode === "split" ? `mooring-${c}` : "mooring");
  const artifacts = (c: string) => (mode === "split" ? `mooring-${c}` : "mooring-artifacts");
  describe(`chart sharding (${mode} mode)`, () => {
    it("no shards (the default): the render is identical to sharding.shards=[] and no flag is added", () => {
      const plain = renderChart({ mode });
      assert.deepEqual(renderChart({ mode }, { extraArgs: ["--set-json", "sharding.shards=[]"] }), plain);
      for (const d of of(plain, "Deployment")) assert.equal(flagValue(d, "watch-label-selector"), undefined, d.metadata.name);
      assert.ok(!of(plain, "Deployment").some((d) => d.metadata.labels?.["mooring.dev/shard"]));
    });

    it("two shards: the default objects are unchanged but for the selector, which excludes both shards", () => {
      const plain = renderChart({ mode });
      const sharded = renderChart({ mode, ...shards(["shard1", "shard2"]) });
      const kept = sharded.filter((o) => !o.metadata.labels?.["mooring.dev/shard"]);
      assert.deepEqual(withoutSelector(kept), plain);
      for (const c of controllers) {
        const d = byName(sharded, "Deployment", base(c));
        assert.equal(flagValue(d, "watch-label-selector"), `${KEY} notin (shard1,shard2)`);
        assert.equal(parseOperatorArgs(args(d).slice(1)).watchLabelSelector, `${KEY} notin (shard1,shard2)`);
      }
    });

    it("two shards: each has its own Deployments, selector, Lease and artifact Services, and fetches from its own shard", () => {
      const objs = renderChart({ mode, ...shards(["shard1", "shard2"]) });
      const deployments = of(objs, "Deployment");
      assert.equal(deployments.length, controllers.length * 3);
      const leases = new Set(deployments.map((d) => flagValue(d, "leader-election-id")));
      assert.equal(leases.size, deployments.length, "every Deployment has a Lease of its own");
      assert.deepEqual(names(objs, "Lease"), [...leases].sort(), "the chart creates each Deployment's Lease");
      // No Deployment's selector takes another's Pods.
      for (const d of deployments) for (const o of deployments) if (o !== d) assert.ok(!matches(selector(d), podLabels(o)), `${d.metadata.name} selects ${o.metadata.name}'s Pods`);
      for (const s of ["shard1", "shard2"]) {
        for (const c of controllers) {
          const d = byName(objs, "Deployment", `${base(c)}-${s}`);
          const cfg = parseOperatorArgs(args(d).slice(1));
          assert.equal(cfg.watchLabelSelector, `${KEY}=${s}`);
          assert.equal(cfg.leaderElectionId, `${base(c)}-${s}-leader`);
          assert.equal(podLabels(d)["mooring.dev/shard"], s);
          assert.equal(d.metadata.labels?.["mooring.dev/shard"], s);
          // Same controllers and ServiceAccount as the default shard's Deployment.
          const main = byName(objs, "Deployment", base(c));
          assert.equal(flagValue(d, "controllers"), flagValue(main, "controllers"));
          assert.deepEqual((d.spec as { template: { spec: { serviceAccountName: string } } }).template.spec.serviceAccountName, (main.spec as { template: { spec: { serviceAccountName: string } } }).template.spec.serviceAccountName);
          const advertised = cfg.advertisedArtifactAddr;
          if (c === "apply") {
            assert.equal(advertised, undefined);
            continue;
          }
          // The artifact address it advertises (the URL written into status, which the next controller downloads)
          // is its own shard's Service, and that Service selects this Deployment's leader only.
          assert.equal(advertised, `${artifacts(c)}-${s}.mooring-system.svc.cluster.local:80`);
          const svc = byName(objs, "Service", `${artifacts(c)}-${s}`);
          assert.deepEqual(svcSelector(svc), { ...selector(d), "mooring.dev/leader": `${base(c)}-${s}-leader` });
          for (const o of deployments) assert.equal(matches(svcSelector(svc), { ...podLabels(o), "mooring.dev/leader": `${base(c)}-${s}-leader` }), o === d, `Service ${svc.metadata.name} vs ${o.metadata.name}`);
        }
      }
      // A webhook Service per shard, each selecting its own shard's source controller only (the default shard's
      // takes operator-wide pushes for all shards; a shard's own serves its GitRepositories' receivers).
      assert.deepEqual(names(objs, "Service").filter((n) => n.includes("-webhook")), ["mooring-webhook", "mooring-webhook-shard1", "mooring-webhook-shard2"]);
      for (const s of ["", "-shard1", "-shard2"]) {
        const svc = byName(objs, "Service", `mooring-webhook${s}`);
        const source = byName(objs, "Deployment", `${base("source")}${s}`);
        for (const o of deployments) assert.equal(matches(svcSelector(svc), podLabels(o)), o === source, `Service ${svc.metadata.name} vs ${o.metadata.name}`);
      }
      // The ServiceAccounts and RBAC are shared: not one more than without shards.
      const plain = renderChart({ mode });
      for (const kind of ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]) assert.deepEqual(names(objs, kind), names(plain, kind), kind);
    });

    it("with the notify controller: it runs on the default shard only (it reads every shard's Events), never in a shard's copy", () => {
      const objs = renderChart({ mode, "controllers.notify.enabled": true, ...shards(["shard1", "shard2"]) });
      const running = (d: K8sObject) => flagValue(d, "controllers")!.split(",");
      const deployments = of(objs, "Deployment");
      const withNotify = deployments.filter((d) => running(d).includes("notify")).map((d) => d.metadata.name);
      assert.deepEqual(withNotify, [mode === "split" ? "mooring-notify" : "mooring"]);
      for (const s of ["shard1", "shard2"]) {
        const copies = deployments.filter((d) => d.metadata.labels?.["mooring.dev/shard"] === s);
        assert.deepEqual(copies.flatMap(running).sort(), ["apply", "render", "source"], `shard ${s} runs the three controllers`);
      }
    });

    it("with a PodDisruptionBudget, each shard's Deployment has its own", () => {
      const objs = renderChart({ mode, "podDisruptionBudget.enabled": true, ...shards(["a"]) });
      assert.deepEqual(names(objs, "PodDisruptionBudget"), controllers.flatMap((c) => [base(c), `${base(c)}-a`]).sort());
    });
  });
}

describe("chart sharding: values refused", () => {
  it("an invalid shard name, a duplicate, or one that makes names too long", () => {
    assert.throws(() => renderChart({ "sharding.shards": "{Shard_1}" }), /sharding|shards/);
    assert.throws(() => renderChart({ ...shards(["a", "a"]) }), /unique|shards/);
    assert.throws(() => renderChart({ ...shards(["x".repeat(40)]), fullnameOverride: "f".repeat(40) }), /too long|maxLength|shards/);
    // All-in-one: "<f>-<s>-leader" is 63 characters, which fits, but the shard's webhook Service "<f>-webhook-<s>" is 64.
    const edge = { mode: "all-in-one", fullnameOverride: "f".repeat(30) };
    assert.doesNotThrow(() => renderChart({ ...edge, ...shards(["x".repeat(24)]) }));
    assert.throws(() => renderChart({ ...edge, ...shards(["x".repeat(25)]) }), /webhook Service name .* too long/);
  });

  it("a custom key is used in every selector", () => {
    const objs = renderChart({ "sharding.key": "example.com/shard", ...shards(["s1"]) });
    assert.equal(flagValue(byName(objs, "Deployment", "mooring-apply"), "watch-label-selector"), "example.com/shard notin (s1)");
    assert.equal(flagValue(byName(objs, "Deployment", "mooring-apply-s1"), "watch-label-selector"), "example.com/shard=s1");
  });
});
