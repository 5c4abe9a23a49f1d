import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ArtifactError, fetchRendered, parseRendered, sha256Digest } from "../../../src/apply/artifact.js";
import { canonicalJson, digestObjects } from "../../../src/render/canonical.js";

const objects = [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "n" }, data: { k: "v" } }];

describe("rendered artifact", () => {
  it("the digest of canonicalJson bytes equals digestObjects (the contract with the render controller)", () => {
    assert.equal(sha256Digest(Buffer.from(canonicalJson(objects))), digestObjects(objects));
  });
  it("parses verified bytes and refuses a digest mismatch, non-JSON and non-arrays", () => {
    const bytes = Buffer.from(canonicalJson(objects));
    assert.deepEqual(parseRendered(bytes, digestObjects(objects)), objects);
    assert.throws(() => parseRendered(bytes, `sha256:${"0".repeat(64)}`), (e: unknown) => e instanceof ArtifactError && /has digest sha256:[0-9a-f]{64}, not the sha256:0+/.test((e as Error).message));
    const notJson = Buffer.from("{nope");
    assert.throws(() => parseRendered(notJson, sha256Digest(notJson)), /is not JSON/);
    const obj = Buffer.from("{}");
    assert.throws(() => parseRendered(obj, sha256Digest(obj)), /not a JSON array/);
    const bad = Buffer.from("[1]");
    assert.throws(() => parseRendered(bad, sha256Digest(bad)), /item 0 is not an object/);
  });

  describe("download", () => {
    let server: http.Server;
    let base = "";
    before(async () => {
      server = http.createServer((req, res) => {
        if (req.url === "/ok.json") res.writeHead(200, { "content-type": "application/json" }).end(canonicalJson(objects));
        else res.writeHead(404).end("not found");
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it("downloads and verifies", async () => {
      assert.deepEqual(await fetchRendered(`${base}/ok.json`, digestObjects(objects)), objects);
    });
    it("reports an HTTP error and an unreachable server with the URL", async () => {
      await assert.rejects(fetchRendered(`${base}/gone.json`, digestObjects(objects)), /gone\.json answered HTTP 404/);
      await assert.rejects(fetchRendered("http://127.0.0.1:1/x.json", digestObjects(objects)), /cannot download the rendered artifact http:\/\/127\.0\.0\.1:1\/x\.json/);
    });
  });
});
