// What the notify unit tests share: a commit and a notification event of it.
import type { NotificationEvent } from "../../../src/notify/events.js";

export const SHA = "0123456789abcdef0123456789abcdef01234567";

/** The Synced event of Application demo/web at SHA, with fields replaced by `over`. */
export const event = (over: Partial<NotificationEvent> = {}): NotificationEvent => ({
  id: "1",
  kind: "Synced",
  severity: "info",
  object: { kind: "Application", namespace: "demo", name: "web" },
  reason: "Succeeded",
  message: "applied",
  revision: `main@sha1:${SHA}`,
  time: "2026-01-01T00:00:00Z",
  reportingController: "mooring-apply",
  ...over,
});
