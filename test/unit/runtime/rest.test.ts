// A kept-alive connection that the server has dropped must not fail a request: the client retries once on a fresh
// connection (the EPIPE/ECONNRESET race every long-running Node client meets), except for POST.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { RestClient } from "../../../src/runtime/rest.js";

// A tiny HTTP/1.1 server on raw sockets: the first request on a connection is answered with keep-alive, the second
// request on the same connection is dropped unanswered, as a server closing an idle connection would.
function droppingServer() {
  const seen: string[] = [];
  const server = net.createServer((sock) => {
    let requests = 0;
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString();
      while (buf.includes("\r\n\r\n")) {
        const head = buf.slice(0, buf.indexOf("\r\n\r\n"));
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        buf = buf.slice(buf.indexOf("\r\n\r\n") + 4 + len);
        requests++;
        seen.push(head.split(" ").slice(0, 2).join(" ") + (requests > 1 ? " (dropped)" : ""));
        if (requests > 1) {
          sock.destroy();
          return;
        }
        const body = JSON.stringify({ kind: "Status", ok: true });
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`);
      }
    });
  });
  return { server, seen };
}

describe("RestClient on a dropped keep-alive connection", () => {
  const { server, seen } = droppingServer();
  let rest: RestClient;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: "u" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    rest = RestClient.fromKubeConfig(kc, { qps: 1000, burst: 1000 });
  });
  after(() => {
    rest.close();
    server.close();
  });

  it("retries a GET once on a fresh connection", async () => {
    assert.deepEqual(await rest.request("GET", "/api/first"), { kind: "Status", ok: true });
    assert.deepEqual(await rest.request("GET", "/api/second"), { kind: "Status", ok: true });
    assert.deepEqual(seen, ["GET /api/first", "GET /api/second (dropped)", "GET /api/second"]);
  });

  it("does not repeat a POST", async () => {
    seen.length = 0;
    await rest.request("GET", "/api/warm");
    await assert.rejects(rest.request("POST", "/api/create", { body: {} }), /request failed|socket hang up|ECONNRESET|EPIPE/);
    assert.deepEqual(seen.filter((s) => s.startsWith("POST")), ["POST /api/create (dropped)"]);
  });
});
