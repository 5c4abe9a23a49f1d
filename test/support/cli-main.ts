// The `mooring` CLI commands of src/cli/validate.ts and src/cli/ops.ts on their own program, for tests that run the
// CLI as a subprocess (exit codes, stdout/stderr) before or independently of src/cli/main.ts wiring them.
import { Command } from "commander";
import { registerOpsCommands } from "../../src/cli/ops.js";
import { registerValidateCommand } from "../../src/cli/validate.js";

const program = new Command("mooring").exitOverride((err) => {
  // Usage errors (unknown option, missing argument) exit 2, like the commands' own usage errors.
  process.exit(err.exitCode === 0 ? 0 : 2);
});
registerValidateCommand(program);
registerOpsCommands(program);
await program.parseAsync(process.argv);
