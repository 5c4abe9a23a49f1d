// The source controller process part: artifact storage, the artifact HTTP server, the webhook receiver and the
// GitRepository controller, registered on a manager. src/controllers.ts calls `setupSource` for `--controllers=source`.
import type { OperatorConfig } from "../config.js";
import type { Logger } from "../log.js";
import { listenHttp, artifactHandler } from "../artifact/server.js";
import { advertisedArtifactAddr, openArtifactStorage } from "../artifact/settings.js";
import type { ArtifactStorage } from "../artifact/storage.js";
import { GitRepositoryKind, type GitRepository } from "../api/index.js";
import { Kinds, untilAborted, type KubeObject, type Manager } from "../runtime/index.js";
import { setupSourceController, type SourceController } from "./controller.js";
import { webhookHandler, type WebhookReceiverRef } from "./webhook.js";
import { setupHelmControllers } from "./helmchart.js";

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

/** The operator's settings and logger, and what a test may set instead of the flags. */
export interface SourceSetupOptions {
  config: OperatorConfig;
  logger: Logger;
  /** Where the operator-wide webhook Secret lives (default: $POD_NAMESPACE, else the leader-election namespace). */
  secretNamespace?: string;
  maxSourceBytes?: number;
  keepArtifacts?: number;
}

/** How long a webhook secret read from a Secret is used before it is read again (a rotation takes this long). */
const SECRET_TTL_MS = 10_000;
/** Receiver secrets remembered at most (one per GitRepository with spec.webhook; the cache restarts past it). */
const MAX_CACHED_SECRETS = 1024;

/**
 * Registers the source controller and its two servers on `mgr`. The servers run on every replica (a Service may
 * route to any); only the leader fetches. The operator-wide webhook secret is read from the Secret
 * `--webhook-secret` (key `token`) in `secretNamespace` (default: $POD_NAMESPACE, else the leader-election
 * namespace); a GitRepository's own receiver (/hook/<namespace>/<name>) reads the Secret its spec.webhook.secretRef
 * names, in its own namespace. Both are cached for 10 s.
 */
export async function setupSource(mgr: Manager, opts: SourceSetupOptions): Promise<SourceSetup> {
  const { config } = opts;
  const logger = opts.logger.child({ controller: "source" });
  const maxSourceBytes = opts.maxSourceBytes ?? config.maxSourceBytes;
  const storage = await openArtifactStorage(config, opts.keepArtifacts ?? config.keepArtifacts);
  const source = setupSourceController(mgr, {
    storage,
    advertisedAddr: advertisedArtifactAddr(config),
    concurrency: config.concurrency,
    ...(config.watchLabelSelector ? { pushesAcrossShards: { ...(config.watchNamespace ? { namespace: config.watchNamespace } : {}) } } : {}),
    ...(maxSourceBytes !== undefined ? { maxSourceBytes } : {}),
    ...(config.maxObjectBytes !== undefined ? { maxObjectBytes: config.maxObjectBytes } : {}),
  });

  // HelmRepositories and HelmCharts (./helmchart.ts): charts stored in the same storage, served by the same server.
  setupHelmControllers(mgr, { storage, advertisedAddr: advertisedArtifactAddr(config), concurrency: config.concurrency, ...(config.maxChartBytes ? { maxChartBytes: config.maxChartBytes } : {}) });

  const { secret, receiverSecret } = webhookSecrets(mgr, config, opts.secretNamespace ?? process.env.POD_NAMESPACE ?? config.leaderElectionNamespace);
  mgr.addRunnable(
    async (signal) => {
      const artifacts = await listenHttp(config.artifactAddr, artifactHandler({ root: storage.root, logger }));
      const hooks = await listenHttp(config.webhookAddr, webhookHandler({ secret, receiverSecret, onPush: source.triggerPush, logger }));
      logger.info("artifact and webhook servers listening", { artifactAddr: config.artifactAddr, webhookAddr: config.webhookAddr, advertised: advertisedArtifactAddr(config) });
      await untilAborted(signal);
      await Promise.all([artifacts.close(), hooks.close()]);
    },
    { needLeaderElection: false },
  );
  return { storage, source };
}

/** The webhook receivers' secrets: the operator-wide one, and a GitRepository's own (spec.webhook.secretRef). */
function webhookSecrets(mgr: Manager, config: OperatorConfig, secretNamespace: string) {
  // Secrets are read live (caching every Secret of the cluster would cost memory and a wider watch), remembered
  // briefly by namespace/name so a burst of pushes costs one read.
  const cached = new Map<string, { value: string | undefined; at: number }>();
  const readToken = async (namespace: string, name: string): Promise<string | undefined> => {
    const key = `${namespace}/${name}`;
    const hit = cached.get(key);
    if (hit && Date.now() - hit.at < SECRET_TTL_MS) return hit.value;
    const s = await mgr.client.live().get<KubeObject & { data?: Record<string, string> }>(Kinds.Secret, name, namespace);
    const raw = s?.data?.[WEBHOOK_SECRET_KEY];
    if (cached.size >= MAX_CACHED_SECRETS) cached.clear();
    const value = raw ? Buffer.from(raw, "base64").toString("utf8") : undefined;
    cached.set(key, { value, at: Date.now() });
    return value;
  };
  const secretName = config.webhookSecret ?? WEBHOOK_SECRET_NAME;
  const secret = async (): Promise<string | undefined> => (secretName ? readToken(secretNamespace, secretName) : undefined);
  const receiverSecret = async (ref: WebhookReceiverRef): Promise<{ secret: string } | { missing: string }> => {
    // From the cache: an unauthenticated sender must not be able to make the receiver send API requests at will.
    const repo = await mgr.client.get<GitRepository & KubeObject>(GitRepositoryKind, ref.name, ref.namespace);
    if (!repo) return { missing: `no GitRepository ${ref.namespace}/${ref.name}${config.watchNamespace && config.watchNamespace !== ref.namespace ? ` (this operator watches only namespace ${config.watchNamespace})` : ""}` };
    const name = repo.spec?.webhook?.secretRef?.name;
    if (!name) return { missing: `GitRepository ${ref.namespace}/${ref.name} has no spec.webhook.secretRef` };
    const value = await readToken(ref.namespace, name);
    return value ? { secret: value } : { missing: `Secret ${ref.namespace}/${name} (spec.webhook.secretRef of GitRepository ${ref.name}) does not exist or has no key ${WEBHOOK_SECRET_KEY}` };
  };
  return { secret, receiverSecret };
}
