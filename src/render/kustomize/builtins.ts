// The builtin transformers a kustomization's own fields configure, run in Kustomize's order (kusttarget.go
// runTransformers): strategic merge patches, patches, namespace, name prefix and suffix, labels, annotations, JSON 6902
// patches, replicas, images, replacements. Each one that ran is recorded on the resources (buildMetadata).
import { RenderError } from "../errors.js";
import { builtinOrigin, recordTransformer } from "./buildmeta.js";
import type { Acc, Ctx, Kust } from "./context.js";
import { bool, checkKeys, mapList, str, stringList, stringMap } from "./fields.js";
import { emptyConfig, mergeConfig, readConfig, type FieldSpec } from "./fieldspecs.js";
import { applyJson6902Patch, applyPatch, applyStrategicMergePatches } from "./patches.js";
import { applyReplacement } from "./replacements.js";
import { expandReplacements, patchEnv, patchSource, readImage, readPatchOptions, readTarget, strategicMergeSources } from "./transformer-args.js";
import { setImages } from "./images.js";
import { addAnnotations, addLabels, addPrefixSuffix, setNamespace, setReplicas } from "./transformers.js";

/** One builtin transformer's step: reads its fields of the kustomization, runs, and says `ran(kind)` each time it does. */
interface Step {
  ctx: Ctx;
  acc: Acc;
  kust: Kust;
  ran: (kind: string) => void;
}

export function runBuiltinTransformers(ctx: Ctx, acc: Acc, kust: Kust, origin: string): void {
  const ran = (kind: string): void => recordTransformer(ctx, acc.res, builtinOrigin(ctx, origin, kust.file, kind));
  const step: Step = { ctx, acc, kust, ran };
  for (const run of [strategicMergePatches, patches, namespace, prefixSuffix, labels, annotations, json6902Patches, replicas, images, replacements]) run(step);
}

/** PatchStrategicMergeTransformer: every entry is a file, or (legacy) the patch itself inline. */
function strategicMergePatches({ ctx, acc, kust, ran }: Step): void {
  const psm = stringList(kust.k.patchesStrategicMerge, kust.file, "patchesStrategicMerge");
  if (!psm.length) return;
  acc.res = applyStrategicMergePatches(acc.res, strategicMergeSources(ctx, kust, psm, kust.file, "patchesStrategicMerge entry"), patchEnv(ctx));
  ran("PatchStrategicMergeTransformer");
}

function patches({ ctx, acc, kust, ran }: Step): void {
  const { file, k } = kust;
  for (const p of mapList(k.patches, file, "patches")) {
    checkKeys(p, ["path", "patch", "target", "options"], file, "patches entry");
    const { text, where } = patchSource(ctx, kust, p, "patches");
    acc.res = applyPatch(acc.res, text, where, readTarget(p.target, file, "patches"), readPatchOptions(p.options, file), patchEnv(ctx));
    ran("PatchTransformer");
  }
}

function namespace({ ctx, acc, kust, ran }: Step): void {
  const ns = str(kust.k.namespace, kust.file, "namespace");
  if (!ns) return;
  setNamespace(acc.res, { namespace: ns, specs: acc.config.namespace, scope: ctx.scope, file: kust.file });
  ran("NamespaceTransformer");
}

/** The prefix, then the suffix: two transformers in Kustomize, each recorded on its own. */
function prefixSuffix({ ctx, acc, kust, ran }: Step): void {
  const { file, k } = kust;
  for (const [field, kind] of [["namePrefix", "PrefixTransformer"], ["nameSuffix", "SuffixTransformer"]] as const) {
    const affix = str(k[field], file, field);
    if (!affix) continue;
    const prefix = field === "namePrefix";
    addPrefixSuffix(acc.res, prefix ? affix : undefined, prefix ? undefined : affix, acc.config[field], file, ctx.scope);
    ran(kind);
  }
}

/** Each `labels` entry (with the field specs it asks for), then `commonLabels`, each a LabelTransformer. */
function labels({ acc, kust, ran }: Step): void {
  const { file, k } = kust;
  const tc = acc.config;
  const common = stringMap(k.commonLabels, file, "commonLabels");
  const entries = mapList(k.labels, file, "labels");
  if (!entries.length && !Object.keys(common).length) return;
  for (const l of entries) {
    checkKeys(l, ["pairs", "includeSelectors", "includeTemplates", "fields"], file, "labels entry");
    const pairs = stringMap(l.pairs, file, "labels.pairs");
    let fss: FieldSpec[] = mapList(l.fields, file, "labels.fields").map((f) => readConfig({ labels: [f] }, file).labels[0]!);
    fss = mergeSpecsFlat(fss, tc.labels, file);
    if (bool(l.includeSelectors, file, "labels.includeSelectors")) fss = mergeSpecsFlat(fss, tc.commonLabels, file);
    else {
      if (bool(l.includeTemplates, file, "labels.includeTemplates")) fss = mergeSpecsFlat(fss, tc.templateLabels, file);
      fss = mergeSpecsFlat(fss, [{ path: "metadata/labels", create: true }], file);
    }
    addLabels(acc.res, pairs, fss, file);
    ran("LabelTransformer");
  }
  addLabels(acc.res, common, tc.commonLabels, file);
  ran("LabelTransformer");
}

function mergeSpecsFlat(a: FieldSpec[], b: FieldSpec[], file: string): FieldSpec[] {
  return mergeConfig({ ...emptyConfig(), labels: a }, { ...emptyConfig(), labels: b }, file).labels;
}

function annotations({ acc, kust, ran }: Step): void {
  const annotations = stringMap(kust.k.commonAnnotations, kust.file, "commonAnnotations");
  if (!Object.keys(annotations).length) return;
  addAnnotations(acc.res, annotations, acc.config.commonAnnotations, kust.file);
  ran("AnnotationsTransformer");
}

function json6902Patches({ ctx, acc, kust, ran }: Step): void {
  const { file, k } = kust;
  for (const p of mapList(k.patchesJson6902, file, "patchesJson6902")) {
    checkKeys(p, ["path", "patch", "target"], file, "patchesJson6902 entry");
    const target = readTarget(p.target, file, "patchesJson6902");
    if (!target) throw new RenderError("a patchesJson6902 entry needs a target", { file });
    const { text, where } = patchSource(ctx, kust, p, "patchesJson6902");
    acc.res = applyJson6902Patch(acc.res, text, where, target, patchEnv(ctx));
    ran("PatchJson6902Transformer");
  }
}

function replicas({ ctx, acc, kust, ran }: Step): void {
  const { file, k } = kust;
  for (const rep of mapList(k.replicas, file, "replicas")) {
    checkKeys(rep, ["name", "count"], file, "replicas entry");
    const count = rep.count ?? 0;
    if (typeof count !== "number" || !Number.isInteger(count)) throw new RenderError('"replicas[].count" must be an integer', { file });
    setReplicas(acc.res, str(rep.name, file, "replicas[].name"), count, acc.config.replicas, file, ctx.scope);
    ran("ReplicaCountTransformer");
  }
}

function images({ acc, kust, ran }: Step): void {
  const { file, k } = kust;
  for (const img of [...mapList(k.images, file, "images"), ...mapList(k.imageTags, file, "imageTags")]) {
    setImages(acc.res, readImage(img, file), acc.config.images, file);
    ran("ImageTagTransformer");
  }
}

function replacements({ ctx, acc, kust, ran }: Step): void {
  const reps = mapList(kust.k.replacements, kust.file, "replacements");
  if (!reps.length) return;
  for (const r of expandReplacements(ctx, kust, reps)) applyReplacement(acc.res, r.rep, r.where, ctx.scope);
  ran("ReplacementTransformer");
}
