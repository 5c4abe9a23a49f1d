// Each Provider type's request for an event, and the settings read from a Provider and its Secret.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import type { Provider } from "../../../src/api/index.js";
import type { NotificationEvent } from "../../../src/notify/events.js";
import { CannotBuild, NotApplicable, apiBase, buildRequest, signature } from "../../../src/notify/payload.js";
import { ProviderConfigError, originOf, providerSettings, redact, type ProviderSettings } from "../../../src/notify/settings.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const TOKEN = "tok-s3cr3t-value";
const event = (over: Partial<NotificationEvent> = {}): NotificationEvent => ({
  id: "1",
  kind: "Synced",
  severity: "info",
  object: { kind: "Application", namespace: "demo", name: "web", uid: "u1", apiVersion: "delivery.mooring.dev/v1alpha1" },
  reason: "Succeeded",
  message: `revision main@sha1:${SHA}: 2 applied`,
  revision: `main@sha1:${SHA}`,
  time: "2026-01-01T00:00:00Z",
  reportingController: "mooring-apply",
  ...over,
});
const settings = (over: Partial<ProviderSettings>): ProviderSettings => ({ type: "generic", addressFromSecret: false, timeoutMs: 1000, secrets: [], ...over });
const json = (body: string) => JSON.parse(body) as Record<string, any>;

void describe("buildRequest", () => {
  void it("generic: Flux's event shape, no signature", () => {
    const r = buildRequest(settings({ address: "http://127.0.0.1:1/hook" }), event(), { summary: "prod" });
    assert.equal(r.method, "POST");
    assert.equal(r.url, "http://127.0.0.1:1/hook");
    assert.equal(r.headers["Content-Type"], "application/json");
    assert.equal(r.headers["X-Signature"], undefined);
    assert.deepEqual(json(r.body), {
      involvedObject: { kind: "Application", namespace: "demo", name: "web", uid: "u1", apiVersion: "delivery.mooring.dev/v1alpha1" },
      severity: "info",
      timestamp: "2026-01-01T00:00:00Z",
      message: `revision main@sha1:${SHA}: 2 applied`,
      reason: "Synced",
      metadata: { originalReason: "Succeeded", revision: `main@sha1:${SHA}`, summary: "prod" },
      reportingController: "mooring-apply",
    });
  });

  void it("generic-hmac: X-Signature is sha256=HMAC-SHA256(body) with the token as key", () => {
    const r = buildRequest(settings({ type: "generic-hmac", address: "http://127.0.0.1:1/hook", token: TOKEN }), event());
    const expected = `sha256=${createHmac("sha256", TOKEN).update(r.body).digest("hex")}`;
    assert.equal(r.headers["X-Signature"], expected);
    assert.equal(signature(r.body, TOKEN), expected);
    assert.notEqual(signature(r.body + " ", TOKEN), expected, "any change to the body changes the signature");
    assert.ok(!r.body.includes(TOKEN));
  });

  void it("slack: incoming webhook without auth; chat.postMessage with a bearer token and channel", () => {
    const hook = buildRequest(settings({ type: "slack", address: "http://127.0.0.1:1/services/T/B/X", username: "mooring" }), event({ kind: "SyncFailed", severity: "error" }));
    assert.equal(hook.headers.Authorization, undefined);
    const b = json(hook.body);
    assert.equal(b.username, "mooring");
    assert.equal(b.text, "Sync failed: Application/demo/web");
    assert.equal(b.attachments[0].color, "danger");
    assert.deepEqual(b.attachments[0].fields[0], { title: "revision", value: `main@sha1:${SHA}`, short: false });
    const api = buildRequest(settings({ type: "slack", token: TOKEN, channel: "#deploys" }), event());
    assert.equal(api.url, "https://slack.com/api/chat.postMessage");
    assert.equal(api.headers.Authorization, `Bearer ${TOKEN}`);
    assert.equal(api.headers["Content-Type"], "application/json; charset=utf-8");
    assert.equal(json(api.body).channel, "#deploys");
    assert.equal(json(api.body).attachments[0].color, "good");
  });

  void it("msteams: a message with one Adaptive Card attachment", () => {
    const r = buildRequest(settings({ type: "msteams", address: "http://127.0.0.1:1/workflows/x" }), event({ kind: "HealthDegraded", severity: "error", message: "Deployment web: 0/1 ready" }));
    const b = json(r.body);
    assert.equal(b.type, "message");
    assert.equal(b.attachments.length, 1);
    assert.equal(b.attachments[0].contentType, "application/vnd.microsoft.card.adaptive");
    assert.equal(b.attachments[0].contentUrl, null);
    const card = b.attachments[0].content;
    assert.equal(card.type, "AdaptiveCard");
    assert.equal(card.version, "1.4");
    assert.equal(card.body[0].text, "Health degraded: Application/demo/web");
    assert.equal(card.body[0].color, "Attention");
    assert.equal(card.body[1].text, "Deployment web: 0/1 ready");
    assert.deepEqual(card.body[2].facts[0], { title: "revision", value: `main@sha1:${SHA}` });
  });

  void it("discord: one embed with title, description, color and fields", () => {
    const r = buildRequest(settings({ type: "discord", address: "http://127.0.0.1:1/api/webhooks/1/x", username: "mooring" }), event({ kind: "DriftReverted", message: "re-applied ConfigMap demo/x" }));
    const b = json(r.body);
    assert.equal(b.username, "mooring");
    assert.equal(b.embeds.length, 1);
    assert.equal(b.embeds[0].title, "Drift reverted: Application/demo/web");
    assert.equal(b.embeds[0].description, "re-applied ConfigMap demo/x");
    assert.equal(b.embeds[0].color, 0x2eb886);
    assert.equal(b.embeds[0].timestamp, "2026-01-01T00:00:00Z");
  });

  void it("github, gitlab, gitea: each host's commit-status request", () => {
    const ctx = { repositoryUrl: "https://github.com/acme/shop.git" };
    const gh = buildRequest(settings({ type: "github", token: TOKEN }), event(), ctx);
    assert.equal(gh.url, `https://api.github.com/repos/acme/shop/statuses/${SHA}`);
    assert.equal(gh.headers.Authorization, `Bearer ${TOKEN}`);
    assert.equal(gh.headers.Accept, "application/vnd.github+json");
    assert.equal(gh.headers["X-GitHub-Api-Version"], "2022-11-28");
    assert.deepEqual(json(gh.body), { state: "success", description: `synced: revision main@sha1:${SHA}: 2 applied`.slice(0, 140), context: "mooring/demo/web" });
    const failed = buildRequest(settings({ type: "github", token: TOKEN }), event({ kind: "SyncFailed", severity: "error", message: "x".repeat(300) }), ctx);
    assert.equal(json(failed.body).state, "failure");
    assert.equal(json(failed.body).description.length, 140);

    const gl = buildRequest(settings({ type: "gitlab", token: TOKEN }), event({ kind: "HealthDegraded", severity: "error" }), { repositoryUrl: "https://gitlab.example.com/group/sub/shop.git" });
    assert.equal(gl.url, `https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fshop/statuses/${SHA}`);
    assert.equal(gl.headers["PRIVATE-TOKEN"], TOKEN);
    assert.equal(gl.headers.Authorization, undefined);
    assert.deepEqual(json(gl.body), { state: "failed", name: "mooring/demo/web", description: `degraded: revision main@sha1:${SHA}: 2 applied` });

    const gt = buildRequest(settings({ type: "gitea", token: TOKEN, address: "http://127.0.0.1:3000/api/v1/" }), event(), { repositoryUrl: "http://127.0.0.1:3000/acme/shop" });
    assert.equal(gt.url, `http://127.0.0.1:3000/api/v1/repos/acme/shop/statuses/${SHA}`);
    assert.equal(gt.headers.Authorization, `token ${TOKEN}`);
    assert.equal(json(gt.body).state, "success");
    assert.equal(json(gt.body).context, "mooring/demo/web");
  });

  void it("derives each host's API base from the repository URL unless an address is set", () => {
    assert.equal(apiBase(settings({ type: "github" }), "https://github.com/a/b"), "https://api.github.com");
    assert.equal(apiBase(settings({ type: "github" }), "https://ghe.example.com/a/b"), "https://ghe.example.com/api/v3");
    assert.equal(apiBase(settings({ type: "gitlab" }), "https://gitlab.com/a/b"), "https://gitlab.com/api/v4");
    assert.equal(apiBase(settings({ type: "gitea" }), "http://git.local:3000/a/b.git"), "http://git.local:3000/api/v1");
    assert.equal(apiBase(settings({ type: "github", address: "http://127.0.0.1:9/" }), "https://github.com/a/b"), "http://127.0.0.1:9");
  });

  void it("sets no commit status for other events, without a commit, or without a GitRepository; refuses an unmappable URL", () => {
    const s = settings({ type: "github", token: TOKEN });
    assert.throws(() => buildRequest(s, event({ kind: "DriftDetected" }), { repositoryUrl: "https://github.com/a/b" }), NotApplicable);
    assert.throws(() => buildRequest(s, event({ revision: undefined }), { repositoryUrl: "https://github.com/a/b" }), NotApplicable);
    assert.throws(() => buildRequest(s, event(), {}), NotApplicable);
    assert.throws(() => buildRequest(s, event(), { repositoryUrl: "https://github.com/only-one" }), (e: Error) => e instanceof CannotBuild && /owner\/repo/.test(e.message));
    assert.throws(() => buildRequest(settings({ type: "gitlab", token: TOKEN }), event(), { repositoryUrl: "https://gitlab.com/one" }), CannotBuild);
  });
});

const b64 = (s: string) => Buffer.from(s).toString("base64");
const provider = (spec: Provider["spec"]): Provider => ({ apiVersion: "notification.mooring.dev/v1alpha1", kind: "Provider", metadata: { name: "p", namespace: "demo" }, spec });

void describe("providerSettings", () => {
  void it("reads address and token from the Secret; the Secret's address wins and is redacted", () => {
    const s = providerSettings(provider({ type: "slack", address: "https://example.com/x", secretRef: { name: "s" } }), { address: b64("https://hooks.slack.example/services/T0/B0/SECRETPATH\n"), token: b64("") });
    assert.equal(s.address, "https://hooks.slack.example/services/T0/B0/SECRETPATH");
    assert.equal(s.addressFromSecret, true);
    assert.equal(s.token, undefined);
    assert.equal(redact(`failed at ${s.address}`, s.secrets), "failed at [redacted]");
    assert.equal(redact("path /services/T0/B0/SECRETPATH seen", s.secrets), "path [redacted] seen");
    assert.equal(originOf(s.address!), "https://hooks.slack.example");
  });

  void it("names what is missing or wrong, with a condition reason, and never a value", () => {
    const cases: [Provider, Record<string, string> | undefined, string, RegExp][] = [
      [provider({ type: "github", secretRef: { name: "gh" } }), undefined, "SecretNotFound", /Secret "gh" named by Provider demo\/p's spec.secretRef not found/],
      [provider({ type: "github", secretRef: { name: "gh" } }), {}, "SecretInvalid", /needs an API token; set the key token of Secret "gh"/],
      [provider({ type: "generic", secretRef: { name: "w" } }), { address: b64("not a url secret-ish") }, "InvalidAddress", /key "address" of Secret "w" is not an http/],
      [provider({ type: "generic", secretRef: { name: "w" } }), { address: b64("ftp://host/x") }, "InvalidAddress", /not an http/],
      [provider({ type: "generic-hmac", address: "http://127.0.0.1/x", secretRef: { name: "w" } }), {}, "SecretInvalid", /needs an HMAC key/],
      [provider({ type: "slack", secretRef: { name: "w" } }), { token: b64(TOKEN) }, "SecretInvalid", /needs spec.channel/],
      [provider({ type: "generic", address: "http//broken" }), {}, "InvalidAddress", /spec.address of Provider demo\/p is not an http/],
    ];
    for (const [p, data, reason, message] of cases) {
      assert.throws(
        () => providerSettings(p, data),
        (e: Error) => {
          assert.ok(e instanceof ProviderConfigError, e.message);
          assert.equal(e.reason, reason, e.message);
          assert.match(e.message, message);
          assert.ok(!e.message.includes("not a url secret-ish") && !e.message.includes(TOKEN), e.message);
          return true;
        },
      );
    }
  });
});
