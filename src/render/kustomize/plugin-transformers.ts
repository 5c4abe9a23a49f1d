// The builtin transformer plugins (`transformers:` and `validators:` entries with apiVersion: builtin), one function
// per kind: each checks its configuration's fields as Kustomize does and writes where its own fieldSpecs say.
import * as path from "node:path";
import { RenderError } from "../errors.js";
import { isMap, type KubeObject } from "../objects.js";
import { readFileUnder, type Ctx, type Kust, type PluginConfig } from "./context.js";
import { parseManifestDocs } from "./fastyaml.js";
import { bool, checkKeys, mapList, str, stringList, stringMap } from "./fields.js";
import { readConfig, type FieldSpec } from "./fieldspecs.js";
import { appendNameHashes } from "./hash.js";
import { setImages } from "./images.js";
import { applyJson6902Patch, applyPatch, applyStrategicMergePatches } from "./patches.js";
import { applyReplacement } from "./replacements.js";
import type { Res } from "./resource.js";
import { expandReplacements, patchEnv, patchSource, readImage, readPatchOptions, readTarget, strategicMergeSources } from "./transformer-args.js";
import {
  addAnnotations,
  addLabels,
  addPrefixSuffix,
  namespaceOne,
  selectRes,
  setNamespace,
  setReplicas,
  valueAdd,
  type SubjectMode,
} from "./transformers.js";

/** The fields every plugin configuration has besides its own. */
export const META_KEYS = ["apiVersion", "kind", "metadata"];

/** One transformer plugin run: its configuration `c` (read from `file`) on the resources `res`. */
interface Run {
  ctx: Ctx;
  kust: Kust;
  c: KubeObject;
  file: string;
  res: Res[];
  /** Refuses fields other than the common ones and `extra`. */
  keys: (extra: string[]) => void;
  /** Where the transformer writes: its own fieldSpecs (the patch and replacement transformers have none). */
  fieldSpecs: () => FieldSpec[];
}

/** Runs the transformer plugin `cfg` on `res`; returns the resources after it (the same list, or a new one). */
export function runTransformerPlugin(ctx: Ctx, kust: Kust, cfg: PluginConfig, res: Res[]): Res[] {
  const { obj: c, file } = cfg;
  const run = TRANSFORMERS.get(c.kind);
  if (!run) throw new RenderError(`${c.kind} cannot be used as a transformer`, { file });
  return run({
    ctx,
    kust,
    c,
    file,
    res,
    keys: (extra) => checkKeys(c, [...META_KEYS, ...extra], file, c.kind),
    fieldSpecs: () => pluginSpecs(c.fieldSpecs, file, "fieldSpecs"),
  });
}

function pluginSpecs(v: unknown, file: string, field: string): FieldSpec[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RenderError(`${field} must be a list of field specs`, { file });
  return v.map((x) => readConfig({ labels: [x] }, file).labels[0]!);
}

/** AnnotationsTransformer (`field` annotations) and LabelTransformer (labels): the pairs, written where fieldSpecs say. */
function pairsTransformer(field: "annotations" | "labels"): (run: Run) => Res[] {
  const add = field === "labels" ? addLabels : addAnnotations;
  return ({ c, file, res, keys, fieldSpecs }) => {
    keys([field, "fieldSpecs"]);
    add(res, stringMap(c[field], file, field, true), fieldSpecs(), file);
    return res;
  };
}

function namespaceTransformer({ ctx, c, file, res, keys, fieldSpecs }: Run): Res[] {
  keys(["fieldSpecs", "unsetOnly", "setRoleBindingSubjects"]);
  const mode = str(c.setRoleBindingSubjects, file, "setRoleBindingSubjects") || "defaultOnly";
  if (!["defaultOnly", "allServiceAccounts", "none"].includes(mode)) {
    throw new RenderError(`invalid value "${mode}" for setRoleBindingSubjects: must be one of "defaultOnly", "none" or "allServiceAccounts"`, { file });
  }
  const ns = typeof c.metadata.namespace === "string" ? c.metadata.namespace : "";
  setNamespace(res, { namespace: ns, specs: fieldSpecs(), unsetOnly: bool(c.unsetOnly, file, "unsetOnly"), subjects: mode as SubjectMode, scope: ctx.scope, file });
  return res;
}

/** PrefixTransformer, SuffixTransformer and PrefixSuffixTransformer. */
function prefixSuffixTransformer({ ctx, c, file, res, keys, fieldSpecs }: Run): Res[] {
  keys(c.kind === "PrefixTransformer" ? ["prefix", "fieldSpecs"] : c.kind === "SuffixTransformer" ? ["suffix", "fieldSpecs"] : ["prefix", "suffix", "fieldSpecs"]);
  if (c.fieldSpecs === undefined || c.fieldSpecs === null) throw new RenderError(`${c.kind}: fieldSpecs is not expected to be nil`, { file });
  const specs = fieldSpecs();
  const prefix = c.kind === "SuffixTransformer" ? undefined : str(c.prefix, file, "prefix");
  const suffix = c.kind === "PrefixTransformer" ? undefined : str(c.suffix, file, "suffix");
  addPrefixSuffix(res, prefix, suffix, specs, file, ctx.scope);
  return res;
}

function imageTagTransformer({ c, file, res, keys, fieldSpecs }: Run): Res[] {
  keys(["imageTag", "fieldSpecs"]);
  const img = isMap(c.imageTag) ? c.imageTag : {};
  setImages(res, readImage(img, file), fieldSpecs(), file);
  return res;
}

function replicaCountTransformer({ ctx, c, file, res, keys, fieldSpecs }: Run): Res[] {
  keys(["replica", "fieldSpecs"]);
  const rep = isMap(c.replica) ? c.replica : {};
  const count = rep.count ?? 0;
  if (typeof count !== "number" || !Number.isInteger(count)) throw new RenderError("ReplicaCountTransformer: replica.count must be an integer", { file });
  setReplicas(res, str(rep.name, file, "replica.name"), count, fieldSpecs(), file, ctx.scope);
  return res;
}

function patchTransformer({ ctx, kust, c, file, res, keys }: Run): Res[] {
  keys(["path", "patch", "target", "options"]);
  const { text, where } = patchSource(ctx, kust, c, "PatchTransformer");
  return applyPatch(res, text, where, readTarget(c.target, file, "PatchTransformer"), readPatchOptions(c.options, file), patchEnv(ctx));
}

function patchStrategicMergeTransformer({ ctx, kust, c, file, res, keys }: Run): Res[] {
  keys(["paths", "patches"]);
  const patches = strategicMergeSources(ctx, kust, stringList(c.paths, file, "paths"), file, "PatchStrategicMergeTransformer path");
  if (typeof c.patches === "string" && c.patches.trim()) patches.push({ text: c.patches, where: file });
  if (patches.length === 0) throw new RenderError("PatchStrategicMergeTransformer: empty file path and empty patch content", { file });
  return applyStrategicMergePatches(res, patches, patchEnv(ctx));
}

function patchJson6902Transformer({ ctx, kust, c, file, res, keys }: Run): Res[] {
  keys(["target", "path", "jsonOp"]);
  const target = readTarget(c.target, file, "PatchJson6902Transformer");
  if (!target) throw new RenderError("PatchJson6902Transformer: must specify a target", { file });
  const hasPath = typeof c.path === "string" && c.path;
  const hasOp = typeof c.jsonOp === "string" && c.jsonOp;
  if (hasPath && hasOp) throw new RenderError("PatchJson6902Transformer: must specify a file path or jsonOp, not both", { file });
  if (!hasPath && !hasOp) throw new RenderError("PatchJson6902Transformer: empty file path and empty jsonOp", { file });
  const { text, where } = hasPath ? readFileUnder(ctx.root, kust, c.path as string, "PatchJson6902Transformer path") : { text: c.jsonOp as string, where: file };
  return applyJson6902Patch(res, text, where, target, patchEnv(ctx));
}

function replacementTransformer({ ctx, kust, c, file, res, keys }: Run): Res[] {
  keys(["replacements"]);
  for (const r of expandReplacements(ctx, kust, mapList(c.replacements, file, "replacements"))) applyReplacement(res, r.rep, r.where, ctx.scope);
  return res;
}

function valueAddTransformer({ ctx, kust, c, file, res, keys }: Run): Res[] {
  keys(["value", "targets", "targetFilePath"]);
  let value = str(c.value, file, "value").trim();
  if (!value) value = path.posix.basename(kust.dir || ".") === "." ? path.basename(ctx.root.dir) : path.posix.basename(kust.dir);
  const targets = mapList(c.targets, file, "targets");
  if (typeof c.targetFilePath === "string" && c.targetFilePath) {
    const { text, where } = readFileUnder(ctx.root, kust, c.targetFilePath, "ValueAddTransformer targetFilePath");
    const doc = parseManifestDocs(text, where, ctx.root.limits)[0]?.value;
    targets.push(...mapList(isMap(doc) ? doc.targets : undefined, where, "targets"));
  }
  if (targets.length === 0) throw new RenderError("ValueAddTransformer: must specify at least one target", { file });
  for (const t of targets) {
    checkKeys(t, ["selector", "fieldPath", "filePathPosition"], file, "ValueAddTransformer target");
    const fieldPath = str(t.fieldPath, file, "fieldPath");
    if (!fieldPath) throw new RenderError("ValueAddTransformer: fieldPath cannot be empty", { file });
    const pos = t.filePathPosition ?? 0;
    if (typeof pos !== "number" || pos < 0) throw new RenderError(`ValueAddTransformer: value of FilePathPosition (${String(pos)}) cannot be negative`, { file });
    const selected = isMap(t.selector) ? selectRes(res, t.selector, ctx.scope, file) : res;
    for (const r of selected) {
      if (fieldPath === "metadata/namespace") namespaceOne(r, { namespace: value, specs: [], scope: ctx.scope, file });
      else valueAdd(r, value, fieldPath, pos, file);
    }
  }
  return res;
}

function hashTransformer({ ctx, res, keys }: Run): Res[] {
  keys([]);
  appendNameHashes(res, ctx.scope);
  return res;
}

const TRANSFORMERS = new Map<string, (run: Run) => Res[]>([
  ["AnnotationsTransformer", pairsTransformer("annotations")],
  ["LabelTransformer", pairsTransformer("labels")],
  ["NamespaceTransformer", namespaceTransformer],
  ["PrefixTransformer", prefixSuffixTransformer],
  ["SuffixTransformer", prefixSuffixTransformer],
  ["PrefixSuffixTransformer", prefixSuffixTransformer],
  ["ImageTagTransformer", imageTagTransformer],
  ["ReplicaCountTransformer", replicaCountTransformer],
  ["PatchTransformer", patchTransformer],
  ["PatchStrategicMergeTransformer", patchStrategicMergeTransformer],
  ["PatchJson6902Transformer", patchJson6902Transformer],
  ["ReplacementTransformer", replacementTransformer],
  ["ValueAddTransformer", valueAddTransformer],
  ["HashTransformer", hashTransformer],
]);
