// The operations commands' wiring: flags, arguments, help and exit codes of reconcile, suspend, resume, sync,
// history, rollback, tree and diff (what each does is in ./ops.ts and ./history.ts; get and events: ./get-commands.ts).
import { type Command, Option } from "commander";
import { DEFAULT_SERVICE_ACCOUNT } from "../config.js";
import { diffApplication, printDiffs } from "./diff.js";
import { CliError, Exit, connect, durationFlag, processIo, realTiming, runCommand, withKubeFlags, type ExitCode, type Io, type Kube, type KubeFlags, type Timing } from "./kube.js";
import { history, resume, rollback } from "./history.js";
import { reconcile, setSuspended, sync, tree } from "./ops.js";

type Flags = KubeFlags & Record<string, unknown>;

/** Runs a command's body with a connection, closing it after, and sets the process exit code. */
export function action(io: Io, body: (kube: Kube, flags: Flags, ...args: string[]) => Promise<ExitCode>) {
  return async (...params: unknown[]) => {
    const cmd = params[params.length - 1] as Command;
    const flags = cmd.opts<Flags>();
    const args = params.slice(0, -2).filter((p): p is string => typeof p === "string");
    process.exitCode = await runCommand(io, async () => {
      const kube = connect(flags);
      try {
        return await body(kube, flags, ...args);
      } finally {
        kube.close();
      }
    });
  };
}

export const outputOption = (choices: string[], dflt: string) => new Option("-o, --output <format>", "output format").choices(choices).default(dflt);

/** Usage errors exit 2, like every other error of these commands (commander's default is 1, which means "negative"). */
export function usageExit2(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : Exit.error);
  });
}

/** A command acting on one Application (`<app>`), with the kube flags; usage errors exit 2. */
function appCommand(parent: Command, verb: string, description: string): Command {
  return usageExit2(withKubeFlags(parent.command(verb))).description(description).argument("<app>", "Application name");
}

export interface OpsDeps {
  io?: Io;
  timing?: Timing;
}

/** Adds reconcile, suspend, resume, sync, history, rollback, tree and diff to the program. */
export function registerOpsCommands(program: Command, deps: OpsDeps = {}): void {
  const io = deps.io ?? processIo();
  const timing = deps.timing ?? realTiming;
  registerRequestCommands(program, io, timing);
  registerRollbackCommand(program, io, timing);
  registerSyncCommands(program, io, timing);
  registerDiffCommand(program, io);
}

/** reconcile, suspend, resume and history: a request (or a read) on one object. */
function registerRequestCommands(program: Command, io: Io, timing: Timing): void {
  usageExit2(withKubeFlags(program.command("reconcile")))
    .description("ask the controllers to handle an object now (sets mooring.dev/reconcile-requested-at)")
    .argument("<kind>", "gitrepository, application or syncpolicy")
    .argument("<name>", "object name")
    .option("--wait", "wait until the controller has handled the request, then print Ready", false)
    .option("--timeout <duration>", "how long --wait waits", "2m")
    .addOption(outputOption(["text", "json"], "text"))
    .addHelpText("after", "\nExit codes: 0 requested (with --wait: handled and Ready), 1 handled but not Ready, 2 error, 3 timed out.")
    .action(action(io, (kube, f, kind, name) => reconcile(kube, kind!, name!, { wait: f.wait === true, timeoutMs: durationFlag("--timeout", String(f.timeout)), json: f.output === "json" }, io, timing)));

  appCommand(program, "suspend", "suspend an Application: stop rendering and syncing (spec.suspend: true)")
    .addOption(outputOption(["text", "json"], "text"))
    .addHelpText("after", "\nExit codes: 0 done (or already so), 2 error.")
    .action(action(io, (kube, f, name) => setSuspended(kube, name!, true, io, f.output === "json")));

  appCommand(program, "resume", "resume an Application: end its suspension (spec.suspend: false) and a rollback's hold on automation (removes delivery.mooring.dev/rollback)")
    .addOption(outputOption(["text", "json", "yaml"], "text"))
    .addHelpText("after", "\nExit codes: 0 done (or already so), 2 error.")
    .action(action(io, (kube, f, name) => resume(kube, name!, { output: f.output === "text" ? "table" : (f.output as "json" | "yaml") }, io)));

  appCommand(program, "history", "the Application's syncs, newest first: id, trigger, result, revision, commit author and subject, objects changed (+created ~configured =unchanged -pruned), whether its rendered manifests are kept")
    .addOption(outputOption(["table", "json", "yaml"], "table"))
    .addHelpText("after", "\nExit codes: 0 printed, 2 error.")
    .action(action(io, (kube, f, name) => history(kube, name!, { output: f.output as "table" | "json" | "yaml" }, io)));
}

function registerRollbackCommand(program: Command, io: Io, timing: Timing): void {
  appCommand(program, "rollback", "re-apply the rendered manifests of an earlier sync (with prune) and hold automated sync until 'mooring resume' (sets delivery.mooring.dev/rollback; the apply controller does it)")
    .option("--to <id>", "the history entry to roll back to (mooring history's ID)")
    .option("--revision <sha>", "the newest kept successful sync of this revision (a commit hash, 7 or more digits)")
    .addOption(new Option("--until <when>", "how long automation stays held: resume (until mooring resume) or new-revision (until the source has a new revision)").choices(["resume", "new-revision"]).default("resume"))
    .option("--timeout <duration>", "how long to wait for the result", "5m")
    .option("--no-wait", "only request the rollback")
    .addOption(outputOption(["table", "json", "yaml"], "table"))
    .addHelpText("after", "\nWithout --to or --revision: the newest kept successful sync whose render differs from what is applied.\nExit codes: 0 rolled back (or requested, with --no-wait), 1 it failed or was refused, 2 error (not found, suspended, no such entry, manifests not kept), 3 timed out.")
    .action(
      action(io, (kube, f, name) => {
        const to = f.to === undefined ? undefined : Number(f.to);
        if (to !== undefined && (!Number.isInteger(to) || to < 1)) throw new CliError(`--to must be a history entry id (a whole number from mooring history), got "${String(f.to)}"`);
        return rollback(kube, name!, {
          ...(to !== undefined ? { to } : {}),
          ...(f.revision !== undefined ? { revision: String(f.revision) } : {}),
          until: f.until === "new-revision" ? "newRevision" : "resume",
          wait: f.wait !== false,
          timeoutMs: durationFlag("--timeout", String(f.timeout)),
          output: f.output as "table" | "json" | "yaml",
        }, io, timing);
      }),
    );
}

/** sync and tree: what the apply controller did. */
function registerSyncCommands(program: Command, io: Io, timing: Timing): void {
  appCommand(program, "sync", "sync an Application now (sets delivery.mooring.dev/sync-requested-at), wait and print the result")
    .option("--timeout <duration>", "how long to wait for the result", "5m")
    .option("--no-wait", "only request the sync")
    .addOption(outputOption(["text", "json"], "text"))
    .addHelpText("after", "\nProgress (waves, objects applied, health waited on) goes to stderr; the result to stdout (-o json: one JSON document).\nExit codes: 0 the sync succeeded (or was requested, with --no-wait), 1 it failed, 2 error (not found, suspended), 3 timed out.")
    .action(action(io, (kube, f, name) => sync(kube, name!, { wait: f.wait !== false, timeoutMs: durationFlag("--timeout", String(f.timeout)), json: f.output === "json" }, io, timing)));

  appCommand(program, "tree", "the objects an Application applied (status.sync.inventory), each with its live health")
    .addOption(outputOption(["tree", "json", "yaml"], "tree"))
    .addHelpText("after", "\nExit codes: 0 every object Healthy, 1 some object not Healthy (or missing), 2 error.")
    .action(action(io, (kube, f, name) => tree(kube, name!, { output: f.output as "tree" | "json" | "yaml" }, io)));
}

function registerDiffCommand(program: Command, io: Io): void {
  appCommand(program, "diff", "what a sync would change: the rendered objects, dry-run applied server-side, against the live ones")
    .option("-U, --unified <lines>", "lines of context", "3")
    .addOption(new Option("--color <when>", "colour the diff").choices(["auto", "always", "never"]).default("auto"))
    .option("--show-secrets", "print Secret values (data, stringData, last-applied-configuration) instead of masks", false)
    .addOption(outputOption(["diff", "json"], "diff"))
    .addOption(
      new Option("--default-service-account <name>", 'the operator\'s --default-service-account: dry-run an Application without spec.serviceAccountName as this ServiceAccount of its namespace; "" uses your own credentials (single-tenant operators)')
        .env("MOORING_DEFAULT_SERVICE_ACCOUNT")
        .default(DEFAULT_SERVICE_ACCOUNT),
    )
    .addHelpText("after", "\nThe dry runs impersonate the Application's identity (spec.serviceAccountName, else --default-service-account), as the apply controller does.\nExit codes: 0 no differences, 1 differences, 2 error (some object could not be compared, artifact missing or corrupt, the identity cannot be impersonated).")
    .action(
      action(io, async (kube, f, name) => {
        const context = Number(f.unified);
        if (!Number.isInteger(context) || context < 0) throw new CliError(`--unified must be a whole number of lines, got "${String(f.unified)}"`);
        const color = f.color === "always" ? true : f.color === "never" ? false : io.color;
        const { diffs, identity } = await diffApplication(kube.client, { namespace: kube.namespace, name: name!, context, showSecrets: f.showSecrets === true, defaultServiceAccount: String(f.defaultServiceAccount ?? "") });
        io.err(identity.user ? `dry-run as ${identity.user} (${identity.source})` : `dry-run with ${identity.source}`);
        return printDiffs(diffs, { ...io, color }, f.output === "json");
      }),
    );
}
