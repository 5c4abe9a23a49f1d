// A JSON file written whole or not at all: the value goes to a temporary file beside it, which is renamed over it, so
// a reader (or a process started after a crash) never sees half a file.
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";

/** Writes `value` as JSON to `file` (its directory made when missing) through `<file>.tmp-<writer>` and a rename. */
export async function writeJsonFile(file: string, value: unknown, writer: string | number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${writer}`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, file);
}
