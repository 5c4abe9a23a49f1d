// The wiring of `mooring get <kind> [name]` and `mooring events <app>`: flags, arguments, help and exit codes (what
// they print is in ./get.ts).
import type { Command } from "commander";
import { processIo, withKubeFlags, type Io } from "./kube.js";
import { GET_KINDS, appEvents, getObjects, type GetOutput } from "./get.js";
import { action, outputOption, usageExit2 } from "./ops-commands.js";

/** Adds get and events to the program. */
export function registerGetCommands(program: Command, deps: { io?: Io } = {}): void {
  const io = deps.io ?? processIo();
  const kinds = GET_KINDS.map((k) => `  ${k.kind.plural.padEnd(17)}${k.names.filter((n) => n !== k.kind.plural && !n.includes(".")).join(", ")}`).join("\n");

  usageExit2(withKubeFlags(program.command("get")))
    .description("list Mooring objects of a kind, one line each: its own columns, READY and MESSAGE (the Stalled message when stalled, else Ready's)")
    .argument("<kind>", "the kind: plural, singular or short name (see below)")
    .argument("[name]", "only this object")
    .option("-A, --all-namespaces", "list across all namespaces", false)
    .addOption(outputOption(["table", "wide", "json", "yaml"], "table"))
    .addHelpText("after", `\nKinds and their other names:\n${kinds}\n\n-o wide adds columns (and AGE); -o json|yaml print the rows, every column included.\nExit codes: 0 listed (also when there is nothing to list), 2 error (unknown kind, a named object not found, the kind not installed).`)
    .action(action(io, (kube, f, kind, name) => getObjects(kube, kind!, name, { allNamespaces: f.allNamespaces === true, output: f.output as GetOutput }, io)));

  usageExit2(withKubeFlags(program.command("events")))
    .description("the Events of an Application and of its sources (GitRepository, HelmChart and the chart's HelmRepository), newest last")
    .argument("<app>", "Application name")
    .addOption(outputOption(["table", "json", "yaml"], "table"))
    .addHelpText("after", "\nExit codes: 0 listed (also when there are none), 2 error (the Application does not exist).")
    .action(action(io, (kube, f, name) => appEvents(kube, name!, { output: f.output as "table" | "json" | "yaml" }, io)));
}
