// Two tenants on the real cluster, served by one operator as `mooring controller` wires it: the flags are parsed by
// src/config.ts (so the defaults under test are the binary's own), and the source, render and apply controllers are
// set up by src/source/index.ts and src/controllers.ts on one Manager. The Manager watches every namespace (tenants
// live in two), but reconciles only the GitRepositories, Applications and SyncPolicies labelled with this run's
// shard label, so other tests' objects on the shared cluster are never touched.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { Registry } from "prom-client";
import { ApplicationKind, GitRepositoryKind, installCrds, type Application } from "../../../src/api/index.js";
import { parseOperatorArgs, type OperatorConfig } from "../../../src/config.js";
import { CONTROLLER_MODULES } from "../../../src/controllers.js";
import { createLogger } from "../../../src/log.js";
import { Client, Manager, RestClient, RestMapper, type KubeObject } from "../../../src/runtime/index.js";
import { setupSource } from "../../../src/source/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { freePort } from "../../support/operator.js";
import { waitFor } from "../../support/wait.js";

export const SHARD_LABEL = "mooring.dev/tenancy-test";

export type App = Application & KubeObject;
export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface Tenancy {
  c: TestCluster;
  /** Tenant A (the attacker) and tenant B (the victim), and a namespace for the operator's own Secrets. */
  a: TestNamespace;
  b: TestNamespace;
  system: TestNamespace;
  admin: Client;
  git: GitServer;
  config: OperatorConfig;
  /** Everything the operator logged (JSON lines). */
  logs(): string;
  /** Labels that put an object in this run's shard. */
  labels: Record<string, string>;
  /** Starts the operator again with other flags (same storage and ports): a restart with a new configuration. */
  restart(flags: string[]): Promise<void>;
  /** Deletes every Mooring object of the run while the controllers still run (finalizers), then stops. */
  stop(): Promise<void>;
}

export const cond = (o: { status?: { conditions?: unknown[] } } | undefined, type: string): Cond | undefined =>
  (o?.status?.conditions as Cond[] | undefined)?.find((c) => c.type === type);

export const describeConds = (o: { status?: { conditions?: unknown[] } } | undefined): string =>
  o ? ((o.status?.conditions ?? []) as Cond[]).map((c) => `${c.type}=${c.status} (${c.reason}: ${c.message})`).join("; ") || "no conditions" : "not found";

/** Starts the operator for two fresh tenant namespaces, with `flags` after the test's own addresses. */
export async function startTenancy(prefix: string, flags: string[] = []): Promise<Tenancy> {
  const c = await testCluster();
  await installCrds(c.kc);
  const [a, b, system] = await Promise.all([createTestNamespace(c, `${prefix}-a`), createTestNamespace(c, `${prefix}-b`), createTestNamespace(c, `${prefix}-sys`)]);
  const rest = RestClient.fromKubeConfig(c.kc, { qps: 100, burst: 100 });
  const admin = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "test" });
  const git = await GitServer.start();
  const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-tenancy-"));
  const shard = randomBytes(4).toString("hex");
  const labels = { [SHARD_LABEL]: shard };
  const artifactPort = await freePort();
  const webhookPort = await freePort();
  let out = "";
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const logger = createLogger({ level: "info", format: "json", stream });

  let current: { stop: AbortController; running: Promise<void> } | undefined;
  const t: Tenancy = {
    c,
    a,
    b,
    system,
    admin,
    git,
    config: undefined as unknown as OperatorConfig,
    labels,
    logs: () => out,
    async restart(more) {
      if (current) {
        current.stop.abort();
        await current.running.catch(() => {});
      }
      t.config = parseOperatorArgs([
        "--storage-path", path.join(dir, "storage"),
        "--artifact-addr", `127.0.0.1:${artifactPort}`,
        "--advertised-artifact-addr", `127.0.0.1:${artifactPort}`,
        "--webhook-addr", `127.0.0.1:${webhookPort}`,
        "--concurrency", "2",
        ...more,
      ]);
      const mgr = new Manager({ kubeConfig: c.kc, registry: new Registry(), logger, shardLabelSelector: `${SHARD_LABEL}=${shard}`, metricsAddr: "0", healthAddr: "0", gracefulShutdownTimeoutMs: 10_000 });
      // As src/operator.ts does, with the operator-wide webhook Secret looked up in this run's system namespace.
      await setupSource(mgr, { config: t.config, logger, secretNamespace: system.name });
      await CONTROLLER_MODULES.render.setup(mgr, { config: t.config, logger });
      await CONTROLLER_MODULES.apply.setup(mgr, { config: t.config, logger });
      const stop = new AbortController();
      current = { stop, running: mgr.start(stop.signal) };
      await mgr.elected;
    },
    async stop() {
      for (const ns of [a.name, b.name]) {
        for (const kind of [ApplicationKind, GitRepositoryKind]) {
          for (const o of await admin.list(kind, { namespace: ns }).catch(() => [])) await admin.delete(o).catch(() => {});
        }
      }
      await waitFor("the tenants' Mooring objects deleted (finalizers)", async () => {
        for (const ns of [a.name, b.name]) for (const kind of [ApplicationKind, GitRepositoryKind]) if ((await admin.list(kind, { namespace: ns })).length) return false;
        return true;
      }, { timeoutMs: 60_000 }).catch(() => {});
      current?.stop.abort();
      await current?.running.catch(() => {});
      await Promise.all([a.cleanup(), b.cleanup(), system.cleanup()]);
      await git.close();
      rest.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await t.restart(flags);
  return t;
}

/** A ServiceAccount `name` in `namespace` bound to the `edit` ClusterRole there only. */
export async function editor(admin: Client, namespace: string, name = "deployer"): Promise<void> {
  await admin.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } });
  await admin.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `${name}-edit`, namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
    subjects: [{ kind: "ServiceAccount", name, namespace }],
  } as KubeObject);
}

export function gitRepository(t: Tenancy, namespace: string, name: string, url: string, spec: Record<string, unknown> = {}): KubeObject {
  // An hour: every fetch after the first is one the test asks for.
  return { apiVersion: "source.mooring.dev/v1alpha1", kind: "GitRepository", metadata: { name, namespace, labels: t.labels }, spec: { url, ref: { branch: "main" }, interval: "1h", ...spec } } as KubeObject;
}

export function application(t: Tenancy, namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "delivery.mooring.dev/v1alpha1", kind: "Application", metadata: { name, namespace, labels: t.labels }, spec: { interval: "10m", timeout: "30s", ...spec } } as KubeObject;
}

/** Waits until the Application satisfies `ok`, saying what it saw on timeout. */
export async function untilApp(t: Tenancy, namespace: string, name: string, what: string, ok: (a: App) => boolean, timeoutMs = 90_000): Promise<App> {
  return waitFor(`Application ${namespace}/${name}: ${what}`, async () => {
    const app = await t.admin.get<App>(ApplicationKind, name, namespace);
    if (app && ok(app)) return app;
    throw new Error(describeConds(app));
  }, { timeoutMs, intervalMs: 250 });
}
