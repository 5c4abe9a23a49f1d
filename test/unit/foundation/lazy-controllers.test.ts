// Each operator process loads only the controllers it runs (issue 18, docs/performance.md): the chart's split
// Deployments each run one controller, and every module a process loads stays in its memory for its lifetime (about
// 15 MiB of RSS per controller's code). So the operator's entry point reaches a controller's code only through the
// import() in that controller's setup (src/controllers.ts), and the `controller` command reaches no other command's
// code. esbuild's metafile gives the import graph; only static imports are followed.
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { build } from "esbuild";
import { REPO_ROOT } from "../../support/cluster.js";

/** Every source file `entry` loads through static imports alone (dynamic import() edges not followed). */
async function staticClosure(entry: string): Promise<Set<string>> {
  const result = await build({ entryPoints: [path.join(REPO_ROOT, entry)], bundle: true, platform: "node", format: "esm", packages: "external", write: false, metafile: true, logLevel: "silent" });
  const inputs = result.metafile.inputs;
  const seen = new Set<string>([entry]);
  const todo = [entry];
  while (todo.length) {
    for (const i of inputs[todo.pop()!]?.imports ?? []) {
      if (i.kind !== "import-statement" || i.external || seen.has(i.path)) continue;
      seen.add(i.path);
      todo.push(i.path);
    }
  }
  return seen;
}

const CONTROLLER_CODE = ["src/source/index.ts", "src/source/controller.ts", "src/render/controller.ts", "src/render/index.ts", "src/apply/controller.ts", "src/policy/controller.ts", "src/api/install.ts"];

describe("lazy controllers", () => {
  it("the operator (src/operator.ts) loads no controller's code and no CRD schemas until it sets them up", async () => {
    const loaded = await staticClosure("src/operator.ts");
    assert.ok(loaded.has("src/controllers.ts"), "the check follows the operator's imports");
    assert.deepEqual(CONTROLLER_CODE.filter((f) => loaded.has(f)), []);
  });
  it("the `mooring` command (src/cli/main.ts) loads neither the operator nor the other commands until one runs", async () => {
    const loaded = await staticClosure("src/cli/main.ts");
    assert.ok(loaded.has("src/config.ts"), "the check follows main's imports");
    assert.deepEqual([...loaded].filter((f) => /^src\/(render|source|apply|policy)\/|^src\/cli\/(render|validate|ops|ops-commands|diff)\.ts$|^src\/operator\.ts$/.test(f)), []);
  });
  it("the check sees a static import when there is one (the source controller's index imports its controller)", async () => {
    assert.ok((await staticClosure("src/source/index.ts")).has("src/source/controller.ts"));
  });
});
