// What the cluster-facing `mooring` commands share: kubeconfig/context/namespace flags, a runtime Client without a
// cache (every read is live), output streams, and the exit codes scripts rely on.
import { Command, Option } from "commander";
import { FieldManagers } from "../api/constants.js";
import { ApplicationKind, GitRepositoryKind, MOORING_KINDS, SyncPolicyKind } from "../api/kinds.js";
import { parseDuration } from "../api/duration.js";
import { ApiError, Client, Kinds, KubeConfig, RestClient, RestMapper, type KindDescriptor } from "../runtime/index.js";

/**
 * Exit codes of the operations commands:
 * 0 success (no diff, sync succeeded, everything healthy/ready);
 * 1 a negative answer (a diff exists, the sync failed, an object is not healthy, the object is not Ready);
 * 2 an error (bad usage, unreachable cluster, object not found, artifact missing or corrupt, no permission);
 * 3 timed out waiting.
 */
export const Exit = { ok: 0, negative: 1, error: 2, timeout: 3 } as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** An error the command reports in one line and turns into an exit code (2 unless given). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = Exit.error,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CliError";
  }
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether ANSI colours are wanted on out (a terminal, unless NO_COLOR is set). */
  color: boolean;
}

export const processIo = (): Io => ({
  out: (t) => process.stdout.write(t.endsWith("\n") ? t : t + "\n"),
  err: (t) => process.stderr.write(t.endsWith("\n") ? t : t + "\n"),
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
});

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface Kube {
  kc: KubeConfig;
  client: Client;
  /** The namespace to use: -n, else the context's, else "default". */
  namespace: string;
  close(): void;
}

/** Adds --kubeconfig, --context and -n/--namespace to a command. */
export function withKubeFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)"))
    .addOption(new Option("--context <name>", "kubeconfig context to use (default: the current context)"))
    .addOption(new Option("-n, --namespace <ns>", "namespace (default: the context's namespace, else default)"));
}

/** Connects with the flags; fails with a CliError that says what to fix. */
export function connect(flags: KubeFlags): Kube {
  let kc: KubeConfig;
  try {
    kc = flags.kubeconfig ? KubeConfig.fromFile(flags.kubeconfig) : KubeConfig.fromDefault();
  } catch (err) {
    throw new CliError(`cannot read kubeconfig ${flags.kubeconfig ?? "(default)"}: ${(err as Error).message}; pass --kubeconfig or set KUBECONFIG`, Exit.error, { cause: err });
  }
  if (flags.context) {
    try {
      kc.useContext(flags.context);
    } catch (err) {
      throw new CliError((err as Error).message, Exit.error, { cause: err });
    }
  }
  if (!kc.cluster) throw new CliError("the kubeconfig has no current cluster; pass --kubeconfig or --context");
  let rest: RestClient;
  try {
    rest = RestClient.fromKubeConfig(kc, { qps: 50, burst: 100, userAgent: "mooring-cli", requestTimeoutMs: 30_000 });
  } catch (err) {
    throw new CliError(`cannot use the kubeconfig: ${(err as Error).message}`, Exit.error, { cause: err });
  }
  const mapper = new RestMapper(rest);
  mapper.register(...MOORING_KINDS, ...Object.values(Kinds));
  const client = new Client({ rest, mapper, fieldManager: FieldManagers.cli });
  const namespace = flags.namespace ?? kc.namespace ?? "default";
  return { kc, client, namespace, close: () => rest.close() };
}

/** Kinds `mooring reconcile` accepts, with the names kubectl users type. */
const KIND_ALIASES: Record<string, KindDescriptor> = {
  gitrepository: GitRepositoryKind,
  gitrepositories: GitRepositoryKind,
  gitrepo: GitRepositoryKind,
  gitrepos: GitRepositoryKind,
  application: ApplicationKind,
  applications: ApplicationKind,
  app: ApplicationKind,
  apps: ApplicationKind,
  mapp: ApplicationKind,
  syncpolicy: SyncPolicyKind,
  syncpolicies: SyncPolicyKind,
};

export function kindByName(name: string): KindDescriptor {
  const k = KIND_ALIASES[name.toLowerCase()];
  if (!k) throw new CliError(`unknown kind "${name}"; use gitrepository, application or syncpolicy`);
  return k;
}

/** A duration flag ("90s", "5m") in ms, or a CliError naming the flag. */
export function durationFlag(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new CliError(`${flag}: ${(err as Error).message}`);
  }
}

/** One line for an error from the API or the network, saying what to check. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 0) return `cannot reach the API server: ${err.status.message ?? err.message}; check --kubeconfig/--context and that the cluster runs`;
    if (err.code === 401) return `the API server refused the credentials (HTTP 401): ${err.status.message ?? ""}; log in again or check the kubeconfig`;
    if (err.code === 403) return `not allowed (HTTP 403): ${err.status.message ?? ""}`;
    return err.status.message ? `${err.status.message} (HTTP ${err.code})` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs a command body and returns its exit code: CliErrors and API errors become one line on stderr and exit 2
 * (or the CliError's code), so no stack trace reaches a user and scripts can rely on the code.
 */
export async function runCommand(io: Io, body: () => Promise<ExitCode>): Promise<ExitCode> {
  try {
    return await body();
  } catch (err) {
    io.err(`mooring: ${describeError(err)}`);
    return err instanceof CliError ? err.exitCode : Exit.error;
  }
}

/** A monotonic-enough clock and sleep, injectable for tests. */
export interface Timing {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Poll interval while waiting on the cluster (default 500 ms). */
  pollMs: number;
}

export const realTiming: Timing = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  pollMs: 500,
};
