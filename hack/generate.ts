// make generate: writes the CRDs generated from src/api into crds/ and charts/mooring/crds/, and the field
// tables of docs/api.md. Deterministic (same schemas, same bytes); removes CRD files there that no kind
// produces any more.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CRD_DIRS, generatedCrdFiles } from "../src/api/crd.js";
import { API_DOC, renderApiDoc } from "../src/api/docs.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const files = generatedCrdFiles();

let changed = 0;
for (const dir of CRD_DIRS) {
  mkdirSync(path.join(root, dir), { recursive: true });
  for (const name of readdirSync(path.join(root, dir))) {
    const rel = `${dir}/${name}`;
    if (name.endsWith(".yaml") && !files.has(rel)) {
      rmSync(path.join(root, rel));
      console.log(`removed ${rel}`);
      changed++;
    }
  }
}
for (const [rel, text] of files) {
  const file = path.join(root, rel);
  if (existsSync(file) && readFileSync(file, "utf8") === text) continue;
  writeFileSync(file, text);
  console.log(`wrote ${rel}`);
  changed++;
}
const doc = path.join(root, API_DOC);
if (existsSync(doc)) {
  const before = readFileSync(doc, "utf8");
  const text = renderApiDoc(before);
  if (text !== before) {
    writeFileSync(doc, text);
    console.log(`wrote the field tables of ${API_DOC}`);
    changed++;
  }
}
console.log(changed ? `${changed} file(s) changed` : "CRDs are up to date");
