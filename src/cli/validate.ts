// `mooring validate <file|dir>...`: checks every Mooring object (GitRepository, Application, SyncPolicy) in YAML or
// JSON files with the same schemas and rules as the API server and the controllers, before anything is pushed.
// One line per problem, `file: ref: field: message`, so editors and CI annotate the right place.
// Exit codes: 0 every Mooring object is valid; 1 at least one is invalid (or a file is not valid YAML);
// 2 a path cannot be read or holds no YAML/JSON file.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { validateYaml } from "../api/validate.js";
import { readText } from "./read.js";

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_UNREADABLE = 2;

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const processOutput: Output = {
  out: (l) => process.stdout.write(l + "\n"),
  err: (l) => process.stderr.write(l + "\n"),
};

/** Files to check under `p`: the file itself, or every *.yaml, *.yml and *.json below a directory (hidden ones skipped), sorted. */
export function filesOf(p: string): string[] {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return [p];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith(".")) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && EXTENSIONS.has(path.extname(e.name).toLowerCase())) out.push(full);
    }
  };
  walk(p);
  return out;
}

export interface ValidateSummary {
  files: number;
  checked: number;
  errors: number;
  exitCode: number;
}

/** Validates the paths, writing one line per problem to `o.out` and a summary to `o.err`. */
export function runValidate(paths: readonly string[], o: Output = processOutput): ValidateSummary {
  let files = 0;
  let checked = 0;
  let errors = 0;
  let unreadable = false;
  for (const p of paths) {
    let list: string[];
    try {
      list = filesOf(p);
    } catch (err) {
      o.err(`${p}: cannot read: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (err as Error).message}`);
      unreadable = true;
      continue;
    }
    if (list.length === 0) {
      o.err(`${p}: no .yaml, .yml or .json files found`);
      unreadable = true;
      continue;
    }
    for (const file of list) {
      const read = readText(file);
      if ("error" in read) {
        o.err(`${file}: cannot read: ${read.error}`);
        unreadable = true;
        continue;
      }
      files++;
      for (const doc of validateYaml(read.text)) {
        if (doc.checked) checked++;
        for (const e of doc.errors) {
          errors++;
          // One line per problem: a YAML error's code frame (the lines after the first) is left out.
          const message = e.message.split("\n")[0]!.trim().replace(/:$/, "");
          o.out([file, doc.ref, e.field, message].filter((s) => s !== "").join(": "));
        }
      }
    }
  }
  const exitCode = unreadable ? EXIT_UNREADABLE : errors > 0 ? EXIT_INVALID : EXIT_VALID;
  o.err(`${checked} Mooring object${checked === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}: ${errors === 0 ? "valid" : `${errors} error${errors === 1 ? "" : "s"}`}`);
  return { files, checked, errors, exitCode };
}

/** Adds `mooring validate` to the program. */
export function registerValidateCommand(program: Command): Command {
  return program
    .command("validate")
    .description("check Mooring objects (GitRepository, Application, SyncPolicy) in YAML/JSON files or directories, offline")
    .argument("<paths...>", "files or directories (every *.yaml, *.yml and *.json below them)")
    .addHelpText("after", "\nExit codes: 0 all valid, 1 invalid objects or YAML errors, 2 a path cannot be read or holds no YAML/JSON file.")
    .action((paths: string[]) => {
      process.exitCode = runValidate(paths).exitCode;
    });
}
