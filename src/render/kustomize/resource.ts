// One resource as it moves through a Kustomize build, with what Kustomize keeps in its build annotations: every id
// the resource has had (previous kinds, names and namespaces), the name prefixes and suffixes added to it, whether
// it is generated (content hash, generator behavior), the vars that refer to it, and where it came from.
import { RenderError } from "../errors.js";
import { groupOf, isMap, type JsonMap, type KubeObject, type ScopeResolver } from "../objects.js";
import type { AnnotationText } from "./annotations.js";
import { gvkSelected, splitApiVersion, type Gvk } from "./fieldspecs.js";

export interface Origin {
  path?: string;
  repo?: string;
  ref?: string;
  configuredIn?: string;
  configuredBy?: { apiVersion: string; kind: string; name?: string; namespace?: string };
}

export interface PrevId {
  kind: string;
  name: string;
  /** Effective namespace at the time: "default" for none, NON_NAMESPACEABLE for cluster-scoped kinds. */
  ns: string;
}

export interface Res {
  obj: KubeObject;
  prev: PrevId[];
  prefixes: string[];
  suffixes: string[];
  needsHash: boolean;
  behavior: "" | "create" | "merge" | "replace";
  refVarNames: string[];
  file: string;
  line?: number;
  origin?: Origin;
  transformations?: Origin[];
  /** How non-string annotation values were spelt in the resource's file (annotations.ts). */
  annotationTexts?: Record<string, AnnotationText>;
}

export interface ResId {
  group: string;
  version: string;
  kind: string;
  name: string;
  namespace: string;
  clusterScoped: boolean;
}

export const NON_NAMESPACEABLE = "_non_namespaceable_";

/**
 * Kinds Kustomize knows to be cluster-scoped (kyaml's precomputed table and its built-in Kubernetes 1.21 schema),
 * by apiVersion and kind: a kind it does not know is namespaced for Kustomize, whatever the cluster says.
 */
const CLUSTER_SCOPED = new Set(
  [
    "admissionregistration.k8s.io/v1 MutatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1beta1 MutatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1beta1 ValidatingWebhookConfiguration",
    "apiextensions.k8s.io/v1 CustomResourceDefinition",
    "apiextensions.k8s.io/v1beta1 CustomResourceDefinition",
    "apiregistration.k8s.io/v1 APIService",
    "apiregistration.k8s.io/v1beta1 APIService",
    "certificates.k8s.io/v1 CertificateSigningRequest",
    "certificates.k8s.io/v1beta1 CertificateSigningRequest",
    "flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema",
    "flowcontrol.apiserver.k8s.io/v1beta1 PriorityLevelConfiguration",
    "networking.k8s.io/v1 IngressClass",
    "networking.k8s.io/v1beta1 IngressClass",
    "node.k8s.io/v1 RuntimeClass",
    "node.k8s.io/v1beta1 RuntimeClass",
    "policy/v1beta1 PodSecurityPolicy",
    "rbac.authorization.k8s.io/v1 ClusterRole",
    "rbac.authorization.k8s.io/v1 ClusterRoleBinding",
    "rbac.authorization.k8s.io/v1beta1 ClusterRole",
    "rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding",
    "scheduling.k8s.io/v1 PriorityClass",
    "scheduling.k8s.io/v1beta1 PriorityClass",
    "storage.k8s.io/v1 CSIDriver",
    "storage.k8s.io/v1 CSINode",
    "storage.k8s.io/v1 StorageClass",
    "storage.k8s.io/v1 VolumeAttachment",
    "storage.k8s.io/v1beta1 CSIDriver",
    "storage.k8s.io/v1beta1 CSINode",
    "storage.k8s.io/v1beta1 StorageClass",
    "storage.k8s.io/v1beta1 VolumeAttachment",
    "v1 ComponentStatus",
    "v1 Namespace",
    "v1 Node",
    "v1 NodeProxyOptions",
    "v1 PersistentVolume",
    "authentication.k8s.io/v1 TokenReview",
    "authentication.k8s.io/v1beta1 TokenReview",
    "authorization.k8s.io/v1 SelfSubjectAccessReview",
    "authorization.k8s.io/v1 SelfSubjectRulesReview",
    "authorization.k8s.io/v1 SubjectAccessReview",
    "authorization.k8s.io/v1beta1 SelfSubjectAccessReview",
    "authorization.k8s.io/v1beta1 SelfSubjectRulesReview",
    "authorization.k8s.io/v1beta1 SubjectAccessReview",
    "flowcontrol.apiserver.k8s.io/v1alpha1 FlowSchema",
    "flowcontrol.apiserver.k8s.io/v1alpha1 PriorityLevelConfiguration",
    "internal.apiserver.k8s.io/v1alpha1 StorageVersion",
    "node.k8s.io/v1alpha1 RuntimeClass",
    "rbac.authorization.k8s.io/v1alpha1 ClusterRole",
    "rbac.authorization.k8s.io/v1alpha1 ClusterRoleBinding",
    "scheduling.k8s.io/v1alpha1 PriorityClass",
    "storage.k8s.io/v1alpha1 VolumeAttachment",
  ],
);

/** Whether Kustomize treats the kind as cluster-scoped; `scope` (the caller's knowledge) decides unknown kinds. */
const scopeCache = new WeakMap<ScopeResolver, Map<string, boolean>>();

export function kustomizeClusterScoped(apiVersion: string, kind: string, scope?: ScopeResolver): boolean {
  const key = `${apiVersion} ${kind}`;
  if (CLUSTER_SCOPED.has(key)) return true;
  if (!scope) return false;
  let cache = scopeCache.get(scope);
  if (!cache) scopeCache.set(scope, (cache = new Map()));
  let answer = cache.get(key);
  if (answer === undefined) cache.set(key, (answer = scope(groupOf(apiVersion), kind) === true));
  return answer;
}

/** A string that is equal for two ids exactly when Kustomize's ResId.Equals holds. */
export function idKey(id: ResId): string {
  return `${effectiveNs(id)}|${id.group}|${id.version}|${id.kind}|${id.name}`;
}

/** The first of `added` whose current id equals that of one in `existing` or earlier in `added`, with that one. */
export function idConflict(existing: Res[], added: Res[], scope?: ScopeResolver): { id: ResId; first: Res; second: Res } | undefined {
  const seen = new Map<string, Res>();
  for (const x of existing) seen.set(idKey(curId(x, scope)), x);
  for (const r of added) {
    const id = curId(r, scope);
    const key = idKey(id);
    const first = seen.get(key);
    if (first) return { id, first, second: r };
    seen.set(key, r);
  }
  return undefined;
}

export function apiVersionOf(o: JsonMap): string {
  return typeof o.apiVersion === "string" ? o.apiVersion : "";
}

export function curId(r: Res, scope?: ScopeResolver): ResId {
  const av = apiVersionOf(r.obj);
  const md: JsonMap = isMap(r.obj.metadata) ? r.obj.metadata : {};
  const [group, version] = splitApiVersion(av);
  return {
    group,
    version,
    kind: typeof r.obj.kind === "string" ? r.obj.kind : "",
    name: typeof md.name === "string" ? md.name : "",
    namespace: typeof md.namespace === "string" ? md.namespace : "",
    clusterScoped: kustomizeClusterScoped(av, typeof r.obj.kind === "string" ? r.obj.kind : "", scope),
  };
}

/** Previous ids: kinds, names and namespaces recorded, with the current group and version (as Kustomize does). */
export function prevIds(r: Res): ResId[] {
  if (r.prev.length === 0) return [];
  const [group, version] = splitApiVersion(apiVersionOf(r.obj));
  return r.prev.map((p) => ({ group, version, kind: p.kind, name: p.name, namespace: p.ns, clusterScoped: false }));
}

export function allIds(r: Res, scope?: ScopeResolver): ResId[] {
  return [...prevIds(r), curId(r, scope)];
}

export function orgId(r: Res, scope?: ScopeResolver): ResId {
  return r.prev.length > 0 ? prevIds(r)[0]! : curId(r, scope);
}

export function effectiveNs(id: ResId): string {
  if (id.clusterScoped) return NON_NAMESPACEABLE;
  if (id.namespace === "" || id.namespace === "default") return "default";
  return id.namespace;
}

export function idEquals(a: ResId, b: ResId): boolean {
  return effectiveNs(a) === effectiveNs(b) && gvknEquals(a, b);
}

export function gvknEquals(a: ResId, b: ResId): boolean {
  return a.name === b.name && a.group === b.group && a.version === b.version && a.kind === b.kind;
}

export function idSelected(id: ResId, sel: Gvk): boolean {
  return gvkSelected(id.group, id.version, id.kind, sel);
}

export function storePreviousId(r: Res, scope?: ScopeResolver): void {
  const id = curId(r, scope);
  r.prev.push({ kind: id.kind, name: id.name, ns: effectiveNs(id) });
}

export function idString(id: ResId): string {
  return `${id.kind || "[noKind]"}.${id.version || "[noVer]"}.${id.group || "[noGrp]"}/${id.name || "[noName]"}.${id.namespace || "[noNs]"}`;
}

export function describeRes(r: Res): string {
  const md: JsonMap = isMap(r.obj.metadata) ? r.obj.metadata : {};
  return `${String(r.obj.kind)} ${md.namespace ? `${String(md.namespace)}/` : ""}${String(md.name)}`;
}

export function newRes(obj: KubeObject, file: string, line?: number): Res {
  return { obj, prev: [], prefixes: [], suffixes: [], needsHash: false, behavior: "", refVarNames: [], file, line };
}

/** Kustomize's requirements on a resource: a map with a kind and (unless it is a List) metadata.name. */
export function checkResource(obj: unknown, file: string, line?: number): asserts obj is KubeObject {
  if (!isMap(obj)) throw new RenderError("a resource must be a map", { file, line });
  if (typeof obj.kind !== "string" || obj.kind === "") throw new RenderError("missing kind in object (every resource needs kind and metadata.name)", { file, line });
  // Kustomize passes any apiVersion through (`apiVersion: 1` comes out as it went in); no API server accepts one that
  // is not a string, so it is refused here, where the file and line are known. A missing one is kept (see post.ts).
  if (obj.apiVersion !== undefined && typeof obj.apiVersion !== "string") {
    throw new RenderError(`apiVersion must be a string, not ${JSON.stringify(obj.apiVersion)} (quote it, or leave the field out)`, { file, line });
  }
  const md = obj.metadata;
  if (!isMap(md) || typeof md.name !== "string" || md.name === "") {
    throw new RenderError(`missing metadata.name in ${obj.kind} object (every resource needs kind and metadata.name)`, { file, line });
  }
  if (md.namespace !== undefined && md.namespace !== null && typeof md.namespace !== "string") throw new RenderError("metadata.namespace must be a string", { file, line });
}

export function cloneRes(r: Res): Res {
  return {
    ...r,
    obj: structuredClone(r.obj),
    prev: r.prev.map((p) => ({ ...p })),
    prefixes: [...r.prefixes],
    suffixes: [...r.suffixes],
    refVarNames: [...r.refVarNames],
    transformations: r.transformations ? [...r.transformations] : undefined,
  };
}
