// The plain renderer: every .yaml/.yml/.json file under a path, in a stable order (paths compared byte-wise,
// depth first), multi-document YAML, empty documents skipped, `List` kinds flattened.
import { RenderError } from "./errors.js";
import type { ArtifactRoot } from "./fs.js";
import { isMap, setOrigin, type KubeObject } from "./objects.js";
import { parseYamlDocs } from "./yaml.js";

const MANIFEST = /\.(ya?ml|json)$/i;

export function renderPlain(root: ArtifactRoot, dir: string): KubeObject[] {
  const out: KubeObject[] = [];
  if (root.isFile(dir)) {
    out.push(...loadManifestFile(root, dir));
    return out;
  }
  const walk = (d: string, depth: number): void => {
    if (depth > 64) throw new RenderError("directory tree is deeper than 64 levels", { file: d });
    for (const e of root.list(d)) {
      if (e.dir) walk(e.path, depth + 1);
      else if (MANIFEST.test(e.name)) out.push(...loadManifestFile(root, e.path));
    }
  };
  walk(dir, 0);
  return out;
}

/** Objects of one manifest file: documents that are objects; Lists flattened; anything else an error. */
export function loadManifestFile(root: ArtifactRoot, file: string): KubeObject[] {
  const text = root.readText(file);
  return objectsFromText(text, file, root.limits);
}

export function objectsFromText(text: string, file: string, limits: ArtifactRoot["limits"]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseYamlDocs(text, file, limits)) {
    if (!isMap(doc.value)) {
      const what = Array.isArray(doc.value) ? "a list" : `a ${typeof doc.value}`;
      throw new RenderError(`document is ${what}, not a Kubernetes object`, { file, line: doc.line });
    }
    flattenInto(out, doc.value, file, doc.line);
  }
  return out;
}

function flattenInto(out: KubeObject[], value: Record<string, unknown>, file: string, line: number): void {
  if (typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
    for (const item of value.items) {
      if (!isMap(item)) throw new RenderError(`an item of ${value.kind} is not an object`, { file, line });
      flattenInto(out, item, file, line);
    }
    return;
  }
  setOrigin(value, { file, line });
  out.push(value as KubeObject);
}
