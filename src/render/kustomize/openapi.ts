// A kustomization's `openapi: {path: schema.json}`: an OpenAPI v2 (swagger) document whose definitions give the
// strategic-merge keys of custom kinds' lists. As in Kustomize, a custom schema replaces the built-in Kubernetes
// schema for the whole build (Deployments then merge their lists like custom resources do: by replacing them).
import { RenderError } from "../errors.js";
import { groupOf, isMap, versionOf, type JsonMap } from "../objects.js";

export interface ListStrategy {
  /** "merge": associative by `keys` (a set when there are none); "replace": the patch's list wins. */
  strategy: "merge" | "replace";
  keys: string[];
}

export interface CustomSchema {
  /** The strategy for the list at `path` (map keys from the object's root) of objects of this apiVersion/kind. */
  listStrategy(apiVersion: string, kind: string, path: readonly string[]): ListStrategy;
}

export function loadCustomSchema(doc: unknown, file: string): CustomSchema {
  if (!isMap(doc) || !isMap(doc.definitions)) throw new RenderError('an openapi schema must be a swagger document with "definitions"', { file });
  const defs = doc.definitions;
  const byGvk = new Map<string, JsonMap>();
  for (const def of Object.values(defs)) {
    if (!isMap(def)) continue;
    const gvks = def["x-kubernetes-group-version-kind"];
    if (!Array.isArray(gvks)) continue;
    for (const g of gvks) {
      if (!isMap(g)) continue;
      byGvk.set(`${String(g.group ?? "")}|${String(g.version ?? "")}|${String(g.kind ?? "")}`, def);
    }
  }
  const resolve = (s: unknown, depth = 0): JsonMap | undefined => {
    if (!isMap(s)) return undefined;
    const ref = s.$ref;
    if (typeof ref === "string") {
      if (depth > 50) return undefined;
      const m = ref.match(/^#\/definitions\/(.+)$/);
      if (!m) return undefined;
      return resolve(defs[m[1]!.replace(/~1/g, "/").replace(/~0/g, "~")], depth + 1);
    }
    return s;
  };
  const field = (s: JsonMap, name: string): JsonMap | undefined => {
    const props = s.properties;
    if (isMap(props) && props[name] !== undefined) return resolve(props[name]);
    if (isMap(s.additionalProperties)) return resolve(s.additionalProperties);
    return undefined;
  };
  return {
    listStrategy(apiVersion, kind, path) {
      let s = byGvk.get(`${groupOf(apiVersion)}|${versionOf(apiVersion)}|${kind}`);
      for (let i = 0; s && i < path.length; i++) {
        s = field(s, path[i]!);
        if (s && i < path.length - 1 && s.type === "array") s = resolve(s.items);
      }
      if (!s) return { strategy: "replace", keys: [] };
      const ps = s["x-kubernetes-patch-strategy"];
      if (typeof ps !== "string" || !ps.split(",").includes("merge")) return { strategy: "replace", keys: [] };
      const mapKeys = s["x-kubernetes-list-map-keys"];
      if (Array.isArray(mapKeys) && mapKeys.every((k) => typeof k === "string")) return { strategy: "merge", keys: mapKeys as string[] };
      const mk = s["x-kubernetes-patch-merge-key"];
      return { strategy: "merge", keys: typeof mk === "string" ? [mk] : [] };
    },
  };
}
