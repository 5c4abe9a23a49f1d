// send() (src/notify/send.ts): what a receiver's answer means, against a real loopback HTTP server, and the
// Retry-After header read as RFC 9110 gives it (delay-seconds or an HTTP date).
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import type { OutgoingRequest } from "../../../src/notify/payload.js";
import { retryAfter, send } from "../../../src/notify/send.js";

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function answering(code: number, headers: Record<string, string> = {}, body = ""): Promise<string> {
  const server = http.createServer((req, res) => req.resume().on("end", () => res.writeHead(code, headers).end(body)));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const post = (url: string): OutgoingRequest => ({ url, method: "POST", headers: { "content-type": "application/json" }, body: "{}" });

describe("retryAfter", () => {
  const now = Date.parse("2026-12-06T20:00:00Z");
  it("reads delay-seconds and HTTP dates (rounded up to whole seconds); a date past is 0", () => {
    assert.equal(retryAfter("120", now), 120_000);
    assert.equal(retryAfter(" 0 ", now), 0);
    assert.equal(retryAfter("Sun, 06 Dec 2026 20:01:30 GMT", now), 90_000);
    assert.equal(retryAfter("Sun, 06 Dec 2026 19:59:00 GMT", now), 0);
    assert.equal(retryAfter("Sunday, 06-Dec-26 20:00:10 GMT", now), 10_000, "RFC 850, obsolete but to be accepted");
    assert.equal(retryAfter("Sun Dec  6 20:00:05 2026", now), 5_000, "asctime");
  });
  it("ignores what is not a Retry-After: absent, empty, negative, fractional, words", () => {
    for (const v of [null, "", "-5", "1.5", "soon", "2026-12-06"]) assert.equal(retryAfter(v, now), undefined, String(v));
  });
});

describe("send", () => {
  it("a 429 or 503 carries the receiver's Retry-After; a refusal does not, even when it sends one", async () => {
    const r429 = await send(post(await answering(429, { "Retry-After": "7" }, "slow down")), 5_000, []);
    assert.deepEqual({ ok: r429.ok, retryable: !r429.ok && r429.retryable, after: !r429.ok && r429.retryAfterMs }, { ok: false, retryable: true, after: 7_000 });
    const r503 = await send(post(await answering(503, { "Retry-After": "2" })), 5_000, []);
    assert.equal(!r503.ok && r503.retryAfterMs, 2_000);
    const r401 = await send(post(await answering(401, { "Retry-After": "7" })), 5_000, []);
    assert.equal(!r401.ok && r401.retryable, false);
    assert.equal(!r401.ok && r401.retryAfterMs, undefined);
    const plain = await send(post(await answering(500)), 5_000, []);
    assert.equal(!plain.ok && "retryAfterMs" in plain, false, "no header, no field");
  });
});
