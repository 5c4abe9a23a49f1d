// The operator process: connects to the cluster, checks what it needs (CRDs, RBAC) and waits with a clear message
// when something is missing, then runs the selected controllers on one runtime Manager (shared cache, probes,
// metrics, leader election) until SIGTERM/SIGINT.
import * as k8s from "@kubernetes/client-node";
import { installCrds } from "./api/install.js";
import type { OperatorConfig } from "./config.js";
import { CONTROLLER_MODULES } from "./controllers.js";
import type { Logger } from "./log.js";
import { type Permission, waitForKinds, waitForPermissions } from "./preflight.js";
import { Manager } from "./runtime/manager.js";

/** A start-up failure with a message fit for one log line (no stack trace). */
export class StartupError extends Error {}

export function loadKubeConfig(path: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    throw new StartupError(`cannot read kubeconfig ${path ?? "(default)"}: ${(err as Error).message}; set --kubeconfig or KUBECONFIG`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new StartupError("no cluster in the kubeconfig; set --kubeconfig or KUBECONFIG to a valid file");
  return kc;
}

/** Fails with one clear line when the API server cannot be reached, instead of a stack trace later. */
export async function checkApiServer(kc: k8s.KubeConfig): Promise<string> {
  const server = kc.getCurrentCluster()?.server ?? "?";
  try {
    const v = await kc.makeApiClient(k8s.VersionApi).getCode();
    return v.gitVersion;
  } catch (err) {
    throw new StartupError(`cannot reach the Kubernetes API server at ${server}: ${(err as Error).message}; is the cluster running (make cluster)?`, { cause: err });
  }
}

export async function runOperator(config: OperatorConfig, logger: Logger, signal: AbortSignal): Promise<void> {
  const kc = loadKubeConfig(config.kubeconfig);
  const version = await checkApiServer(kc);
  logger.info("connected to the API server", { server: kc.getCurrentCluster()?.server, version, controllers: config.controllers });

  if (config.installCrds) {
    const names = await installCrds(kc).catch((err: Error) => {
      throw new StartupError(err.message, { cause: err });
    });
    logger.info("CRDs installed", { crds: names });
  }

  const modules = config.controllers.map((name) => CONTROLLER_MODULES[name]);
  const ns = config.watchNamespace;
  const permissions: Permission[] = modules.flatMap((m) => m.permissions(ns));
  if (config.leaderElect) {
    for (const verb of ["get", "create", "update"]) permissions.push({ verb, group: "coordination.k8s.io", resource: "leases", namespace: config.leaderElectionNamespace });
  }
  await waitForPermissions(kc, permissions, logger, signal);
  await waitForKinds(kc, [...new Set(modules.flatMap((m) => m.kinds))], logger, signal);
  if (signal.aborted) return;

  const mgr = new Manager({
    kubeConfig: kc,
    namespace: ns,
    qps: config.qps,
    burst: config.burst,
    metricsAddr: config.metricsAddr,
    healthAddr: config.healthAddr,
    logger,
    leaderElection: config.leaderElect ? { name: "mooring-leader", namespace: config.leaderElectionNamespace } : undefined,
  });
  for (const name of config.controllers) await CONTROLLER_MODULES[name].setup(mgr, { config, kubeConfig: kc, logger });
  try {
    await mgr.start(signal);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new StartupError(`cannot listen: ${e.message}; another process holds the port — choose another with --health-addr/--metrics-addr`, { cause: err });
    throw err;
  }
}
