// `mooring ui`: the web UI, on a laptop with the user's kubeconfig (local mode, on 127.0.0.1) or in the cluster from
// the chart (token or proxy mode, read-only unless the chart's ui.readOnly is false). Flags also read MOORING_UI_*.
import { type Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_SERVICE_ACCOUNT, parseBool } from "../config.js";
import { connect, describeError, withKubeFlags, type KubeFlags } from "../cli/kube.js";
import { configureLogging, LOG_LEVELS, type Logger, type LogLevel } from "../log.js";
import type { RestClient } from "../runtime/index.js";
import { AUTH_MODES, Authenticator, localIdentity, type AuthMode } from "./auth.js";

interface UiFlags extends KubeFlags {
  address: string;
  readOnly: boolean;
  auth: AuthMode;
  userHeader: string;
  groupsHeader: string;
  trustedProxy: string[];
  defaultServiceAccount: string;
  assets?: string;
  logLevel: LogLevel;
  logFormat?: "json" | "text";
}

function hostPort(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new InvalidArgumentError(`expected host:port (e.g. 127.0.0.1:8080 or :8080), got "${value}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, "") || "0.0.0.0", port: Number(m[2]) };
}

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(",").map((s) => s.trim()).filter(Boolean)];

/** The ui command's own flags, in the order --help lists them; each also reads MOORING_UI_<NAME>. */
function uiOptions(): Option[] {
  const env = (o: Option, name: string) => o.env(`MOORING_UI_${name}`);
  return [
    env(new Option("--address <host:port>", "where to listen").default("127.0.0.1:8080").argParser((v) => (hostPort(v), v)), "ADDRESS"),
    env(new Option("--read-only [bool]", "refuse every action (sync, reconcile, suspend, resume)").argParser(parseBool).preset("true").default(false), "READ_ONLY"),
    env(new Option("--auth <mode>", "who the user is: local (the kubeconfig's identity), token (a Kubernetes token, checked with TokenReview), proxy (a trusted proxy's header)").choices(AUTH_MODES as string[]).default("local"), "AUTH"),
    env(new Option("--user-header <name>", "proxy mode: the header naming the user").default("X-Forwarded-User"), "USER_HEADER"),
    env(new Option("--groups-header <name>", "proxy mode: the header naming the user's groups (comma-separated)").default("X-Forwarded-Groups"), "GROUPS_HEADER"),
    env(new Option("--trusted-proxy <cidr...>", "proxy mode: addresses (CIDRs) the proxy connects from; repeat or comma-separate").argParser(list).default([]), "TRUSTED_PROXY"),
    env(new Option("--default-service-account <name>", "the operator's --default-service-account, for diffs of Applications that name no ServiceAccount").default(DEFAULT_SERVICE_ACCOUNT), "DEFAULT_SERVICE_ACCOUNT"),
    env(new Option("--assets <dir>", "the built bundle (default: dist/ui)"), "ASSETS"),
    env(new Option("--log-level <level>", "log level").choices(LOG_LEVELS as string[]).default("info"), "LOG_LEVEL"),
    env(new Option("--log-format <format>", "json or text (default: text on a terminal)").choices(["json", "text"]), "LOG_FORMAT"),
  ];
}

export function registerUiCommand(program: Command): void {
  const cmd = withKubeFlags(program.command("ui")).description("serve the web UI: Applications, their trees, diffs and history, sources and sync windows, live");
  for (const o of uiOptions()) cmd.addOption(o);
  cmd
    .addHelpText("after", "\n-n/--namespace limits the UI to one namespace; without it, it shows every namespace the credentials can list.")
    .action(runUi);
}

/** Who the user is, per --auth; undefined (logged, exit code 2) when the flags cannot make an Authenticator. */
async function authenticator(flags: UiFlags, rest: RestClient, logger: Logger): Promise<Authenticator | undefined> {
  try {
    return new Authenticator({ mode: flags.auth, userHeader: flags.userHeader, groupsHeader: flags.groupsHeader, trustedProxies: flags.trustedProxy }, rest, flags.auth === "local" ? await localIdentity(rest) : { user: "", groups: [] });
  } catch (err) {
    logger.error((err as Error).message);
    process.exitCode = 2;
    return undefined;
  }
}

/** Resolves when the signal aborts (at once if it already has). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve())));
}

/** The ui command's action: connect, sign users in, watch, serve until SIGTERM/SIGINT. */
async function runUi(flags: UiFlags, cmd: Command): Promise<void> {
  const logger = configureLogging({ level: flags.logLevel, format: flags.logFormat });
  // -n means "only this namespace" here; the kubeconfig's default namespace does not narrow the UI.
  const onlyNamespace = cmd.getOptionValueSource("namespace") === "cli" || cmd.getOptionValueSource("namespace") === "env" ? flags.namespace : undefined;
  const { host, port } = hostPort(flags.address);
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => stop.abort());
  let kube;
  try {
    kube = connect(flags);
  } catch (err) {
    logger.error(describeError(err));
    process.exitCode = 2;
    return;
  }
  const [{ UiState }, { UiServer, defaultAssetsDir }] = await Promise.all([import("./state.js"), import("./server.js")]);
  const rest = kube.client.rest;
  const auth = await authenticator(flags, rest, logger);
  if (!auth) return;
  const state = new UiState(rest, kube.client, { namespace: onlyNamespace, logger });
  const server = new UiServer({ state, auth, client: kube.client, kc: kube.kc, readOnly: flags.readOnly, assetsDir: flags.assets ?? defaultAssetsDir(), defaultServiceAccount: flags.defaultServiceAccount, logger });
  const listening = state.start(stop.signal).catch(() => undefined);
  let url: string;
  try {
    url = await server.listen(host, port);
  } catch (err) {
    logger.error(`cannot listen on ${flags.address}: ${(err as Error).message}`);
    stop.abort();
    process.exitCode = 2;
    return;
  }
  logger.info(`Mooring UI on ${url} (${flags.auth} sign-in${flags.readOnly ? ", read-only" : ""}${onlyNamespace ? `, namespace ${onlyNamespace}` : ", all namespaces"})`, { url });
  await listening;
  await aborted(stop.signal);
  await server.close();
  kube.close();
}
