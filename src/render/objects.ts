// The object model every renderer returns: plain JSON-compatible Kubernetes objects.

export type JsonMap = { [key: string]: unknown };

export interface KubeObject extends JsonMap {
  apiVersion: string;
  kind: string;
  metadata: JsonMap & { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

export function isMap(v: unknown): v is JsonMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** `apps/v1` → `apps`; `v1` → "" (the core group). */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}

export function versionOf(apiVersion: string): string {
  const i = apiVersion.indexOf("/");
  return i < 0 ? apiVersion : apiVersion.slice(i + 1);
}

/** Identity used for duplicate detection: group, kind, namespace, name (version does not matter). */
export function objectKey(o: { apiVersion?: unknown; kind?: unknown; metadata?: unknown }): string {
  const md = isMap(o.metadata) ? o.metadata : {};
  return `${groupOf(String(o.apiVersion ?? ""))}|${String(o.kind ?? "")}|${String(md.namespace ?? "")}|${String(md.name ?? "")}`;
}

export function describe(o: { apiVersion?: unknown; kind?: unknown; metadata?: unknown }): string {
  const md = isMap(o.metadata) ? o.metadata : {};
  const ns = md.namespace ? `${String(md.namespace)}/` : "";
  return `${String(o.kind ?? "?")} ${ns}${String(md.name ?? "?")}`;
}

/** Built-in cluster-scoped kinds (group|kind), so namespace setting leaves them alone. */
const CLUSTER_SCOPED = new Set([
  "|Namespace",
  "|Node",
  "|PersistentVolume",
  "|ComponentStatus",
  "rbac.authorization.k8s.io|ClusterRole",
  "rbac.authorization.k8s.io|ClusterRoleBinding",
  "apiextensions.k8s.io|CustomResourceDefinition",
  "apiregistration.k8s.io|APIService",
  "storage.k8s.io|StorageClass",
  "storage.k8s.io|CSIDriver",
  "storage.k8s.io|CSINode",
  "storage.k8s.io|VolumeAttachment",
  "scheduling.k8s.io|PriorityClass",
  "admissionregistration.k8s.io|MutatingWebhookConfiguration",
  "admissionregistration.k8s.io|ValidatingWebhookConfiguration",
  "admissionregistration.k8s.io|ValidatingAdmissionPolicy",
  "admissionregistration.k8s.io|ValidatingAdmissionPolicyBinding",
  "networking.k8s.io|IngressClass",
  "networking.k8s.io|IPAddress",
  "networking.k8s.io|ServiceCIDR",
  "node.k8s.io|RuntimeClass",
  "policy|PodSecurityPolicy",
  "certificates.k8s.io|CertificateSigningRequest",
  "certificates.k8s.io|ClusterTrustBundle",
  "flowcontrol.apiserver.k8s.io|FlowSchema",
  "flowcontrol.apiserver.k8s.io|PriorityLevelConfiguration",
  "resource.k8s.io|DeviceClass",
  "authentication.k8s.io|TokenReview",
  "authentication.k8s.io|SelfSubjectReview",
  "authorization.k8s.io|SubjectAccessReview",
  "authorization.k8s.io|SelfSubjectAccessReview",
  "authorization.k8s.io|SelfSubjectRulesReview",
]);

/** Decides whether a kind is cluster-scoped; callers may supply one that knows CRDs. */
export type ScopeResolver = (group: string, kind: string) => boolean | undefined;

export function isClusterScoped(apiVersion: string, kind: string, resolver?: ScopeResolver): boolean {
  const group = groupOf(apiVersion);
  const answer = resolver?.(group, kind);
  if (answer !== undefined) return answer;
  return CLUSTER_SCOPED.has(`${group}|${kind}`);
}

export interface Origin {
  file: string;
  line?: number;
}

// Where each object came from, for error messages; a WeakMap so objects stay plain JSON.
const origins = new WeakMap<object, Origin>();

export function setOrigin(obj: object, origin: Origin): void {
  origins.set(obj, origin);
}

export function originOf(obj: object): Origin | undefined {
  return origins.get(obj);
}
