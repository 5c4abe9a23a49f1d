// The arguments of Kustomize's transformers, read the same way whether they come from a kustomization's fields or a
// builtin plugin's configuration: a patch's text (inline or a file), its target and options, an image, replacements.
import { RenderError } from "../errors.js";
import { isMap, type JsonMap } from "../objects.js";
import { readFileUnder, type Ctx, type Kust } from "./context.js";
import { bool, checkKeys, str } from "./fields.js";
import type { PatchEnv } from "./patches.js";
import { replacementsFromFile } from "./replacements.js";
import type { ImageSpec } from "./images.js";

/** What the patch functions need from the build. */
export function patchEnv(ctx: Ctx): PatchEnv {
  return { scope: ctx.scope, schema: ctx.schema, limits: ctx.root.limits };
}

export function patchSource(ctx: Ctx, kust: Kust, p: JsonMap, field: string): { text: string; where: string } {
  const hasPatch = typeof p.patch === "string" && p.patch.trim() !== "";
  const hasPath = typeof p.path === "string" && p.path !== "";
  if (hasPatch && hasPath) throw new RenderError(`${field}: patch and path can't be set at the same time`, { file: kust.file });
  // Kustomize trims an inline patch (not one read from a file): a block scalar ending it loses its final newline.
  if (hasPatch) return { text: (p.patch as string).trim(), where: kust.file };
  if (hasPath) return readFileUnder(ctx.root, kust, p.path as string, `${field} path`);
  throw new RenderError(`${field}: must specify one of patch and path`, { file: kust.file });
}

export function readPatchOptions(v: unknown, file: string): { allowNameChange?: boolean; allowKindChange?: boolean } {
  if (v === undefined || v === null) return {};
  if (!isMap(v)) throw new RenderError('"patches[].options" must be a map', { file });
  checkKeys(v, ["allowNameChange", "allowKindChange"], file, "patch options");
  return { allowNameChange: bool(v.allowNameChange, file, "allowNameChange"), allowKindChange: bool(v.allowKindChange, file, "allowKindChange") };
}

export function readTarget(v: unknown, file: string, field: string): JsonMap | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) throw new RenderError(`${field}.target must be a map`, { file });
  checkKeys(v, ["group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"], file, `${field}.target`);
  return v;
}

export function readImage(img: JsonMap, file: string): ImageSpec {
  checkKeys(img, ["name", "newName", "newTag", "digest", "tagSuffix"], file, "images entry");
  const name = str(img.name, file, "images[].name");
  if (!name) throw new RenderError("an images entry needs a name", { file });
  return {
    name,
    newName: str(img.newName, file, "images[].newName"),
    newTag: str(img.newTag, file, "images[].newTag (quote it)"),
    digest: str(img.digest, file, "images[].digest"),
    tagSuffix: str(img.tagSuffix, file, "images[].tagSuffix"),
  };
}

/** Strategic merge patches listed (in `file`) as files or, when an entry looks like YAML, as the patch itself (legacy). */
export function strategicMergeSources(ctx: Ctx, kust: Kust, entries: string[], file: string, what: string): { text: string; where: string }[] {
  return entries.map((s) => (looksInline(s) ? { text: s, where: file } : readFileUnder(ctx.root, kust, s, what)));
}

function looksInline(s: string): boolean {
  return s.includes("\n") || /^\s*(apiVersion|kind|metadata)\s*:/.test(s);
}

/** The replacements of a `replacements` list: inline entries, and those read from the files that `path` entries name. */
export function expandReplacements(ctx: Ctx, kust: Kust, entries: JsonMap[]): { rep: JsonMap; where: string }[] {
  const out: { rep: JsonMap; where: string }[] = [];
  for (const entry of entries) {
    if (typeof entry.path === "string" && entry.path) {
      if (entry.source !== undefined || entry.targets !== undefined) throw new RenderError("cannot specify both path and inline replacement", { file: kust.file });
      const { text, where } = readFileUnder(ctx.root, kust, entry.path, "replacements path");
      for (const rep of replacementsFromFile(text, where, ctx.root.limits)) out.push({ rep, where });
    } else {
      checkKeys(entry, ["source", "targets", "sourceValue"], kust.file, "replacements entry");
      out.push({ rep: entry, where: kust.file });
    }
  }
  return out;
}
