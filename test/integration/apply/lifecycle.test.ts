// The apply loop end to end on the real cluster: apply, update, prune, keep, the empty-render guard, a failing
// apply, and the steady state that sends no write.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { condition, configMap, deployment, startHarness, type Harness } from "./harness.js";

let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-life" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const serviceAccount = (name: string): KubeObject => ({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name } });
const service = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } });

describe("apply, update, prune", () => {
  const app = "web";
  let firstDigest = "";

  it("applies a new render: every object exists with Mooring's labels and field manager, inventory recorded, Ready once healthy", async () => {
    await h.createApp(app);
    firstDigest = (await h.publish(app, [deployment("web"), service("web"), configMap("web-config", { greeting: "hello" }), serviceAccount("web")])).digest;
    const ready = await h.waitApp(app, "Ready=True", (a) => condition(a, "Ready")?.status === "True" && a, 60_000);
    assert.equal(ready.status?.sync?.status, "Synced");
    assert.deepEqual(ready.status?.sync?.inventory?.map((e) => e.id).sort(), [`${h.ns.name}_web__Service`, `${h.ns.name}_web__ServiceAccount`, `${h.ns.name}_web-config__ConfigMap`, `${h.ns.name}_web_apps_Deployment`].sort());
    assert.equal(ready.status?.health?.status, "Healthy");
    assert.equal(ready.status?.history?.[0]?.phase, "Succeeded");
    assert.equal(ready.status?.history?.[0]?.digest, firstDigest);
    const cm = await h.admin.get(Kinds.ConfigMap, "web-config", h.ns.name);
    assert.deepEqual(cm?.data, { greeting: "hello" });
    assert.equal(cm?.metadata?.labels?.["delivery.mooring.dev/application"], `${h.ns.name}.${app}`);
    const managers = ((await h.admin.live().get(Kinds.ConfigMap, "web-config", h.ns.name))?.metadata?.managedFields as { manager: string; operation: string }[]).map((m) => `${m.manager}/${m.operation}`);
    assert.ok(managers.includes("mooring/Apply"), `managers: ${managers.join(", ")}`);
    assert.ok(ready.metadata?.finalizers?.includes("delivery.mooring.dev/finalizer"));
  });

  it("a second reconcile of the same digest sends no write to the API server", async () => {
    // Let the status settle (health events may still arrive), then count.
    await h.waitApp(app, "settled", (a) => condition(a, "Ready")?.status === "True");
    await new Promise((r) => setTimeout(r, 1500));
    const writesBefore = await h.writes();
    const reconcilesBefore = await h.reconciles();
    h.controller.enqueue({ namespace: h.ns.name, name: app });
    h.controller.enqueue({ namespace: h.ns.name, name: app });
    const { waitFor } = await import("../../support/wait.js");
    await waitFor("another reconcile", async () => (await h.reconciles()) > reconcilesBefore);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await h.writes(), writesBefore, "no POST/PUT/PATCH/DELETE after a reconcile with nothing new");
  });

  it("a new commit that renders the same objects moves status.sync.revision and applies nothing", async () => {
    const before = (await h.getApp(app))!;
    const cmBefore = (await h.admin.live().get(Kinds.ConfigMap, "web-config", h.ns.name))?.metadata?.resourceVersion;
    const revision = `main@sha1:${"ab".repeat(20)}`;
    assert.notEqual(before.status?.sync?.revision, revision);
    const { digest } = await h.publish(app, [deployment("web"), service("web"), configMap("web-config", { greeting: "hello" }), serviceAccount("web")], revision);
    assert.equal(digest, firstDigest, "the same objects make the same rendered artifact");
    const moved = await h.waitApp(app, `status.sync.revision ${revision}`, (a) => a.status?.sync?.revision === revision && a);
    assert.equal(moved.status?.history?.length, before.status?.history?.length, "no sync ran, so no history entry");
    assert.match(condition(moved, "Ready")?.message ?? "", new RegExp(`applied revision ${revision}`));
    assert.equal((await h.admin.live().get(Kinds.ConfigMap, "web-config", h.ns.name))?.metadata?.resourceVersion, cmBefore, "the objects were not written");
  });

  it("looks again every spec.interval even when nothing happens (no write)", async () => {
    await h.createApp("ticking", { interval: "10s" });
    await h.publish("ticking", [configMap("ticking", { a: "1" })]);
    await h.waitApp("ticking", "Ready=True", (a) => condition(a, "Ready")?.status === "True", 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    const count = () => h.counter("controller_runtime_reconcile_total", (l) => l.controller === "apply");
    const before = await count();
    const writes = await h.writes();
    const { waitFor } = await import("../../support/wait.js");
    await waitFor("a reconcile with no event, from the 10 s interval", async () => (await count()) > before, { timeoutMs: 20_000 });
    assert.equal(await h.writes(), writes, "the periodic look writes nothing");
  });

  it("a changed render updates the objects", async () => {
    await h.publish(app, [deployment("web"), service("web"), configMap("web-config", { greeting: "bonjour" }), serviceAccount("web")]);
    const { waitFor } = await import("../../support/wait.js");
    await waitFor("ConfigMap updated", async () => ((await h.admin.get(Kinds.ConfigMap, "web-config", h.ns.name))?.data as Record<string, string> | undefined)?.greeting === "bonjour");
    const a = await h.waitApp(app, "history of two syncs", (a) => (a.status?.history?.length ?? 0) >= 2 && a);
    assert.notEqual(a.status?.history?.[0]?.digest, firstDigest);
    assert.match(a.status?.history?.[0]?.message ?? "", /configured/);
  });

  it("an object removed from the render is pruned, and leaves the inventory", async () => {
    await h.publish(app, [deployment("web"), service("web"), configMap("web-config", { greeting: "bonjour" })]);
    const { waitFor } = await import("../../support/wait.js");
    await waitFor("ServiceAccount pruned", async () => (await h.admin.get(Kinds.ServiceAccount, "web", h.ns.name)) === undefined);
    const a = await h.waitApp(app, "inventory of 3", (a) => a.status?.sync?.inventory?.length === 3 && a);
    assert.ok(!a.status?.sync?.inventory?.some((e) => e.id.endsWith("_ServiceAccount")));
    assert.match(a.status?.history?.[0]?.message ?? "", /pruned 1/);
  });

  it("an object annotated mooring.dev/prune: disabled is never pruned", async () => {
    await h.publish(app, [deployment("web"), service("web"), configMap("web-config", { greeting: "bonjour" }), configMap("keep-me", { a: "1" }, { metadata: { annotations: { "mooring.dev/prune": "disabled" } } })]);
    await h.waitApp(app, "keep-me applied", (a) => a.status?.sync?.inventory?.some((e) => e.id.includes("_keep-me_")));
    await h.publish(app, [deployment("web"), service("web"), configMap("web-config", { greeting: "bonjour" })]);
    await h.waitApp(app, "keep-me out of the inventory", (a) => !a.status?.sync?.inventory?.some((e) => e.id.includes("_keep-me_")) && condition(a, "Synced")?.status === "True");
    assert.ok(await h.admin.get(Kinds.ConfigMap, "keep-me", h.ns.name), "the opted-out ConfigMap is still there");
  });

  it("an empty render over a non-empty inventory is refused (allowEmpty false) and nothing is deleted", async () => {
    await h.publish(app, []);
    const a = await h.waitApp(app, "Synced=False", (a) => condition(a, "Synced")?.status === "False" && a);
    assert.match(condition(a, "Synced")!.message, /refusing to prune everything/);
    assert.equal(condition(a, "Stalled")?.status, "True", "not retried: only a new render can fix it");
    assert.ok(await h.admin.get(Kinds.ConfigMap, "web-config", h.ns.name));
    assert.ok(await h.admin.get(Kinds.Deployment, "web", h.ns.name));
    assert.equal(a.status?.sync?.inventory?.length, 3);
  });

  it("a failing apply leaves the previously applied objects in place and reports the object", async () => {
    // A Service with an invalid port: the API server refuses it; the rest of the previous render must survive.
    const bad: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ port: 70000 }] } };
    await h.publish(app, [deployment("web"), bad, configMap("web-config", { greeting: "hola" })]);
    const a = await h.waitApp(app, "sync failure", (a) => a.status?.history?.[0]?.phase === "Failed" && !/refusing/.test(a.status.history[0].message ?? "") && a);
    assert.match(condition(a, "Synced")!.message, /Service .*\/web: invalid/);
    assert.equal(condition(a, "Ready")?.status, "False");
    assert.ok(await h.admin.get(Kinds.Service, "web", h.ns.name), "the previous Service is still there");
    assert.equal(a.status?.sync?.inventory?.length, 3, "nothing pruned after a failed apply");
  });

  it("a rendered object without apiVersion (as kubectl kustomize prints one) is refused naming it, not retried, and nothing changes", async () => {
    const noVersion = { kind: "Coffee", metadata: { name: "morning-cup" }, spec: { size: "large" } } as unknown as KubeObject;
    await h.publish(app, [deployment("web"), configMap("web-config", { greeting: "ciao" }), noVersion]);
    const a = await h.waitApp(app, "sync refused", (a) => /no apiVersion/.test(condition(a, "Synced")?.message ?? "") && a);
    assert.match(condition(a, "Synced")!.message, /1 rendered object\(s\) have no apiVersion and cannot be applied: Coffee morning-cup; set apiVersion in the source/);
    assert.equal(condition(a, "Synced")?.status, "False");
    assert.equal(condition(a, "Stalled")?.status, "True", "not retried: only a new render can fix it");
    const cm = await h.admin.get<KubeObject & { data?: Record<string, string> }>(Kinds.ConfigMap, "web-config", h.ns.name);
    assert.notEqual(cm?.data?.greeting, "ciao", "nothing of the refused render was applied");
    assert.equal(a.status?.sync?.inventory?.length, 3, "the inventory is kept");
  });
});

describe("events and metrics", () => {
  it("records events for sync start, success, prune and failure on the Application", async () => {
    const { waitFor } = await import("../../support/wait.js");
    const reasons = await waitFor("events", async () => {
      const events = await h.admin.list<{ reason?: string; regarding?: { name?: string }; reportingController?: string } & KubeObject>({ apiVersion: "events.k8s.io/v1", kind: "Event" }, { namespace: h.ns.name });
      const r = new Set(events.filter((e) => e.regarding?.name === "web" && e.reportingController === "mooring-apply").map((e) => e.reason));
      return ["SyncStarted", "Succeeded", "Pruned", "SyncFailed"].every((x) => r.has(x)) && r;
    });
    assert.ok(reasons.has("Pruned"));
  });

  it("exports sync duration, objects applied/pruned and per-application health", async () => {
    const text = await h.registry.metrics();
    assert.match(text, new RegExp(`mooring_application_sync_duration_seconds_count\\{namespace="${h.ns.name}",name="web",result="succeeded"\\} [1-9]`));
    assert.match(text, new RegExp(`mooring_application_objects_applied_total\\{namespace="${h.ns.name}",name="web",action="created"\\} [1-9]`));
    assert.match(text, new RegExp(`mooring_application_objects_pruned_total\\{namespace="${h.ns.name}",name="web"\\} [1-9]`));
    assert.match(text, new RegExp(`mooring_application_health\\{namespace="${h.ns.name}",name="web",status="(Healthy|Degraded|Progressing)"\\} 1`));
  });
});

describe("prune off", () => {
  it("keeps objects that leave the render when the SyncPolicy says prune: false", async () => {
    await h.admin.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "SyncPolicy", metadata: { name: "no-prune", namespace: h.ns.name }, spec: { automated: { prune: false } } });
    await h.createApp("keeper", { syncPolicyRef: { name: "no-prune" } });
    await h.publish("keeper", [configMap("keeper-a", { a: "1" }), configMap("keeper-b", { b: "2" })]);
    await h.waitApp("keeper", "two objects applied", (a) => a.status?.sync?.inventory?.length === 2);
    await h.publish("keeper", [configMap("keeper-a", { a: "1" })]);
    const a = await h.waitApp("keeper", "second sync", (a) => (a.status?.history?.length ?? 0) >= 2 && a);
    assert.match(a.status?.history?.[0]?.message ?? "", /kept \(prune is off\)/);
    assert.ok(await h.admin.get(Kinds.ConfigMap, "keeper-b", h.ns.name), "keeper-b still exists");
    assert.equal(a.status?.sync?.inventory?.length, 1);
  });
});
