// Test harness for the apply controller on the real cluster. It plays the render controller's part: stores
// canonicalJson(objects) in an ArtifactStorage served on a loopback port, and writes Application.status.render
// through the status subresource under `mooring-render`, exactly as the contract between the two controllers says.
import { ownerLabelValue, ownerRef } from "../../../src/api/ownership.js";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Registry } from "prom-client";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { startArtifactServer, type RunningServer } from "../../../src/artifact/server.js";
import { ApplicationKind, FieldManagers, installCrds, type Application } from "../../../src/api/index.js";
import { setupApplyController, type ApplyReconciler } from "../../../src/apply/controller.js";
import { canonicalJson } from "../../../src/render/canonical.js";
import { Client, KubeConfig, Manager, RestClient, RestMapper, type Controller, type KubeObject } from "../../../src/runtime/index.js";
import { createLogger } from "../../../src/log.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

export type App = Application & KubeObject;

export interface Harness {
  c: TestCluster;
  ns: TestNamespace;
  /** An admin client that reads live from the API (field manager "test"). */
  admin: Client;
  mgr: Manager;
  registry: Registry;
  controller: Controller;
  reconciler: ApplyReconciler;
  /** Renders `objects` for Application `app` (labels added as the render controller would) and publishes status.render. */
  publish(app: string, objects: KubeObject[], revision?: string): Promise<{ digest: string; url: string }>;
  createApp(name: string, spec?: Partial<Application["spec"]>, annotations?: Record<string, string>): Promise<void>;
  getApp(name: string): Promise<App | undefined>;
  createPolicy(name: string, spec: Record<string, unknown>): Promise<void>;
  /** Waits until the Application's status satisfies `probe`, which returns a value when it does. */
  waitApp<T>(name: string, what: string, probe: (app: App) => T | undefined | false, timeoutMs?: number): Promise<T>;
  /** Write requests (POST/PUT/PATCH/DELETE) the manager's REST client has made so far. */
  writes(): Promise<number>;
  /** Reconciles of the apply controller finished so far. */
  reconciles(): Promise<number>;
  /** Sum of a counter of the current manager's registry over the series `filter` accepts. */
  counter(name: string, filter?: (labels: Record<string, string | number>) => boolean): Promise<number>;
  /** Stops the manager and starts a new one (fresh cache, memory and metrics): an operator restart. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  prefix: string;
  defaultServiceAccount?: string;
  /** Let Applications reference other namespaces (--allow-cross-namespace-refs; default: refused). */
  allowCrossNamespaceRefs?: boolean;
  /** The controller's clock (sync windows). */
  now?: () => number;
  /** Run the manager as this user (impersonated from the cluster's admin), to test the operator's own rights. */
  managerUser?: string;
  /** How long a reconcile waits for a watch cache (ApplyControllerOptions.cacheSyncTimeoutMs). */
  cacheSyncTimeoutMs?: number;
  /** The manager's log level unless MOORING_TEST_LOG_LEVEL says otherwise (default warn). */
  logLevel?: "error" | "warn" | "info" | "debug";
  /** Default health rules (--health-rules-file), read by the apply controller at start-up. */
  healthRulesFile?: string;
  /** Called with an admin client and the test namespace before the manager starts (RBAC for managerUser). */
  grant?: (admin: Client, namespace: string) => Promise<void>;
}

export async function startHarness(o: HarnessOptions): Promise<Harness> {
  const c = await testCluster();
  await installCrds(c.kc);
  const ns = await createTestNamespace(c, o.prefix);
  const rest = RestClient.fromKubeConfig(c.kc, { qps: 100, burst: 100 });
  const admin = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "test" });
  const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-apply-test-"));
  const storage = new ArtifactStorage({ root: dir });
  await storage.init();
  const server: RunningServer = await startArtifactServer("127.0.0.1:0", { root: dir });
  const logger = createLogger({ level: (process.env.MOORING_TEST_LOG_LEVEL as "info") ?? o.logLevel ?? "warn", format: "text" });
  await o.grant?.(admin, ns.name);
  const managerKubeConfig = KubeConfig.fromFile(c.kubeconfigPath);
  if (o.managerUser) for (const u of managerKubeConfig.users) u.impersonate = o.managerUser;
  const boot = async () => {
    const registry = new Registry();
    // Restricting the manager to the test namespace keeps it from seeing other tests' Applications.
    const mgr = new Manager({ kubeConfig: managerKubeConfig, namespace: ns.name, registry, qps: 100, burst: 200, logger, gracefulShutdownTimeoutMs: 10_000 });
    const { controller, reconciler } = setupApplyController(mgr, {
      defaultServiceAccount: o.defaultServiceAccount,
      allowCrossNamespaceRefs: o.allowCrossNamespaceRefs ?? false,
      watchNamespace: ns.name,
      concurrency: 4,
      ...(o.now ? { now: o.now } : {}),
      ...(o.cacheSyncTimeoutMs ? { cacheSyncTimeoutMs: o.cacheSyncTimeoutMs } : {}),
      ...(o.healthRulesFile ? { healthRulesFile: o.healthRulesFile } : {}),
    });
    const stop = new AbortController();
    const running = mgr.start(stop.signal);
    await mgr.elected;
    return { registry, mgr, controller, reconciler, stop, running };
  };
  let run = await boot();
  const { registry, mgr, controller, reconciler } = run;

  const sumCounter = async (name: string, filter: (labels: Record<string, string | number>) => boolean = () => true) => {
    const m = h.registry.getSingleMetric(name) as unknown as { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> } | undefined;
    if (!m) return 0;
    return (await m.get()).values.filter((v) => filter(v.labels)).reduce((a, v) => a + v.value, 0);
  };

  const h: Harness = {
    c,
    ns,
    admin,
    mgr,
    registry,
    controller,
    reconciler,
    async publish(app, objects, revision) {
      const labelled = objects.map((obj) => ({
        ...obj,
        metadata: {
          ...obj.metadata,
          labels: { ...(obj.metadata?.labels ?? {}), "app.kubernetes.io/managed-by": "mooring", "delivery.mooring.dev/application": ownerLabelValue(ns.name, app) },
          annotations: { ...(obj.metadata?.annotations ?? {}), "delivery.mooring.dev/application-ref": ownerRef(ns.name, app) },
        },
      }));
      const bytes = Buffer.from(canonicalJson(labelled));
      const stored = await storage.write({ kind: "application", namespace: ns.name, name: app }, (async function* () { yield bytes; })(), ".json");
      const url = `http://127.0.0.1:${server.port}/${stored.path}`;
      const rev = revision ?? `main@sha1:${randomBytes(20).toString("hex")}`;
      await admin.applyStatus(
        { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name: app, namespace: ns.name }, status: { render: { artifact: { url, digest: stored.digest, revision: rev, size: stored.size }, objects: objects.length, lastRenderedAt: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") } } },
        { fieldManager: FieldManagers.render, force: true },
      );
      return { digest: stored.digest, url };
    },
    async createApp(name, spec = {}, annotations) {
      await admin.create({
        apiVersion: "delivery.mooring.dev/v1alpha1",
        kind: "Application",
        metadata: { name, namespace: ns.name, ...(annotations ? { annotations } : {}) },
        spec: { sourceRef: { kind: "GitRepository", name: "unused" }, ...spec },
      });
    },
    async createPolicy(name, spec) {
      await admin.create({ apiVersion: "delivery.mooring.dev/v1alpha1", kind: "SyncPolicy", metadata: { name, namespace: ns.name }, spec });
    },
    async getApp(name) {
      return admin.get<App>(ApplicationKind, name, ns.name);
    },
    async waitApp(name, what, probe, timeoutMs = 30_000) {
      return waitFor(`${what} (Application ${ns.name}/${name})`, async () => {
        const app = await h.getApp(name);
        if (!app) return undefined;
        const v = probe(app);
        if (v === undefined || v === false) {
          // What the controller did so far, for a timeout that happens only on a loaded machine.
          const results = ["success", "error", "requeue", "requeue_after"];
          const done = await Promise.all(results.map(async (r) => `${r}=${await sumCounter("controller_runtime_reconcile_total", (l) => l.controller === "apply" && l.result === r)}`));
          throw new Error(`status: ${JSON.stringify({ render: app.status?.render?.artifact?.digest ?? "none", sync: { ...app.status?.sync, inventory: app.status?.sync?.inventory?.length }, health: app.status?.health, conditions: app.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`), history: app.status?.history?.slice(0, 2) })}; apply reconciles ${done.join(" ")}`);
        }
        return v;
      }, { timeoutMs, intervalMs: 250 });
    },
    writes: () => sumCounter("rest_client_requests_total", (l) => ["POST", "PUT", "PATCH", "DELETE"].includes(String(l.method))),
    reconciles: () => sumCounter("controller_runtime_reconcile_total", (l) => l.controller === "apply"),
    counter: (name, filter) => sumCounter(name, filter),
    async restart() {
      run.stop.abort();
      await run.running.catch(() => {});
      run = await boot();
      h.registry = run.registry;
      h.mgr = run.mgr;
      h.controller = run.controller;
      h.reconciler = run.reconciler;
    },
    async stop() {
      run.stop.abort();
      await run.running.catch(() => {});
      await server.close();
      rest.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Condition of an Application, or undefined. */
export function condition(app: App, type: string): { status: string; reason: string; message: string } | undefined {
  return (app.status?.conditions ?? []).find((c) => c.type === type);
}

export function configMap(name: string, data: Record<string, string>, extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...(extra.metadata ?? {}) }, data };
}

export function deployment(name: string, opts: { replicas?: number; nodeSelector?: Record<string, string>; image?: string } = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: "app", image: opts.image ?? "registry.example/app:1" }],
          ...(opts.nodeSelector ? { nodeSelector: opts.nodeSelector } : {}),
          // kwok's fake nodes carry this taint in some setups; tolerating it is harmless elsewhere.
          tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }],
        },
      },
    },
  };
}
