// Kind descriptors: what the runtime needs to know to list, watch and write a kind.
// (The runtime library grows around this file; src/api describes Mooring's own kinds with the same shape.)
export interface KindDescriptor {
  group: string; // "" for the core group
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export function apiVersionOf(k: KindDescriptor): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}

/** "group/Kind" (core kinds: "Kind"), the identity of a kind regardless of version. */
export function groupKindOf(k: Pick<KindDescriptor, "group" | "kind">): string {
  return k.group ? `${k.group}/${k.kind}` : k.kind;
}

/** Splits an apiVersion ("apps/v1", "v1") into group and version. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** The API path of a kind's collection (optionally in a namespace) or of one object. */
export function resourcePath(k: KindDescriptor, namespace?: string, name?: string, subresource?: string): string {
  const prefix = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  if (!k.namespaced && namespace) throw new Error(`${k.kind} is cluster-scoped; do not give it a namespace ("${namespace}")`);
  if (k.namespaced && name !== undefined && !namespace) throw new Error(`${k.kind} "${name}" is namespaced; give its namespace`);
  let p = prefix + (k.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "") + `/${k.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

const core = (kind: string, plural: string, namespaced = true): KindDescriptor => ({ group: "", version: "v1", kind, plural, namespaced });

/** Descriptors of the built-in kinds the runtime and Mooring use most. Other kinds: RestMapper. */
export const Kinds = {
  ConfigMap: core("ConfigMap", "configmaps"),
  Secret: core("Secret", "secrets"),
  Service: core("Service", "services"),
  ServiceAccount: core("ServiceAccount", "serviceaccounts"),
  Pod: core("Pod", "pods"),
  Namespace: core("Namespace", "namespaces", false),
  Node: core("Node", "nodes", false),
  Event: core("Event", "events"),
  Deployment: { group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true },
  StatefulSet: { group: "apps", version: "v1", kind: "StatefulSet", plural: "statefulsets", namespaced: true },
  DaemonSet: { group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets", namespaced: true },
  ReplicaSet: { group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", namespaced: true },
  Job: { group: "batch", version: "v1", kind: "Job", plural: "jobs", namespaced: true },
  Lease: { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true },
  EventV1: { group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true },
  CustomResourceDefinition: { group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", plural: "customresourcedefinitions", namespaced: false },
  Role: { group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true },
  RoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true },
  ClusterRole: { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false },
  ClusterRoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false },
} as const satisfies Record<string, KindDescriptor>;

/** The minimal object shape the runtime relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  managedFields?: unknown[];
  [field: string]: unknown;
}

/** "namespace/name" for namespaced objects, "name" for cluster-scoped ones: the cache and queue key. */
export function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? "");
}
