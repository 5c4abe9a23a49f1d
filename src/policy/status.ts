// The SyncPolicy status as a pure function of the policy, how many Applications reference it, and the time:
// the controller (./controller.ts) only reads, calls this, writes when the result differs, and requeues.
import { Annotations, ConditionTypes, Reasons } from "../api/constants.js";
import { SyncPolicyStatus, type SyncPolicy } from "../api/syncpolicy.js";
import { validate } from "../api/validate.js";
import { type Condition, markReady, markStalled, metaTime, setCondition } from "../runtime/conditions.js";
import { InvalidWindowError, windowState, type SyncWindow, type WindowState } from "./windows.js";

/** Recompute at least this often even without a window change in sight: the search horizon slides forward. */
export const MAX_REQUEUE_MS = 24 * 3_600_000;
/** Requeue a little after the boundary, so the timer never fires just before it and sees the old state. */
export const BOUNDARY_MARGIN_MS = 500;

/** Whether SyncPolicy.status declares lastHandledReconcileAt (it is written only if the schema has it). */
export const POLICY_STATUS_HAS_LAST_HANDLED = "lastHandledReconcileAt" in (SyncPolicyStatus as { properties: Record<string, unknown> }).properties;

export type PolicyStatus = SyncPolicy["status"] & { lastHandledReconcileAt?: string };

export interface PolicyEvaluation {
  status: PolicyStatus;
  /** The window state when the spec is valid. */
  windows?: WindowState;
  /** Why the spec is invalid, when it is. */
  invalid?: string;
  /** When to look again (ms from now); undefined: only when something changes. */
  requeueAfterMs?: number;
}

/**
 * The status the policy controller writes. Conditions: Ready (valid policy), WindowOpen (automated syncs allowed
 * now, reason from the window state) and Stalled (invalid spec: Reasons.invalidSpec, no requeue — a spec change fixes it).
 */
export function evaluatePolicy(policy: SyncPolicy, applications: number, now: number): PolicyEvaluation {
  const gen = policy.metadata?.generation;
  const old: PolicyStatus = policy.status ?? {};
  let status: PolicyStatus = { ...old, applications };
  const requested = policy.metadata?.annotations?.[Annotations.reconcileRequestedAt];
  if (POLICY_STATUS_HAS_LAST_HANDLED && requested !== undefined) status.lastHandledReconcileAt = requested;

  let invalid: string | undefined;
  let windows: WindowState | undefined;
  const checked = validate(policy);
  if (!checked.valid) {
    invalid = `the SyncPolicy is invalid: ${checked.errors.map((e) => `${e.field}: ${e.message}`).join("; ")}; fix the spec`;
  } else {
    try {
      windows = windowState(((checked.object as SyncPolicy).spec?.windows ?? []) as SyncWindow[], now);
    } catch (err) {
      if (!(err instanceof InvalidWindowError)) throw err;
      invalid = `the SyncPolicy's windows cannot be evaluated: ${err.message}; change the schedule or time zone`;
    }
  }

  if (invalid !== undefined || !windows) {
    const message = invalid ?? "the SyncPolicy cannot be evaluated";
    let conditions: Condition[] = setCondition(status.conditions as Condition[] | undefined, { type: ConditionTypes.windowOpen, status: "Unknown", reason: Reasons.invalidSpec, message, observedGeneration: gen }, now);
    status = markStalled({ ...status, conditions } as PolicyStatus & { conditions: Condition[] }, gen, Reasons.invalidSpec, message, now);
    conditions = status.conditions as Condition[];
    delete status.nextWindowChange;
    return { status: { ...status, conditions }, invalid: message };
  }

  const conditions = setCondition(
    status.conditions as Condition[] | undefined,
    { type: ConditionTypes.windowOpen, status: windows.automatedAllowed ? "True" : "False", reason: windows.reason, message: windows.message, observedGeneration: gen },
    now,
  );
  const n = (policy.spec?.windows ?? []).length;
  const readyMessage = n === 0 ? "the policy is valid; it has no sync windows" : `the policy is valid; ${n} sync window${n === 1 ? "" : "s"}`;
  status = markReady({ ...status, conditions } as PolicyStatus & { conditions: Condition[] }, gen, Reasons.succeeded, readyMessage, now);
  if (windows.nextChange) status.nextWindowChange = metaTime(windows.nextChange.getTime());
  else delete status.nextWindowChange;
  let requeueAfterMs: number | undefined;
  if (n > 0) requeueAfterMs = windows.nextChange ? Math.min(MAX_REQUEUE_MS, Math.max(0, windows.nextChange.getTime() - now) + BOUNDARY_MARGIN_MS) : MAX_REQUEUE_MS;
  return { status, windows, requeueAfterMs };
}
