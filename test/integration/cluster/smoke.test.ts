// The ground everything else stands on: a real API server whose Deployments get Pods that become Running and Ready
// (scheduled onto a kwok fake node), so health checks later have something real to look at.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

describe("local cluster smoke test", () => {
  let c: TestCluster;
  let ns: TestNamespace;
  before(async () => {
    c = await testCluster();
    ns = await createTestNamespace(c, "smoke");
  });
  after(async () => ns?.cleanup());

  it("has a Ready fake node", async () => {
    const nodes = await c.core.listNode();
    const ready = nodes.items.filter((n) => n.status?.conditions?.some((cond) => cond.type === "Ready" && cond.status === "True"));
    assert.ok(ready.length >= 1, `expected a Ready node, got ${JSON.stringify(nodes.items.map((n) => n.metadata?.name))}`);
  });

  it("runs a Deployment until its Pod is Running and the Deployment Available, then deletes it", async () => {
    const labels = { app: "smoke" };
    await c.apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: "smoke", labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: "app", image: "registry.invalid/smoke:1" }] } },
        },
      },
    });
    const pod = await waitFor("a Running pod of the smoke Deployment", async () => {
      const pods = await c.core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=smoke" });
      return pods.items.find((p) => p.status?.phase === "Running");
    }, { timeoutMs: 60_000 });
    assert.ok(pod.spec?.nodeName, "the pod was scheduled onto a node");
    await waitFor("the smoke Deployment to be Available", async () => {
      const d = await c.apps.readNamespacedDeployment({ name: "smoke", namespace: ns.name });
      return d.status?.conditions?.some((cond) => cond.type === "Available" && cond.status === "True");
    }, { timeoutMs: 60_000 });

    await c.apps.deleteNamespacedDeployment({ name: "smoke", namespace: ns.name, propagationPolicy: "Foreground" });
    await waitFor("the smoke Deployment and its pods to be gone", async () => {
      const [deps, pods] = await Promise.all([
        c.apps.listNamespacedDeployment({ namespace: ns.name }),
        c.core.listNamespacedPod({ namespace: ns.name, labelSelector: "app=smoke" }),
      ]);
      return deps.items.length === 0 && pods.items.length === 0;
    }, { timeoutMs: 60_000 });
  });
});
