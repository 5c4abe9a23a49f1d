// Watch bodies are decoded as one UTF-8 stream: an HTTP chunk can end inside a multi-byte character, and decoding
// chunks one by one turns both halves into U+FFFD — a corrupted value in the cache, then false drift or a wrong value
// applied. A loopback server speaks the watch protocol and cuts its bytes wherever the test says.
import assert from "node:assert/strict";
import http from "node:http";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../../src/log.js";
import { Informer } from "../../../src/runtime/informer.js";
import { waitFor } from "../../support/wait.js";
import { listen, loopbackKubeConfig } from "./loopback.js";
import { Kinds, type KubeObject } from "../../../src/runtime/kinds.js";
import { RestClient, watchEvents, type RawWatchEvent } from "../../../src/runtime/rest.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

// Two-, three- and four-byte characters, and a value long enough to span many chunks.
const VALUE = "café · 日本語 · 🚢⚓ · " + "ü日🚢".repeat(2000);

const configMap = (rv: string, value: string): KubeObject & { data: Record<string, string> } => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "multibyte", namespace: "ns", resourceVersion: rv },
  data: { value },
});

/** Cuts `buf` into pieces of `size` bytes, so that most cuts land inside a multi-byte character. */
function cut(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

async function* from(chunks: (Uint8Array | string)[]): AsyncGenerator<Uint8Array | string> {
  for (const c of chunks) yield c;
}

async function collect(chunks: (Uint8Array | string)[], complete?: () => boolean): Promise<RawWatchEvent[]> {
  const out: RawWatchEvent[] = [];
  for await (const ev of watchEvents(from(chunks), complete)) out.push(ev);
  return out;
}

describe("watchEvents (the watch body decoder)", () => {
  const line = (o: unknown) => JSON.stringify(o) + "\n";

  it("keeps characters whose bytes are split across chunks, for every split point", async () => {
    const body = Buffer.from(line({ type: "ADDED", object: configMap("1", "é日🚢") }));
    for (let at = 1; at < body.length; at++) {
      const [ev] = await collect([body.subarray(0, at), body.subarray(at)]);
      assert.equal((ev!.object as ReturnType<typeof configMap>).data.value, "é日🚢", `split at byte ${at}`);
    }
  });

  it("decodes a body cut into 1-, 2- and 3-byte chunks, several events per stream", async () => {
    const body = Buffer.from(line({ type: "ADDED", object: configMap("1", VALUE) }) + line({ type: "MODIFIED", object: configMap("2", "日本") }));
    for (const size of [1, 2, 3, 7]) {
      const evs = await collect(cut(body, size));
      assert.deepEqual(
        evs.map((e) => [e.type, (e.object as ReturnType<typeof configMap>).data.value]),
        [
          ["ADDED", VALUE],
          ["MODIFIED", "日本"],
        ],
        `chunks of ${size} bytes`,
      );
    }
  });

  it("parses a last line without its newline only when the body is complete", async () => {
    const body = Buffer.from(JSON.stringify({ type: "ADDED", object: configMap("1", "ü") }));
    assert.equal((await collect(cut(body, 5), () => true)).length, 1);
    assert.equal((await collect(cut(body, 5), () => false)).length, 0);
  });

  it("says which event is not JSON without quoting it (it may hold a Secret's data)", async () => {
    const canary = "c2VjcmV0LWNhbmFyeQ==";
    await assert.rejects(collect([line({ type: "ADDED", object: configMap("1", "a") }), `{"type":"ADDED","object":{"data":{"token":"${canary}"}\n`]), (err: Error) => {
      assert.match(err.message, /watch event 2 is not valid JSON/);
      assert.ok(!err.message.includes(canary), err.message);
      return true;
    });
  });
});

describe("informer over a watch whose chunks split multi-byte characters", () => {
  let server: http.Server;
  let rest: RestClient;
  const stop = new AbortController();
  const pause = () => new Promise((r) => setTimeout(r, 2));

  before(async () => {
    server = http.createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? "/", "http://x");
        if (url.searchParams.get("watch") !== "true") {
          res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "ConfigMapList", metadata: { resourceVersion: "1" }, items: [] }));
          return;
        }
        if (url.searchParams.get("resourceVersion") !== "1") return; // later watches: held open until the test ends
        res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
        // Odd-sized chunks, written apart, so the client's reads end inside characters.
        for (const piece of cut(Buffer.from(JSON.stringify({ type: "ADDED", object: configMap("2", VALUE) }) + "\n"), 4099)) {
          res.write(piece);
          await pause();
        }
        // The stream stays open; the informer ends it at stop.
      })();
    });
    await listen(server);
    rest = RestClient.fromKubeConfig(loopbackKubeConfig(server), { qps: 1000, burst: 1000 });
  });

  after(() => {
    stop.abort();
    rest.close();
    server.closeAllConnections();
    server.close();
  });

  it("holds the value exactly as the server sent it", async () => {
    const inf = new Informer(rest, Kinds.ConfigMap, { namespace: "ns", logger: quiet });
    void inf.run(stop.signal);
    await inf.waitForSync();
    const held = await waitFor("the watch to deliver the ConfigMap", () => inf.store.get("ns/multibyte") as ReturnType<typeof configMap> | undefined, { timeoutMs: 10_000, intervalMs: 10 });
    assert.ok(!held.data.value.includes("\uFFFD"), "no character was replaced by U+FFFD");
    assert.equal(held.data.value, VALUE);
  });
});
