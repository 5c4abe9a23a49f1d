// Names that are part of Mooring's API contract: groups, annotations, labels, finalizers, field managers,
// condition types and reasons. Controllers, the CLI and the chart import them from here so that a rename
// is one edit, and so that documentation (docs/api.md) and code cannot drift apart.

export const SOURCE_GROUP = "source.mooring.dev";
export const DELIVERY_GROUP = "delivery.mooring.dev";
export const NOTIFICATION_GROUP = "notification.mooring.dev";
export const API_VERSION = "v1alpha1";
/** `kubectl get mooring` lists every Mooring kind. */
export const CATEGORY = "mooring";

export const Annotations = {
  /** Any new value makes every controller handle the object now (compared for equality, never parsed). */
  reconcileRequestedAt: "mooring.dev/reconcile-requested-at",
  /** Any new value asks for a manual sync of an Application: honoured when automation is off, or a window is closed but allows manual syncs. */
  syncRequestedAt: "delivery.mooring.dev/sync-requested-at",
  /**
   * Asks for a rollback of an Application to a kept history entry, and holds automation while it is present (JSON:
   * requestedAt, digest, id, revision, until "resume" | "newRevision"; written by `mooring rollback`, removed by
   * `mooring resume`). The apply controller does the rollback and reports it in status.rollback and RolledBack.
   */
  rollback: "delivery.mooring.dev/rollback",
  /** On every object Mooring applies: `<namespace>/<name>` of the owning Application (the label may be shortened). */
  applicationRef: "delivery.mooring.dev/application-ref",
} as const;

export const Labels = {
  /**
   * Set on every object Mooring applies: `<namespace>.<name>` of the owning Application, or, past the 63 characters a
   * label value may hold, a prefix of it and a hash (src/api/ownership.ts). The full identity is in the annotation.
   */
  application: "delivery.mooring.dev/application",
  /** The standard label; Mooring sets it to `mooring` on what it applies. */
  managedBy: "app.kubernetes.io/managed-by",
} as const;

/** The value of app.kubernetes.io/managed-by on objects Mooring applies. */
export const MANAGED_BY_VALUE = "mooring";

export const Finalizers = {
  gitRepository: "source.mooring.dev/finalizer",
  application: "delivery.mooring.dev/finalizer",
} as const;

/**
 * Server-side apply field managers. Each controller writes only the part of an object it owns, under its own
 * manager, so two controllers never overwrite each other's fields (conditions are a list-map keyed by `type`).
 */
export const FieldManagers = {
  /** GitRepository status (fetch, artifact). */
  source: "mooring-source",
  /** Application status.source, status.render and the SourceReady/Rendered conditions. */
  render: "mooring-render",
  /** Application status.sync, status.health, status.history, status.rollback and the Synced/Healthy/Ready/RolledBack conditions. */
  sync: "mooring-sync",
  /** SyncPolicy status. */
  policy: "mooring-policy",
  /** Provider and Alert status (the notify controller). */
  notify: "mooring-notify",
  /** The objects an Application applies to the cluster. */
  apply: "mooring",
  /** Writes made by the `mooring` CLI (annotations that request a reconcile or sync). */
  cli: "mooring-cli",
  /** Installing the CRDs themselves. */
  crds: "mooring-crds",
} as const;

/** Condition types (the `type` of entries in status.conditions). */
export const ConditionTypes = {
  ready: "Ready",
  reconciling: "Reconciling",
  stalled: "Stalled",
  // GitRepository
  artifactInStorage: "ArtifactInStorage",
  fetchFailed: "FetchFailed",
  // Application
  sourceReady: "SourceReady",
  rendered: "Rendered",
  synced: "Synced",
  healthy: "Healthy",
  // Application: True while a rollback holds automation (delivery.mooring.dev/rollback).
  rolledBack: "RolledBack",
  // SyncPolicy: True while syncs are allowed now (no windows, inside an allow window, outside every deny window).
  windowOpen: "WindowOpen",
  // Provider, Alert: whether the last notification went out (False while retrying or after giving up).
  delivered: "Delivered",
} as const;
export type ConditionType = (typeof ConditionTypes)[keyof typeof ConditionTypes];

/** Condition reasons: CamelCase words a human or a script can match on. */
export const Reasons = {
  succeeded: "Succeeded",
  failed: "Failed",
  progressing: "Progressing",
  progressingWithRetry: "ProgressingWithRetry",
  suspended: "Suspended",
  invalidSpec: "InvalidSpec",
  // GitRepository
  gitOperationFailed: "GitOperationFailed",
  authenticationFailed: "AuthenticationFailed",
  refNotFound: "RefNotFound",
  artifactStored: "ArtifactStored",
  storageOperationFailed: "StorageOperationFailed",
  // Application
  sourceNotFound: "SourceNotFound",
  sourceNotReady: "SourceNotReady",
  dependencyNotReady: "DependencyNotReady",
  renderFailed: "RenderFailed",
  syncFailed: "SyncFailed",
  pruneFailed: "PruneFailed",
  outOfSync: "OutOfSync",
  syncWindowClosed: "SyncWindowClosed",
  healthCheckFailed: "HealthCheckFailed",
  healthCheckTimeout: "HealthCheckTimeout",
  syncPolicyNotFound: "SyncPolicyNotFound",
  crossNamespaceRefForbidden: "CrossNamespaceRefForbidden",
  /** A spec.healthCheckExprs rule does not compile. */
  healthRuleInvalid: "HealthRuleInvalid",
  artifactFetchFailed: "ArtifactFetchFailed",
  artifactInvalid: "ArtifactInvalid",
  valuesNotFound: "ValuesNotFound",
  watchFailed: "WatchFailed",
  /** spec.kubeConfig: the remote cluster's API server does not answer (retried; other Applications carry on). */
  clusterUnreachable: "ClusterUnreachable",
  /** spec.kubeConfig: the Secret or its key is missing (Stalled until it is created). */
  kubeConfigNotFound: "KubeConfigNotFound",
  /** spec.kubeConfig: the kubeconfig cannot be read or uses what is refused (file paths, exec, auth-provider). */
  kubeConfigInvalid: "KubeConfigInvalid",
  rolledBack: "RolledBack",
  rollbackFailed: "RollbackFailed",
  rollbackReleased: "RollbackReleased",
  // SyncPolicy windows
  noWindows: "NoWindows",
  inAllowWindow: "InAllowWindow",
  inDenyWindow: "InDenyWindow",
  outsideAllowWindows: "OutsideAllowWindows",
  outsideDenyWindows: "OutsideDenyWindows",
  // Provider and Alert
  providerNotFound: "ProviderNotFound",
  providerNotReady: "ProviderNotReady",
  secretNotFound: "SecretNotFound",
  secretInvalid: "SecretInvalid",
  invalidAddress: "InvalidAddress",
  delivered: "Delivered",
  deliveryRetrying: "DeliveryRetrying",
  deliveryFailed: "DeliveryFailed",
  noEvents: "NoEvents",
} as const;
export type Reason = (typeof Reasons)[keyof typeof Reasons];

/** Sync attempts kept in Application.status.history (and rendered artifacts kept for them) unless spec.historyLimit says otherwise. */
export const HISTORY_LIMIT = 10;
/** The most spec.historyLimit may be (each entry is part of the status object, and keeps a rendered artifact on disk). */
export const MAX_HISTORY_LIMIT = 50;
