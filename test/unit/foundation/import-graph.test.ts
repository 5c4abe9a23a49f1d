// The operator's memory budget (issue #7: under 150 MiB at 1,000 Applications) depends on what it imports:
// @kubernetes/client-node alone costs ~70 MiB of RSS at import, so no module the `mooring` binary or the library
// entry points load may import it (tests, benchmarks and examples may). esbuild's metafile gives the import graph.
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { build } from "esbuild";
import { REPO_ROOT } from "../../support/cluster.js";

async function importersOf(entry: string, pkg: string): Promise<string[]> {
  const result = await build({
    entryPoints: [path.join(REPO_ROOT, entry)],
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return Object.entries(result.metafile.inputs)
    .filter(([, input]) => input.imports.some((i) => i.path === pkg || i.path.startsWith(`${pkg}/`)))
    .map(([file]) => file);
}

describe("import graph", () => {
  for (const entry of ["src/cli/main.ts", "src/index.ts", "src/runtime/index.ts"]) {
    it(`${entry} does not load @kubernetes/client-node`, async () => {
      assert.deepEqual(await importersOf(entry, "@kubernetes/client-node"), []);
    });
  }
  it("the check sees an import when there is one (the test support module imports client-node)", async () => {
    assert.deepEqual(await importersOf("test/support/cluster.ts", "@kubernetes/client-node"), ["test/support/cluster.ts"]);
  });
});
