// The source controller process part: artifact storage, the artifact HTTP server, the webhook receiver and the
// GitRepository controller, registered on a manager. src/controllers.ts calls `setupSource` for `--controllers=source`.
import type { OperatorConfig } from "../config.js";
import type { Logger } from "../log.js";
import { listenHttp, artifactHandler } from "../artifact/server.js";
import { ArtifactStorage } from "../artifact/storage.js";
import { Kinds, type KubeObject, type Manager } from "../runtime/index.js";
import { setupSourceController, type SourceController } from "./controller.js";
import { webhookHandler } from "./webhook.js";

export { setupSourceController, type SourceController } from "./controller.js";
export { SourceSyncer, type SyncOutcome } from "./sync.js";
export { SourceError, type SourceErrorReason } from "./errors.js";

/** The default Secret holding the webhook HMAC secret (key `token`), in the operator's namespace (--webhook-secret). */
export const WEBHOOK_SECRET_NAME = "mooring-webhook";
export const WEBHOOK_SECRET_KEY = "token";

export interface SourceSetup {
  storage: ArtifactStorage;
  source: SourceController;
}

function advertised(config: OperatorConfig): string {
  if (config.advertisedArtifactAddr) return config.advertisedArtifactAddr;
  const port = config.artifactAddr.slice(config.artifactAddr.lastIndexOf(":") + 1);
  return `localhost:${port}`;
}

/**
 * Registers the source controller and its two servers on `mgr`. The servers run on every replica (a Service may
 * route to any); only the leader fetches. The webhook secret is read from the Secret `--webhook-secret` (key
 * `token`) in `secretNamespace` (default: $POD_NAMESPACE, else the leader-election namespace), cached for 10 s.
 */
export async function setupSource(
  mgr: Manager,
  ctx: { config: OperatorConfig; logger: Logger },
  opts: { secretNamespace?: string; maxSourceBytes?: number; keepArtifacts?: number } = {},
): Promise<SourceSetup> {
  const { config } = ctx;
  const logger = ctx.logger.child({ controller: "source" });
  const keep = opts.keepArtifacts ?? config.keepArtifacts;
  const maxSourceBytes = opts.maxSourceBytes ?? config.maxSourceBytes;
  const secretName = config.webhookSecret ?? WEBHOOK_SECRET_NAME;
  const storage = new ArtifactStorage({ root: config.storagePath, ...(keep ? { keep } : {}), ...(config.maxStorageBytes ? { maxBytes: config.maxStorageBytes } : {}) });
  await storage.init();
  const source = setupSourceController(mgr, {
    storage,
    advertisedAddr: advertised(config),
    concurrency: config.concurrency,
    ...(maxSourceBytes !== undefined ? { maxSourceBytes } : {}),
    ...(config.maxObjectBytes !== undefined ? { maxObjectBytes: config.maxObjectBytes } : {}),
  });

  const secretNamespace = opts.secretNamespace ?? process.env.POD_NAMESPACE ?? config.leaderElectionNamespace;
  let cached: { value: string | undefined; at: number } | undefined;
  const secret = async (): Promise<string | undefined> => {
    if (cached && Date.now() - cached.at < 10_000) return cached.value;
    const s = await mgr.client.live().get<KubeObject & { data?: Record<string, string> }>(Kinds.Secret, secretName, secretNamespace);
    const raw = s?.data?.[WEBHOOK_SECRET_KEY];
    cached = { value: raw ? Buffer.from(raw, "base64").toString("utf8") : undefined, at: Date.now() };
    return cached.value;
  };

  mgr.addRunnable(
    async (signal) => {
      const artifacts = await listenHttp(config.artifactAddr, artifactHandler({ root: storage.root, logger }));
      const hooks = await listenHttp(config.webhookAddr, webhookHandler({ secret, onPush: source.triggerPush, logger }));
      logger.info("artifact and webhook servers listening", { artifactAddr: config.artifactAddr, webhookAddr: config.webhookAddr, advertised: advertised(config) });
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
      await Promise.all([artifacts.close(), hooks.close()]);
    },
    { needLeaderElection: false },
  );
  return { storage, source };
}
