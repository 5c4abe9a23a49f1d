// Apply order. Objects go in phases, each applied only after the previous one succeeded:
//   0  Namespaces and CustomResourceDefinitions (the controller then waits for CRDs to be Established),
//   1  other cluster-scoped objects (ClusterRoles, StorageClasses, PriorityClasses, ...),
//   2  namespaced objects, in dependency order (ServiceAccounts, Secrets, ConfigMaps before workloads),
//   3  admission webhooks and APIServices last, so a webhook whose backend is in this very render does not
//      block the objects it would intercept (the order Flux and Helm use).
// Within a phase, kinds keep the weights below (the Kustomize/Flux legacy order); unknown kinds come after known
// ones, then objects sort by namespace and name, so the order is deterministic.
import { parseApiVersion } from "../runtime/kinds.js";

export type Phase = 0 | 1 | 2 | 3;

const FIRST = new Set(["Namespace", "CustomResourceDefinition"]);
const LAST = new Set(["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "APIService"]);

/** Weights within a phase (lower first). Namespaced ones follow what the workloads need first. */
const KIND_ORDER = [
  "Namespace",
  "CustomResourceDefinition",
  "PriorityClass",
  "StorageClass",
  "PersistentVolume",
  "ClusterRole",
  "ClusterRoleBinding",
  "IngressClass",
  "RuntimeClass",
  "ResourceQuota",
  "LimitRange",
  "NetworkPolicy",
  "ServiceAccount",
  "Role",
  "RoleBinding",
  "Secret",
  "ConfigMap",
  "PersistentVolumeClaim",
  "Service",
  "Endpoints",
  "EndpointSlice",
  "PodDisruptionBudget",
  "Pod",
  "ReplicaSet",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "Job",
  "CronJob",
  "HorizontalPodAutoscaler",
  "Ingress",
  "APIService",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
];
const WEIGHT = new Map(KIND_ORDER.map((k, i) => [k, i]));

export interface Orderable {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The phase of an object. `namespaced` says whether its kind is namespaced (from the REST mapper). */
export function phaseOf(obj: Orderable, namespaced: boolean): Phase {
  const kind = str(obj.kind);
  const group = parseApiVersion(str(obj.apiVersion)).group;
  if (FIRST.has(kind) && (group === "" || group === "apiextensions.k8s.io")) return 0;
  if (LAST.has(kind)) return 3;
  return namespaced ? 2 : 1;
}

function weight(kind: string): number {
  return WEIGHT.get(kind) ?? KIND_ORDER.length;
}

/**
 * Returns the objects grouped into phases, each phase sorted. `isNamespaced(obj)` tells the scope; objects it
 * cannot tell about (a custom resource whose CRD is in this render) count as namespaced when they carry a namespace.
 */
export function orderObjects<T extends Orderable>(objects: readonly T[], isNamespaced: (obj: T) => boolean | undefined): T[][] {
  const phases: T[][] = [[], [], [], []];
  for (const o of objects) {
    const ns = isNamespaced(o) ?? str(o.metadata?.namespace) !== "";
    phases[phaseOf(o, ns)]!.push(o);
  }
  for (const p of phases) p.sort(compareObjects);
  return phases;
}

export function compareObjects(a: Orderable, b: Orderable): number {
  const ka = str(a.kind);
  const kb = str(b.kind);
  const w = weight(ka) - weight(kb);
  if (w !== 0) return w;
  const keys: [string, string][] = [
    [ka, kb],
    [parseApiVersion(str(a.apiVersion)).group, parseApiVersion(str(b.apiVersion)).group],
    [str(a.metadata?.namespace), str(b.metadata?.namespace)],
    [str(a.metadata?.name), str(b.metadata?.name)],
  ];
  for (const [x, y] of keys) if (x !== y) return x < y ? -1 : 1;
  return 0;
}

/**
 * Splits a sorted phase into consecutive runs of the same kind weight: objects in a run do not depend on each
 * other and may be applied concurrently; runs go one after another.
 */
export function runsOf<T extends Orderable>(sorted: readonly T[]): T[][] {
  const runs: T[][] = [];
  let last: number | undefined;
  for (const o of sorted) {
    const w = weight(str(o.kind));
    if (w !== last || w === KIND_ORDER.length) {
      // Unknown kinds are each their own run only when the kind changes.
      const prev = runs[runs.length - 1];
      if (w === KIND_ORDER.length && last === w && prev && str(prev[0]!.kind) === str(o.kind)) {
        prev.push(o);
        continue;
      }
      runs.push([o]);
      last = w;
    } else runs[runs.length - 1]!.push(o);
  }
  return runs;
}
