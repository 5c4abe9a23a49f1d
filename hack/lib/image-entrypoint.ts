// How the image starts the operator, read from the Dockerfile's ENTRYPOINT, so the benchmarks and the test of the
// image's runtime layout run node exactly as the image does (one place to change the flags: the Dockerfile).
import { readFileSync } from "node:fs";
import path from "node:path";

/** The node flags between `node` and the script in the Dockerfile's `ENTRYPOINT [...]`. */
export function imageNodeFlags(repoRoot: string): string[] {
  const text = readFileSync(path.join(repoRoot, "Dockerfile"), "utf8");
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(text);
  if (!entry) throw new Error("no ENTRYPOINT [...] line in the Dockerfile");
  const argv = JSON.parse(entry[1]!) as string[];
  const node = argv.indexOf("node");
  const main = argv.findIndex((a) => a.endsWith("main.js"));
  if (node < 0 || main < node) throw new Error(`cannot find "node ... main.js" in the Dockerfile's ENTRYPOINT ${entry[1]}`);
  return argv.slice(node + 1, main);
}
