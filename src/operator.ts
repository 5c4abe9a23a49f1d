// The operator process: connects to the cluster, checks what it needs (CRDs, RBAC) and waits with a clear message
// when something is missing, then runs the selected controllers on one runtime Manager (shared cache, probes,
// metrics, leader election) until SIGTERM/SIGINT.
import type { OperatorConfig } from "./config.js";
import { CONTROLLER_MODULES } from "./controllers.js";
import type { Logger } from "./log.js";
import { type Permission, waitForKinds, waitForPermissions } from "./preflight.js";
import { KubeConfig } from "./runtime/kubeconfig.js";
import { addLeaderLabel } from "./runtime/leaderlabel.js";
import { Manager } from "./runtime/manager.js";
import { RestClient } from "./runtime/rest.js";

/** On the leader's Pod, valued with its Lease name; the chart's artifact Services select on it. */
export const LEADER_LABEL = "mooring.dev/leader";

/** A start-up failure with a message fit for one log line (no stack trace). */
export class StartupError extends Error {}

export function loadKubeConfig(path: string | undefined): KubeConfig {
  let kc: KubeConfig;
  try {
    kc = path ? KubeConfig.fromFile(path) : KubeConfig.fromDefault();
  } catch (err) {
    throw new StartupError(`cannot read kubeconfig ${path ?? "(default)"}: ${(err as Error).message}; set --kubeconfig or KUBECONFIG`, { cause: err });
  }
  if (!kc.cluster) throw new StartupError("no cluster in the kubeconfig; set --kubeconfig or KUBECONFIG to a valid file");
  return kc;
}

/** Fails with one clear line when the API server cannot be reached, instead of a stack trace later. */
export async function checkApiServer(rest: RestClient): Promise<string> {
  const server = rest.server.origin;
  try {
    const v = await rest.request<{ gitVersion: string }>("GET", "/version");
    return v.gitVersion;
  } catch (err) {
    throw new StartupError(`cannot reach the Kubernetes API server at ${server}: ${(err as Error).message}; is the cluster running (make cluster)?`, { cause: err });
  }
}

/** Checks (and waits for) what the controllers need before the manager starts: API server, CRDs, RBAC. */
async function preflight(rest: RestClient, config: OperatorConfig, logger: Logger, signal: AbortSignal): Promise<void> {
  const version = await checkApiServer(rest);
  logger.info("connected to the API server", { server: rest.server.origin, version, controllers: config.controllers });

  if (config.installCrds) {
    // Loaded only here: the CRDs' schemas are needed only by a process that installs them.
    const { installCrds } = await import("./api/install.js");
    const names = await installCrds(rest).catch((err: Error) => {
      throw new StartupError(err.message, { cause: err });
    });
    logger.info("CRDs installed", { crds: names });
  }

  const modules = config.controllers.map((name) => CONTROLLER_MODULES[name]);
  const ns = config.watchNamespace;
  const permissions: Permission[] = modules.flatMap((m) => m.permissions(ns, config));
  if (config.leaderElect) {
    for (const verb of ["get", "create", "update"]) permissions.push({ verb, group: "coordination.k8s.io", resource: "leases", namespace: config.leaderElectionNamespace });
  }
  await waitForPermissions(rest, permissions, logger, signal);
  await waitForKinds(rest, [...new Set(modules.flatMap((m) => m.kinds))], logger, signal);
}

export async function runOperator(config: OperatorConfig, logger: Logger, signal: AbortSignal): Promise<void> {
  const kc = loadKubeConfig(config.kubeconfig);
  let rest: RestClient;
  try {
    rest = RestClient.fromKubeConfig(kc, { qps: config.qps, burst: config.burst });
  } catch (err) {
    throw new StartupError(`cannot use the kubeconfig: ${(err as Error).message}`, { cause: err });
  }
  try {
    await preflight(rest, config, logger, signal);
  } finally {
    rest.close();
  }
  if (signal.aborted) return;

  const mgr = new Manager({
    kubeConfig: kc,
    namespace: config.watchNamespace,
    shardLabelSelector: config.watchLabelSelector,
    qps: config.qps,
    burst: config.burst,
    metricsAddr: config.metricsAddr,
    healthAddr: config.healthAddr,
    logger,
    leaderElection: config.leaderElect ? { name: config.leaderElectionId, namespace: config.leaderElectionNamespace } : undefined,
  });
  for (const name of config.controllers) await CONTROLLER_MODULES[name].setup(mgr, { config, logger });
  // In a Pod with leader election, the leader labels its Pod: the chart's artifact Services select it, because only
  // the leader holds artifacts. Outside a Pod (no downward-API variables) there is no Service to steer.
  const pod = process.env.POD_NAME;
  const podNamespace = process.env.POD_NAMESPACE;
  if (config.leaderElect && pod && podNamespace) {
    if (config.leaderElectionId.length <= 63) addLeaderLabel(mgr, { pod, namespace: podNamespace, key: LEADER_LABEL, value: config.leaderElectionId }, logger);
    else logger.warn("the leader-election id is longer than a label value may be; the leader's Pod is not labelled", { id: config.leaderElectionId });
  }
  try {
    await mgr.start(signal);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new StartupError(`cannot listen: ${e.message}; another process holds the port — choose another with --health-addr/--metrics-addr`, { cause: err });
    throw err;
  }
}
