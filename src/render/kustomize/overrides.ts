// An Application's overrides (name prefix and suffix, images, patches) applied to objects any renderer produced, with
// Kustomize's transformers and semantics.
import type { ArtifactRoot } from "../fs.js";
import { clone, type JsonMap, type KubeObject, type ScopeResolver } from "../objects.js";
import { makeDefaultConfig } from "./fieldspecs.js";
import { fixNameReferences } from "./nameref.js";
import { applyPatch, type PatchEnv } from "./patches.js";
import { newRes } from "./resource.js";
import { setImages } from "./images.js";
import { addPrefixSuffix } from "./transformers.js";

export interface Overrides {
  namePrefix?: string;
  nameSuffix?: string;
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  /** Strategic merge or JSON 6902 patches (YAML/JSON text or an object/list), optionally with a Kustomize target. */
  patches?: { patch: string | JsonMap | unknown[]; target?: JsonMap }[];
}

/**
 * Applies an Application's overrides to already-rendered objects, with Kustomize's semantics: patches first, then
 * name prefix/suffix (with name references updated), then images.
 */
export function applyOverrides(root: ArtifactRoot, objects: KubeObject[], ov: Overrides, opts: { scope?: ScopeResolver } = {}, source = "spec.render"): KubeObject[] {
  const pe: PatchEnv = { scope: opts.scope, limits: root.limits, lenientTargets: true };
  let res = objects.map((o) => newRes(clone(o), source));
  (ov.patches ?? []).forEach((p, i) => {
    const text = typeof p.patch === "string" ? p.patch : JSON.stringify(p.patch);
    res = applyPatch(res, text, `${source}.patches[${i}]`, p.target, {}, pe);
  });
  const config = makeDefaultConfig();
  if (ov.namePrefix) addPrefixSuffix(res, ov.namePrefix, undefined, config.namePrefix, source, opts.scope);
  if (ov.nameSuffix) addPrefixSuffix(res, undefined, ov.nameSuffix, config.nameSuffix, source, opts.scope);
  for (const img of ov.images ?? []) setImages(res, { ...img }, config.images, source);
  // Only after a rename: the objects came from any renderer (not a kustomization), and Mooring's overrides do not
  // refuse them for a malformed reference field that no rename touches (a kustomization's build does, as Kustomize).
  if (res.some((r) => r.prev.length > 0)) fixNameReferences(res, config.nameReference, source, opts.scope);
  return res.map((r) => r.obj);
}
