// Provider and Alert (notification.mooring.dev/v1alpha1): what to send where. A Provider is a destination (a chat
// webhook, a generic webhook, or a Git host's commit-status API) with its secret in a Secret; an Alert says which
// events of which objects go to a Provider. The shape follows Flux's notification-controller (Provider + Alert,
// eventSources, eventSeverity) so a Flux user reads it without a guide; the notify controller (src/notify) acts on it.
import { type Static } from "@sinclair/typebox";
import {
  Bool, Conditions, DnsName, Duration, Int, LastHandledReconcileAt, LOCAL_CHECKS_KEYWORD, List, Obj, ObservedGeneration, Optional, Str, StrEnum,
  StringMap, Time, cel, rootFields, type LocalCheck,
} from "./schema.js";
import { API_VERSION, NOTIFICATION_GROUP } from "./constants.js";

export const NOTIFICATION_API_VERSION = `${NOTIFICATION_GROUP}/${API_VERSION}` as const;

/** Provider types: chat and webhook destinations, and the commit-status APIs of three Git hosts. */
export const PROVIDER_TYPES = ["generic", "generic-hmac", "slack", "msteams", "discord", "github", "gitlab", "gitea"] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];
/** The types that set a commit status on the commit an Application applied (they need its GitRepository's URL). */
export const COMMIT_STATUS_TYPES: readonly ProviderType[] = ["github", "gitlab", "gitea"];

/** What a notification is about; each is derived from the Events Mooring's controllers record (src/notify/events.ts). */
export const EVENT_KINDS = ["Synced", "SyncFailed", "HealthDegraded", "DriftDetected", "DriftReverted", "SourceFailed"] as const;
export type NotificationEventKind = (typeof EVENT_KINDS)[number];
export const SEVERITIES = ["info", "error"] as const;
export type Severity = (typeof SEVERITIES)[number];
/** Kinds an Alert can take events from. */
export const EVENT_SOURCE_KINDS = ["Application", "GitRepository", "HelmRepository", "HelmChart"] as const;
export type EventSourceKind = (typeof EVENT_SOURCE_KINDS)[number];

/** Documented defaults (docs/api.md, docs/notifications.md). */
export const NotificationDefaults = {
  providerTimeout: "15s",
  eventSeverity: "info" as Severity,
  dedupWindow: "5m",
  rateLimit: { events: 30, interval: "1m" },
} as const;

// As for GitRepository URLs: the API server's isURL() wants a scheme, "//" and a host; WHATWG URL alone is lenient.
const HTTP_URL = /^https?:\/\/[^/?#\s]+/;
/** An http(s) URL with a host: the one check applied to spec.address and to a Secret's `address`. */
export function isHttpUrl(text: string): boolean {
  if (!HTTP_URL.test(text)) return false;
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}
const httpUrl: LocalCheck = { message: "address must be an http:// or https:// URL with a host", check: isHttpUrl };

export const ProviderSpec = Obj(
  {
    type: StrEnum(PROVIDER_TYPES, "Where to send: generic (a JSON POST), generic-hmac (the same, signed with the Secret's token as HMAC-SHA256 key in X-Signature), slack, msteams, discord, or github, gitlab, gitea (a commit status on the commit an Application applied)."),
    address: Optional(
      Str("The URL to send to: the webhook URL (generic, slack, msteams, discord; for slack with a token, the chat.postMessage URL, default https://slack.com/api/chat.postMessage), or the API base URL of the Git host (default: from the GitRepository's URL, such as https://api.github.com). A Secret's `address` key overrides it; put a webhook URL that embeds a secret there, not here.", 2048, {
        "x-kubernetes-validations": [
          cel("self.startsWith('http://') || self.startsWith('https://')", "address must be an http:// or https:// URL", (self: string) => self.startsWith("http://") || self.startsWith("https://")),
        ],
        [LOCAL_CHECKS_KEYWORD]: [httpUrl],
      }),
    ),
    channel: Optional(Str("Slack channel (id or #name) for chat.postMessage; for a Slack incoming webhook, the webhook's own channel is used.", 128, { minLength: 1 })),
    username: Optional(Str("Name the message is posted as (slack, discord).", 128, { minLength: 1 })),
    secretRef: Optional(
      Obj(
        { name: DnsName("Name of a Secret in the Provider's namespace.") },
        "The Secret with the Provider's secrets: `address` (a webhook URL that embeds a secret; overrides spec.address), `token` (the Slack bot token, the Git host's API token, or generic-hmac's HMAC key).",
      ),
    ),
    timeout: Optional(Duration("How long one request may take.", { default: NotificationDefaults.providerTimeout, min: "1s", max: "5m", field: "timeout" })),
    suspend: Optional(Bool("Send nothing through this Provider; events meanwhile are dropped.", false)),
  },
  "Where notifications are sent, and with which secret.",
  {
    "x-kubernetes-validations": [
      cel(
        "!(self.type in ['generic', 'generic-hmac', 'msteams', 'discord', 'gitea']) || has(self.address) || has(self.secretRef)",
        "a generic, generic-hmac, msteams, discord or gitea Provider needs spec.address or a Secret with an address key (spec.secretRef)",
        (self: { type?: string; address?: string; secretRef?: unknown }) => !["generic", "generic-hmac", "msteams", "discord", "gitea"].includes(self.type ?? "") || self.address !== undefined || self.secretRef !== undefined,
      ),
      cel(
        "!(self.type in ['generic-hmac', 'github', 'gitlab', 'gitea']) || has(self.secretRef)",
        "a generic-hmac, github, gitlab or gitea Provider needs spec.secretRef: a Secret with a token key",
        (self: { type?: string; secretRef?: unknown }) => !["generic-hmac", "github", "gitlab", "gitea"].includes(self.type ?? "") || self.secretRef !== undefined,
      ),
    ],
  },
);
export type ProviderSpec = Static<typeof ProviderSpec>;

const ownStatus = (conditions: string, what: string) =>
  Obj(
    {
      observedGeneration: Optional(ObservedGeneration()),
      conditions: Optional(Conditions(conditions)),
      lastHandledReconcileAt: Optional(LastHandledReconcileAt()),
      lastDelivery: Optional(
        Obj(
          {
            event: StrEnum(EVENT_KINDS, "The kind of event."),
            object: Str("The object it was about: <Kind>/<namespace>/<name>.", 512),
            revision: Optional(Str("The source revision it was about.", 1024)),
            at: Time("When the delivery finished (or was last tried)."),
            result: StrEnum(["Succeeded", "Retrying", "Failed"] as const, "Succeeded; Retrying (a retry is scheduled); Failed (given up, or refused by the receiver)."),
            attempts: Int("Requests made for this event.", { minimum: 0 }),
          },
          "The last event delivered (or tried).",
        ),
      ),
    },
    what,
  );

export const ProviderStatus = ownStatus("Conditions: Ready (the Provider's Secret and address are usable), Delivered (the last delivery through it succeeded).", "What the notify controller observed (field manager mooring-notify).");
export type ProviderStatus = Static<typeof ProviderStatus>;

export const ProviderSchema = Obj(
  {
    ...rootFields(NOTIFICATION_API_VERSION, "Provider"),
    spec: ProviderSpec,
    status: Optional(ProviderStatus),
  },
  "Provider is a destination for notifications: a chat or generic webhook, or a Git host's commit-status API.",
);
export type Provider = Static<typeof ProviderSchema>;

const EventSource = Obj(
  {
    kind: StrEnum(EVENT_SOURCE_KINDS, "Kind of the objects: Application, or a source (GitRepository, HelmRepository, HelmChart)."),
    name: Str("Name of the object, or '*' for every object of the kind in the Alert's namespace (matchLabels then narrows it).", 253, {
      minLength: 1,
      pattern: "^(\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$",
    }),
    matchLabels: Optional(StringMap("Only objects with all these labels.", { maxProperties: 32 })),
  },
  "Objects whose events the Alert sends, in the Alert's namespace.",
);

export const AlertSpec = Obj(
  {
    providerRef: Obj({ name: DnsName("Name of a Provider in the Alert's namespace.") }, "The Provider the events are sent to."),
    eventSources: List(EventSource, "Which objects' events are sent.", 64, { minItems: 1 }),
    eventKinds: Optional(
      List(StrEnum(EVENT_KINDS, "An event kind."), "Which kinds of event are sent: Synced, SyncFailed, HealthDegraded, DriftDetected, DriftReverted, SourceFailed. Every kind when empty.", 6, {
        "x-kubernetes-list-type": "set",
      }),
    ),
    eventSeverity: Optional(StrEnum(SEVERITIES, "info sends every event; error only the failures (SyncFailed, HealthDegraded, DriftDetected, SourceFailed).", { default: NotificationDefaults.eventSeverity })),
    summary: Optional(Str("A line added to every message (a cluster name, say).", 255)),
    dedupWindow: Optional(Duration("The same event (kind, object, revision and message) is sent once within this window.", { default: NotificationDefaults.dedupWindow, min: "1s", max: "24h", field: "dedupWindow" })),
    rateLimit: Optional(
      Obj(
        {
          events: Optional(Int("Most events sent per interval; the rest are dropped (and counted in the Alert's Ready message).", { default: NotificationDefaults.rateLimit.events, minimum: 1, maximum: 10000 })),
          interval: Optional(Duration("The interval.", { default: NotificationDefaults.rateLimit.interval, min: "1s", max: "24h", field: "interval" })),
        },
        "How many events this Alert sends at most.",
        { default: {} },
      ),
    ),
    suspend: Optional(Bool("Send nothing for this Alert; events meanwhile are dropped.", false)),
  },
  "Which events of which objects are sent to a Provider.",
);
export type AlertSpec = Static<typeof AlertSpec>;

export const AlertStatus = ownStatus("Conditions: Ready (the Provider exists and is ready), Delivered (the last delivery succeeded, is being retried, or failed).", "What the notify controller observed (field manager mooring-notify).");
export type AlertStatus = Static<typeof AlertStatus>;

export const AlertSchema = Obj(
  {
    ...rootFields(NOTIFICATION_API_VERSION, "Alert"),
    spec: AlertSpec,
    status: Optional(AlertStatus),
  },
  "Alert sends the events of the objects it selects (syncs, failures, health, drift, source failures) to a Provider.",
);
export type Alert = Static<typeof AlertSchema>;
