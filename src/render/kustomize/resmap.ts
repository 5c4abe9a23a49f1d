// The accumulated resources as Kustomize's ResMap keeps them: a resource file read into resources (Lists inlined),
// resources appended (AppendAll: an id already there refused) and a generated one absorbed (AbsorbAll: added, or
// merged into or replacing the one with its id, as its behavior says).
import { RenderError } from "../errors.js";
import { isMap, setOrigin, type KubeObject } from "../objects.js";
import { recordAnnotationTexts, type ReadObject } from "./annotations.js";
import type { Ctx } from "./context.js";
import { parseManifestDocs } from "./fastyaml.js";
import { allIds, checkResource, curId, idConflict, idEquals, idString, newRes, type Res, type ResId } from "./resource.js";

/** Kustomize's reading of a resource file: documents, Lists inlined (after the file's other documents), checks. */
export function resourcesFromText(text: string, file: string, ctx: Ctx): Res[] {
  const queue: { value: unknown; line?: number; path: (string | number)[] }[] = parseManifestDocs(text, file, ctx.root.limits).map((d) => ({ value: d.value, line: d.line, path: [] }));
  const out: (ReadObject & { res: Res })[] = [];
  while (queue.length) {
    const { value, line, path } = queue.shift()!;
    if (!isMap(value)) throw new RenderError(`document is ${Array.isArray(value) ? "a list" : `a ${typeof value}`}, not a Kubernetes object`, { file, line });
    if (Object.keys(value).length === 0) continue;
    if (typeof value.kind !== "string" || !value.kind) throw new RenderError("missing kind in object (every resource needs kind and metadata.name)", { file, line });
    if (value.kind.endsWith("List") && "items" in value) {
      const items = value.items;
      if (items === null || items === undefined) continue;
      if (!Array.isArray(items)) throw new RenderError(`expected array in ${value.kind}/items`, { file, line });
      for (const [i, item] of items.entries()) {
        if (item === null || (isMap(item) && Object.keys(item).length === 0)) continue;
        queue.push({ value: item, line, path: [...path, "items", i] });
      }
      continue;
    }
    if (!value.kind.endsWith("List")) checkResource(value, file, line);
    else if (!isMap(value.metadata)) value.metadata = { name: "" };
    const obj = value as KubeObject;
    setOrigin(obj, { file, line });
    out.push({ res: newRes(obj, file, line), obj, line, path });
  }
  recordAnnotationTexts(text, out);
  return out.map((e) => e.res);
}

/** AppendAll: refuses a resource whose current id equals one already there. */
export function appendAll(res: Res[], added: Res[], file: string, ctx: Ctx): void {
  if (added.length === 0) return;
  const dup = idConflict(res, added, ctx.scope);
  if (dup) {
    throw new RenderError(`may not add resource with an already registered id: ${idString(dup.id)} (from ${dup.second.file}; already added from ${dup.first.file})`, { file });
  }
  for (const r of added) res.push(r);
}

/** AbsorbAll: a generated resource is added, or merged into / replaces the one with the same id (behavior). */
export function absorb(res: Res[], gen: Res, file: string, ctx: Ctx): void {
  const id = curId(gen, ctx.scope);
  const old = absorbTarget(res, gen, id, file, ctx);
  if (!old) {
    appendAll(res, [gen], file, ctx);
    return;
  }
  const behavior = gen.behavior as "merge" | "replace";
  copyMergeMetaData(gen.obj, old.obj);
  if (behavior === "merge") mergeData(gen.obj, old.obj);
  const next: Res = {
    ...gen,
    prev: old.prev,
    prefixes: old.prefixes,
    suffixes: old.suffixes,
    needsHash: old.needsHash && gen.needsHash,
    behavior: old.behavior,
    refVarNames: old.refVarNames,
    origin: behavior === "merge" && old.origin ? old.origin : gen.origin ?? old.origin,
    transformations: old.transformations,
  };
  res[res.indexOf(old)] = next;
}

/** The one resource the generated `gen` merges into or replaces; none when it is new (its behavior says which may be). */
function absorbTarget(res: Res[], gen: Res, id: ResId, file: string, ctx: Ctx): Res | undefined {
  const matches = res.filter((r) => allIds(r, ctx.scope).some((x) => idEquals(x, id)));
  const behavior = gen.behavior || "create";
  if (matches.length === 0) {
    if (behavior === "merge" || behavior === "replace") {
      throw new RenderError(`${gen.obj.kind} "${gen.obj.metadata.name}" has behavior ${behavior}, but there is no ${gen.obj.kind} ${idString(id)} to ${behavior}`, { file });
    }
    return undefined;
  }
  if (matches.length > 1) throw new RenderError(`found multiple objects that could accept the merge of ${idString(id)}`, { file });
  if (behavior !== "merge" && behavior !== "replace") {
    throw new RenderError(
      `${gen.obj.kind} ${idString(id)} already exists; a generator for it needs behavior: merge or replace (it has ${gen.behavior ? `behavior: ${gen.behavior}` : "none"})`,
      { file },
    );
  }
  return matches[0]!;
}

/**
 * CopyMergeMetaDataFieldsFrom: labels and annotations merged (the generator's win), name, namespace and build state
 * from the old object; the hash stays only when both want it. Everything else is the generated object's.
 */
function copyMergeMetaData(o: KubeObject, old: KubeObject): void {
  const labels = { ...(old.metadata.labels ?? {}), ...(o.metadata.labels ?? {}) };
  const annotations = { ...(old.metadata.annotations ?? {}), ...(o.metadata.annotations ?? {}) };
  if (Object.keys(labels).length) o.metadata.labels = labels;
  else delete o.metadata.labels;
  if (Object.keys(annotations).length) o.metadata.annotations = annotations;
  else delete o.metadata.annotations;
  o.metadata.name = old.metadata.name;
  if (old.metadata.namespace) o.metadata.namespace = old.metadata.namespace;
  else delete o.metadata.namespace;
}

/** behavior: merge — data and binaryData are the old object's with the generated one's on top. */
function mergeData(o: KubeObject, old: KubeObject): void {
  for (const key of ["data", "binaryData"]) {
    const merged: Record<string, string> = {};
    for (const src of [old[key], o[key]]) {
      if (isMap(src)) for (const [dk, dv] of Object.entries(src)) merged[dk] = dv === null || dv === undefined ? "" : String(dv);
    }
    if (Object.keys(merged).length) o[key] = merged;
    else delete o[key];
  }
}
