// The `mooring` CLI commands of src/cli/validate.ts and src/cli/ops.ts on their own program, for tests that run the
// CLI as a subprocess (exit codes, stdout/stderr) before or independently of src/cli/main.ts wiring them.
// The cluster commands (and the Kubernetes client) are loaded only when asked for, so `validate` starts fast.
import { Command } from "commander";
import { registerValidateCommand } from "../../src/cli/validate.js";

const program = new Command("mooring").exitOverride((err) => {
  // Usage errors (unknown option, missing argument) exit 2, like the commands' own usage errors.
  process.exit(err.exitCode === 0 ? 0 : 2);
});
registerValidateCommand(program);
if (process.argv[2] !== "validate") {
  const { registerOpsCommands } = await import("../../src/cli/ops-commands.js");
  registerOpsCommands(program);
}
await program.parseAsync(process.argv);
