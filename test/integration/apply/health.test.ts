// Health from watch events on real rollouts: kwok makes Pods Ready, so a schedulable Deployment becomes Healthy;
// one that can never be scheduled stays Progressing until the health timeout turns it Degraded.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { condition, deployment, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-health" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

describe("health", () => {
  it("a Deployment that rolls out becomes Healthy, and Ready", async () => {
    await h.createApp("rolls");
    await h.publish("rolls", [deployment("rolls", { replicas: 2 })]);
    const a = await h.waitApp("rolls", "Healthy", (a) => a.status?.health?.status === "Healthy" && a, 60_000);
    assert.equal(condition(a, "Healthy")?.status, "True");
    assert.equal(condition(a, "Ready")?.status, "True");
    const dep = await h.admin.get<{ status?: { readyReplicas?: number } } & Record<string, unknown>>({ apiVersion: "apps/v1", kind: "Deployment" }, "rolls", h.ns.name);
    assert.equal(dep?.status?.readyReplicas, 2, "the Pods really are Ready");
  });

  it("a Deployment that cannot be scheduled is Progressing, then Degraded after the health timeout, naming the Deployment", async () => {
    await h.createPolicy("short-health", { health: { timeout: "4s" } });
    await h.createApp("stuck", { syncPolicyRef: { name: "short-health" } });
    await h.publish("stuck", [deployment("stuck", { nodeSelector: { "mooring.dev/no-such-node": "true" } })]);
    const p = await h.waitApp("stuck", "Progressing", (a) => (a.status?.health?.status === "Progressing" || a.status?.health?.status === "Degraded") && a, 30_000);
    assert.match(p.status?.health?.message ?? "", new RegExp(`Deployment ${h.ns.name}/stuck`));
    const a = await h.waitApp("stuck", "Degraded", (a) => a.status?.health?.status === "Degraded" && a, 30_000);
    assert.equal(condition(a, "Healthy")?.status, "False");
    assert.equal(condition(a, "Healthy")?.reason, "HealthCheckTimeout");
    assert.match(a.status?.health?.message ?? "", new RegExp(`health timeout.*Deployment ${h.ns.name}/stuck: .*(ready|available|updated)`));
    assert.equal(condition(a, "Ready")?.status, "False");
    assert.equal(condition(a, "Synced")?.status, "True", "the apply itself succeeded");
  });

  it("health follows the objects: scaling the Deployment to an impossible state is seen through watch events", async () => {
    // The healthy Deployment of the first test gets an unsatisfiable selector by a new render: Healthy → not Healthy.
    await h.publish("rolls", [deployment("rolls", { replicas: 2, nodeSelector: { "mooring.dev/no-such-node": "true" } })]);
    const a = await h.waitApp("rolls", "not healthy any more", (a) => a.status?.health?.status === "Progressing" && a, 30_000);
    assert.match(a.status?.health?.message ?? "", /Deployment .*\/rolls/);
  });
});
