// Provider and Alert status as pure functions of what the notify controller knows: the object, the Provider's
// settings check (or the Provider an Alert names), and the last delivery (in memory). The controller reads, calls
// these, and writes once; tests table-test them without a cluster.
import { Annotations, ConditionTypes, Reasons } from "../api/constants.js";
import type { Alert, AlertStatus, Provider, ProviderStatus } from "../api/notification.js";
import { type Condition, getCondition, setCondition } from "../runtime/conditions.js";
import type { DeliveryRecord } from "./delivery.js";

export type ProviderCheck = { ok: true; message: string } | { ok: false; reason: string; message: string };

const stamp = <S extends { observedGeneration?: number; lastHandledReconcileAt?: string }>(s: S, obj: { metadata?: { generation?: number; annotations?: Record<string, string> } }): S => {
  const out = { ...s, observedGeneration: obj.metadata?.generation };
  const requested = obj.metadata?.annotations?.[Annotations.reconcileRequestedAt];
  if (requested !== undefined) out.lastHandledReconcileAt = requested;
  if (out.observedGeneration === undefined) delete out.observedGeneration;
  return out;
};

function delivered(conditions: Condition[] | undefined, record: DeliveryRecord | undefined, gen: number | undefined, now: number): Condition[] {
  if (!record) {
    // Keep what an earlier process wrote: the last delivery happened, even if this process has not seen one yet.
    if (getCondition(conditions, ConditionTypes.delivered)) return conditions ?? [];
    return setCondition(conditions, { type: ConditionTypes.delivered, status: "Unknown", reason: Reasons.noEvents, message: "no event sent yet", observedGeneration: gen }, now);
  }
  const status = record.result === "Succeeded" ? "True" : "False";
  return setCondition(conditions, { type: ConditionTypes.delivered, status, reason: record.reason, message: record.message, observedGeneration: gen }, now);
}

const lastDelivery = (r: DeliveryRecord | undefined): AlertStatus["lastDelivery"] | undefined =>
  r && { event: r.event, object: r.object, ...(r.revision ? { revision: r.revision } : {}), at: r.at, result: r.result, attempts: r.attempts };

/** The Provider's status: Ready from the check of its Secret and address, Delivered from the last delivery through it. */
export function providerStatus(p: Provider, current: ProviderStatus | undefined, check: ProviderCheck, record: DeliveryRecord | undefined, now: number): ProviderStatus {
  const gen = p.metadata?.generation;
  let conditions = (current?.conditions ?? []) as Condition[];
  conditions = p.spec.suspend
    ? setCondition(conditions, { type: ConditionTypes.ready, status: "False", reason: Reasons.suspended, message: "the Provider is suspended: nothing is sent through it", observedGeneration: gen }, now)
    : setCondition(conditions, { type: ConditionTypes.ready, status: check.ok ? "True" : "False", reason: check.ok ? Reasons.succeeded : check.reason, message: check.message, observedGeneration: gen }, now);
  conditions = delivered(conditions, record, gen, now);
  const out: ProviderStatus = { ...stamp({}, p), conditions };
  const last = lastDelivery(record) ?? current?.lastDelivery;
  if (last) out.lastDelivery = last;
  return out;
}

/** The Alert's status: Ready when its Provider exists and is ready (and how many events the rate limit dropped), Delivered from its last delivery. */
export function alertStatus(a: Alert, current: AlertStatus | undefined, provider: Provider | undefined, record: DeliveryRecord | undefined, dropped: number, now: number): AlertStatus {
  const gen = a.metadata?.generation;
  const ns = a.metadata?.namespace ?? "";
  const ref = a.spec.providerRef.name;
  let ready: Omit<Condition, "lastTransitionTime">;
  const providerReady = getCondition(provider?.status?.conditions as Condition[] | undefined, ConditionTypes.ready);
  if (a.spec.suspend) ready = { type: ConditionTypes.ready, status: "False", reason: Reasons.suspended, message: "the Alert is suspended: its events are not sent" };
  else if (!provider) ready = { type: ConditionTypes.ready, status: "False", reason: Reasons.providerNotFound, message: `Provider "${ref}" not found in namespace ${ns}; create it or fix spec.providerRef.name` };
  else if (providerReady?.status !== "True") {
    ready = { type: ConditionTypes.ready, status: "False", reason: Reasons.providerNotReady, message: `Provider "${ref}" is not ready: ${providerReady?.message ?? "not checked yet"}` };
  } else {
    const sources = a.spec.eventSources.map((s) => `${s.kind}/${s.name}`).join(", ");
    const kinds = a.spec.eventKinds?.length ? a.spec.eventKinds.join(", ") : "every event";
    const limited = dropped ? `; ${dropped} event${dropped === 1 ? "" : "s"} dropped by the rate limit since the controller started` : "";
    ready = { type: ConditionTypes.ready, status: "True", reason: Reasons.succeeded, message: `sends ${kinds} (severity ${a.spec.eventSeverity ?? "info"}) of ${sources} to Provider ${ref} (${provider.spec.type})${limited}` };
  }
  let conditions = setCondition(current?.conditions as Condition[] | undefined, { ...ready, observedGeneration: gen }, now);
  conditions = delivered(conditions, record, gen, now);
  const out: AlertStatus = { ...stamp({}, a), conditions };
  const last = lastDelivery(record) ?? current?.lastDelivery;
  if (last) out.lastDelivery = last;
  return out;
}

