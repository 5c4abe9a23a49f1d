#!/usr/bin/env node
// The `mooring` command: `mooring controller` runs the operator; later subcommands (render, validate, get, sync…)
// are the tools users run against a repository or a cluster.
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { addOperatorOptions, toOperatorConfig } from "../config.js";
import { configureLogging } from "../log.js";

/**
 * The command line. With `only: "controller"` just the operator's command: the operator's process then loads none of
 * the other commands' code (the renderer, the schema validator, the diff), which it would carry for its lifetime.
 */
export async function buildCli(only?: "controller"): Promise<Command> {
  const program = new Command("mooring").description("Mooring: GitOps for Kubernetes").showHelpAfterError();
  addOperatorOptions(program.command("controller").description("run the operator's controllers")).action(async (opts: Record<string, unknown>) => {
    const config = toOperatorConfig(opts);
    const logger = configureLogging({ level: config.logLevel, format: config.logFormat });
    // Loaded here, not at the top: every other command (render, get, diff…) starts without the operator's modules.
    const { runOperator, StartupError } = await import("../operator.js");
    const stop = new AbortController();
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => stop.abort());
    try {
      await runOperator(config, logger, stop.signal);
    } catch (err) {
      if (err instanceof StartupError) {
        logger.error(err.message);
        process.exitCode = 1;
        return;
      }
      throw err;
    }
  });
  if (only === "controller") return program;
  const [{ registerRenderCommands }, { registerValidateCommand }, { registerOpsCommands }] = await Promise.all([import("./render.js"), import("./validate.js"), import("./ops-commands.js")]);
  registerRenderCommands(program);
  registerValidateCommand(program);
  registerOpsCommands(program);
  (await import("./get-commands.js")).registerGetCommands(program);
  (await import("../ui/command.js")).registerUiCommand(program);
  return program;
}

// Run only when executed as the `mooring` command, so tests can import buildCli().
const entry = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : "";
if (import.meta.url === entry) {
  buildCli(process.argv[2] === "controller" ? "controller" : undefined)
    .then((program) => program.parseAsync(process.argv))
    .catch((err: unknown) => {
      console.error(`mooring: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
