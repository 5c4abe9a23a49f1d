// Mooring's controller runtime: the public API. Everything an operator author needs is exported from here.
export { type Clock, FakeClock, realClock, sleep, untilAborted } from "./clock.js";
export { timeoutSignal } from "./timeout.js";
export { type RateLimiter, ExponentialFailureRateLimiter, BucketRateLimiter, MaxOfRateLimiter, TokenBucket, defaultControllerRateLimiter, type DefaultRateLimiterOptions } from "./ratelimit.js";
export { Priority, WorkQueue, type WorkQueueOptions, type WorkQueueMetrics, type QueueItem } from "./workqueue.js";
export { Backoff, type BackoffOptions, PollingBackoff, type PollingBackoffOptions, jittered } from "./backoff.js";
export {
  type KindDescriptor,
  type KubeObject,
  type ObjectMeta,
  type OwnerReference,
  Kinds,
  apiVersionOf,
  groupKindOf,
  parseApiVersion,
  resourcePath,
  objectKey,
} from "./kinds.js";
export {
  RestClient,
  type RestOptions,
  type RequestOptions,
  ApiError,
  type ApiStatus,
  isNotFound,
  isConflict,
  isAlreadyExists,
  isGone,
  isInvalid,
  isForbidden,
  isTransient,
  serviceAccountUser,
} from "./rest.js";
export { KubeConfig, type KubeCluster, type KubeUser, type KubeContext, type ExecConfig, type TlsOptions, type ExportableKubeConfig } from "./kubeconfig.js";
export { withRest, type Connection } from "./connect.js";
export { RestMapper, NoKindMatchError } from "./restmapper.js";
export { Store, type StoreChange, type IndexFunc, NamespaceIndex, OwnerIndex, byNamespace, byOwnerUid } from "./store.js";
export { Informer, type InformerOptions, type InformerStats, type EventHandler, type WatchState, type Transform, dropManagedFields } from "./informer.js";
export { Cache, type CacheEntry, type CacheOptions, type Selection } from "./cache.js";
export { Client, type ClientOptions, type PatchType, type WriteOptions, type ApplyOptions, type DeleteOptions, type ListOptions, type KindRef } from "./client.js";
export { LabelSelector, type LabelSelectorObject, type Requirement } from "./labels.js";
export {
  type Predicate,
  type EventType as PredicateEventType,
  admits,
  generationChanged,
  labelsChanged,
  annotationsChanged,
  annotationChanged,
  resourceVersionChanged,
  labelSelector,
  predicate,
  and,
  or,
  not,
} from "./predicates.js";
export { type Request, type Result, type ReconcileContext, type ReconcileFunc, type Reconciler, TerminalError, requestKey, requestFromKey } from "./reconcile.js";
export { Controller, type ControllerOptions, type MapFunc, type PriorityFunc, requestForObject, isTerminal } from "./controller.js";
export { ControllerBuilder, type ControllerHost, type SourceOptions, type OwnsOptions, type BuilderOptions, ownerRequests } from "./builder.js";
export { runtimeMetrics, type RuntimeMetrics } from "./metrics.js";
export { LeaderElector, type LeaderElectionOptions, LeaderElectionLostError, microTime } from "./leaderelection.js";
export { addLeaderLabel, type LeaderLabelOptions } from "./leaderlabel.js";
export { Manager, type ManagerOptions, type Runnable, type Check, shutdownSignal } from "./manager.js";
export { hasFinalizer, isDeleting, addFinalizer, removeFinalizer, withFinalizer, type FinalizerHandlers } from "./finalizers.js";
export { setOwnerReference, setControllerReference, controllerOf, isOwnedBy, AlreadyOwnedError } from "./owners.js";
export {
  type Condition,
  type ConditionStatus,
  type StatusWithConditions,
  type KStatus,
  Ready,
  Reconciling,
  Stalled,
  getCondition,
  isTrue,
  setCondition,
  removeCondition,
  markReady,
  markReconciling,
  markStalled,
  computeStatus,
  metaTime,
} from "./conditions.js";
export {
  type Outcome,
  type Stamp,
  type Summarized,
  type StatusWriterOptions,
  StalledError,
  WaitingError,
  StatusWriter,
  ReconcileError,
  ready,
  waiting,
  stalled,
  outcomeOf,
  resultOf,
  summarize,
  canonicalStatus,
  stableJson,
} from "./status.js";
export { EventRecorder, type EventRecorderOptions, type EventType } from "./events.js";
