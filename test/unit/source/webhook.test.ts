import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { listenHttp, type RunningServer } from "../../../src/artifact/server.js";
import { normalizeRepoUrl, pushMatches, webhookHandler, type PushEvent } from "../../../src/source/webhook.js";

const SECRET = "webhook-secret-1";
const sign = (body: string, secret = SECRET) => "sha256=" + createHmac("sha256", secret).update(body).digest("hex");

void describe("webhook receiver", () => {
  let srv: RunningServer;
  let pushes: PushEvent[] = [];
  before(async () => {
    srv = await listenHttp("127.0.0.1:0", webhookHandler({ secret: () => SECRET, onPush: (e) => (pushes.push(e), 1), maxBodyBytes: 4096 }));
  });
  after(() => srv.close());
  beforeEach(() => {
    pushes = [];
  });
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${srv.port}/hook`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

  const github = JSON.stringify({ ref: "refs/heads/main", repository: { clone_url: "https://github.com/acme/app.git", html_url: "https://github.com/acme/app" } });

  void it("accepts a GitHub push with a valid X-Hub-Signature-256", async () => {
    const res = await post(github, { "x-github-event": "push", "x-hub-signature-256": sign(github) });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { triggered: 1 });
    assert.deepEqual(pushes, [{ provider: "github", urls: ["github.com/acme/app"], ref: "refs/heads/main", branch: "main" }]);
  });

  void it("rejects a bad or missing signature with 401 and triggers nothing", async () => {
    for (const sig of [sign(github, "wrong"), "", "sha256=", sign(github + " ")]) {
      const res = await post(github, { "x-github-event": "push", "x-hub-signature-256": sig });
      assert.equal(res.status, 401);
    }
    assert.equal(pushes.length, 0);
  });

  void it("ignores non-push GitHub events after verifying them", async () => {
    const body = JSON.stringify({ zen: "hi" });
    const res = await post(body, { "x-github-event": "ping", "x-hub-signature-256": sign(body) });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { ignored: "ping" });
    assert.equal(pushes.length, 0);
  });

  void it("accepts a GitLab tag push with X-Gitlab-Token and rejects a wrong token", async () => {
    const body = JSON.stringify({ ref: "refs/tags/v1.2.0", project: { git_http_url: "https://gitlab.com/acme/app.git" } });
    assert.equal((await post(body, { "x-gitlab-event": "Tag Push Hook", "x-gitlab-token": "nope" })).status, 401);
    const res = await post(body, { "x-gitlab-event": "Tag Push Hook", "x-gitlab-token": SECRET });
    assert.equal(res.status, 202);
    assert.deepEqual(pushes, [{ provider: "gitlab", urls: ["gitlab.com/acme/app"], ref: "refs/tags/v1.2.0", tag: "v1.2.0" }]);
  });

  void it("accepts the generic form with X-Mooring-Signature-256", async () => {
    const body = JSON.stringify({ url: "http://git.local:3000/team/app.git", branch: "dev" });
    const res = await post(body, { "x-mooring-signature-256": sign(body) });
    assert.equal(res.status, 202);
    assert.deepEqual(pushes[0], { provider: "generic", urls: ["git.local:3000/team/app"], ref: "refs/heads/dev", branch: "dev" });
  });

  void it("refuses bodies over the limit with 413, non-JSON with 400, and GET with 405", async () => {
    const big = JSON.stringify({ url: "x", ref: "refs/heads/a", pad: "x".repeat(5000) });
    assert.equal((await post(big, { "x-mooring-signature-256": sign(big) })).status, 413);
    assert.equal((await post("not json", { "x-mooring-signature-256": sign("not json") })).status, 400);
    assert.equal((await fetch(`http://127.0.0.1:${srv.port}/hook`)).status, 405);
    assert.equal(pushes.length, 0);
  });
});

void describe("push matching", () => {
  const ev = (ref: string): PushEvent => ({
    provider: "generic",
    urls: ["github.com/acme/app"],
    ref,
    ...(ref.startsWith("refs/heads/") ? { branch: ref.slice(11) } : { tag: ref.slice(10) }),
  });
  void it("normalizes scheme, credentials, case, .git and ssh forms", () => {
    for (const u of ["https://github.com/Acme/App.git", "http://user:pw@github.com/acme/app/", "git@github.com:acme/app.git", "ssh://git@github.com/acme/app"]) {
      assert.equal(normalizeRepoUrl(u), "github.com/acme/app", u);
    }
  });
  void it("matches on URL and branch, tag, semver, name; never for a pinned commit", () => {
    const url = "https://github.com/acme/app.git";
    assert.equal(pushMatches(ev("refs/heads/main"), url, { branch: "main" }), true);
    assert.equal(pushMatches(ev("refs/heads/dev"), url, { branch: "main" }), false);
    assert.equal(pushMatches(ev("refs/heads/main"), "https://github.com/acme/other.git", { branch: "main" }), false);
    assert.equal(pushMatches(ev("refs/heads/main"), url, undefined), true);
    assert.equal(pushMatches(ev("refs/tags/v1.0.0"), url, { tag: "v1.0.0" }), true);
    assert.equal(pushMatches(ev("refs/tags/v1.0.0"), url, { semver: "^1" }), true);
    assert.equal(pushMatches(ev("refs/heads/main"), url, { semver: "^1" }), false);
    assert.equal(pushMatches(ev("refs/heads/main"), url, { name: "refs/heads/main" }), true);
    assert.equal(pushMatches(ev("refs/heads/main"), url, { commit: "a".repeat(40) }), false);
  });
});
