// Reading a file the user named: its text, or the reason it cannot be read, for the command to report its own way
// (`mooring render` stops, `mooring validate` counts it and goes on with the next file).
import * as fs from "node:fs";

export function readText(file: string): { text: string } | { error: string } {
  try {
    return { text: fs.readFileSync(file, "utf8") };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
