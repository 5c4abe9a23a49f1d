// Which controllers this process can run, what each needs from the cluster, and how each is set up on the manager.
// `mooring controller --controllers=...` runs any subset; each module registers its own controllers.
import type * as k8s from "@kubernetes/client-node";
import { ApplicationKind, GitRepositoryKind, SyncPolicyKind } from "./api/kinds.js";
import type { ControllerName, OperatorConfig } from "./config.js";
import type { Logger } from "./log.js";
import { registerSyncPolicyController } from "./policy/controller.js";
import type { Permission } from "./preflight.js";
import { setupSource } from "./source/index.js";
import type { KindDescriptor } from "./runtime/kinds.js";
import type { Manager } from "./runtime/manager.js";

export interface ControllerContext {
  config: OperatorConfig;
  kubeConfig: k8s.KubeConfig;
  logger: Logger;
}

export interface ControllerModule {
  /** Mooring kinds that must be served before the controller starts. */
  kinds: readonly KindDescriptor[];
  /** What its identity must be allowed to do (checked at start-up, named when missing). */
  permissions(ns: string | undefined): Permission[];
  /** Registers the module's controllers (and servers) on the manager. */
  setup(mgr: Manager, ctx: ControllerContext): Promise<void>;
}

const rw = (group: string, resource: string, ns: string | undefined): Permission[] => [
  { verb: "list", group, resource, namespace: ns },
  { verb: "watch", group, resource, namespace: ns },
  { verb: "patch", group, resource, subresource: "status", namespace: ns },
];

async function notYetImplemented(name: ControllerName, ctx: ControllerContext): Promise<void> {
  ctx.logger.warn(`the ${name} controller is not implemented in this build yet; it will only report readiness`, { controller: name });
}

export const CONTROLLER_MODULES: Record<ControllerName, ControllerModule> = {
  source: {
    kinds: [GitRepositoryKind],
    permissions: (ns) => [...rw("source.mooring.dev", "gitrepositories", ns), { verb: "get", group: "", resource: "secrets", namespace: ns }],
    setup: async (mgr, ctx) => {
      await setupSource(mgr, ctx);
    },
  },
  render: {
    kinds: [ApplicationKind, GitRepositoryKind],
    permissions: (ns) => [
      ...rw("delivery.mooring.dev", "applications", ns),
      { verb: "watch", group: "source.mooring.dev", resource: "gitrepositories", namespace: ns },
      { verb: "watch", group: "", resource: "configmaps", namespace: ns },
      { verb: "watch", group: "", resource: "secrets", namespace: ns },
    ],
    setup: (_mgr, ctx) => notYetImplemented("render", ctx),
  },
  apply: {
    kinds: [ApplicationKind, SyncPolicyKind],
    permissions: (ns) => [
      ...rw("delivery.mooring.dev", "applications", ns),
      ...rw("delivery.mooring.dev", "syncpolicies", ns),
      { verb: "create", group: "events.k8s.io", resource: "events", namespace: ns },
    ],
    setup: async (mgr, ctx) => {
      // SyncPolicy status (windows, application count) belongs with the controller that obeys the policies.
      registerSyncPolicyController(mgr, ctx.config);
      await notYetImplemented("apply", ctx);
    },
  },
};
