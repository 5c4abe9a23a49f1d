// Where Kustomize's transformers write: field specs (a path plus the kinds it applies to), as in Kustomize's
// built-in configuration. Paths traverse lists implicitly, like Kustomize's.
import { groupOf, isMap, versionOf, type JsonMap } from "../objects.js";

export interface FieldSpec {
  path: string;
  kind?: string;
  group?: string;
  version?: string;
  create?: boolean;
}

export function specApplies(fs: FieldSpec, apiVersion: string, kind: string): boolean {
  if (fs.kind !== undefined && fs.kind !== kind) return false;
  if (fs.group !== undefined && fs.group !== groupOf(apiVersion)) return false;
  if (fs.version !== undefined && fs.version !== versionOf(apiVersion)) return false;
  return true;
}

/** Calls `visit(parent, key)` for every value at `path` (segments separated by "/", "[]" marks a list). */
export function walkPath(obj: JsonMap, path: string, create: boolean, visit: (parent: JsonMap, key: string) => void): void {
  const segs = splitPath(path);
  const rec = (node: unknown, i: number): void => {
    if (Array.isArray(node)) {
      for (const el of node) rec(el, i);
      return;
    }
    if (!isMap(node)) return;
    const seg = segs[i]!;
    if (i === segs.length - 1) {
      if (node[seg] !== undefined || create) visit(node, seg);
      return;
    }
    if (node[seg] === undefined || node[seg] === null) {
      if (!create) return;
      node[seg] = {};
    }
    rec(node[seg], i + 1);
  };
  rec(obj, 0);
}

function splitPath(path: string): string[] {
  // "a/b\/c" keeps escaped slashes inside a segment (annotation keys).
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === "\\" && path[i + 1] === "/") {
      cur += "/";
      i++;
    } else if (c === "/") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.replace(/\[\]$/, ""));
}

const WORKLOADS_TEMPLATE: [string, string | undefined][] = [
  ["ReplicationController", undefined],
  ["Deployment", undefined],
  ["ReplicaSet", undefined],
  ["DaemonSet", undefined],
  ["StatefulSet", "apps"],
  ["Job", "batch"],
];

/** Labels on pod templates (Kustomize's `includeTemplates` set, also part of commonLabels). */
export const TEMPLATE_LABEL_SPECS: FieldSpec[] = [
  ...WORKLOADS_TEMPLATE.map(([kind, group]) => ({ path: "spec/template/metadata/labels", kind, group, create: true })),
  { path: "spec/volumeClaimTemplates[]/metadata/labels", kind: "StatefulSet", group: "apps", create: true },
  { path: "spec/jobTemplate/metadata/labels", kind: "CronJob", group: "batch", create: true },
  { path: "spec/jobTemplate/spec/template/metadata/labels", kind: "CronJob", group: "batch", create: true },
];

const AFFINITY_PATHS = [
  "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
  "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
  "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
  "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
  "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
];

/** Selectors (commonLabels, and `labels` with includeSelectors). */
export const SELECTOR_LABEL_SPECS: FieldSpec[] = [
  { path: "spec/selector", kind: "Service", version: "v1", create: true },
  { path: "spec/selector", kind: "ReplicationController", version: "v1", create: true },
  { path: "spec/selector/matchLabels", kind: "Deployment", create: true },
  ...AFFINITY_PATHS.map((path) => ({ path, kind: "Deployment", group: "apps" })),
  { path: "spec/selector/matchLabels", kind: "ReplicaSet", create: true },
  { path: "spec/selector/matchLabels", kind: "DaemonSet", create: true },
  { path: "spec/selector/matchLabels", kind: "StatefulSet", group: "apps", create: true },
  ...AFFINITY_PATHS.map((path) => ({ path, kind: "StatefulSet", group: "apps" })),
  { path: "spec/selector/matchLabels", kind: "Job", group: "batch" },
  { path: "spec/jobTemplate/spec/selector/matchLabels", kind: "CronJob", group: "batch" },
  { path: "spec/selector/matchLabels", kind: "PodDisruptionBudget", group: "policy" },
  { path: "spec/podSelector/matchLabels", kind: "NetworkPolicy", group: "networking.k8s.io" },
  { path: "spec/ingress/from/podSelector/matchLabels", kind: "NetworkPolicy", group: "networking.k8s.io" },
  { path: "spec/egress/to/podSelector/matchLabels", kind: "NetworkPolicy", group: "networking.k8s.io" },
];

export const METADATA_LABEL_SPECS: FieldSpec[] = [{ path: "metadata/labels", create: true }];

export const ANNOTATION_SPECS: FieldSpec[] = [
  { path: "metadata/annotations", create: true },
  ...WORKLOADS_TEMPLATE.map(([kind, group]) => ({ path: "spec/template/metadata/annotations", kind, group, create: true })),
  { path: "spec/jobTemplate/metadata/annotations", kind: "CronJob", group: "batch", create: true },
  { path: "spec/jobTemplate/spec/template/metadata/annotations", kind: "CronJob", group: "batch", create: true },
];

// ---- name references -------------------------------------------------------------------------------------------

export interface NameRefSpec {
  /** Kind (and group) of the object being referred to. */
  refKind: string;
  refGroup: string;
  /** Referrer kind, optional group, and the path of the name field. */
  kind: string;
  group?: string;
  path: string;
}

/** Where each kind of workload keeps its pod spec. */
const POD_SPEC_PATHS: [string, string][] = [
  ["Pod", "spec"],
  ["PodTemplate", "template/spec"],
  ["Deployment", "spec/template/spec"],
  ["ReplicaSet", "spec/template/spec"],
  ["DaemonSet", "spec/template/spec"],
  ["StatefulSet", "spec/template/spec"],
  ["Job", "spec/template/spec"],
  ["ReplicationController", "spec/template/spec"],
  ["CronJob", "spec/jobTemplate/spec/template/spec"],
];

function podRefs(refKind: string, refGroup: string, rels: string[]): NameRefSpec[] {
  return POD_SPEC_PATHS.flatMap(([kind, base]) => rels.map((rel) => ({ refKind, refGroup, kind, path: `${base}/${rel}` })));
}

const CONTAINER_SETS = ["containers", "initContainers"];

export const NAME_REF_SPECS: NameRefSpec[] = [
  ...["Deployment", "ReplicationController", "ReplicaSet", "StatefulSet"].map((refKind) => ({
    refKind,
    refGroup: refKind === "ReplicationController" ? "" : "apps",
    kind: "HorizontalPodAutoscaler",
    path: "spec/scaleTargetRef/name",
  })),
  ...podRefs("ConfigMap", "", [
    "volumes/configMap/name",
    "volumes/projected/sources/configMap/name",
    ...CONTAINER_SETS.flatMap((c) => [`${c}/env/valueFrom/configMapKeyRef/name`, `${c}/envFrom/configMapRef/name`]),
  ]),
  { refKind: "ConfigMap", refGroup: "", kind: "Role", path: "rules/resourceNames" },
  { refKind: "ConfigMap", refGroup: "", kind: "ClusterRole", path: "rules/resourceNames" },
  ...podRefs("Secret", "", [
    "volumes/secret/secretName",
    "volumes/projected/sources/secret/name",
    "imagePullSecrets/name",
    ...CONTAINER_SETS.flatMap((c) => [`${c}/env/valueFrom/secretKeyRef/name`, `${c}/envFrom/secretRef/name`]),
  ]),
  { refKind: "Secret", refGroup: "", kind: "Ingress", path: "spec/tls/secretName" },
  { refKind: "Secret", refGroup: "", kind: "ServiceAccount", path: "imagePullSecrets/name" },
  { refKind: "Secret", refGroup: "", kind: "Role", path: "rules/resourceNames" },
  { refKind: "Secret", refGroup: "", kind: "ClusterRole", path: "rules/resourceNames" },
  { refKind: "Service", refGroup: "", kind: "StatefulSet", group: "apps", path: "spec/serviceName" },
  { refKind: "Service", refGroup: "", kind: "Ingress", path: "spec/rules/http/paths/backend/service/name" },
  { refKind: "Service", refGroup: "", kind: "Ingress", path: "spec/defaultBackend/service/name" },
  { refKind: "Service", refGroup: "", kind: "Ingress", path: "spec/rules/http/paths/backend/serviceName" },
  { refKind: "Service", refGroup: "", kind: "Ingress", path: "spec/backend/serviceName" },
  { refKind: "Service", refGroup: "", kind: "APIService", path: "spec/service/name" },
  { refKind: "Service", refGroup: "", kind: "HTTPRoute", path: "spec/rules/backendRefs/name" },
  { refKind: "Role", refGroup: "rbac.authorization.k8s.io", kind: "RoleBinding", path: "roleRef/name" },
  { refKind: "ClusterRole", refGroup: "rbac.authorization.k8s.io", kind: "RoleBinding", path: "roleRef/name" },
  { refKind: "ClusterRole", refGroup: "rbac.authorization.k8s.io", kind: "ClusterRoleBinding", path: "roleRef/name" },
  ...POD_SPEC_PATHS.filter(([k]) => k !== "PodTemplate").map(([kind, base]) => ({
    refKind: "ServiceAccount",
    refGroup: "",
    kind,
    path: `${base}/serviceAccountName`,
  })),
  ...podRefs("PersistentVolumeClaim", "", ["volumes/persistentVolumeClaim/claimName"]),
  { refKind: "PersistentVolume", refGroup: "", kind: "PersistentVolumeClaim", path: "spec/volumeName" },
  { refKind: "StorageClass", refGroup: "storage.k8s.io", kind: "PersistentVolume", path: "spec/storageClassName" },
  { refKind: "StorageClass", refGroup: "storage.k8s.io", kind: "PersistentVolumeClaim", path: "spec/storageClassName" },
  { refKind: "StorageClass", refGroup: "storage.k8s.io", kind: "StatefulSet", path: "spec/volumeClaimTemplates/spec/storageClassName" },
  ...POD_SPEC_PATHS.filter(([k]) => k !== "PodTemplate").map(([kind, base]) => ({
    refKind: "PriorityClass",
    refGroup: "scheduling.k8s.io",
    kind,
    path: `${base}/priorityClassName`,
  })),
  // Kustomize lists IngressClass → Ingress spec/ingressClassName with group "networking.k8s.io/v1", which never
  // matches, so `kubectl kustomize` does not update it; neither do we.
];
