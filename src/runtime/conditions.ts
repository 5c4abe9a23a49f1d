// Status conditions following Kubernetes API conventions and kstatus:
//  - lastTransitionTime changes only when a condition's status changes (reason/message updates keep it);
//  - Ready (positive polarity) is True when the object is fully reconciled; Reconciling and Stalled (abnormal-true)
//    are present only while they are True, and removed when Ready becomes True;
//  - status.observedGeneration (and each condition's) says which spec the status describes.

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  /** RFC 3339, seconds precision (metav1.Time). */
  lastTransitionTime: string;
}

export interface StatusWithConditions {
  conditions?: Condition[];
  observedGeneration?: number;
  [field: string]: unknown;
}

export const Ready = "Ready";
export const Reconciling = "Reconciling";
export const Stalled = "Stalled";

export function metaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === "True";
}

/**
 * Returns a new list with `c` set. lastTransitionTime is kept when the status did not change, else set to `now`.
 * Returns the same array instance when nothing changed, so callers can skip a needless status write.
 */
export function setCondition(conditions: Condition[] | undefined, c: Omit<Condition, "lastTransitionTime"> & { lastTransitionTime?: string }, now: number = Date.now()): Condition[] {
  const list = conditions ?? [];
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    ...(c.observedGeneration !== undefined ? { observedGeneration: c.observedGeneration } : {}),
    lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : (c.lastTransitionTime ?? metaTime(now)),
  };
  if (old && old.status === next.status && old.reason === next.reason && old.message === next.message && old.observedGeneration === next.observedGeneration) return list;
  const out = [...list];
  if (i >= 0) out[i] = next;
  else out.push(next);
  return out;
}

export function removeCondition(conditions: Condition[] | undefined, type: string): Condition[] {
  const list = conditions ?? [];
  return list.some((c) => c.type === type) ? list.filter((c) => c.type !== type) : list;
}

/** A reconcile's verdict on `status`: the conditions in `set` set (all with this reason and message), those in `removed` removed, observedGeneration recorded. */
function settle<S extends StatusWithConditions>(
  status: S,
  what: { generation: number | undefined; reason: string; message: string; now: number },
  set: ReadonlyArray<readonly [type: string, status: ConditionStatus]>,
  removed: readonly string[],
): S {
  let conditions = status.conditions;
  for (const [type, s] of set) conditions = setCondition(conditions, { type, status: s, reason: what.reason, message: what.message, observedGeneration: what.generation }, what.now);
  for (const type of removed) conditions = removeCondition(conditions, type);
  return { ...status, conditions, observedGeneration: what.generation };
}

/** Ready=True; Reconciling and Stalled removed; observedGeneration recorded. */
export function markReady<S extends StatusWithConditions>(status: S, generation: number | undefined, reason: string, message: string, now = Date.now()): S {
  return settle(status, { generation, reason, message, now }, [[Ready, "True"]], [Reconciling, Stalled]);
}

/** Reconciling=True and Ready=Unknown (work in progress); Stalled removed. */
export function markReconciling<S extends StatusWithConditions>(status: S, generation: number | undefined, reason: string, message: string, now = Date.now()): S {
  return settle(status, { generation, reason, message, now }, [[Reconciling, "True"], [Ready, "Unknown"]], [Stalled]);
}

/** Stalled=True and Ready=False (cannot progress without a change); Reconciling removed. */
export function markStalled<S extends StatusWithConditions>(status: S, generation: number | undefined, reason: string, message: string, now = Date.now()): S {
  return settle(status, { generation, reason, message, now }, [[Stalled, "True"], [Ready, "False"]], [Reconciling]);
}

export type KStatus = "Current" | "InProgress" | "Failed";

/** The kstatus of an object with conditions, as kstatus-aware tools (Flux, kpt, Argo) compute it. */
export function computeStatus(obj: { metadata?: { generation?: number }; status?: StatusWithConditions }): KStatus {
  const s = obj.status ?? {};
  const gen = obj.metadata?.generation;
  if (gen !== undefined && s.observedGeneration !== undefined && s.observedGeneration < gen) return "InProgress";
  if (isTrue(s.conditions, Reconciling)) return "InProgress";
  if (isTrue(s.conditions, Stalled)) return "Failed";
  if (isTrue(s.conditions, Ready)) return "Current";
  return "InProgress";
}
