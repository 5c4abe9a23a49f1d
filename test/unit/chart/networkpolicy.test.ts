// The chart's NetworkPolicy: on by default, it selects every controller Pod of the release; the artifact port admits
// only the release's controller Pods (and networkPolicy.artifactFrom); the webhook, metrics and health ports admit
// every source. (The local kwok cluster enforces no NetworkPolicy: this is checked on the rendered object, and
// install.test.ts has the API server accept it.)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderChart, type K8sObject } from "../../support/helm.js";

interface Peer { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: unknown }
interface Rule { from?: Peer[]; ports: { port: string | number; protocol: string }[] }
interface PolicySpec { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: Rule[] }

const podLabels = (d: K8sObject) => (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
const portNames = (d: K8sObject) => (d.spec as { template: { spec: { containers: { ports: { name: string }[] }[] } } }).template.spec.containers[0]!.ports.map((p) => p.name);
const matches = (sel: Record<string, string>, labels: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);

/** Which rule admits a connection from a Pod with `from` labels (undefined: any source) to `port` of a Pod. */
function admits(spec: PolicySpec, port: string, from: Record<string, string> | "elsewhere"): boolean {
  return spec.ingress.some((r) => r.ports.some((p) => p.port === port) && (!r.from || r.from.some((peer) => from !== "elsewhere" && !peer.namespaceSelector && matches(peer.podSelector?.matchLabels ?? {}, from))));
}

function policy(objs: K8sObject[]): PolicySpec {
  const nps = objs.filter((o) => o.kind === "NetworkPolicy");
  assert.equal(nps.length, 1, "one NetworkPolicy");
  assert.equal(nps[0]!.apiVersion, "networking.k8s.io/v1");
  return nps[0]!.spec as PolicySpec;
}

void describe("chart: NetworkPolicy", () => {
  for (const mode of ["split", "all-in-one"] as const) {
    void it(`${mode}: artifacts only from the release's controllers, webhook, metrics and health from anywhere`, () => {
      const objs = renderChart({ mode });
      const spec = policy(objs);
      assert.deepEqual(spec.policyTypes, ["Ingress"]);
      const deployments = objs.filter((o) => o.kind === "Deployment");
      for (const d of deployments) assert.ok(matches(spec.podSelector.matchLabels, podLabels(d)), `the policy selects the Pods of ${d.metadata.name}`);
      const servers = deployments.filter((d) => portNames(d).includes("http-artifacts"));
      assert.ok(servers.length > 0);
      for (const client of deployments) assert.ok(admits(spec, "http-artifacts", podLabels(client)), `${client.metadata.name} may download artifacts`);
      assert.equal(admits(spec, "http-artifacts", { app: "tenant" }), false, "a tenant's Pod may not");
      assert.equal(admits(spec, "http-artifacts", "elsewhere"), false, "nor anything outside the namespace");
      for (const port of ["http-webhook", "http-metrics", "health"]) assert.ok(admits(spec, port, "elsewhere"), `${port} is open`);
      // The ports the policy names are ports of the Pods (a named port that exists nowhere would match nothing).
      const named = new Set(deployments.flatMap(portNames));
      for (const r of spec.ingress) for (const p of r.ports) assert.ok(named.has(String(p.port)), `port ${p.port} is a container port`);
    });
  }

  void it("admits networkPolicy.artifactFrom to the artifact port", () => {
    const spec = policy(renderChart({}, { extraArgs: ["--set-json", 'networkPolicy.artifactFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"ci"}}}]'] }));
    const rule = spec.ingress.find((r) => r.ports.some((p) => p.port === "http-artifacts"))!;
    assert.deepEqual(rule.from?.[1], { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ci" } } });
  });

  void it("is left out with networkPolicy.enabled=false, and has no artifact rule without an artifact server", () => {
    assert.equal(renderChart({ "networkPolicy.enabled": false }).filter((o) => o.kind === "NetworkPolicy").length, 0);
    const applyOnly = policy(renderChart({ "controllers.source.enabled": false, "controllers.render.enabled": false }));
    assert.ok(!applyOnly.ingress.some((r) => r.ports.some((p) => p.port === "http-artifacts" || p.port === "http-webhook")));
  });
});
