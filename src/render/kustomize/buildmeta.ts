// Kustomize's buildMetadata: where each object came from (originAnnotations), which transformers changed it
// (transformerAnnotations) and the managed-by label (managedByLabel). Origins are tracked only when it asks for them.
import * as path from "node:path";
import { RenderError } from "../errors.js";
import type { JsonMap, KubeObject } from "../objects.js";
import { toYamlText } from "../yaml.js";
import type { Ctx, Kust } from "./context.js";
import { stringList } from "./fields.js";
import type { Origin, Res } from "./resource.js";

const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
/** What `kubectl kustomize` (kubectl v1.32, Kustomize v5.5 built in) writes for buildMetadata: [managedByLabel]. */
const MANAGED_BY_VALUE = "kustomize-(devel)";
const ORIGIN_ANNOTATION = "config.kubernetes.io/origin";
const TRANSFORMATIONS_ANNOTATION = "alpha.config.kubernetes.io/transformations";
const BUILD_METADATA = ["originAnnotations", "transformerAnnotations", "managedByLabel"];

/** The top kustomization's buildMetadata options (unknown ones refused). */
export function readBuildMetadata(top: Kust): string[] {
  const buildMetadata = stringList(top.k.buildMetadata, top.file, "buildMetadata");
  for (const b of buildMetadata) {
    if (!BUILD_METADATA.includes(b)) throw new RenderError(`buildMetadata: unknown option ${JSON.stringify(b)} (known: ${BUILD_METADATA.join(", ")})`, { file: top.file });
  }
  return buildMetadata;
}

/** The managed-by label on every resource, when buildMetadata asks for it. */
export function addManagedBy(res: Res[], buildMetadata: string[]): void {
  if (!buildMetadata.includes("managedByLabel")) return;
  for (const r of res) r.obj.metadata.labels = { ...(r.obj.metadata.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
}

/** The origin and transformations annotations on `r`'s object, as far as buildMetadata asks for them. */
export function addBuildAnnotations(r: Res, buildMetadata: string[]): KubeObject {
  const annotations: Record<string, string> = {};
  if (buildMetadata.includes("originAnnotations") && r.origin) annotations[ORIGIN_ANNOTATION] = toYamlText(originYaml(r.origin));
  if (buildMetadata.includes("transformerAnnotations") && r.transformations?.length) {
    annotations[TRANSFORMATIONS_ANNOTATION] = toYamlText(r.transformations.map(originYaml));
  }
  if (Object.keys(annotations).length) r.obj.metadata.annotations = { ...(r.obj.metadata.annotations ?? {}), ...annotations };
  return r.obj;
}

function originYaml(o: Origin): JsonMap {
  const out: JsonMap = {};
  if (o.path) out.path = o.path;
  if (o.repo) out.repo = o.repo;
  if (o.ref) out.ref = o.ref;
  if (o.configuredIn) out.configuredIn = o.configuredIn;
  if (o.configuredBy) {
    const by: JsonMap = { apiVersion: o.configuredBy.apiVersion, kind: o.configuredBy.kind };
    if (o.configuredBy.name) by.name = o.configuredBy.name;
    if (o.configuredBy.namespace) by.namespace = o.configuredBy.namespace;
    out.configuredBy = by;
  }
  return out;
}

/** `p` joined to the origin path `base` (the kustomization directory an object was reached through), "" for ".". */
export function joinOrigin(base: string, p: string): string {
  const j = path.posix.normalize(path.posix.join(base || ".", p));
  return j === "." ? "" : j;
}

/** Where a builtin transformer or generator of kind `kind`, configured by `file`'s fields, came from (when tracked). */
export function builtinOrigin(ctx: Ctx, origin: string, file: string, kind: string): Origin | undefined {
  return ctx.origins ? { configuredIn: joinOrigin(origin, path.posix.basename(file)), configuredBy: { apiVersion: "builtin", kind } } : undefined;
}

/** Where a plugin configured by `obj` (read from `origin.path`) came from, when that is known. */
export function pluginOrigin(obj: KubeObject, origin: Origin | undefined): Origin | undefined {
  if (!origin?.path) return undefined;
  const by: Origin["configuredBy"] = { apiVersion: obj.apiVersion, kind: obj.kind };
  if (obj.metadata.name) by.name = obj.metadata.name;
  if (obj.metadata.namespace) by.namespace = obj.metadata.namespace;
  return { configuredIn: origin.path, configuredBy: by };
}

/** Records that a transformer ran (buildMetadata: transformerAnnotations), as Kustomize's multi-transformer does. */
export function recordTransformer(ctx: Ctx, res: Res[], o: Origin | undefined): void {
  if (!ctx.origins || !o) return;
  for (const r of res) {
    if (!r.origin) r.origin = o;
    else (r.transformations ??= []).push(o);
  }
}
