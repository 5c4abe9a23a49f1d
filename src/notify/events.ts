// Kubernetes Events → notification events. Mooring's controllers already record an events.k8s.io/v1 Event for each
// fact an Alert can name (src/apply: Succeeded, SyncFailed, HealthCheckFailed/Timeout, DriftDetected, DriftCorrected;
// src/source: a Warning per failed fetch), so the notify controller reads those instead of a second channel out of
// every controller (docs/notifications.md says why). This module is the one table from such an Event to what an Alert
// filters on; it is pure.
import { ApplicationKind, HelmChartKind, HelmRepositoryKind, GitRepositoryKind } from "../api/kinds.js";
import { FieldManagers, Reasons } from "../api/constants.js";
import type { NotificationEventKind, Severity } from "../api/notification.js";
import type { KubeObject } from "../runtime/kinds.js";

/** The reporting controllers whose Events are read (the apply controller records as mooring-apply). */
export const APPLY_REPORTER = "mooring-apply";
export const SOURCE_REPORTER = FieldManagers.source;

/** An events.k8s.io/v1 Event, the fields read here. */
export interface KubeEvent extends KubeObject {
  eventTime?: string;
  reason?: string;
  note?: string;
  type?: string;
  action?: string;
  reportingController?: string;
  regarding?: { apiVersion?: string; kind?: string; name?: string; namespace?: string; uid?: string };
}

/** What one notification is about: an object, a kind of event, a severity, a message and (when known) a revision. */
export interface NotificationEvent {
  /** The Kubernetes Event's uid: the same Event is never handled twice. */
  id: string;
  kind: NotificationEventKind;
  severity: Severity;
  object: { kind: string; namespace: string; name: string; uid?: string; apiVersion?: string };
  /** The Event's reason (SyncFailed, HealthCheckTimeout, GitOperationFailed, …). */
  reason: string;
  message: string;
  /** `<ref>@sha1:<40 hex>` or `sha1:<40 hex>`, when the event is about a revision. */
  revision?: string;
  /** When it happened (RFC 3339). */
  time: string;
  reportingController: string;
}

const SOURCE_KINDS = new Set([GitRepositoryKind.kind, HelmRepositoryKind.kind, HelmChartKind.kind]);
const groupOf = (apiVersion: string | undefined) => (apiVersion?.includes("/") ? apiVersion.split("/")[0] : "");

/** The kind and severity of a Mooring Event, or undefined for the Events no Alert can ask for (SyncStarted, Pruned, …). */
export function classify(ev: KubeEvent): { kind: NotificationEventKind; severity: Severity } | undefined {
  const r = ev.regarding ?? {};
  if (ev.reportingController === APPLY_REPORTER && r.kind === ApplicationKind.kind && groupOf(r.apiVersion) === ApplicationKind.group) {
    if (ev.reason === Reasons.succeeded && ev.action === "Sync") return { kind: "Synced", severity: "info" };
    if (ev.reason === Reasons.syncFailed) return { kind: "SyncFailed", severity: "error" };
    if (ev.action === "HealthCheck" && ev.type === "Warning") return { kind: "HealthDegraded", severity: "error" };
    if (ev.reason === "DriftDetected") return { kind: "DriftDetected", severity: "error" };
    if (ev.reason === "DriftCorrected") return { kind: "DriftReverted", severity: "info" };
    return undefined;
  }
  if (ev.reportingController === SOURCE_REPORTER && ev.type === "Warning" && SOURCE_KINDS.has(r.kind ?? "") && groupOf(r.apiVersion) === GitRepositoryKind.group) {
    return { kind: "SourceFailed", severity: "error" };
  }
  return undefined;
}

/** A git revision named in a message ("revision main@sha1:…: applied 3 objects"). */
const REVISION_IN_TEXT = /(?:[^\s@]+@)?sha1:[0-9a-f]{40}/;

/** The commit SHA of a revision (`main@sha1:<sha>`, `sha1:<sha>`), or undefined. */
export function shaOf(revision: string | undefined): string | undefined {
  return revision ? /sha1:([0-9a-f]{40})$/.exec(revision)?.[1] : undefined;
}

/**
 * The notification event for a Kubernetes Event, or undefined when no Alert can ask for it. `revisionOf` gives the
 * revision from the object's status when the message names none (the Application's render or applied revision).
 */
export function toNotification(ev: KubeEvent, revisionOf: (kind: NotificationEventKind) => string | undefined = () => undefined): NotificationEvent | undefined {
  const c = classify(ev);
  const r = ev.regarding;
  if (!c || !r?.name || !r.kind || !ev.metadata?.uid) return undefined;
  const message = ev.note ?? "";
  const revision = c.kind === "SourceFailed" ? undefined : (REVISION_IN_TEXT.exec(message)?.[0] ?? revisionOf(c.kind));
  return {
    id: ev.metadata.uid,
    ...c,
    object: { kind: r.kind, namespace: r.namespace ?? ev.metadata.namespace ?? "", name: r.name, ...(r.uid ? { uid: r.uid } : {}), ...(r.apiVersion ? { apiVersion: r.apiVersion } : {}) },
    reason: ev.reason ?? "",
    message,
    ...(revision ? { revision } : {}),
    time: ev.eventTime ?? ev.metadata.creationTimestamp ?? new Date(0).toISOString(),
    reportingController: ev.reportingController ?? "",
  };
}

/** `<Kind>/<namespace>/<name>`: how messages and status name the object an event is about. */
export function objectRef(e: Pick<NotificationEvent, "object">): string {
  return `${e.object.kind}/${e.object.namespace}/${e.object.name}`;
}
