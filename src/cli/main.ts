#!/usr/bin/env node
// The `mooring` command: `mooring controller` runs the operator; later subcommands (render, validate, get, sync…)
// are the tools users run against a repository or a cluster.
import { Command } from "commander";
import { addOperatorOptions, toOperatorConfig } from "../config.js";
import { configureLogging } from "../log.js";
import { runOperator, StartupError } from "../operator.js";

export function buildCli(): Command {
  const program = new Command("mooring").description("Mooring: GitOps for Kubernetes").showHelpAfterError();
  addOperatorOptions(program.command("controller").description("run the operator's controllers")).action(async (opts: Record<string, unknown>) => {
    const config = toOperatorConfig(opts);
    const logger = configureLogging({ level: config.logLevel, format: config.logFormat });
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
  return program;
}

buildCli()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    console.error(`mooring: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
