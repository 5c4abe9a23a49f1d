// Which Alerts want an event: the pure filter (namespace, suspend, event sources by kind and name or '*' with
// matchLabels, event kinds, severity), as Flux's notification-controller filters.
import type { Alert, AlertSpec } from "../api/notification.js";
import type { NotificationEvent } from "./events.js";

export type AlertObject = Alert & { metadata: NonNullable<Alert["metadata"]> };

/** Whether `labels` has every pair of `match`. */
function hasLabels(labels: Record<string, string> | undefined, match: Record<string, string> | undefined): boolean {
  return Object.entries(match ?? {}).every(([k, v]) => labels?.[k] === v);
}

/** Whether one Alert's spec selects the event; `labels` are the labels of the object the event is about. */
export function selects(spec: AlertSpec, event: NotificationEvent, labels: Record<string, string> | undefined): boolean {
  if (spec.suspend) return false;
  if (spec.eventKinds?.length && !spec.eventKinds.includes(event.kind)) return false;
  if ((spec.eventSeverity ?? "info") === "error" && event.severity !== "error") return false;
  return spec.eventSources.some((s) => s.kind === event.object.kind && (s.name === "*" || s.name === event.object.name) && hasLabels(labels, s.matchLabels));
}

/** The Alerts (of the event's namespace: an Alert never sees other namespaces) that select the event. */
export function matchingAlerts(alerts: readonly AlertObject[], event: NotificationEvent, labels: Record<string, string> | undefined): AlertObject[] {
  return alerts.filter((a) => a.metadata.namespace === event.object.namespace && !a.metadata.deletionTimestamp && selects(a.spec, event, labels));
}
