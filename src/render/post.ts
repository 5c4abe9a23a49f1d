// What happens after any renderer: overrides, `${var}` substitution, targetNamespace, Mooring's labels, output
// validation and the canonical serialisation with its digest. The order is fixed and documented in docs/render.md.
import { canonicalJson, digestObjects, serialize, type OutputFormat } from "./canonical.js";
import { RenderError } from "./errors.js";
import type { ArtifactRoot } from "./fs.js";
import { Annotations } from "../api/constants.js";
import { ownerLabelValue, ownerRef } from "../api/ownership.js";
import { applyOverrides, isKustomizeOutput, type Overrides } from "./kustomize/index.js";
import { describe, isClusterScoped, isMap, objectKey, originOf, type KubeObject, type ScopeResolver } from "./objects.js";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "mooring";
export const APPLICATION_LABEL = "delivery.mooring.dev/application";

export interface PostRenderOptions {
  /** The owning Application; its labels are added when set. */
  application?: { namespace: string; name: string };
  /** Namespace for namespaced objects (see namespaceMode). */
  targetNamespace?: string;
  /**
   * "fill" (default, the Application API's meaning): only namespaced objects that set no namespace get
   * targetNamespace. "override": every namespaced object gets it, whatever it set.
   */
  namespaceMode?: "fill" | "override";
  /** Scope of kinds the built-in list does not know (CRDs). */
  scope?: ScopeResolver;
  overrides?: Overrides;
  /** Variables for `${var}` substitution; undefined turns substitution off. */
  substitute?: Record<string, string>;
}

/** Runs the post-render steps in order; returns new objects (inputs are not modified by substitution/labels). */
export function postRender(root: ArtifactRoot, objects: KubeObject[], opts: PostRenderOptions = {}): KubeObject[] {
  let out = objects;
  const shape: ShapeOptions = { apiVersionOptional: isKustomizeOutput(objects) };
  validateShape(out, shape);
  if (opts.overrides && hasOverrides(opts.overrides)) out = applyOverrides(root, out, opts.overrides, { scope: opts.scope });
  if (opts.substitute !== undefined) out = out.map((o) => substituteObject(o, opts.substitute!));
  if (opts.targetNamespace) {
    const scope = withRenderedCrds(out, opts.scope);
    const override = opts.namespaceMode === "override";
    for (const o of out) {
      if (isClusterScoped(apiVersionOf(o), o.kind, scope)) continue;
      if (override || !o.metadata.namespace) o.metadata.namespace = opts.targetNamespace;
    }
  }
  if (opts.application) {
    const { namespace, name } = opts.application;
    const value = ownerLabelValue(namespace, name);
    const ref = ownerRef(namespace, name);
    for (const o of out) {
      o.metadata.labels = { ...(o.metadata.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [APPLICATION_LABEL]: value };
      o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [Annotations.applicationRef]: ref };
    }
  }
  validateOutput(out, root.limits, shape);
  return out;
}

/** The object's apiVersion, "" when it has none (only Kustomize's output may lack one: see ShapeOptions). */
function apiVersionOf(o: KubeObject): string {
  return typeof o.apiVersion === "string" ? o.apiVersion : "";
}

/** Scope of custom kinds defined by CustomResourceDefinitions in the same output, before the caller's resolver. */
function withRenderedCrds(objects: readonly KubeObject[], caller?: ScopeResolver): ScopeResolver {
  const crds = new Map<string, boolean>();
  for (const o of objects) {
    if (o.kind !== "CustomResourceDefinition" || !isMap(o.spec)) continue;
    const names = isMap(o.spec.names) ? o.spec.names : {};
    if (typeof o.spec.group === "string" && typeof names.kind === "string") crds.set(`${o.spec.group}|${names.kind}`, o.spec.scope === "Cluster");
  }
  return (group, kind) => crds.get(`${group}|${kind}`) ?? caller?.(group, kind);
}

function hasOverrides(o: Overrides): boolean {
  return Boolean(o.namePrefix || o.nameSuffix || o.images?.length || o.patches?.length);
}

function where(o: object): { file?: string; line?: number } {
  const origin = originOf(o);
  return origin ? { file: origin.file, line: origin.line } : {};
}

export interface ShapeOptions {
  /**
   * An object may have no apiVersion (or an empty one): true for the kustomize renderer's output, as Kustomize builds
   * and prints such objects. A non-string apiVersion is refused all the same.
   */
  apiVersionOptional?: boolean;
}

/** Every object has apiVersion (unless optional), kind and metadata.name (strings). */
export function validateShape(objects: readonly KubeObject[], opts: ShapeOptions = {}): void {
  for (const o of objects) {
    const missing: string[] = [];
    const versionless = opts.apiVersionOptional && (o.apiVersion === undefined || o.apiVersion === "");
    if (!versionless && (typeof o.apiVersion !== "string" || !o.apiVersion)) missing.push("apiVersion");
    if (typeof o.kind !== "string" || !o.kind) missing.push("kind");
    if (!isMap(o.metadata) || typeof o.metadata.name !== "string" || !o.metadata.name) missing.push("metadata.name");
    if (missing.length) {
      const what = typeof o.kind === "string" || (isMap(o.metadata) && typeof o.metadata.name === "string") ? `object ${describe(o)}` : "a document";
      throw new RenderError(`${what} has no ${missing.join(", ")}; every document must be a Kubernetes object`, where(o));
    }
  }
}

/** Shape, no duplicate (group, kind, namespace, name), and size limits. */
export function validateOutput(objects: readonly KubeObject[], limits: ArtifactRoot["limits"], shape: ShapeOptions = {}): void {
  validateShape(objects, shape);
  if (objects.length > limits.maxObjects) throw new RenderError(`render produced ${objects.length} objects, over the limit of ${limits.maxObjects}`);
  const seen = new Map<string, KubeObject>();
  let total = 0;
  for (const o of objects) {
    // Without apiVersion an object is not of the core group: Kustomize keeps a versionless ConfigMap apart from a v1
    // one of the same name, and prints both.
    const key = apiVersionOf(o) ? objectKey(o) : `(no apiVersion)|${objectKey(o)}`;
    const prev = seen.get(key);
    if (prev) {
      const a = originOf(prev);
      const b = originOf(o);
      const from = a && b ? ` (in ${a.file}${a.line ? `:${a.line}` : ""} and ${b.file}${b.line ? `:${b.line}` : ""})` : "";
      throw new RenderError(`duplicate object ${describe(o)}${from}`, where(o));
    }
    seen.set(key, o);
    const size = Buffer.byteLength(canonicalJson(o));
    if (size > limits.maxObjectBytes) throw new RenderError(`object ${describe(o)} is ${size} bytes, over the ${limits.maxObjectBytes}-byte limit`, where(o));
    total += size;
  }
  if (total > limits.maxOutputBytes) throw new RenderError(`rendered output is ${total} bytes, over the ${limits.maxOutputBytes}-byte limit`);
}

const VAR = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::=([^}]*))?\}/g;

/** `${var}` and `${var:=default}` in string values; `$${var}` stays literal `${var}`. A missing variable is an error. */
export function substituteObject(o: KubeObject, vars: Record<string, string>): KubeObject {
  const missing = new Set<string>();
  const sub = (s: string): string =>
    s.replace(VAR, (whole, escape: string, name: string, def: string | undefined) => {
      if (escape) return whole.slice(1);
      const v = Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : def;
      if (v === undefined) {
        missing.add(name);
        return whole;
      }
      return v;
    });
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v.includes("$") ? sub(v) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (isMap(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const result = walk(o) as KubeObject;
  if (missing.size) {
    throw new RenderError(`object ${describe(o)} uses undefined variable(s) ${[...missing].map((m) => "${" + m + "}").join(", ")} with no default`, where(o));
  }
  return result;
}

export interface RenderOutput {
  objects: KubeObject[];
  /** `sha256:<hex>` of the canonical JSON of the objects. */
  digest: string;
}

export function finish(objects: KubeObject[]): RenderOutput {
  return { objects, digest: digestObjects(objects) };
}

export function format(objects: readonly KubeObject[], fmt: OutputFormat = "yaml"): string {
  return serialize(objects, fmt);
}
