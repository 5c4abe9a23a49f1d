// Name references and other field specs a CRD declares in its OpenAPI definitions (a kustomization's `crds:`
// files): x-kubernetes-annotation, -label-selector, -identity and -object-ref-* on the properties, followed through $ref.
import { RenderError } from "../errors.js";
import { isMap, type JsonMap } from "../objects.js";
import { emptyConfig, mergeConfig, type FieldSpec, type TransformerConfig } from "./fieldspecs.js";

export function configFromCrds(doc: unknown, file: string): TransformerConfig {
  let tc = emptyConfig();
  if (!isMap(doc)) throw new RenderError("unable to parse open API definition: expected a map of type names to definitions", { file });
  for (const [typeName, api] of Object.entries(doc)) {
    const props = schemaProps(api);
    if (!props || !("kind" in props) || !("apiVersion" in props) || !("metadata" in props)) continue;
    const kind = typeName.split(".").pop()!;
    const one = emptyConfig();
    loadCrdInto(one, kind, doc, typeName, [], file, 0);
    tc = mergeConfig(tc, one, file);
  }
  return tc;
}

function schemaProps(api: unknown): JsonMap | undefined {
  if (!isMap(api)) return undefined;
  // OpenAPIDefinition {Schema, Dependencies}, decoded by Go's JSON, which matches field names case-insensitively.
  const schema = isMap(api.Schema) ? api.Schema : isMap(api.schema) ? api.schema : api;
  return isMap(schema.properties) ? schema.properties : undefined;
}

function loadCrdInto(tc: TransformerConfig, kind: string, all: JsonMap, typeName: string, at: string[], file: string, depth: number): void {
  if (depth > 20) return;
  const props = schemaProps(all[typeName]);
  if (!props) return;
  for (const [name, prop] of Object.entries(props)) {
    if (!isMap(prop)) continue;
    const p = [...at, name];
    const fs = (extra: string[] = []): FieldSpec => ({ kind, path: [...p, ...extra].join("/") });
    if (typeof prop["x-kubernetes-annotation"] === "string") mergeInto(tc, "commonAnnotations", [fs()], file);
    if (typeof prop["x-kubernetes-label-selector"] === "string") mergeInto(tc, "commonLabels", [fs()], file);
    if (typeof prop["x-kubernetes-identity"] === "string") mergeInto(tc, "namePrefix", [fs()], file);
    const version = prop["x-kubernetes-object-ref-api-version"];
    const refKind = prop["x-kubernetes-object-ref-kind"];
    if (typeof version === "string" && typeof refKind === "string") {
      const nameKey = typeof prop["x-kubernetes-object-ref-name-key"] === "string" ? (prop["x-kubernetes-object-ref-name-key"] as string) : "name";
      mergeInto(tc, "nameReference", [{ kind: refKind, version, fieldSpecs: [fs([nameKey])] }], file);
    }
    const ref = prop.$ref;
    if (typeof ref === "string" && ref) loadCrdInto(tc, kind, all, ref, p, file, depth + 1);
  }
}

/** Merges `more` into one field of `tc`, as mergeConfig merges that field (duplicates folded or refused). */
function mergeInto<F extends keyof TransformerConfig>(tc: TransformerConfig, field: F, more: TransformerConfig[F], file: string): void {
  const only = (v: TransformerConfig[F]): TransformerConfig => ({ ...emptyConfig(), [field]: v });
  tc[field] = mergeConfig(only(tc[field]), only(more), file)[field];
}
