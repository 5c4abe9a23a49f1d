// What one build carries through the kustomizations it reads: its context, the accumulated resources, the
// kustomization being read, a plugin configuration, and Kustomize's load restriction on the files a kustomization names.
import type { ArtifactRoot } from "../fs.js";
import { RenderError } from "../errors.js";
import type { JsonMap, KubeObject, ScopeResolver } from "../objects.js";
import type { TransformerConfig } from "./fieldspecs.js";
import type { CustomSchema } from "./openapi.js";
import type { Origin, Res } from "./resource.js";
import type { Var } from "./vars.js";

export interface Ctx {
  root: ArtifactRoot;
  scope?: ScopeResolver;
  stack: string[];
  /** The kustomization `openapi` schema in force (Kustomize's is global to a build: the first one set wins). */
  schema?: CustomSchema;
  schemaSet: boolean;
  /** buildMetadata asks for origin or transformer annotations: track where each object came from. */
  origins: boolean;
  warn: (message: string) => void;
}

export interface Acc {
  res: Res[];
  config: TransformerConfig;
  vars: Map<string, Var>;
}

export interface Kust {
  dir: string;
  file: string;
  k: JsonMap;
}

/** A builtin plugin's configuration, listed under `generators`, `transformers` or `validators`. */
export interface PluginConfig {
  obj: KubeObject;
  file: string;
  /** Directory of the kustomization that lists the plugin (files it reads are relative to it). */
  kust: Kust;
  origin?: Origin;
}

/**
 * Kustomize's default load restriction: files (resources, patches, generator inputs) must be in or below the
 * kustomization's directory; only directories (other kustomizations) may be elsewhere in the artifact.
 */
export function underKustomization(p: string, rel: string, dir: string, file: string, what: string): string {
  if (dir === "" || p === dir || p.startsWith(`${dir}/`)) return p;
  throw new RenderError(
    `${what} ${JSON.stringify(rel)} is not in or below ${dir} (Kustomize's load restriction); move it there, or put it in a directory with its own kustomization and list that directory`,
    { file },
  );
}

/**
 * The load restriction on `p` (the root-relative path of `rel`, a file `kust` names), checked as kubectl kustomize
 * checks it: on where the file and the kustomization's directory lead (symlinks followed; Kustomize's loader takes
 * both through EvalSymlinks), so a link in the directory to a file outside it is refused, and a directory reached
 * through a link is where its files are looked for. Returns `p`, the path as written (for errors and origins).
 */
export function restrictLoad(root: ArtifactRoot, kust: Kust, p: string, rel: string, what: string): string {
  const real = root.realPath(p);
  const dir = kust.dir === "" ? "" : root.realPath(kust.dir);
  if (dir === "" || real === dir || real.startsWith(`${dir}/`)) return p;
  if (real === p && dir === kust.dir) return underKustomization(p, rel, kust.dir, kust.file, what);
  const reached = real === p ? `(${real})` : `resolves through a symlink to ${real}, which`;
  const where = dir === kust.dir ? dir : `${dir} (where ${kust.dir} leads)`;
  throw new RenderError(
    `${what} ${JSON.stringify(rel)} ${reached} is not in or below ${where} (Kustomize's load restriction, checked where symlinks lead, as kubectl kustomize does); ` +
      "copy the file there instead of linking to it, or put it in a directory with its own kustomization and list that directory",
    { file: kust.file },
  );
}

/** The artifact path of `rel`, a file the kustomization names (`what` says which, for errors), under the load restriction. */
export function resolveUnder(root: ArtifactRoot, kust: Kust, rel: string, what: string): string {
  return restrictLoad(root, kust, root.resolve(rel, kust.dir, what, kust.file, "file"), rel, what);
}

/** The text of `rel`, a file the kustomization names, and where it is (resolveUnder). */
export function readFileUnder(root: ArtifactRoot, kust: Kust, rel: string, what: string): { text: string; where: string } {
  const where = resolveUnder(root, kust, rel, what);
  return { text: root.readText(where), where };
}
