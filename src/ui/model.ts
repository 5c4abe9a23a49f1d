// The shapes the UI's server sends and its browser code reads: one module both sides import, so a field renamed on
// one side fails the other's type check. Plain data only (no Node or DOM types).

export type SyncState = "Synced" | "OutOfSync" | "Unknown";
export type HealthState = "Healthy" | "Progressing" | "Degraded" | "Suspended" | "Missing" | "Unknown";

export interface ConditionView {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** One row of the Applications page. */
export interface AppSummary {
  /** namespace/name */
  key: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  sync: SyncState;
  health: HealthState;
  /** The Ready condition's status: True, False or Unknown. */
  ready: string;
  /** Ready's message, Stalled's when stalled; "suspended" first when suspended. */
  message: string;
  /** Revision last synced (status.sync.revision), e.g. main@sha1:… */
  revision: string;
  /** The synced commit's subject (first line of its message) and author, when the controllers recorded them. */
  commitSubject: string;
  commitAuthor: string;
  /** Revision the last render used (status.source.revision): ahead of `revision` while a sync is pending. */
  renderedRevision: string;
  /** When the last sync finished (history), else when objects were last applied. */
  lastSyncAt: string;
  /** The last sync's outcome and message (the newest history entry). */
  lastSyncPhase: string;
  lastSyncMessage: string;
  suspended: boolean;
  reconciling: boolean;
  stalled: boolean;
  source: string;
  syncPolicy: string;
  resourceVersion: string;
}

export interface HistoryView {
  /** The entry's sequence number (what a rollback names), 0 when the controller wrote none. */
  id: number;
  /** automated, manual, self-heal or rollback. */
  trigger: string;
  commitSubject: string;
  commitAuthor: string;
  /** A successful sync whose rendered manifests are kept: a rollback can re-apply it. */
  rollbackable: boolean;
  revision: string;
  phase: string;
  initiatedBy: string;
  startedAt: string;
  finishedAt: string;
  message: string;
}

export interface TreeNodeView {
  id: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  health: HealthState;
  message: string;
  drifted: boolean;
  /** Objects the node owns that are watched too (a Deployment's ReplicaSets and Pods): its live children. */
  children: TreeNodeView[];
}

export interface EventView {
  type: string;
  reason: string;
  message: string;
  count: number;
  lastSeen: string;
}

export interface WindowSegment {
  kind: "allow" | "deny";
  /** Index of the window in spec.windows. */
  index: number;
  start: string;
  end: string;
}

export interface WindowView {
  kind: "allow" | "deny";
  schedule: string;
  duration: string;
  timeZone: string;
  manualSync: boolean;
  description: string;
}

export interface PolicyView {
  key: string;
  namespace: string;
  name: string;
  automated: boolean;
  prune: boolean;
  selfHeal: boolean;
  windows: WindowView[];
  /** Whether automated / manual syncs may run now, and why (computed from the spec at the time of the answer). */
  automatedAllowed: boolean;
  manualAllowed: boolean;
  stateMessage: string;
  nextChange: string;
  /** Each window's open periods from `from` to `to` (the timeline). */
  segments: WindowSegment[];
  from: string;
  to: string;
  ready: string;
  readyMessage: string;
  applications: number;
  /** Set when the windows cannot be evaluated. */
  error: string;
}

export interface SourceView {
  key: string;
  kind: "GitRepository" | "HelmRepository" | "HelmChart";
  namespace: string;
  name: string;
  url: string;
  ref: string;
  revision: string;
  /** When the artifact (or index) was last stored. */
  lastFetch: string;
  artifact: string;
  ready: string;
  message: string;
  suspended: boolean;
  /** Applications whose sourceRef names this source. */
  applications: string[];
}

export interface DependencyView {
  key: string;
  ready: string;
  message: string;
  /** False when the Application does not exist (in the UI's view). */
  exists: boolean;
}

export interface AppDetail {
  summary: AppSummary;
  /** Held by a rollback (the delivery.mooring.dev/rollback annotation is set): Resume ends the hold. */
  held: boolean;
  spec: { path: string; targetNamespace: string; serviceAccountName: string; interval: string; renderType: string };
  conditions: ConditionView[];
  history: HistoryView[];
  tree: TreeNodeView[];
  events: EventView[];
  window: { policy: string; automatedAllowed: boolean; manualAllowed: boolean; message: string; nextChange: string } | undefined;
  dependsOn: DependencyView[];
  dependents: string[];
  source: SourceView | undefined;
  /** status.rollback: what the Application is rolled back to, and whether automation is held. */
  rollback: { phase: string; id: number; revision: string; message: string } | undefined;
}

export interface DiffView {
  id: string;
  change: "created" | "changed" | "pruned" | "unchanged" | "error";
  patch: string;
  note: string;
  message: string;
}

export interface WhoAmI {
  user: string;
  groups: string[];
  /** How the user was identified: local (the kubeconfig), token (TokenReview), proxy (a trusted proxy's header). */
  mode: "local" | "token" | "proxy";
  readOnly: boolean;
  /** Set when the user must sign in first (token mode without a session). */
  signInRequired: boolean;
}

/** A problem of the server's view (an informer that cannot list its kind, say): shown as a banner. */
export interface Problem {
  what: string;
  message: string;
}

/** What the server streams (Server-Sent Events). The first message of a stream is a snapshot. */
export type StreamMessage =
  | {
      type: "snapshot";
      /** This stream's id: a detail request naming it makes the server watch that Application's objects for it. */
      stream: string;
      apps: AppSummary[];
      sources: SourceView[];
      policies: PolicyView[];
      problems: Problem[];
    }
  | {
      type: "changes";
      apps: AppSummary[];
      appsDeleted: string[];
      sources: SourceView[];
      sourcesDeleted: string[];
      policies: PolicyView[];
      policiesDeleted: string[];
      /** Applications whose detail (tree, events, history) changed: an open detail page reloads it. */
      details: string[];
      problems: Problem[] | undefined;
    };

export type ActionName = "sync" | "reconcile" | "suspend" | "resume" | "rollback";
export const ACTIONS: readonly ActionName[] = ["sync", "reconcile", "suspend", "resume", "rollback"];

export interface ActionResult {
  ok: boolean;
  message: string;
}
