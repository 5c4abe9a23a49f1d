// Kustomize's ImageTagTransformer (the `images` field): an image reference split into name, tag and digest, and every
// container image (and field the image field specs name) that matches a name given a new name, tag or digest.
import { isMap } from "../objects.js";
import { FieldSpecError, slotGet, slotSet, type FieldSpec } from "./fieldspecs.js";
import type { Res } from "./resource.js";
import { applySpec } from "./transformers.js";

export interface ImageSpec {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
  tagSuffix?: string;
}

export function splitImage(image: string): { name: string; tag: string; digest: string } {
  const slash = image.indexOf("/");
  const base = slash > 0 ? slash : 0;
  const search = image.slice(base);
  let id = search.indexOf("@");
  let ic = search.indexOf(":");
  if (ic < 0 && id < 0) return { name: image, tag: "", digest: "" };
  if (id >= 0 && (id < ic || ic < 0)) {
    id += base;
    return { name: image.slice(0, id), tag: "", digest: image.slice(id + 1) };
  }
  if (id >= 0 && ic >= 0) {
    id += base;
    ic += base;
    return { name: image.slice(0, ic), tag: image.slice(ic + 1, id), digest: image.slice(id + 1) };
  }
  ic += base;
  return { name: image.slice(0, ic), tag: image.slice(ic + 1), digest: "" };
}

function imageMatcher(name: string): (s: string) => boolean {
  const tail = "(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$";
  let re: RegExp;
  try {
    re = new RegExp(`^${name}${tail}`);
  } catch {
    re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}${tail}`);
  }
  return (s) => re.test(s);
}

export function updateImage(value: string, img: ImageSpec, matches: (s: string) => boolean): string {
  if (!matches(value)) return value;
  let { name, tag, digest } = splitImage(value);
  if (img.newName) name = img.newName;
  if (img.newTag && img.digest) {
    tag = img.newTag;
    digest = img.digest;
  } else if (img.newTag) {
    tag = img.newTag;
    digest = "";
  } else if (img.digest) {
    tag = "";
    digest = img.digest;
  } else if (img.tagSuffix) {
    tag += img.tagSuffix;
    digest = "";
  }
  return `${name}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
}

export function setImages(res: Res[], img: ImageSpec, specs: FieldSpec[], file: string): void {
  const matches = imageMatcher(img.name);
  const legacy = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(legacy);
      return;
    }
    if (!isMap(node)) return;
    for (const [key, v] of Object.entries(node)) {
      legacy(v);
      if ((key === "containers" || key === "initContainers") && Array.isArray(v)) {
        for (const c of v) if (isMap(c) && typeof c.image === "string") c.image = updateImage(c.image, img, matches);
      }
    }
  };
  for (const r of res) {
    if (r.obj.kind === "CustomResourceDefinition") continue;
    legacy(r.obj);
    for (const fs of specs) {
      applySpec(
        r,
        fs,
        undefined,
        (s) => {
          const v = slotGet(s);
          if (v === null || v === undefined) return;
          if (typeof v === "object") throw new FieldSpecError(`an image must be a string at ${fs.path}`);
          const next = updateImage(String(v), img, matches);
          if (next !== String(v)) slotSet(s, next);
        },
        file,
      );
    }
  }
}
