// Developer tool: render one kustomization with Mooring and with `kubectl kustomize` and print the objects that
// differ. Use it to check a new fixture (or a bug report) before adding it to test/fixtures/render/kustomize.
//   node --import tsx bench/render-kustomize-diff.ts <root> [path-inside-root]
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { ArtifactRoot, resolveLimits, sortKeys, type KubeObject } from "../src/render/index.js";
import { renderKustomize } from "../src/render/kustomize/index.js";

const [root, sub = ""] = process.argv.slice(2);
if (!root) {
  console.error("usage: bench/render-kustomize-diff.ts <root> [path-inside-root]");
  process.exit(2);
}
const id = (o: KubeObject): string => `${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
const canon = (objs: KubeObject[]): Map<string, string> => new Map(objs.map((o) => [id(o), JSON.stringify(sortKeys(o))]));

let theirs: KubeObject[] = [];
try {
  const text = execFileSync("kubectl", ["kustomize", path.join(root, sub)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  theirs = parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject)
    .filter(Boolean);
} catch (err) {
  console.log("kubectl kustomize failed:", String((err as { stderr?: unknown }).stderr ?? err).slice(0, 500));
}
let ours: KubeObject[] = [];
try {
  ours = renderKustomize(new ArtifactRoot(root, resolveLimits()), sub);
} catch (err) {
  console.log("Mooring failed:", (err as Error).message);
}
const a = canon(ours);
const b = canon(theirs);
let same = true;
for (const k of new Set([...a.keys(), ...b.keys()])) {
  if (a.get(k) === b.get(k)) continue;
  same = false;
  console.log(`differs: ${k}\n  mooring: ${a.get(k) ?? "(absent)"}\n  kubectl: ${b.get(k) ?? "(absent)"}`);
}
console.log(same ? "same objects" : "DIFFERENT");
process.exitCode = same ? 0 : 1;
