// Drift detection and self-heal on the real cluster: kubectl patch / scale / set image / delete of managed objects
// are reverted with self-heal and only reported without; ignoreDifferences fields are left alone; server-defaulted
// fields and canonicalised quantities are never drift; a restart does not re-apply unchanged objects.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Kinds, type KubeObject } from "../../../src/runtime/index.js";
import { waitFor } from "../../support/wait.js";
import { condition, configMap, startHarness, type Harness } from "./harness.js";

const run = promisify(execFile);
let h: Harness;

before(async () => {
  h = await startHarness({ prefix: "apply-drift" });
});

after(async () => {
  await h?.stop();
  await h?.ns.cleanup();
});

const kubectl = async (...args: string[]) => (await run("kubectl", ["--kubeconfig", h.c.kubeconfigPath, "-n", h.ns.name, ...args], { timeout: 30_000 })).stdout;

/** A Deployment and a Service written the way people write them: no protocol, no imagePullPolicy, quantities in another unit. */
function web(name: string): KubeObject[] {
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [{ name: "app", image: "registry.example/web:1", ports: [{ containerPort: 8080 }], resources: { requests: { cpu: "1000m", memory: "1024Mi" }, limits: { cpu: 2 } } }],
            tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }],
          },
        },
      },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } },
  ];
}

const corrected = () => h.counter("mooring_application_drift_corrected_total");
const cm = async (name: string) => h.admin.get(Kinds.ConfigMap, name, h.ns.name);
const deploy = async (name: string) => h.admin.get(Kinds.Deployment, name, h.ns.name);
const replicas = async (name: string) => ((await deploy(name))?.spec as { replicas?: number } | undefined)?.replicas;

/** Makes the controller reconcile `app` at least once more and waits until it did. */
async function reconcileOnce(app: string): Promise<void> {
  const n = await h.reconciles();
  h.controller.enqueue({ namespace: h.ns.name, name: app });
  await waitFor("another reconcile", async () => (await h.reconciles()) > n);
}

describe("self-heal (the default)", () => {
  it("server defaults (protocol, imagePullPolicy) and quantities written as 1000m / 1024Mi are not drift: steady state sends no request", async () => {
    await h.createApp("heal");
    await h.publish("heal", [configMap("settings", { mode: "a" }), ...web("web")]);
    await h.waitApp("heal", "Ready", (a) => condition(a, "Ready")?.status === "True", 60_000);
    const live = await deploy("web");
    const c0 = (live?.spec as any).template.spec.containers[0];
    assert.equal(c0.ports[0].protocol, "TCP", "the server defaulted the protocol");
    assert.ok(c0.imagePullPolicy, "the server defaulted imagePullPolicy");
    assert.equal(c0.resources.requests.cpu, "1", "the server canonicalised 1000m");
    assert.equal(c0.resources.requests.memory, "1Gi", "the server canonicalised 1024Mi");
    await new Promise((r) => setTimeout(r, 1000));
    const writes = await h.writes();
    // Watch events of a managed object wake the controller: an unrelated annotation, then explicit reconciles.
    await kubectl("annotate", "configmap", "settings", "someone.example/note=hello");
    await reconcileOnce("heal");
    await reconcileOnce("heal");
    assert.equal(await h.writes(), writes, "no request to the API server");
    assert.equal(await corrected(), 0, "nothing re-applied");
    const a = await h.getApp("heal");
    assert.equal(a?.status?.sync?.drifted, undefined);
  });

  it("kubectl patch of a ConfigMap is reverted with one apply request (plus its event), and no status write", async () => {
    const writes = await h.writes();
    const patches = () => h.counter("rest_client_requests_total", (l) => l.method === "PATCH");
    const patches0 = await patches();
    await kubectl("patch", "configmap", "settings", "--type", "merge", "-p", '{"data":{"mode":"hacked"}}');
    await waitFor("patch reverted", async () => ((await cm("settings"))?.data as Record<string, string>)?.mode === "a", { timeoutMs: 15_000 });
    await waitFor("correction counted", async () => (await corrected()) === 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await patches()) - patches0, 1, "one PATCH: the apply of the drifted ConfigMap (no status write)");
    assert.ok((await h.writes()) - writes <= 2, `one apply and one event, got ${(await h.writes()) - writes} writes`);
    assert.equal(((await cm("settings"))?.metadata?.annotations ?? {})["someone.example/note"], "hello", "fields of other managers are kept");
    const a = await h.getApp("heal");
    assert.equal(condition(a!, "Synced")?.status, "True");
  });

  it("kubectl scale and kubectl set image are reverted", async () => {
    await kubectl("scale", "deployment", "web", "--replicas=3");
    await waitFor("scale reverted", async () => (await replicas("web")) === 1, { timeoutMs: 15_000 });
    await kubectl("set", "image", "deployment/web", "app=registry.example/web:evil");
    await waitFor("image reverted", async () => (await deploy("web") as any)?.spec.template.spec.containers[0].image === "registry.example/web:1", { timeoutMs: 15_000 });
  });

  it("kubectl delete of a managed object re-creates it", async () => {
    const uid = (await cm("settings"))?.metadata?.uid;
    await kubectl("delete", "configmap", "settings");
    const again = await waitFor("re-created", async () => {
      const o = await cm("settings");
      return o && o.metadata?.uid !== uid && o;
    }, { timeoutMs: 15_000 });
    assert.deepEqual(again.data, { mode: "a" });
  });

  it("a controller restart re-applies nothing unchanged, and still heals afterwards", async () => {
    await h.waitApp("heal", "Ready", (a) => condition(a, "Ready")?.status === "True", 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    await h.restart();
    await waitFor("first reconcile after restart", async () => (await h.reconciles()) >= 1);
    await reconcileOnce("heal");
    assert.equal(await h.writes(), 0, "no request to the API server after the restart");
    await kubectl("patch", "configmap", "settings", "--type", "merge", "-p", '{"data":{"mode":"after-restart"}}');
    await waitFor("patch reverted after restart", async () => ((await cm("settings"))?.data as Record<string, string>)?.mode === "a", { timeoutMs: 15_000 });
  });
});

describe("ignoreDifferences", () => {
  it("an ignored field edited is left alone; other fields are still reverted, and the ignored one keeps its live value", async () => {
    await h.createApp("ignoring", { ignoreDifferences: [{ group: "apps", kind: "Deployment", jsonPointers: ["/spec/replicas"] }, { kind: "ConfigMap", name: "tuned", jsonPointers: ["/data/hint"] }] });
    await h.publish("ignoring", [...web("api"), configMap("tuned", { hint: "3", fixed: "yes" })]);
    await h.waitApp("ignoring", "Synced", (a) => condition(a, "Synced")?.status === "True", 60_000);
    const before = await corrected();
    await kubectl("scale", "deployment", "api", "--replicas=2");
    await kubectl("patch", "configmap", "tuned", "--type", "merge", "-p", '{"data":{"hint":"7"}}');
    await waitFor("scaled", async () => (await replicas("api")) === 2);
    await reconcileOnce("ignoring");
    await reconcileOnce("ignoring");
    assert.equal((await replicas("api")), 2, "replicas left alone");
    assert.equal(((await cm("tuned"))?.data as Record<string, string>).hint, "7", "hint left alone");
    assert.equal(await corrected(), before, "nothing re-applied");
    assert.equal((await h.getApp("ignoring"))?.status?.sync?.drifted, undefined, "not reported");
    // A field that is not ignored is reverted, and the re-apply keeps the ignored fields as they are live.
    await kubectl("patch", "configmap", "tuned", "--type", "merge", "-p", '{"data":{"fixed":"no"}}');
    await kubectl("set", "image", "deployment/api", "app=registry.example/web:evil");
    await waitFor("fixed reverted", async () => ((await cm("tuned"))?.data as Record<string, string>).fixed === "yes", { timeoutMs: 15_000 });
    await waitFor("image reverted", async () => (await deploy("api") as any)?.spec.template.spec.containers[0].image === "registry.example/web:1", { timeoutMs: 15_000 });
    assert.equal(((await cm("tuned"))?.data as Record<string, string>).hint, "7");
    assert.equal((await replicas("api")), 2);
  });
});

describe("detect-only (selfHeal: false)", () => {
  it("drift is reported in status.sync.drifted, Synced=False OutOfSync, an event and a metric, and never reverted; undoing it by hand clears it", async () => {
    await h.createPolicy("watch-only", { automated: { selfHeal: false } });
    await h.createApp("watcher", { syncPolicyRef: { name: "watch-only" } });
    await h.publish("watcher", [configMap("observed", { mode: "a" }), configMap("doomed", { x: "1" })]);
    await h.waitApp("watcher", "Synced", (a) => condition(a, "Synced")?.status === "True");
    await kubectl("patch", "configmap", "observed", "--type", "merge", "-p", '{"data":{"mode":"hacked"}}');
    await kubectl("delete", "configmap", "doomed");
    const a = await h.waitApp("watcher", "drift reported", (a) => (a.status?.sync?.drifted?.length ?? 0) === 2 && a, 15_000);
    assert.deepEqual(a.status?.sync?.drifted, [`${h.ns.name}_doomed__ConfigMap`, `${h.ns.name}_observed__ConfigMap`]);
    assert.equal(a.status?.sync?.status, "OutOfSync");
    const synced = condition(a, "Synced")!;
    assert.equal(synced.status, "False");
    assert.equal(synced.reason, "OutOfSync");
    assert.match(synced.message, /selfHeal is off/);
    assert.match(synced.message, /ConfigMap .*\/observed \(\/data\/mode\)/);
    assert.match(synced.message, /ConfigMap .*\/doomed \(deleted\)/);
    assert.ok((await h.counter("mooring_application_drift_detected_total", (l) => l.name === "watcher")) >= 2);
    const events = await h.c.core.listNamespacedEvent({ namespace: h.ns.name });
    assert.ok(events.items.some((e) => e.reason === "DriftDetected" && e.involvedObject.name === "watcher"), "a DriftDetected event");
    await reconcileOnce("watcher");
    assert.equal(((await cm("observed"))?.data as Record<string, string>).mode, "hacked", "not reverted");
    assert.equal(await cm("doomed"), undefined, "not re-created");
    // Undo by hand: the report clears.
    await kubectl("patch", "configmap", "observed", "--type", "merge", "-p", '{"data":{"mode":"a"}}');
    await kubectl("create", "configmap", "doomed", "--from-literal=x=1");
    await kubectl("label", "configmap", "doomed", "app.kubernetes.io/managed-by=mooring", `delivery.mooring.dev/application=${h.ns.name}.watcher`);
    await kubectl("annotate", "configmap", "doomed", `delivery.mooring.dev/application-ref=${h.ns.name}/watcher`);
    const back = await h.waitApp("watcher", "in sync again", (a) => condition(a, "Synced")?.status === "True" && a, 15_000);
    assert.equal(back.status?.sync?.drifted, undefined);
  });
});

// Lists whose elements are not keyed by a unique name (docs/reliability.md, fixed bugs 4 and 5): RoleBinding
// subjects share "default" across namespaces, and tolerations of one key may hold one another.
describe("lists without a unique key (detect-only)", () => {
  const binding: KubeObject = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "readers" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [
      { kind: "ServiceAccount", name: "default", namespace: "team-a" },
      { kind: "ServiceAccount", name: "default", namespace: "team-b" },
    ],
  };
  const tolerant = (): KubeObject => {
    const d = web("tolerant")[0]! as KubeObject & { spec: { template: { spec: { tolerations: unknown[] } } } };
    d.spec.template.spec.tolerations.push({ key: "example.com/pool", operator: "Exists" }, { key: "example.com/pool", operator: "Exists", effect: "NoSchedule" });
    return d;
  };

  it("subjects sharing a name are not drift once applied", async () => {
    await h.createPolicy("lists-watch", { automated: { selfHeal: false } });
    await h.createApp("lists", { syncPolicyRef: { name: "lists-watch" } });
    await h.publish("lists", [binding, tolerant()]);
    await h.waitApp("lists", "Synced", (a) => condition(a, "Synced")?.status === "True", 60_000);
    // Managed objects' watch events and explicit reconciles both run the comparison.
    await kubectl("annotate", "rolebinding", "readers", "someone.example/note=hello");
    await reconcileOnce("lists");
    await reconcileOnce("lists");
    const a = await h.getApp("lists");
    assert.equal(a?.status?.sync?.drifted, undefined, `drifted: ${JSON.stringify(a?.status?.sync?.drifted)}; Synced: ${condition(a!, "Synced")?.message}`);
    assert.equal(condition(a!, "Synced")?.status, "True");
  });

  it("a changed toleration is drift although another toleration holds its old value", async () => {
    await kubectl("patch", "deployment", "tolerant", "--type", "json", "-p", '[{"op":"replace","path":"/spec/template/spec/tolerations/1/key","value":"example.com/changed"}]');
    const a = await h.waitApp("lists", "drift reported", (a) => (a.status?.sync?.drifted?.length ?? 0) > 0 && a, 15_000);
    assert.deepEqual(a.status?.sync?.drifted, [`${h.ns.name}_tolerant_apps_Deployment`]);
    assert.match(condition(a, "Synced")!.message, /\/spec\/template\/spec\/tolerations\/1/);
  });
});
