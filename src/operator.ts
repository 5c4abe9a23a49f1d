// The operator process: connects to the cluster, serves probes, and runs the controllers named by
// --controllers until SIGTERM/SIGINT. Controllers register themselves in ./controllers.ts as they land.
import http from "node:http";
import * as k8s from "@kubernetes/client-node";
import type { OperatorConfig } from "./config.js";
import type { Logger } from "./log.js";

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

function listen(addr: string, handler: http.RequestListener): Promise<http.Server> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")) || "0.0.0.0", Number(addr.slice(addr.lastIndexOf(":") + 1))];
  const server = http.createServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new StartupError(err.code === "EADDRINUSE" ? `address ${addr} is already in use; pick another with the matching --*-addr flag` : `cannot listen on ${addr}: ${err.message}`)),
    );
    server.listen(port, host, () => resolve(server));
  });
}

export async function runOperator(config: OperatorConfig, logger: Logger, signal: AbortSignal): Promise<void> {
  const kc = loadKubeConfig(config.kubeconfig);
  const version = await checkApiServer(kc);
  logger.info("connected to the API server", { server: kc.getCurrentCluster()?.server, version });

  let ready = false;
  const health = await listen(config.healthAddr, (req, res) => {
    const ok = req.url === "/healthz" || (req.url === "/readyz" && ready);
    res.writeHead(ok ? 200 : req.url === "/readyz" ? 503 : 404, { "content-type": "text/plain" }).end(ok ? "ok" : "not ready");
  });
  ready = true;
  logger.info("operator started", { controllers: config.controllers, health: config.healthAddr });

  await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  logger.info("shutting down");
  await new Promise<void>((resolve) => health.close(() => resolve()));
}
