// A `mooring render` process for the benchmark, until src/cli/main.ts registers the command.
import { Command } from "commander";
import { registerRenderCommands } from "../src/cli/render.js";

const program = new Command("mooring");
registerRenderCommands(program);
await program.parseAsync(process.argv);
