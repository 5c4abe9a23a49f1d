// Per-GitRepository webhook receivers (docs/tenancy.md): /hook/<namespace>/<name> verifies a push with that
// GitRepository's own secret and may trigger it alone; the operator-wide secret is a different receiver. A forged or
// misdirected signature is 401 and logged without the body or any header value; bodies, slow senders and the number
// of requests at once are bounded.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import http from "node:http";
import { PassThrough } from "node:stream";
import { after, before, beforeEach, describe, it } from "node:test";
import { listenHttp, type RunningServer } from "../../../src/artifact/server.js";
import { createLogger } from "../../../src/log.js";
import { routeOf, webhookHandler, type PushEvent, type WebhookReceiverRef } from "../../../src/source/webhook.js";

const SECRETS: Record<string, string> = { "team-a/app": "secret-of-team-a", "team-b/app": "secret-of-team-b" };
const OPERATOR = "operator-wide-secret";
const CANARY = "canary-body-5d1f0c";
const sign = (body: string, secret: string) => "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
const push = JSON.stringify({ url: "https://git.example/mono.git", branch: "main", note: CANARY });

let srv: RunningServer;
let slow: RunningServer;
let pushes: { event: PushEvent; receiver?: WebhookReceiverRef }[] = [];
let logs = "";

before(async () => {
  const stream = new PassThrough();
  stream.on("data", (c: Buffer) => (logs += c.toString()));
  const logger = createLogger({ level: "debug", format: "json", stream });
  const handler = (o: { maxConcurrent?: number; bodyTimeoutMs?: number } = {}) =>
    webhookHandler({
      secret: () => OPERATOR,
      receiverSecret: async (r) => {
        const s = SECRETS[`${r.namespace}/${r.name}`];
        return s ? { secret: s } : { missing: `no GitRepository ${r.namespace}/${r.name}` };
      },
      onPush: (event, receiver) => (pushes.push({ event, ...(receiver ? { receiver } : {}) }), 1),
      maxBodyBytes: 4096,
      logger,
      ...o,
    });
  srv = await listenHttp("127.0.0.1:0", handler());
  // A body timeout long enough that, on a loaded machine, the third request is answered while both held ones still
  // wait (300 ms made the test flaky at high load).
  slow = await listenHttp("127.0.0.1:0", handler({ maxConcurrent: 2, bodyTimeoutMs: 3_000 }));
});
after(async () => {
  await srv.close();
  await slow.close();
});
beforeEach(() => {
  pushes = [];
  logs = "";
});

const post = (path: string, body: string, headers: Record<string, string>, port = srv.port) =>
  fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

/** Starts a POST whose body never finishes; resolves once the server has the request. */
function hold(port: number, path: string): { req: http.ClientRequest; response: Promise<number> } {
  const req = http.request({ host: "127.0.0.1", port, path, method: "POST", headers: { "content-type": "application/json", "content-length": "1000" } });
  const response = new Promise<number>((resolve) => {
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(-1));
  });
  req.write("{");
  return { req, response };
}

describe("webhook receivers per GitRepository", () => {
  it("a push signed with a GitRepository's secret, at its path, triggers that GitRepository only", async () => {
    const res = await post("/hook/team-a/app", push, { "x-mooring-signature-256": sign(push, SECRETS["team-a/app"]!) });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { triggered: 1 });
    assert.equal(pushes.length, 1);
    assert.deepEqual(pushes[0]!.receiver, { namespace: "team-a", name: "app" });
  });

  it("tenant A's secret at tenant B's path, or at the operator-wide path, is refused with 401", async () => {
    for (const path of ["/hook/team-b/app", "/hook", "/"]) {
      const res = await post(path, push, { "x-mooring-signature-256": sign(push, SECRETS["team-a/app"]!) });
      assert.equal(res.status, 401, path);
    }
    // GitHub's and GitLab's forms too.
    const gh = JSON.stringify({ ref: "refs/heads/main", repository: { clone_url: "https://git.example/mono.git" } });
    assert.equal((await post("/hook/team-b/app", gh, { "x-github-event": "push", "x-hub-signature-256": sign(gh, SECRETS["team-a/app"]!) })).status, 401);
    const gl = JSON.stringify({ ref: "refs/heads/main", project: { git_http_url: "https://git.example/mono.git" } });
    assert.equal((await post("/hook/team-b/app", gl, { "x-gitlab-event": "Push Hook", "x-gitlab-token": SECRETS["team-a/app"]! })).status, 401);
    assert.equal(pushes.length, 0);
  });

  it("the operator-wide secret does not open a GitRepository's own receiver", async () => {
    assert.equal((await post("/hook/team-a/app", push, { "x-mooring-signature-256": sign(push, OPERATOR) })).status, 401);
    const ok = await post("/hook", push, { "x-mooring-signature-256": sign(push, OPERATOR) });
    assert.equal(ok.status, 202);
    assert.equal(pushes.length, 1);
    assert.equal(pushes[0]!.receiver, undefined, "the operator-wide receiver names no GitRepository");
  });

  it("an unknown receiver answers like a wrong signature (no existence oracle), and the log says why", async () => {
    const res = await post("/hook/team-c/app", push, { "x-mooring-signature-256": sign(push, "guess") });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: "signature mismatch" });
    assert.match(logs, /no receiver secret/);
    assert.match(logs, /no GitRepository team-c\/app/);
  });

  it("logs a forged signature with the receiver and sender, never the body or the signature", async () => {
    const forged = sign(push, "forged");
    assert.equal((await post("/hook/team-a/app", push, { "x-mooring-signature-256": forged })).status, 401);
    assert.match(logs, /signature mismatch/);
    assert.match(logs, /GitRepository team-a\/app/);
    assert.match(logs, /127\.0\.0\.1/);
    assert.ok(!logs.includes(CANARY), "the body is not logged");
    assert.ok(!logs.includes(forged.slice(7, 30)), "the signature is not logged");
    assert.ok(!logs.includes(SECRETS["team-a/app"]!), "the secret is not logged");
  });

  it("paths that name no receiver are 404; only POST is served", async () => {
    for (const path of ["/hook/team-a", "/hook/team-a/app/extra", "/hook/Team_A/app", "/hook/team-a/APP", `/hook/${"a".repeat(64)}/app`]) {
      assert.equal((await post(path, push, { "x-mooring-signature-256": sign(push, SECRETS["team-a/app"]!) })).status, 404, path);
    }
    assert.equal((await fetch(`http://127.0.0.1:${srv.port}/hook/team-a/app`)).status, 405);
    assert.deepEqual(routeOf("/hook/team-a/app/"), { receiver: { namespace: "team-a", name: "app" } });
    assert.deepEqual(routeOf("/hook/team-a/app.v2?x=1"), { receiver: { namespace: "team-a", name: "app.v2" } });
    assert.equal(routeOf("/hook/"), "operator");
    assert.equal(pushes.length, 0);
  });

  it("refuses a body over the limit with 413, declared or streamed, before reading any secret", async () => {
    const big = JSON.stringify({ url: "x", ref: "refs/heads/a", pad: "x".repeat(5000) });
    assert.equal((await post("/hook/team-a/app", big, { "x-mooring-signature-256": sign(big, SECRETS["team-a/app"]!) })).status, 413);
    // Streamed without a length (chunked): cut off once past the limit.
    const status = await new Promise<number>((resolve) => {
      const req = http.request({ host: "127.0.0.1", port: srv.port, path: "/hook/team-a/app", method: "POST" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", () => resolve(-1));
      req.write("x".repeat(3000));
      req.end("x".repeat(3000));
    });
    assert.equal(status, 413);
    assert.equal(pushes.length, 0);
  });

  it("answers 429 past the requests allowed at once, and 408 to a sender that never finishes its body", async () => {
    const a = hold(slow.port, "/hook/team-a/app");
    const b = hold(slow.port, "/hook/team-b/app");
    // Let both reach the handler.
    await new Promise((r) => setTimeout(r, 500));
    const third = await post("/hook/team-a/app", push, { "x-mooring-signature-256": sign(push, SECRETS["team-a/app"]!) }, slow.port);
    assert.equal(third.status, 429);
    assert.equal(third.headers.get("retry-after"), "1");
    assert.match(logs, /too many requests at once/);
    // The held requests time out (bodyTimeoutMs) and free their places.
    assert.deepEqual(await Promise.all([a.response, b.response]), [408, 408]);
    a.req.destroy();
    b.req.destroy();
    const after = await post("/hook/team-a/app", push, { "x-mooring-signature-256": sign(push, SECRETS["team-a/app"]!) }, slow.port);
    assert.equal(after.status, 202);
    assert.equal(pushes.length, 1);
  });
});
