// The operator's configuration: every setting is a flag with an environment-variable fallback
// (MOORING_<FLAG_IN_UPPER_SNAKE>), parsed in one place so the CLI, the Helm chart and tests agree on names.
import { Command, InvalidArgumentError, Option } from "commander";
import { LOG_LEVELS, type LogLevel } from "./log.js";

export const CONTROLLERS = ["source", "render", "apply", "notify"] as const;
/** What `mooring controller` runs without --controllers: notify (Provider/Alert) is opt-in, like the chart's value. */
export const DEFAULT_CONTROLLERS = ["source", "render", "apply"] as const;
export type ControllerName = (typeof CONTROLLERS)[number];

export interface OperatorConfig {
  controllers: ControllerName[];
  logLevel: LogLevel;
  logFormat: "json" | "text" | undefined;
  kubeconfig: string | undefined;
  installCrds: boolean;
  metricsAddr: string;
  healthAddr: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  /** Name of the leader-election Lease: one per set of controllers, so split Deployments each elect a leader. */
  leaderElectionId: string;
  storagePath: string;
  artifactAddr: string;
  advertisedArtifactAddr: string | undefined;
  webhookAddr: string;
  watchNamespace: string | undefined;
  /**
   * Only reconcile GitRepositories, Applications and SyncPolicies matching this label selector (--watch-label-selector,
   * Flux's sharding flag): operators side by side on one cluster each take their own objects.
   */
  watchLabelSelector?: string | undefined;
  /**
   * ServiceAccount (in the Application's namespace) impersonated for an Application that names none
   * (--default-service-account, default "default"). Undefined only with the explicit single-tenant opt-out
   * (`--default-service-account=""`): such Applications are then applied with the apply controller's own identity.
   */
  defaultServiceAccount: string | undefined;
  /**
   * Let Applications name objects in other namespaces: spec.sourceRef.namespace, spec.dependsOn[].namespace and
   * spec.healthChecks outside the Application's namespace and target namespace (--allow-cross-namespace-refs,
   * default false: refused, as Flux's multi-tenancy lockdown).
   */
  allowCrossNamespaceRefs: boolean;
  concurrency: number;
  qps: number;
  burst: number;
  /** Largest Git fetch the source controller accepts, bytes (--max-source-size, default 512Mi). */
  maxSourceBytes?: number;
  /** Artifacts kept per object, the newest included (--keep-artifacts, default 2). */
  keepArtifacts?: number;
  /**
   * Secret (key `token`, in the operator's namespace) holding the operator-wide webhook secret (--webhook-secret,
   * default mooring-webhook). It never triggers a GitRepository that has a receiver of its own (spec.webhook).
   */
  webhookSecret?: string;
  /** Largest inflated git object the source controller accepts, bytes (--max-object-size, default 64Mi). */
  maxObjectBytes?: number;
  /** Most bytes the artifact storage may hold (--max-storage-size; default: no limit but the disk's). */
  maxStorageBytes?: number;
  /** Render worker threads alive at once in the render controller, busy or idle (--render-workers, default 2). */
  renderWorkers?: number;
  /** Heap of each render worker, bytes (--render-worker-heap, default 512Mi). */
  renderWorkerHeapBytes?: number;
  /** Largest rendered output (canonical JSON) of one Application, bytes (--max-rendered-size, default 128Mi). */
  maxRenderedBytes?: number;
  /** Largest source artifact the render controller downloads and extracts, bytes (--max-extracted-size, default 1Gi). */
  maxExtractedBytes?: number;
  /** Extracted source artifacts the render controller keeps while unused (--render-keep-sources, default 16). */
  renderKeepSources?: number;
  /** Render controller: watch Secrets cluster-wide (data dropped) to re-render at once when one changes (--watch-secrets). */
  watchSecrets?: boolean;
  /** helm binary for Go-template charts (--helm-binary; default $MOORING_HELM_BINARY, the pinned one in the tool cache, helm on PATH). */
  helmBinary?: string;
  /** Largest Helm chart (.tgz) the source controller downloads, bytes (--max-chart-size, default 10Mi). */
  maxChartBytes?: number;
  /** Default health rules (CEL, a YAML list shaped as spec.healthCheckExprs) the apply controller reads at start-up (--health-rules-file). */
  healthRulesFile?: string;
  /** Applications with per-Application metric series of their own (--metrics-max-applications, default 500; 0: none). */
  metricsMaxApplications?: number;
}

function parseControllers(value: string): ControllerName[] {
  const names = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError(`name at least one of: ${CONTROLLERS.join(", ")}`);
  for (const n of names) {
    if (!(CONTROLLERS as readonly string[]).includes(n)) {
      throw new InvalidArgumentError(`unknown controller "${n}"; choose from ${CONTROLLERS.join(", ")}`);
    }
  }
  return [...new Set(names)] as ControllerName[];
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected 0 or a positive integer, got "${value}"`);
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

const UNITS: Record<string, number> = { "": 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1000, M: 1000 ** 2, G: 1000 ** 3 };

/** A size as Kubernetes writes quantities: bytes, or with Ki/Mi/Gi (or K/M/G), e.g. "512Mi". */
export function parseSize(value: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(value.trim());
  const n = m ? Number(m[1]) * UNITS[m[2] ?? ""]! : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a size such as 512Mi, 1Gi or 1048576, got "${value}"`);
  return n;
}

/** A DNS subdomain (RFC 1123), as ServiceAccount and Lease names are: lower-case alphanumerics, '-' and '.', at most 253. */
function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value);
}

/** The ServiceAccount name of --default-service-account: a DNS subdomain, or "" for the controller's own identity. */
function serviceAccountName(value: string): string {
  if (value === "") return value;
  if (!isDnsSubdomain(value)) {
    throw new InvalidArgumentError(`"${value}" is not a valid ServiceAccount name (lower-case letters, digits, '-' and '.'); pass "" to apply with the controller's own identity`);
  }
  return value;
}

/**
 * A boolean flag's value: commander gives a bare boolean flag `true` whenever its environment variable is set, even
 * to "false"; a security setting must read "false" as false.
 */
export function parseBool(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (["true", "1", "yes"].includes(v)) return true;
  if (["false", "0", "no", ""].includes(v)) return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}"`);
}

/** The ServiceAccount impersonated when an Application names none (as Flux's lockdown: the namespace's `default`). */
export const DEFAULT_SERVICE_ACCOUNT = "default";

/** A Lease name is a DNS subdomain. */
function leaseName(value: string): string {
  if (!isDnsSubdomain(value)) {
    throw new InvalidArgumentError(`"${value}" is not a valid Lease name (lower-case letters, digits, '-' and '.', at most 253 characters)`);
  }
  return value;
}

function address(value: string): string {
  if (value === "0") return value; // disables the listener
  if (!/^([^:]*):(\d{1,5})$/.test(value)) throw new InvalidArgumentError(`expected host:port (e.g. ":8080"), got "${value}"`);
  return value;
}

const env = (flag: string) => "MOORING_" + flag.replace(/-/g, "_").toUpperCase();

/** An option that reads its environment variable (MOORING_<FLAG>) when the flag is absent. */
function opt(flags: string, desc: string): Option {
  const o = new Option(flags, desc);
  const long = flags.match(/--([a-z-]+)/)?.[1];
  if (long) o.env(env(long));
  return o;
}

/** Adds the operator flags to a command; each reads its environment variable when the flag is absent. */
export function addOperatorOptions(cmd: Command): Command {
  for (const o of [...processOptions(), ...scopeOptions(), ...limitOptions()]) cmd.addOption(o);
  return cmd;
}

/** What runs, how it logs, where it listens and stores, and leader election. */
function processOptions(): Option[] {
  return [
    opt("--controllers <list>", "controllers to run, comma-separated").argParser(parseControllers).default([...DEFAULT_CONTROLLERS], DEFAULT_CONTROLLERS.join(",")),
    opt("--log-level <level>", "log level").choices(LOG_LEVELS).default("info"),
    opt("--log-format <format>", "log format (default: text on a terminal, else json)").choices(["json", "text"]),
    opt("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, then in-cluster)"),
    opt("--install-crds", "apply Mooring's CRDs at start-up (needs rights on customresourcedefinitions)").default(false),
    opt("--metrics-addr <addr>", "Prometheus metrics listen address (0 disables)").argParser(address).default(":8080"),
    opt("--health-addr <addr>", "/healthz and /readyz listen address").argParser(address).default(":8081"),
    opt("--leader-elect", "use a Lease so only one replica reconciles").default(false),
    opt("--leader-election-namespace <ns>", "namespace of the leader-election Lease").default("mooring-system"),
    opt("--leader-election-id <name>", "name of the leader-election Lease; processes that run different controllers need different names").argParser(leaseName).default("mooring-leader"),
    opt("--storage-path <dir>", "where artifacts are stored").default("/tmp/mooring-artifacts"),
    opt("--artifact-addr <addr>", "artifact server listen address").argParser(address).default(":9090"),
    opt("--advertised-artifact-addr <host:port>", "address other controllers use to fetch artifacts (the Service name in a cluster)"),
    opt("--webhook-addr <addr>", "webhook receiver listen address").argParser(address).default(":9292"),
  ];
}

/** What it reconciles, as whom, and how fast it talks to the API server. */
function scopeOptions(): Option[] {
  return [
    opt("--watch-namespace <ns>", "only reconcile objects in this namespace (default: all)"),
    opt("--watch-label-selector <selector>", "only reconcile GitRepositories, Applications and SyncPolicies matching this label selector (sharding; default: all)"),
    opt("--default-service-account <name>", 'ServiceAccount, in the Application\'s namespace, impersonated when an Application names none; "" applies those with the apply controller\'s own identity (single-tenant clusters only)')
      .argParser(serviceAccountName)
      .default(DEFAULT_SERVICE_ACCOUNT),
    opt("--allow-cross-namespace-refs [bool]", "let Applications name sources, dependencies and health checks in other namespaces (refused by default)")
      .argParser(parseBool)
      .preset("true")
      .default(false),
    // Before cross-namespace references were refused by default, this flag refused them; still accepted (and still
    // refusing them, even beside --allow-cross-namespace-refs) so existing Deployments keep starting.
    opt("--forbid-cross-namespace-refs [bool]", "deprecated: refusing cross-namespace references is now the default").argParser(parseBool).preset("true").default(false).hideHelp(),
    opt("--concurrency <n>", "concurrent reconciles per controller").argParser(positiveInt).default(4),
    opt("--qps <n>", "client-side API request rate limit").argParser(positiveInt).default(100),
    opt("--burst <n>", "client-side API request burst").argParser(positiveInt).default(300),
    opt("--max-source-size <size>", "largest Git fetch the source controller accepts (e.g. 512Mi)").argParser(parseSize).default(512 * 1024 ** 2, "512Mi"),
    opt("--keep-artifacts <n>", "artifacts kept per object, the newest included").argParser(positiveInt).default(2),
    opt("--webhook-secret <name>", "Secret (key token, in the operator's namespace) with the operator-wide webhook HMAC secret; a GitRepository with spec.webhook has its own receiver instead").default("mooring-webhook"),
  ];
}

/** Limits (the Helm chart derives them from the containers' memory and volume sizes) and the render's helpers. */
function limitOptions(): Option[] {
  return [
    // Limits the Helm chart derives from the containers' memory and volume sizes (charts/mooring/templates/_limits.tpl).
    opt("--max-object-size <size>", "largest git object (inflated) the source controller accepts").argParser(parseSize).default(64 * 1024 ** 2, "64Mi"),
    opt("--max-storage-size <size>", "most bytes the artifact storage may hold (default: the disk's)").argParser(parseSize),
    opt("--render-workers <n>", "render worker threads alive at once, busy or idle (each a V8 isolate of ~25 MiB); reconciles that must render wait for one").argParser(positiveInt).default(2),
    opt("--render-worker-heap <size>", "heap of each render worker thread").argParser(parseSize).default(512 * 1024 ** 2, "512Mi"),
    opt("--max-rendered-size <size>", "largest rendered output of one Application").argParser(parseSize).default(128 * 1024 ** 2, "128Mi"),
    opt("--max-extracted-size <size>", "largest source artifact the render controller downloads and extracts").argParser(parseSize).default(1024 ** 3, "1Gi"),
    opt("--render-keep-sources <n>", "extracted source artifacts the render controller keeps while unused").argParser(positiveInt).default(16),
    opt("--watch-secrets [bool]", "render controller: watch Secrets cluster-wide (needs list/watch on secrets) to re-render when one changes; otherwise the Secrets Applications read are fetched with get at each reconcile")
      .argParser(parseBool)
      .preset("true")
      .default(false),
    opt("--max-chart-size <size>", "largest Helm chart (.tgz) a HelmChart downloads").argParser(parseSize).default(10 * 1024 ** 2, "10Mi"),
    opt("--helm-binary <path>", "helm binary that renders Go-template charts (default: the image's /usr/local/bin/helm, else the pinned one from make tools, else helm on PATH)"),
    opt("--metrics-max-applications <n>", "apply controller: Applications with metric series of their own (namespace, name labels); those past it are counted together; 0 for none").argParser(nonNegativeInt).default(500),
    opt("--health-rules-file <path>", "apply controller: default health rules for custom resources, a YAML list of {apiVersion, kind, current, inProgress, failed} CEL rules (the chart ships a library)"),
  ];
}

/** Settings whose flag's parsed value is the setting itself (its argParser, choices or default gave it its type). */
const AS_PARSED = [
  "controllers", "logLevel", "logFormat", "metricsAddr", "healthAddr", "leaderElectionNamespace", "leaderElectionId", "storagePath", "artifactAddr",
  "advertisedArtifactAddr", "webhookAddr", "watchNamespace", "concurrency", "qps", "burst", "keepArtifacts", "webhookSecret", "renderKeepSources", "renderWorkers",
] as const satisfies readonly (keyof OperatorConfig)[];

/** Settings in bytes, each from its size flag (parsed by parseSize). */
const FROM_SIZE_FLAG = {
  maxSourceBytes: "maxSourceSize",
  maxObjectBytes: "maxObjectSize",
  renderWorkerHeapBytes: "renderWorkerHeap",
  maxRenderedBytes: "maxRenderedSize",
  maxExtractedBytes: "maxExtractedSize",
  maxChartBytes: "maxChartSize",
} as const satisfies Partial<Record<keyof OperatorConfig, string>>;

/** Converts commander's parsed options into the typed configuration. */
export function toOperatorConfig(o: Record<string, unknown>): OperatorConfig {
  const asParsed = Object.fromEntries(AS_PARSED.map((k) => [k, o[k]])) as Pick<OperatorConfig, (typeof AS_PARSED)[number]>;
  const sizes = Object.fromEntries(Object.entries(FROM_SIZE_FLAG).map(([k, flag]) => [k, o[flag]])) as Pick<OperatorConfig, keyof typeof FROM_SIZE_FLAG>;
  return {
    ...asParsed,
    ...sizes,
    kubeconfig: (o.kubeconfig as string | undefined) ?? process.env.KUBECONFIG,
    installCrds: Boolean(o.installCrds),
    leaderElect: Boolean(o.leaderElect),
    watchLabelSelector: (o.watchLabelSelector as string | undefined) || undefined,
    // "" is the explicit opt-out (the controller's own identity); an absent flag is the default ServiceAccount.
    defaultServiceAccount: (o.defaultServiceAccount as string | undefined) || undefined,
    allowCrossNamespaceRefs: o.allowCrossNamespaceRefs === true && o.forbidCrossNamespaceRefs !== true,
    ...(o.maxStorageSize !== undefined ? { maxStorageBytes: o.maxStorageSize as number } : {}),
    watchSecrets: Boolean(o.watchSecrets),
    ...(o.helmBinary ? { helmBinary: o.helmBinary as string } : {}),
    ...(o.healthRulesFile ? { healthRulesFile: o.healthRulesFile as string } : {}),
    ...(o.metricsMaxApplications !== undefined ? { metricsMaxApplications: o.metricsMaxApplications as number } : {}),
  };
}

/** Parses argv (without node and script) for the operator; used by the CLI and by tests. */
export function parseOperatorArgs(argv: string[]): OperatorConfig {
  const cmd = addOperatorOptions(new Command("controller")).exitOverride().configureOutput({ writeErr: () => {} });
  cmd.parse(argv, { from: "user" });
  return toOperatorConfig(cmd.opts());
}
