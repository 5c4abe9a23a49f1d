// SyncPolicy (delivery.mooring.dev/v1alpha1): when and how Applications that reference it are synced.
// An Application without a syncPolicyRef behaves as if it referenced a SyncPolicy with an empty spec
// (all defaults: automated, prune, self-heal), which `defaultSyncPolicySpec()` returns.
import { type Static } from "@sinclair/typebox";
import { CronExpressionParser } from "cron-parser";
import {
  Bool, CRON_SCHEDULE, Conditions, Duration, Int, LastHandledReconcileAt, LOCAL_CHECKS_KEYWORD, List, Obj, ObservedGeneration, Optional, Str, StrEnum, Time,
  cel, rootFields, type LocalCheck,
} from "./schema.js";
import { API_VERSION, DELIVERY_GROUP } from "./constants.js";
import { tryParseDuration } from "./duration.js";

export const SYNC_POLICY_API_VERSION = `${DELIVERY_GROUP}/${API_VERSION}` as const;

export const PROPAGATION_POLICIES = ["foreground", "background", "orphan"] as const;
export type PropagationPolicy = (typeof PROPAGATION_POLICIES)[number];

/** Documented defaults (docs/api.md); a unit test checks the schema applies exactly these. */
export const SyncPolicyDefaults = {
  automated: { enabled: true, prune: true, selfHeal: true, allowEmpty: false },
  retry: { limit: 5, backoff: { duration: "5s", factor: 2, maxDuration: "3m" } },
  options: { createNamespace: false, pruneLast: false, prunePropagationPolicy: "background" as PropagationPolicy, force: false, applyOutOfSyncOnly: false },
  health: { wait: true },
  windowTimeZone: "UTC",
} as const;

const cronSchedule: LocalCheck = {
  message: "schedule is not a valid cron expression: use 5 fields (minute hour day-of-month month day-of-week), such as '0 22 * * 1-5', or a macro such as @daily",
  check: (self: string) => {
    try {
      CronExpressionParser.parse(self, { strict: false });
      return true;
    } catch {
      return false;
    }
  },
};

const ianaTimeZone: LocalCheck = {
  message: "timeZone must be an IANA time zone name such as UTC, Europe/Paris or America/New_York",
  check: (self: string) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: self });
      return true;
    } catch {
      return false;
    }
  },
};

const Automated = Obj(
  {
    enabled: Optional(Bool("Sync automatically whenever the rendered objects differ from the cluster. When false, only a manual sync (the delivery.mooring.dev/sync-requested-at annotation) applies changes.", SyncPolicyDefaults.automated.enabled)),
    prune: Optional(Bool("Delete objects that Mooring applied earlier and that are no longer rendered.", SyncPolicyDefaults.automated.prune)),
    selfHeal: Optional(Bool("Re-apply when someone changes an applied object in the cluster (drift), not only when the source changes.", SyncPolicyDefaults.automated.selfHeal)),
    allowEmpty: Optional(Bool("Allow a sync whose render produced no objects, which prunes everything (off by default to protect against a wrong path).", SyncPolicyDefaults.automated.allowEmpty)),
  },
  "Automated sync.",
  { default: {} },
);

const Backoff = Obj(
  {
    duration: Optional(Duration("Wait before the first retry.", { default: SyncPolicyDefaults.retry.backoff.duration, min: "1s", field: "duration" })),
    factor: Optional(Int("Each wait is the previous one times factor.", { default: SyncPolicyDefaults.retry.backoff.factor, minimum: 1, maximum: 10 })),
    maxDuration: Optional(Duration("The longest wait between retries.", { default: SyncPolicyDefaults.retry.backoff.maxDuration, min: "1s", field: "maxDuration" })),
  },
  "Exponential backoff between retries.",
  {
    default: {},
    "x-kubernetes-validations": [
      cel(
        "!has(self.duration) || !has(self.maxDuration) || duration(self.maxDuration) >= duration(self.duration)",
        "maxDuration must be at least duration",
        (self: { duration?: string; maxDuration?: string }) => {
          const min = tryParseDuration(self.duration);
          const max = tryParseDuration(self.maxDuration);
          return min === undefined || max === undefined || max >= min;
        },
        { fieldPath: ".maxDuration" },
      ),
    ],
  },
);

const Retry = Obj(
  {
    limit: Optional(Int("How many times a failed sync is retried before the Application waits for the next change or interval; 0 disables retries.", {
      default: SyncPolicyDefaults.retry.limit,
      minimum: 0,
      maximum: 100,
    })),
    backoff: Optional(Backoff),
  },
  "Retries of a failed sync.",
  { default: {} },
);

const Window = Obj(
  {
    kind: StrEnum(["allow", "deny"] as const, "allow: automated syncs happen only inside this window (and other allow windows); deny: no automated sync inside this window. Deny wins where windows overlap."),
    schedule: Str("When the window opens, as a cron schedule: 5 fields (minute hour day-of-month month day-of-week) such as '0 22 * * 1-5', or a macro such as @daily.", 128, {
      pattern: CRON_SCHEDULE,
      [LOCAL_CHECKS_KEYWORD]: [cronSchedule],
    }),
    duration: Duration("How long the window stays open after each time the schedule fires.", { min: "1m", max: "8760h", field: "duration" }),
    timeZone: Optional(Str("IANA time zone the schedule is read in.", 64, { default: SyncPolicyDefaults.windowTimeZone, minLength: 1, [LOCAL_CHECKS_KEYWORD]: [ianaTimeZone] })),
    manualSync: Optional(Bool("Allow manual syncs (delivery.mooring.dev/sync-requested-at) while automated syncs are blocked by this window.", false)),
  },
  "A time window that allows or denies automated syncs.",
);

const Options = Obj(
  {
    createNamespace: Optional(Bool("Create spec.targetNamespace when it does not exist.", SyncPolicyDefaults.options.createNamespace)),
    pruneLast: Optional(Bool("Prune only after every other object has been applied and is healthy.", SyncPolicyDefaults.options.pruneLast)),
    prunePropagationPolicy: Optional(StrEnum(PROPAGATION_POLICIES, "Deletion propagation for pruned objects: foreground, background or orphan.", {
      default: SyncPolicyDefaults.options.prunePropagationPolicy,
    })),
    force: Optional(Bool("When an apply fails because a field is immutable, delete and re-create the object.", SyncPolicyDefaults.options.force)),
    applyOutOfSyncOnly: Optional(Bool("Apply only the objects that differ from the cluster, instead of every rendered object.", SyncPolicyDefaults.options.applyOutOfSyncOnly)),
  },
  "How objects are applied and pruned.",
  { default: {} },
);

const Health = Obj(
  {
    wait: Optional(Bool("Wait for applied objects to become healthy before the sync counts as finished (and before dependent Applications sync).", SyncPolicyDefaults.health.wait)),
    timeout: Optional(Duration("How long to wait for health; when unset, each Application's spec.timeout applies.", { min: "1s", max: "24h", field: "timeout" })),
  },
  "Health waiting after a sync.",
  { default: {} },
);

export const SyncPolicySpec = Obj(
  {
    automated: Optional(Automated),
    retry: Optional(Retry),
    windows: Optional(List(Window, "Sync windows. With no windows, syncs may happen at any time.", 32)),
    options: Optional(Options),
    health: Optional(Health),
  },
  "When and how the Applications that reference this policy are synced. Every field has a default, so an empty spec means automated sync with prune and self-heal.",
  { default: {} },
);
export type SyncPolicySpec = Static<typeof SyncPolicySpec>;

export const SyncPolicyStatus = Obj(
  {
    observedGeneration: Optional(ObservedGeneration()),
    conditions: Optional(Conditions("Conditions: Ready (the policy is valid) and WindowOpen (automated syncs are allowed now; the reason says why).")),
    applications: Optional(Int("How many Applications reference this policy.", { minimum: 0 })),
    nextWindowChange: Optional(Time("When WindowOpen will next change, if any window is defined.")),
    lastHandledReconcileAt: Optional(LastHandledReconcileAt()),
  },
  "What the policy controller observed (field manager mooring-policy).",
);
export type SyncPolicyStatus = Static<typeof SyncPolicyStatus>;

export const SyncPolicySchema = Obj(
  {
    ...rootFields(SYNC_POLICY_API_VERSION, "SyncPolicy"),
    spec: Optional(SyncPolicySpec),
    status: Optional(SyncPolicyStatus),
  },
  "SyncPolicy says when and how the Applications that reference it are synced: automation, pruning, retries and sync windows.",
);
export type SyncPolicy = Static<typeof SyncPolicySchema>;
