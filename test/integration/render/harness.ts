// Shared set-up of the render controller tests: the real git server, the source controller and the render
// controller on one runtime Manager against the real cluster, each controller with its own storage and artifact
// server, and small helpers to read Applications, request reconciles and read the runtime's metrics.
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { startArtifactServer, type RunningServer } from "../../../src/artifact/server.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { Annotations, ApplicationKind, FieldManagers, GitRepositoryKind, installCrds } from "../../../src/api/index.js";
import { createLogger } from "../../../src/log.js";
import { setupRenderController, type RenderController, type RenderControllerOptions } from "../../../src/render/controller.js";
import { Manager } from "../../../src/runtime/index.js";
import { setupSourceController } from "../../../src/source/controller.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
export interface App {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: {
    conditions?: Cond[];
    source?: { revision?: string; digest?: string };
    render?: { artifact?: { url: string; digest: string; revision: string; size?: number }; objects?: number; lastRenderedAt?: string };
  };
}
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export const A = { group: ApplicationKind.group, version: ApplicationKind.version, plural: ApplicationKind.plural };
export const G = { group: GitRepositoryKind.group, version: GitRepositoryKind.version, plural: GitRepositoryKind.plural };

export const cond = (o: App | undefined, type: string): Cond | undefined => o?.status?.conditions?.find((x) => x.type === type);

export class RenderEnv {
  c!: TestCluster;
  ns!: TestNamespace;
  custom!: k8s.CustomObjectsApi;
  git!: GitServer;
  registry = new Registry();
  mgr!: Manager;
  render!: RenderController;
  private dir = "";
  private servers: RunningServer[] = [];
  private stop = new AbortController();
  private running: Promise<void> | undefined;

  static async start(prefix: string, opts: Partial<RenderControllerOptions> = {}): Promise<RenderEnv> {
    const e = new RenderEnv();
    e.c = await testCluster();
    e.custom = e.c.kc.makeApiClient(k8s.CustomObjectsApi);
    await installCrds(e.c.kc);
    e.ns = await createTestNamespace(e.c, prefix);
    await waitFor("applications served", async () => Boolean(await e.custom.listNamespacedCustomObject({ ...A, namespace: e.ns.name })), { timeoutMs: 30_000 });
    e.git = await GitServer.start();
    e.dir = await mkdtemp(path.join(os.tmpdir(), "mooring-renderctl-"));
    const sourceStorage = new ArtifactStorage({ root: path.join(e.dir, "source") });
    const renderStorage = new ArtifactStorage({ root: path.join(e.dir, "render") });
    await sourceStorage.init();
    await renderStorage.init();
    const sourceServer = await startArtifactServer("127.0.0.1:0", { root: sourceStorage.root });
    const renderServer = await startArtifactServer("127.0.0.1:0", { root: renderStorage.root });
    e.servers.push(sourceServer, renderServer);
    e.wiring = { sourceStorage, renderStorage, sourcePort: sourceServer.port, renderPort: renderServer.port, opts };
    e.build();
    return e;
  }

  private wiring!: { sourceStorage: ArtifactStorage; renderStorage: ArtifactStorage; sourcePort: number; renderPort: number; opts: Partial<RenderControllerOptions> };

  /** A new Manager with both controllers on the same storage, servers and cache directory, started. */
  private build(): void {
    const w = this.wiring;
    this.registry = new Registry();
    this.stop = new AbortController();
    this.mgr = new Manager({ kubeConfig: this.c.kc, namespace: this.ns.name, registry: this.registry, fieldManager: FieldManagers.render, logger: createLogger({ level: "warn" }) });
    setupSourceController(this.mgr, { storage: w.sourceStorage, advertisedAddr: `127.0.0.1:${w.sourcePort}`, tmpDir: this.dir, concurrency: 2 });
    this.render = setupRenderController(this.mgr, {
      storage: w.renderStorage,
      advertisedAddr: `127.0.0.1:${w.renderPort}`,
      cacheDir: path.join(this.dir, "cache"),
      concurrency: 2,
      renderTimeoutMs: 30_000,
      ...w.opts,
    });
    this.running = this.mgr.start(this.stop.signal);
  }

  /** Stops the controllers and starts new ones, as an operator restart would (same disk). */
  async restart(): Promise<void> {
    this.stop.abort();
    await this.running?.catch(() => {});
    this.build();
  }

  async close(): Promise<void> {
    if (this.ns && this.custom) {
      // GitRepositories carry the source controller's finalizer: delete them while it still runs.
      const list = (await this.custom.listNamespacedCustomObject({ ...G, namespace: this.ns.name }).catch(() => ({ items: [] }))) as { items: { metadata: { name: string } }[] };
      for (const o of list.items) await this.custom.deleteNamespacedCustomObject({ ...G, namespace: this.ns.name, name: o.metadata.name }).catch(() => {});
      await waitFor("GitRepositories deleted", async () => ((await this.custom.listNamespacedCustomObject({ ...G, namespace: this.ns.name })) as { items: unknown[] }).items.length === 0, {
        timeoutMs: 30_000,
      }).catch(() => {});
    }
    this.stop.abort();
    await this.running?.catch(() => {});
    await this.ns?.cleanup();
    for (const s of this.servers) await s.close();
    await this.git?.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  async createGitRepository(name: string, url: string): Promise<void> {
    await this.custom.createNamespacedCustomObject({
      ...G,
      namespace: this.ns.name,
      body: { apiVersion: `${G.group}/${G.version}`, kind: "GitRepository", metadata: { name }, spec: { url, ref: { branch: "main" }, interval: "10m", timeout: "20s" } },
    });
  }

  async createApp(name: string, spec: Record<string, unknown>): Promise<void> {
    await this.custom.createNamespacedCustomObject({
      ...A,
      namespace: this.ns.name,
      body: { apiVersion: `${A.group}/${A.version}`, kind: "Application", metadata: { name }, spec: { interval: "10m", ...spec } },
    });
  }

  async getApp(name: string): Promise<App | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...A, namespace: this.ns.name, name })) as App;
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  /** Sets the reconcile-requested-at annotation on a GitRepository or Application. */
  async requestReconcile(kind: "GitRepository" | "Application", name: string): Promise<void> {
    const value = new Date().toISOString() + Math.random();
    await this.custom.patchNamespacedCustomObject(
      { ...(kind === "GitRepository" ? G : A), namespace: this.ns.name, name, body: { metadata: { annotations: { [Annotations.reconcileRequestedAt]: value } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  }

  /** Waits until an Application's condition `type` matches, returning the Application. */
  async waitApp(name: string, what: string, ok: (a: App) => boolean, timeoutMs = 60_000): Promise<App> {
    return waitFor(`${name}: ${what}`, async () => {
      const a = await this.getApp(name);
      return a && ok(a) ? a : undefined;
    }, { timeoutMs });
  }

  /** Waits until the render controller has nothing queued and nothing in progress (seen twice in a row). */
  async settled(timeoutMs = 30_000): Promise<void> {
    let quiet = 0;
    await waitFor("the render controller to be idle", async () => {
      const busy = (await this.counter("controller_runtime_active_workers", { controller: "render" })) + (await this.counter("workqueue_depth", { name: "render" }));
      quiet = busy === 0 ? quiet + 1 : 0;
      return quiet >= 2;
    }, { timeoutMs, intervalMs: 100 });
  }

  /** Sum of a metric's values whose labels match. */
  async counter(name: string, labels: Record<string, string> = {}): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (!m) return 0;
    const { values } = await m.get();
    return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
  }
}

/** Downloads a rendered artifact, checks size and digest, and parses it. */
export async function download(artifact: { url: string; digest: string; size?: number }): Promise<RenderedObject[]> {
  const res = await fetch(artifact.url);
  if (res.status !== 200) throw new Error(`GET ${artifact.url} answered ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
  if (digest !== artifact.digest) throw new Error(`digest of ${artifact.url} is ${digest}, status says ${artifact.digest}`);
  if (artifact.size !== undefined && artifact.size !== body.length) throw new Error(`size of ${artifact.url} is ${body.length}, status says ${artifact.size}`);
  return JSON.parse(body.toString("utf8")) as RenderedObject[];
}
