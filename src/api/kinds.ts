// Kind descriptors for Mooring's own kinds, in the runtime's shape (src/runtime/kinds.ts), so controllers
// list, watch and write them like any other kind.
import type { KindDescriptor } from "../runtime/kinds.js";
import { API_VERSION, DELIVERY_GROUP, NOTIFICATION_GROUP, SOURCE_GROUP } from "./constants.js";

export const GitRepositoryKind: KindDescriptor = { group: SOURCE_GROUP, version: API_VERSION, kind: "GitRepository", plural: "gitrepositories", namespaced: true };
export const ApplicationKind: KindDescriptor = { group: DELIVERY_GROUP, version: API_VERSION, kind: "Application", plural: "applications", namespaced: true };
export const SyncPolicyKind: KindDescriptor = { group: DELIVERY_GROUP, version: API_VERSION, kind: "SyncPolicy", plural: "syncpolicies", namespaced: true };

export const HelmRepositoryKind: KindDescriptor = { group: SOURCE_GROUP, version: API_VERSION, kind: "HelmRepository", plural: "helmrepositories", namespaced: true };
export const HelmChartKind: KindDescriptor = { group: SOURCE_GROUP, version: API_VERSION, kind: "HelmChart", plural: "helmcharts", namespaced: true };

export const ProviderKind: KindDescriptor = { group: NOTIFICATION_GROUP, version: API_VERSION, kind: "Provider", plural: "providers", namespaced: true };
export const AlertKind: KindDescriptor = { group: NOTIFICATION_GROUP, version: API_VERSION, kind: "Alert", plural: "alerts", namespaced: true };

/** Every kind Mooring defines, in the order the CRDs are documented. */
export const MOORING_KINDS: readonly KindDescriptor[] = [GitRepositoryKind, ApplicationKind, SyncPolicyKind, HelmRepositoryKind, HelmChartKind, ProviderKind, AlertKind];

/** The descriptor for an apiVersion/kind pair, or undefined when it is not a Mooring kind. */
export function mooringKindOf(apiVersion: unknown, kind: unknown): KindDescriptor | undefined {
  return MOORING_KINDS.find((k) => `${k.group}/${k.version}` === apiVersion && k.kind === kind);
}
