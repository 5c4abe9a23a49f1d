// The HTTP request each Provider type sends for an event, in that service's own API shape. Pure: settings and an
// event in, method/URL/headers/body out (or why this type sends nothing for the event), so each shape is
// unit-tested and the integration tests check the same shapes at loopback servers.
import { createHmac } from "node:crypto";
import { COMMIT_STATUS_TYPES, type NotificationEventKind } from "../api/notification.js";
import { objectRef, shaOf, type NotificationEvent } from "./events.js";
import type { ProviderSettings } from "./settings.js";

export interface OutgoingRequest {
  method: "POST";
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What the request builders need besides the event: the Alert's summary and, for commit statuses, the repository. */
export interface EventContext {
  summary?: string;
  /** The URL of the GitRepository the Application's source is (commit statuses only). */
  repositoryUrl?: string;
}

export class NotApplicable extends Error {}
export class CannotBuild extends Error {}

const USER_AGENT = "mooring-notify";
const JSON_TYPE = "application/json";

/** "Synced", "Sync failed", … for titles. */
const TITLES: Record<NotificationEventKind, string> = {
  Synced: "Synced",
  SyncFailed: "Sync failed",
  HealthDegraded: "Health degraded",
  DriftDetected: "Drift detected",
  DriftReverted: "Drift reverted",
  SourceFailed: "Source failed",
};

export const titleOf = (e: NotificationEvent) => `${TITLES[e.kind]}: ${objectRef(e)}`;

/** The facts shown beside the message, in order. */
function facts(e: NotificationEvent, ctx: EventContext): [string, string][] {
  const out: [string, string][] = [];
  if (e.revision) out.push(["revision", e.revision]);
  if (ctx.summary) out.push(["summary", ctx.summary]);
  out.push(["reason", e.reason]);
  return out;
}

/** The HMAC-SHA256 signature of a body as Flux's generic-hmac sends it: `sha256=<hex>` in X-Signature. */
export function signature(body: string, key: string): string {
  return `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
}

/** The request `settings` sends for `e`; throws NotApplicable (nothing to send) or CannotBuild (a configuration problem). */
export function buildRequest(s: ProviderSettings, e: NotificationEvent, ctx: EventContext = {}): OutgoingRequest {
  if (COMMIT_STATUS_TYPES.includes(s.type)) return commitStatus(s, e, ctx);
  switch (s.type) {
    case "generic":
    case "generic-hmac":
      return generic(s, e, ctx);
    case "slack":
      return slack(s, e, ctx);
    case "msteams":
      return teams(s, e, ctx);
    case "discord":
      return discord(s, e, ctx);
    default:
      throw new CannotBuild(`unknown provider type ${String(s.type)}`);
  }
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}): OutgoingRequest => ({
  method: "POST",
  url,
  headers: { "Content-Type": JSON_TYPE, "User-Agent": USER_AGENT, ...headers },
  body: JSON.stringify(body),
});

/** Flux's event shape (eventv1.Event), so receivers written for Flux read ours; reason is the event kind. */
function generic(s: ProviderSettings, e: NotificationEvent, ctx: EventContext): OutgoingRequest {
  const metadata: Record<string, string> = { originalReason: e.reason };
  if (e.revision) metadata.revision = e.revision;
  if (ctx.summary) metadata.summary = ctx.summary;
  const body = {
    involvedObject: { kind: e.object.kind, namespace: e.object.namespace, name: e.object.name, ...(e.object.uid ? { uid: e.object.uid } : {}), ...(e.object.apiVersion ? { apiVersion: e.object.apiVersion } : {}) },
    severity: e.severity,
    timestamp: e.time,
    message: e.message,
    reason: e.kind,
    metadata,
    reportingController: e.reportingController,
  };
  const req = post(s.address!, body);
  if (s.type === "generic-hmac") req.headers["X-Signature"] = signature(req.body, s.token!);
  return req;
}

/** Slack: an incoming webhook, or chat.postMessage with a bot token (then `channel` is required). */
function slack(s: ProviderSettings, e: NotificationEvent, ctx: EventContext): OutgoingRequest {
  const body: Record<string, unknown> = {
    ...(s.username ? { username: s.username } : {}),
    ...(s.channel ? { channel: s.channel } : {}),
    text: titleOf(e),
    attachments: [
      {
        color: e.severity === "error" ? "danger" : "good",
        title: titleOf(e),
        text: e.message,
        fields: facts(e, ctx).map(([title, value]) => ({ title, value, short: false })),
        mrkdwn_in: ["text"],
      },
    ],
  };
  if (s.token) return post(s.address ?? "https://slack.com/api/chat.postMessage", body, { "Content-Type": "application/json; charset=utf-8", Authorization: `Bearer ${s.token}` });
  return post(s.address!, body);
}

/** Microsoft Teams: a Workflows (Power Automate) or incoming webhook taking an Adaptive Card message. */
function teams(s: ProviderSettings, e: NotificationEvent, ctx: EventContext): OutgoingRequest {
  const card = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    body: [
      { type: "TextBlock", text: titleOf(e), weight: "Bolder", size: "Medium", wrap: true, color: e.severity === "error" ? "Attention" : "Good" },
      { type: "TextBlock", text: e.message, wrap: true },
      { type: "FactSet", facts: facts(e, ctx).map(([title, value]) => ({ title, value })) },
    ],
  };
  return post(s.address!, { type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card }] });
}

/** Discord: an execute-webhook request with one embed. */
function discord(s: ProviderSettings, e: NotificationEvent, ctx: EventContext): OutgoingRequest {
  const embed = {
    title: titleOf(e).slice(0, 256),
    description: e.message.slice(0, 4096),
    color: e.severity === "error" ? 0xa30200 : 0x2eb886,
    fields: facts(e, ctx).map(([name, value]) => ({ name, value: value.slice(0, 1024), inline: false })),
    timestamp: e.time,
  };
  return post(s.address!, { ...(s.username ? { username: s.username } : {}), embeds: [embed] });
}

// ---- commit statuses ----

/** The state a commit gets for an event, per host; undefined: this event sets no commit status. */
const STATES: Partial<Record<NotificationEventKind, { github: string; gitlab: string; gitea: string; says: string }>> = {
  Synced: { github: "success", gitlab: "success", gitea: "success", says: "synced" },
  SyncFailed: { github: "failure", gitlab: "failed", gitea: "failure", says: "sync failed" },
  HealthDegraded: { github: "failure", gitlab: "failed", gitea: "failure", says: "degraded" },
};

/** The repository's path on its host (no leading slash, no .git), from a GitRepository URL. */
export function repositoryPath(url: string): { host: string; protocol: string; path: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CannotBuild(`the GitRepository URL is not a URL`);
  }
  const path = u.pathname.replace(/^\/+|\/+$/g, "").replace(/\.git$/, "");
  return { host: u.host, protocol: u.protocol, path };
}

/** owner/repo of a GitHub or Gitea repository URL. */
function ownerRepo(url: string, type: string): [string, string] {
  const { path } = repositoryPath(url);
  const parts = path.split("/").filter(Boolean);
  if (parts.length !== 2) throw new CannotBuild(`cannot tell the ${type} owner/repo from the GitRepository URL path "/${path}": it must be /<owner>/<repo>`);
  return [parts[0]!, parts[1]!];
}

/** The API base a Git provider talks to: spec.address (or the Secret's), else the repository host's API. */
export function apiBase(s: ProviderSettings, repositoryUrl: string): string {
  if (s.address) return s.address.replace(/\/+$/, "");
  const { protocol, host } = repositoryPath(repositoryUrl);
  if (s.type === "github") return host === "github.com" ? "https://api.github.com" : `${protocol}//${host}/api/v3`;
  if (s.type === "gitlab") return `${protocol}//${host}/api/v4`;
  return `${protocol}//${host}/api/v1`;
}

/** The commit-status context: one per Application, so several Applications of one commit each show their own. */
export const statusContext = (e: NotificationEvent) => `mooring/${e.object.namespace}/${e.object.name}`;

function commitStatus(s: ProviderSettings, e: NotificationEvent, ctx: EventContext): OutgoingRequest {
  const state = STATES[e.kind];
  if (!state || e.object.kind !== "Application") throw new NotApplicable(`${e.kind} sets no commit status`);
  const sha = shaOf(e.revision);
  if (!sha) throw new NotApplicable(`the event names no git commit (revision ${e.revision ?? "unknown"})`);
  if (!ctx.repositoryUrl) throw new NotApplicable(`the Application's source is not a GitRepository`);
  const base = apiBase(s, ctx.repositoryUrl);
  // GitHub and Gitea cap the description at 140 characters.
  const description = `${state.says}: ${e.message}`.slice(0, 140);
  const context = statusContext(e);
  if (s.type === "github") {
    const [owner, repo] = ownerRepo(ctx.repositoryUrl, "GitHub");
    return post(
      `${base}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/statuses/${sha}`,
      { state: state.github, description, context },
      { Accept: "application/vnd.github+json", Authorization: `Bearer ${s.token}`, "X-GitHub-Api-Version": "2022-11-28" },
    );
  }
  if (s.type === "gitlab") {
    const { path } = repositoryPath(ctx.repositoryUrl);
    if (!path.includes("/")) throw new CannotBuild(`cannot tell the GitLab project from the GitRepository URL path "/${path}": it must be /<group>/<project>`);
    return post(`${base}/projects/${encodeURIComponent(path)}/statuses/${sha}`, { state: state.gitlab, name: context, description }, { "PRIVATE-TOKEN": s.token! });
  }
  const [owner, repo] = ownerRepo(ctx.repositoryUrl, "Gitea");
  return post(`${base}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/statuses/${sha}`, { state: state.gitea, description, context }, { Authorization: `token ${s.token}` });
}
