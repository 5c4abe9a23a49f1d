// Compare Mooring's kustomize renderer with `kubectl kustomize`.
//   node --import tsx bench/render-kustomize-diff.ts <root> [path-inside-root]   one kustomization, differing objects
//   node --import tsx bench/render-kustomize-diff.ts                             every corpus fixture, with a summary
// Use the first form to check a new fixture (or a bug report) before adding it to test/fixtures/render/kustomize.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { ArtifactRoot, resolveLimits, sortKeys, type KubeObject } from "../src/render/index.js";
import { renderKustomize } from "../src/render/kustomize/index.js";

const id = (o: KubeObject): string => `${o.kind}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
const canon = (objs: KubeObject[]): Map<string, string> => new Map(objs.map((o) => [id(o), JSON.stringify(sortKeys(o))]));

/** Prints what differs; returns whether objects (and, when `order`, their order) are the same. */
function compare(root: string, sub: string, verbose: boolean): { same: boolean; sameOrder: boolean } {
  let theirs: KubeObject[] = [];
  try {
    const text = execFileSync("kubectl", ["kustomize", path.join(root, sub)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28 });
    theirs = parseAllDocuments(text)
      .map((d) => d.toJS() as KubeObject)
      .filter(Boolean);
  } catch (err) {
    console.log(`kubectl kustomize failed for ${path.join(root, sub)}:`, String((err as { stderr?: unknown }).stderr ?? err).slice(0, 500));
  }
  let ours: KubeObject[] = [];
  try {
    ours = renderKustomize(new ArtifactRoot(root, resolveLimits()), sub);
  } catch (err) {
    console.log(`Mooring failed for ${path.join(root, sub)}:`, (err as Error).message);
  }
  const a = canon(ours);
  const b = canon(theirs);
  let same = ours.length > 0 || theirs.length > 0;
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(k) === b.get(k)) continue;
    same = false;
    if (verbose) console.log(`differs: ${k}\n  mooring: ${a.get(k) ?? "(absent)"}\n  kubectl: ${b.get(k) ?? "(absent)"}`);
  }
  const sameOrder = ours.map(id).join(" ") === theirs.map(id).join(" ");
  return { same, sameOrder };
}

const [root, sub = ""] = process.argv.slice(2);
if (root) {
  const { same, sameOrder } = compare(root, sub, true);
  console.log(same ? `same objects${sameOrder ? ", same order" : ", different order"}` : "DIFFERENT");
  process.exitCode = same ? 0 : 1;
} else {
  const corpus = path.join(import.meta.dirname, "..", "test", "fixtures", "render", "kustomize");
  const names = fs.readdirSync(corpus).filter((n) => fs.statSync(path.join(corpus, n)).isDirectory()).sort();
  let same = 0;
  let ordered = 0;
  for (const n of names) {
    const dir = path.join(corpus, n);
    const r = compare(dir, fs.existsSync(path.join(dir, "kustomization.yaml")) ? "" : "overlay", false);
    if (r.same) same++;
    if (r.same && r.sameOrder) ordered++;
    if (!r.same) console.log(`fixture ${n}: DIFFERENT`);
  }
  console.log(`kustomize corpus: ${same}/${names.length} fixtures render the same objects as kubectl kustomize; ${ordered}/${names.length} in the same order`);
  process.exitCode = same === names.length ? 0 : 1;
}
