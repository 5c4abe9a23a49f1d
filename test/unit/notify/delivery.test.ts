// The Deliverer (src/notify/delivery.ts): one FIFO queue per Provider, retries with backoff while the receiver may work
// later, a record of every step, and secrets kept out of every record and log line. The receiver is a real loopback
// HTTP server and requests go through the real send(); backoff waits run on a FakeClock, request deadlines on real time.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { after, describe, it } from "node:test";
import type { Provider } from "../../../src/api/index.js";
import { createLogger } from "../../../src/log.js";
import { Deliverer, type DelivererOptions, type DeliveryRecord, type Job } from "../../../src/notify/delivery.js";
import { ProviderConfigError, providerSettings, type ProviderSettings } from "../../../src/notify/settings.js";
import { FakeClock } from "../../../src/runtime/clock.js";
import { waitFor } from "../../support/wait.js";
import { SHA, event } from "./fixtures.js";

const TOKEN = "hmac-k3y-never-shown";
const HOOK_PATH = "/hooks/T0001/s3cr3t-p4th";
const fast = { intervalMs: 5, timeoutMs: 10_000 };

type Answer = (res: http.ServerResponse) => void;
interface Got {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

/** A receiver answering each request with the next of `answers` (200 once they are used up), recording what came. */
async function receiver(...answers: Answer[]) {
  const got: Got[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      got.push({ url: req.url ?? "", headers: req.headers, body });
      (answers.shift() ?? ((r) => r.writeHead(200).end("ok")))(res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { got, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const status = (code: number, body = "", headers: Record<string, string> = {}): Answer => (res) => res.writeHead(code, headers).end(body);

/** generic-hmac settings as the notify controller reads them: the address and the HMAC key from the Provider's Secret. */
function settingsAt(origin: string, timeout = "5s"): ProviderSettings {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const provider = { apiVersion: "notification.mooring.dev/v1alpha1", kind: "Provider", metadata: { namespace: "demo", name: "hook" }, spec: { type: "generic-hmac", secretRef: { name: "hook" }, timeout } } as unknown as Provider;
  return providerSettings(provider, { address: b64(`${origin}${HOOK_PATH}`), token: b64(TOKEN) });
}

const job = (provider = "hook", over: Parameters<typeof event>[0] = {}): Job => ({ alert: { namespace: "demo", name: "on-sync" }, provider: { namespace: "demo", name: provider }, event: event(over), ctx: {}, type: "generic-hmac" });

function harness(settingsFor: DelivererOptions["settingsFor"], o: Partial<DelivererOptions> = {}) {
  const records: DeliveryRecord[] = [];
  const lines: string[] = [];
  const stream = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
  const clock = new FakeClock();
  const d = new Deliverer({ settingsFor, onRecord: (_j, r) => records.push(r), clock, logger: createLogger({ level: "debug", format: "json", stream }), ...o });
  const last = () => records.at(-1);
  const settled = () => waitFor("a final record", () => last()?.result !== "Retrying" && last(), fast);
  return { d, records, lines, clock, settled, after: (n: number) => waitFor(`${n} records`, () => records.length >= n && records[n - 1], fast) };
}

const WHAT = `Synced of Application/demo/web (main@sha1:${SHA})`;

void describe("Deliverer: sending", () => {
  void it("sends once, signed, and records Succeeded with the attempt count and the clock's time", async () => {
    const r = await receiver();
    const h = harness(async () => settingsAt(r.origin));
    h.d.enqueue(job());
    const rec = await h.settled();
    assert.deepEqual(rec, { event: "Synced", object: "Application/demo/web", revision: `main@sha1:${SHA}`, at: "2023-11-14T22:13:20Z", result: "Succeeded", attempts: 1, reason: "Delivered", message: `sent ${WHAT} to Provider hook` });
    assert.equal(r.got.length, 1);
    assert.equal(r.got[0]!.url, HOOK_PATH, "the secret goes where the protocol puts it: the URL");
    assert.match(String(r.got[0]!.headers["x-signature"]), /^sha256=[0-9a-f]{64}$/);
    assert.equal(JSON.parse(r.got[0]!.body).reason, "Synced");
    assert.ok(h.lines.some((l) => l.includes("notification sent")));
    await waitFor("the queue to empty", () => h.d.pending() === 0, fast);
  });

  void it("keeps one FIFO queue per Provider: a receiver that hangs delays only its own Provider's events", async () => {
    const slow = await receiver(() => undefined); // never answers the first request
    const quick = await receiver();
    const h = harness(async (p) => (p.name === "slow" ? settingsAt(slow.origin, "400ms") : settingsAt(quick.origin)), { attempts: 1 });
    h.d.enqueue(job("slow", { message: "first" }));
    h.d.enqueue(job("slow", { message: "second" }));
    h.d.enqueue(job("quick", { message: "third" }));
    await waitFor("the quick Provider's delivery", () => h.records.some((x) => x.result === "Succeeded"), fast);
    assert.equal(slow.got.length, 1, "the slow Provider's second event waits behind its first");
    assert.equal(h.records.length, 1);
    await h.after(3);
    assert.deepEqual(slow.got.map((g) => JSON.parse(g.body).message), ["first", "second"]);
    assert.deepEqual(h.records.map((x) => x.result), ["Succeeded", "Failed", "Succeeded"]);
  });

  void it("drops the oldest waiting event past maxQueue, tells onDropped and logs it", async () => {
    const r = await receiver(() => undefined);
    const dropped: string[] = [];
    const h = harness(async () => settingsAt(r.origin, "300ms"), { maxQueue: 2, attempts: 1, onDropped: (j) => dropped.push(j.event.message) });
    for (const m of ["m1", "m2", "m3", "m4"]) h.d.enqueue(job("hook", { message: m }));
    assert.deepEqual(dropped, ["m2"], "m1 is in flight, m2 the oldest waiting");
    assert.equal(h.d.pending(), 3, "two waiting and one in flight");
    assert.ok(h.lines.some((l) => l.includes("queue is full") && l.includes("demo/hook")));
    await h.after(3);
    assert.deepEqual(r.got.map((g) => JSON.parse(g.body).message), ["m1", "m3", "m4"]);
  });
});

void describe("Deliverer: retries", () => {
  void it("retries a 503 after 2s, then 4s (exponential), and records each attempt", async () => {
    const r = await receiver(status(503, "down"), status(503, "still down"));
    const h = harness(async () => settingsAt(r.origin));
    h.d.enqueue(job());
    const first = await h.after(1);
    assert.equal(first.result, "Retrying");
    assert.equal(first.reason, "DeliveryRetrying");
    assert.equal(first.message, `sending ${WHAT} to Provider hook failed (attempt 1 of 6): HTTP 503 from ${r.origin}: down; retrying in 2s`);
    h.clock.advance(1_999);
    await delay(50);
    assert.equal(r.got.length, 1, "no retry before the backoff has passed");
    h.clock.advance(1);
    const second = await h.after(2);
    assert.match(second.message, /attempt 2 of 6.*retrying in 4s$/);
    h.clock.advance(4_000);
    const done = await h.settled();
    assert.equal(done.result, "Succeeded");
    assert.equal(done.attempts, 3);
    assert.equal(done.message, `sent ${WHAT} to Provider hook after 3 attempts`);
    assert.equal(r.got.length, 3);
  });

  void it("waits as long as a 429's Retry-After asks (seconds or a date), at most 5 minutes, never less than its own backoff", async () => {
    const soon = new Date(Date.now() + 40_000).toUTCString();
    const r = await receiver(status(429, "slow down", { "Retry-After": "30" }), status(503, "", { "Retry-After": soon }), status(429, "", { "Retry-After": "3600" }), status(429, "", { "Retry-After": "1" }));
    const h = harness(async () => settingsAt(r.origin), { attempts: 5 });
    h.d.enqueue(job());
    assert.match((await h.after(1)).message, /HTTP 429 .*slow down; the receiver is rate limiting; retrying in 30s \(the receiver's Retry-After\)$/);
    h.clock.advance(29_999);
    await delay(50);
    assert.equal(r.got.length, 1, "not asked again before the receiver's 30 s");
    h.clock.advance(1);
    // An HTTP date ~40 s on (whole seconds, so 39-40 s by the time it is read).
    assert.match((await h.after(2)).message, /HTTP 503 .*retrying in (39|40)s \(the receiver's Retry-After\)$/);
    h.clock.advance(40_000);
    assert.match((await h.after(3)).message, /retrying in 5m \(the receiver's Retry-After\)$/);
    h.clock.advance(300_000);
    // Retry-After: 1 is sooner than the 4th backoff (16 s): the backoff stands.
    assert.match((await h.after(4)).message, /retrying in 16s$/);
    h.clock.advance(16_000);
    assert.equal((await h.settled()).result, "Succeeded");
    assert.equal(r.got.length, 5);
  });

  void it("retries 408 and 5xx up to `attempts`, the backoff capped at maxBackoffMs, then gives up", async () => {
    const r = await receiver(status(408), status(500), status(502), status(504), status(200));
    const h = harness(async () => settingsAt(r.origin), { attempts: 4, backoffMs: 1_000, maxBackoffMs: 3_000 });
    h.d.enqueue(job());
    for (const [n, wait] of [[1, 1_000], [2, 2_000], [3, 3_000]] as const) {
      assert.match((await h.after(n)).message, new RegExp(`attempt ${n} of 4.*retrying in ${wait / 1000}s$`));
      h.clock.advance(wait);
    }
    const done = await h.settled();
    assert.equal(done.result, "Failed");
    assert.equal(done.reason, "DeliveryFailed");
    assert.equal(done.attempts, 4);
    assert.equal(done.message, `${WHAT} not sent to Provider hook: HTTP 504 from ${r.origin}; gave up after 4 attempts`);
    assert.equal(r.got.length, 4, "the fifth answer is never asked for");
  });

  void it("does not retry a refusal (other 4xx, a redirect)", async () => {
    for (const [answer, says] of [
      [status(401, "bad signature"), /HTTP 401 .*: bad signature; check the token .*; not retried \(the receiver refused it\)$/],
      [status(302, "", { Location: "http://elsewhere.invalid/" }), /a redirect, which is not followed/],
    ] as const) {
      const r = await receiver(answer);
      const h = harness(async () => settingsAt(r.origin));
      h.d.enqueue(job());
      const rec = await h.settled();
      assert.equal(rec.result, "Failed");
      assert.equal(rec.attempts, 1);
      assert.match(rec.message, says);
      assert.equal(h.clock.pendingTimers, 0, "no retry is scheduled");
      assert.equal(r.got.length, 1);
    }
  });

  void it("retries a receiver that does not answer within spec.timeout, and one that cannot be reached", async () => {
    const r = await receiver(() => undefined);
    const h = harness(async () => settingsAt(r.origin, "200ms"), { attempts: 2 });
    h.d.enqueue(job());
    assert.match((await h.after(1)).message, new RegExp(`failed \\(attempt 1 of 2\\): could not reach ${r.origin}: no answer within 0.2s; retrying in 2s$`));
    h.clock.advance(2_000);
    assert.equal((await h.settled()).result, "Succeeded");

    const closed = http.createServer();
    await new Promise<void>((res) => closed.listen(0, "127.0.0.1", () => res()));
    const origin = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((res) => closed.close(res));
    const g = harness(async () => settingsAt(origin), { attempts: 1 });
    g.d.enqueue(job());
    assert.equal((await g.settled()).message, `${WHAT} not sent to Provider hook: could not reach ${origin}: ECONNREFUSED; gave up after 1 attempts`);
  });

  void it("reads the settings at each attempt: a failed read is retried, and the next read is used", async () => {
    const r = await receiver();
    let reads = 0;
    const h = harness(async () => {
      if (++reads === 1) throw new Error("secrets \"hook\" is forbidden");
      return settingsAt(r.origin);
    });
    h.d.enqueue(job());
    assert.match((await h.after(1)).message, /attempt 1 of 6\): secrets "hook" is forbidden; retrying in 2s$/);
    h.clock.advance(2_000);
    assert.equal((await h.settled()).attempts, 2);
    assert.equal(reads, 2);
  });
});

void describe("Deliverer: refusals before sending", () => {
  void it("records a Provider configuration error with its own reason, 0 attempts, and sends nothing", async () => {
    const h = harness(async () => {
      throw new ProviderConfigError("SecretNotFound", 'Secret "hook" named by Provider demo/hook\'s spec.secretRef not found');
    });
    h.d.enqueue(job());
    const rec = await h.settled();
    assert.deepEqual([rec.result, rec.reason, rec.attempts], ["Failed", "SecretNotFound", 0]);
    assert.equal(rec.message, `${WHAT} not sent to Provider hook: Secret "hook" named by Provider demo/hook's spec.secretRef not found`);
    assert.equal(h.clock.pendingTimers, 0);
  });

  void it("records a request that cannot be built (CannotBuild) as DeliveryFailed, and an event the type ignores (NotApplicable) not at all", async () => {
    const s = (repositoryUrl: string) => ({ ...job(), type: "github", ctx: { repositoryUrl } });
    const settings: ProviderSettings = { type: "github", address: "http://127.0.0.1:1", addressFromSecret: false, token: "ghp-t0ken", timeoutMs: 1000, secrets: ["ghp-t0ken"] };
    const h = harness(async () => settings);
    h.d.enqueue(s("https://github.com/only-owner"));
    const rec = await h.settled();
    assert.deepEqual([rec.result, rec.reason, rec.attempts], ["Failed", "DeliveryFailed", 0]);
    assert.match(rec.message, /cannot tell the GitHub owner\/repo/);

    // DriftDetected sets no commit status: NotApplicable, only a debug line.
    h.d.enqueue({ ...s("https://github.com/o/r"), event: event({ kind: "DriftDetected" }) });
    await waitFor("the queue to empty", () => h.d.pending() === 0, fast);
    assert.equal(h.records.length, 1, "nothing recorded for an event the type does not send");
    assert.ok(h.lines.some((l) => l.includes("nothing to send") && l.includes("sets no commit status")));
  });
});

void describe("Deliverer: secrets", () => {
  void it("never records or logs the token, the Secret's address or its path, even when the receiver echoes them", async () => {
    const echo = `you sent ${TOKEN} to ${HOOK_PATH}`;
    const r = await receiver(status(500, echo), status(403, echo));
    const h = harness(async () => settingsAt(r.origin));
    h.d.enqueue(job());
    await h.after(1);
    h.clock.advance(2_000);
    const rec = await h.settled();
    assert.equal(rec.result, "Failed");
    assert.ok(r.got.every((g) => g.url === HOOK_PATH), "the receiver did get the secret URL");
    const shown = [...h.records.map((x) => x.message), ...h.lines].join("\n");
    assert.ok(shown.includes("[redacted]"), "the echo is shown, redacted");
    for (const secret of [TOKEN, HOOK_PATH, "s3cr3t-p4th"]) assert.ok(!shown.includes(secret), `${secret} appears in a record or log line`);
  });

  void it("redacts a configuration error's message with the secrets of the last read", async () => {
    const r = await receiver(status(503));
    let reads = 0;
    const h = harness(async () => {
      if (++reads === 1) return settingsAt(r.origin);
      throw new ProviderConfigError("SecretInvalid", `the key token "${TOKEN}" is not valid`);
    });
    h.d.enqueue(job());
    await h.after(1);
    h.clock.advance(2_000);
    const rec = await h.settled();
    assert.equal(rec.reason, "SecretInvalid");
    assert.equal(rec.attempts, 1);
    assert.ok(!rec.message.includes(TOKEN) && rec.message.includes("[redacted]"), rec.message);
    assert.ok(!h.lines.join("\n").includes(TOKEN));
  });
});

void describe("Deliverer.stop", () => {
  void it("abandons a delivery waiting to retry and the events queued behind it, recording nothing more", async () => {
    const r = await receiver(status(503));
    const h = harness(async () => settingsAt(r.origin));
    h.d.enqueue(job("hook", { message: "a" }));
    h.d.enqueue(job("hook", { message: "b" }));
    await h.after(1);
    assert.equal(h.d.pending(), 2);
    await h.d.stop();
    h.clock.advance(60_000);
    await delay(50);
    assert.equal(h.records.length, 1);
    assert.equal(r.got.length, 1);
    assert.equal(h.d.pending(), 1, "the abandoned event stays counted: nothing drains it");
  });
});
