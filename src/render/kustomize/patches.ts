// Patches as Kustomize's PatchTransformer, PatchStrategicMergeTransformer and PatchJson6902Transformer apply them:
// a `patches` entry is a strategic merge patch (one or more objects, each naming its target by kind and name, or one
// object with a `target`) or a JSON 6902 patch (a list of operations, with a `target`).
import jsonPatch, { type Operation } from "fast-json-patch";
import { RenderError } from "../errors.js";
import type { RenderLimits } from "../limits.js";
import { clone, groupOf, isMap, versionOf, type JsonMap, type KubeObject, type ScopeResolver } from "../objects.js";
import { mergePatchAnnotationTexts, recordPatchAnnotationTexts } from "./annotations.js";
import { parseManifestDocs } from "./fastyaml.js";
import type { CustomSchema } from "./openapi.js";
import { allIds, describeRes, idEquals, kustomizeClusterScoped, storePreviousId, type Res, type ResId } from "./resource.js";
import { DELETE, strategicMerge } from "./smp.js";
import { selectRes } from "./transformers.js";

export interface PatchEnv {
  scope?: ScopeResolver;
  schema?: CustomSchema;
  limits: Pick<RenderLimits, "maxAliasCount" | "maxDepth">;
  /**
   * Mooring's own overrides (spec.render.patches) find a strategic merge patch's target by kind and name (group and
   * namespace only when the patch gives them), whatever renderer made the objects; kustomizations match Kustomize.
   */
  lenientTargets?: boolean;
}

export interface PatchOptions {
  allowNameChange?: boolean;
  allowKindChange?: boolean;
}

type Parsed = { kind: "sm"; docs: { obj: JsonMap; line: number }[] } | { kind: "json"; ops: Operation[] };

/** Reads a patch the way PatchTransformer does: strategic merge objects or JSON 6902 operations, never both. */
export function parsePatch(text: string, where: string, env: PatchEnv): Parsed {
  const docs = parseManifestDocs(text, where, env.limits);
  if (docs.length === 0) throw new RenderError("patch is empty", { file: where });
  if (docs.length === 1 && Array.isArray(docs[0]!.value)) {
    const ops = docs[0]!.value;
    for (const op of ops) {
      if (!isMap(op) || typeof op.op !== "string" || typeof op.path !== "string") {
        throw new RenderError("a JSON 6902 patch must be a list of operations, each with op and path", { file: where, line: docs[0]!.line });
      }
    }
    return { kind: "json", ops: ops as Operation[] };
  }
  const out: { obj: JsonMap; line: number }[] = [];
  for (const d of docs) {
    if (!isMap(d.value)) throw new RenderError("unable to parse the patch as strategic merge or JSON 6902: a document is neither a map nor a list of operations", { file: where, line: d.line });
    const md = d.value.metadata;
    if (typeof d.value.kind !== "string" || !d.value.kind || !isMap(md) || typeof md.name !== "string" || !md.name) {
      throw new RenderError("unable to parse the patch: a strategic merge patch needs kind and metadata.name (even with a target)", { file: where, line: d.line });
    }
    out.push({ obj: d.value, line: d.line });
  }
  recordPatchAnnotationTexts(text, out.map((d) => ({ ...d, path: [] })));
  return { kind: "sm", docs: out };
}

function patchId(p: JsonMap, scope?: ScopeResolver): ResId {
  const av = typeof p.apiVersion === "string" ? p.apiVersion : "";
  const md = p.metadata as JsonMap;
  return {
    group: groupOf(av),
    version: versionOf(av),
    kind: String(p.kind),
    name: String(md.name),
    namespace: typeof md.namespace === "string" ? md.namespace : "",
    clusterScoped: kustomizeClusterScoped(av, String(p.kind), scope),
  };
}

/** Applies one strategic merge patch to one resource; returns false when the patch deleted it. */
export function applySmPatch(r: Res, patch: JsonMap, opts: PatchOptions, env: PatchEnv): boolean {
  const { name, namespace } = r.obj.metadata;
  const kind = r.obj.kind;
  if (opts.allowNameChange || opts.allowKindChange) storePreviousId(r, env.scope);
  const body: JsonMap = { ...patch };
  // The patch takes the target's apiVersion; kind, name and namespace are kept unless the options allow a change.
  delete body.apiVersion;
  if (!opts.allowKindChange) delete body.kind;
  if (isMap(body.metadata)) {
    const md: JsonMap = { ...body.metadata };
    if (!opts.allowNameChange) delete md.name;
    delete md.namespace;
    body.metadata = md;
  }
  const merged = strategicMerge(r.obj, body, { apiVersion: r.obj.apiVersion, kind: r.obj.kind, schema: env.schema });
  if (merged === DELETE || !isMap(merged) || Object.keys(merged).length === 0) return false;
  const obj = merged as KubeObject;
  if (!isMap(obj.metadata)) obj.metadata = { name };
  if (!opts.allowKindChange) obj.kind = kind;
  if (!opts.allowNameChange) obj.metadata.name = name;
  if (namespace === undefined) delete obj.metadata.namespace;
  else obj.metadata.namespace = namespace;
  r.obj = obj;
  mergePatchAnnotationTexts(r, patch);
  return true;
}

/** A `patches` entry (PatchTransformer). */
export function applyPatch(res: Res[], text: string, where: string, target: JsonMap | undefined, opts: PatchOptions, env: PatchEnv): Res[] {
  const parsed = parsePatch(text, where, env);
  if (parsed.kind === "json") {
    if (!target) throw new RenderError("a JSON 6902 patch needs a `target`", { file: where });
    for (const r of selectRes(res, target, env.scope, where)) {
      storePreviousId(r, env.scope);
      applyJsonTo(r, parsed.ops, where);
    }
    return res;
  }
  if (target) {
    if (parsed.docs.length > 1) throw new RenderError("a `patches` entry with a target may hold only one strategic merge patch", { file: where });
    const selected = new Set(selectRes(res, target, env.scope, where));
    const patch = parsed.docs[0]!.obj;
    return res.filter((r) => !selected.has(r) || applySmPatch(r, patch, opts, env));
  }
  let out = res;
  for (const { obj: patch, line } of parsed.docs) {
    const target = findPatchTarget(out, patch, where, line, env);
    if (!applySmPatch(target, patch, opts, env)) out = out.filter((r) => r !== target);
  }
  return out;
}

/** A strategic merge patch without a target applies to the one resource whose (any) id equals the patch's. */
function findPatchTarget(res: Res[], patch: JsonMap, where: string, line: number | undefined, env: PatchEnv): Res {
  const id = patchId(patch, env.scope);
  const hits = env.lenientTargets
    ? res.filter((r) => {
        const av = typeof r.obj.apiVersion === "string" ? r.obj.apiVersion : "";
        if (r.obj.kind !== id.kind || (typeof patch.apiVersion === "string" && groupOf(av) !== id.group)) return false;
        const ids = allIds(r, env.scope);
        return ids.some((x) => x.name === id.name) && (!id.namespace || ids.some((x) => x.namespace === id.namespace));
      })
    : res.filter((r) => allIds(r, env.scope).some((x) => idEquals(x, id)));
  if (hits.length === 1) return hits[0]!;
  const what = `${id.kind} ${id.namespace ? `${id.namespace}/` : ""}${id.name}`;
  if (hits.length === 0) {
    const versioned = id.version ? ` with apiVersion ${id.group ? `${id.group}/` : ""}${id.version}` : " (the patch has no apiVersion)";
    throw new RenderError(`patch targets ${what}, which is not among the resources (no ${id.kind}${versioned} in that namespace has that name)`, { file: where, line });
  }
  throw new RenderError(`patch matches ${hits.length} resources named ${id.name}; add a namespace`, { file: where, line });
}

/** patchesStrategicMerge (PatchStrategicMergeTransformer): every patch needs its target by id. */
export function applyStrategicMergePatches(res: Res[], patches: { text: string; where: string }[], env: PatchEnv): Res[] {
  let out = res;
  for (const p of patches) {
    const docs = parseManifestDocs(p.text, p.where, env.limits);
    if (docs.length === 0) throw new RenderError("patch appears to be empty", { file: p.where });
    recordPatchAnnotationTexts(p.text, docs.flatMap((d) => (isMap(d.value) ? [{ obj: d.value, line: d.line, path: [] }] : [])));
    for (const d of docs) {
      if (!isMap(d.value)) throw new RenderError("a strategic merge patch must be a map", { file: p.where, line: d.line });
      const md = d.value.metadata;
      if (typeof d.value.kind !== "string" || !isMap(md) || typeof md.name !== "string") {
        throw new RenderError("a strategic merge patch needs kind and metadata.name", { file: p.where, line: d.line });
      }
      const target = findPatchTarget(out, d.value, p.where, d.line, env);
      if (!applySmPatch(target, d.value, {}, env)) out = out.filter((r) => r !== target);
    }
  }
  return out;
}

/** patchesJson6902 (PatchJson6902Transformer). */
export function applyJson6902Patch(res: Res[], text: string, where: string, target: JsonMap, env: PatchEnv): Res[] {
  if (!target.name) throw new RenderError("a patchesJson6902 target must name its target (target.name)", { file: where });
  const docs = parseManifestDocs(text, where, env.limits);
  const ops = docs[0]?.value;
  if (docs.length !== 1 || !Array.isArray(ops)) throw new RenderError("a JSON 6902 patch must be a list of operations", { file: where });
  if (ops.length === 0) throw new RenderError("patch appears to be empty", { file: where });
  for (const r of selectRes(res, target, env.scope, where)) applyJsonTo(r, ops as Operation[], where);
  return res;
}

/**
 * Whether Kustomize's copy of the resource holds build annotations (previous ids, prefixes and suffixes, a
 * generator's behavior and hash flag): then it has metadata.annotations even when the source had none.
 */
function holdsBuildAnnotations(r: Res): boolean {
  return r.prev.length > 0 || r.behavior !== "" || r.needsHash;
}

function applyJsonTo(r: Res, ops: Operation[], where: string): void {
  try {
    r.obj = applyJson6902(r.obj, ops, holdsBuildAnnotations(r));
    // Kustomize applies it to the object's JSON: the annotations' spelling in the file is gone (annotations.ts).
    r.annotationTexts = undefined;
  } catch (err) {
    throw new RenderError(`JSON 6902 patch failed on ${describeRes(r)}: ${(err as Error).message.split("\n")[0]}`, { file: where }, { cause: err });
  }
}

/** Whether `pointer` is missing from `doc` while its parent is a map (a missing key, not a missing path). */
function missingKeyOfMap(doc: unknown, pointer: string): boolean {
  const at = (p: string): unknown => {
    try {
      return p === "" ? doc : jsonPatch.getValueByPointer(doc, p);
    } catch {
      return undefined;
    }
  };
  return at(pointer) === undefined && isMap(at(pointer.slice(0, pointer.lastIndexOf("/"))));
}

/**
 * An operation as Kustomize's JSON patch library (evanphx/json-patch v4) performs it: `replace` of a missing key of a
 * map adds it; `copy` from a missing key of a map copies null (its map lookup returns no node and no error).
 */
function kustomizeOperation(doc: unknown, op: Operation): Operation {
  if (op.op === "replace" && missingKeyOfMap(doc, op.path)) return { op: "add", path: op.path, value: op.value };
  if (op.op === "copy" && missingKeyOfMap(doc, op.from)) return { op: "add", path: op.path, value: null };
  return op;
}

/**
 * JSON 6902 as Kustomize applies it: while transforming, an object holding build annotations (`buildAnnotations`:
 * always after a `patches` entry, which records the previous id first; in `patchesJson6902` only when an earlier step
 * recorded one, or for a generated object) has metadata.annotations, so paths under it exist even when the source had
 * none; operations as kustomizeOperation() says. An annotations map left empty is dropped again.
 */
export function applyJson6902(obj: KubeObject, ops: Operation[], buildAnnotations = true): KubeObject {
  let doc = clone(obj);
  const hadAnnotations = isMap(doc.metadata.annotations);
  if (!hadAnnotations && buildAnnotations) doc.metadata.annotations = {};
  for (const op of ops) doc = jsonPatch.applyOperation(doc, kustomizeOperation(doc, op), true, true, false).newDocument;
  if (!hadAnnotations && isMap(doc.metadata) && isMap(doc.metadata.annotations) && Object.keys(doc.metadata.annotations).length === 0) {
    delete doc.metadata.annotations;
  }
  return doc;
}
