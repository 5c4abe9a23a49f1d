// Which controllers this process can run, what each needs from the cluster, and how each is set up on the manager.
// `mooring controller --controllers=...` runs any subset; each module registers its own controllers.
//
// A controller's code is loaded by its setup (import() there, never at the top of this file): a process loads only
// the controllers it runs, so the chart's split Deployments do not each carry all three (docs/performance.md).
import os from "node:os";
import path from "node:path";
import { AlertKind, ApplicationKind, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, ProviderKind, SyncPolicyKind } from "./api/kinds.js";
import type { ControllerName, OperatorConfig } from "./config.js";
import type { Logger } from "./log.js";
import type { Permission } from "./preflight.js";
import type { KindDescriptor } from "./runtime/kinds.js";
import type { Manager } from "./runtime/manager.js";
import { untilAborted } from "./runtime/clock.js";

export interface ControllerContext {
  config: OperatorConfig;
  logger: Logger;
}

export interface ControllerModule {
  /** Mooring kinds that must be served before the controller starts. */
  kinds: readonly KindDescriptor[];
  /** What its identity must be allowed to do (checked at start-up, named when missing). */
  permissions(ns: string | undefined, config?: OperatorConfig): Permission[];
  /** Registers the module's controllers (and servers) on the manager. */
  setup(mgr: Manager, ctx: ControllerContext): Promise<void>;
}

const rw = (group: string, resource: string, ns: string | undefined): Permission[] => [
  { verb: "list", group, resource, namespace: ns },
  { verb: "watch", group, resource, namespace: ns },
  { verb: "patch", group, resource, subresource: "status", namespace: ns },
];
/** Patching the objects themselves: the finalizers a controller adds and removes. */
const finalizers = (group: string, resource: string, ns: string | undefined): Permission => ({ verb: "patch", group, resource, namespace: ns });
const events = (ns: string | undefined): Permission => ({ verb: "create", group: "events.k8s.io", resource: "events", namespace: ns });

export const CONTROLLER_MODULES: Record<ControllerName, ControllerModule> = {
  source: {
    kinds: [GitRepositoryKind, HelmRepositoryKind, HelmChartKind],
    permissions: (ns) => [
      ...rw("source.mooring.dev", "gitrepositories", ns),
      ...rw("source.mooring.dev", "helmrepositories", ns),
      ...rw("source.mooring.dev", "helmcharts", ns),
      // finalizers on GitRepositories (artifact clean-up on deletion)
      finalizers("source.mooring.dev", "gitrepositories", ns),
      { verb: "get", group: "", resource: "secrets", namespace: ns },
      events(ns),
    ],
    setup: async (mgr, ctx) => {
      const [{ setupSource }, { registerConditionMetrics }] = await Promise.all([import("./source/index.js"), import("./metrics/conditions.js")]);
      await setupSource(mgr, ctx);
      registerConditionMetrics(mgr, [GitRepositoryKind, HelmRepositoryKind, HelmChartKind]);
    },
  },
  render: {
    kinds: [ApplicationKind, GitRepositoryKind, HelmChartKind],
    permissions: (ns, config) => [
      ...rw("delivery.mooring.dev", "applications", ns),
      ...["list", "watch"].flatMap((verb) => [
        { verb, group: "source.mooring.dev", resource: "gitrepositories", namespace: ns },
        { verb, group: "source.mooring.dev", resource: "helmcharts", namespace: ns },
        { verb, group: "", resource: "configmaps", namespace: ns },
        // With --watch-secrets, Secrets are watched without their data (the right to list them is needed still).
        ...(config?.watchSecrets ? [{ verb, group: "", resource: "secrets", namespace: ns }] : []),
      ]),
      // The Secrets Applications read are fetched with get (never listed without --watch-secrets).
      { verb: "get", group: "", resource: "secrets", namespace: ns },
      events(ns),
    ],
    setup: async (mgr, ctx) => {
      const { config } = ctx;
      const [{ startArtifactServer }, { advertisedArtifactAddr, openArtifactStorage }, { setupRenderController }, { DEFAULT_SOURCE_LIMITS }] = await Promise.all([
        import("./artifact/server.js"),
        import("./artifact/settings.js"),
        import("./render/controller.js"),
        import("./render/fetch.js"),
      ]);
      // Rendered artifacts share the storage root (and so the artifact server) with source artifacts: their keys
      // live under different folders, and one process can bind the artifact port only once.
      const storage = await openArtifactStorage(config);
      const extracted = config.maxExtractedBytes;
      setupRenderController(mgr, {
        storage,
        advertisedAddr: advertisedArtifactAddr(config),
        // Extracted sources must not sit under the storage root, which is served over HTTP.
        cacheDir: path.join(os.tmpdir(), "mooring-render-cache"),
        allowCrossNamespaceRefs: config.allowCrossNamespaceRefs,
        concurrency: config.concurrency,
        ...(config.renderWorkers ? { renderWorkers: config.renderWorkers } : {}),
        // Limits the chart derives from the container's memory and /tmp size (charts/mooring/templates/_limits.tpl).
        ...(config.renderWorkerHeapBytes ? { renderMaxHeapMb: Math.max(16, Math.floor(config.renderWorkerHeapBytes / 1024 ** 2)) } : {}),
        ...(config.maxRenderedBytes ? { renderMaxOutputBytes: config.maxRenderedBytes } : {}),
        ...(config.renderKeepSources ? { keepSources: config.renderKeepSources } : {}),
        ...(extracted ? { sourceLimits: { maxExtractedBytes: extracted, maxDownloadBytes: Math.min(DEFAULT_SOURCE_LIMITS.maxDownloadBytes, extracted) } } : {}),
        watchSecrets: config.watchSecrets ?? false,
        ...(config.helmBinary ? { helmBinary: config.helmBinary } : {}),
      });
      if (!config.controllers.includes("source")) {
        mgr.addRunnable(async (signal) => {
          const server = await startArtifactServer(config.artifactAddr, { root: storage.root, logger: ctx.logger });
          await untilAborted(signal);
          await server.close();
        }, { needLeaderElection: false });
      }
    },
  },
  apply: {
    kinds: [ApplicationKind, SyncPolicyKind],
    permissions: (ns) => [
      ...rw("delivery.mooring.dev", "applications", ns),
      ...rw("delivery.mooring.dev", "syncpolicies", ns),
      // finalizers on Applications (prune on deletion)
      finalizers("delivery.mooring.dev", "applications", ns),
      events(ns),
    ],
    setup: async (mgr, ctx) => {
      const [{ setupSyncPolicyController }, { setupApplyController }, { registerConditionMetrics }] = await Promise.all([
        import("./policy/controller.js"),
        import("./apply/controller.js"),
        import("./metrics/conditions.js"),
      ]);
      // SyncPolicy status (windows, application count) belongs with the controller that obeys the policies.
      setupSyncPolicyController(mgr, ctx.config);
      setupApplyController(mgr, ctx.config);
      registerConditionMetrics(mgr, [ApplicationKind, SyncPolicyKind]);
    },
  },
  notify: {
    // Reads the Events the other controllers record, and the objects they are about; writes only Provider/Alert status.
    kinds: [ProviderKind, AlertKind, ApplicationKind, GitRepositoryKind, HelmRepositoryKind, HelmChartKind],
    permissions: (ns) => [
      ...rw("notification.mooring.dev", "providers", ns),
      ...rw("notification.mooring.dev", "alerts", ns),
      ...["list", "watch"].flatMap((verb) => [
        { verb, group: "events.k8s.io", resource: "events", namespace: ns },
        { verb, group: "delivery.mooring.dev", resource: "applications", namespace: ns },
        { verb, group: "source.mooring.dev", resource: "gitrepositories", namespace: ns },
        { verb, group: "source.mooring.dev", resource: "helmrepositories", namespace: ns },
        { verb, group: "source.mooring.dev", resource: "helmcharts", namespace: ns },
      ]),
      // Providers' Secrets, read with get when a notification is sent (never listed or cached).
      { verb: "get", group: "", resource: "secrets", namespace: ns },
    ],
    setup: async (mgr, ctx) => {
      const { setupNotifyController } = await import("./notify/controller.js");
      setupNotifyController(mgr, { concurrency: ctx.config.concurrency });
    },
  },
};
