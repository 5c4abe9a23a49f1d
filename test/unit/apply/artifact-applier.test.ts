import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ArtifactError, fetchRendered, parseRendered, sha256Digest } from "../../../src/apply/artifact.js";
import { conflictsOf, isImmutableError } from "../../../src/apply/applier.js";
import { canonicalJson, digestObjects } from "../../../src/render/canonical.js";
import { ApiError } from "../../../src/runtime/index.js";

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

describe("API error interpretation", () => {
  it("names the other field manager and the field of an apply conflict", () => {
    const err = new ApiError(409, {
      reason: "Conflict",
      message: 'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.key',
      details: { causes: [{ type: "FieldManagerConflict", message: 'conflict with "kubectl-edit" using v1', field: ".data.key" }] },
    }, "PATCH", "/api/v1/namespaces/n/configmaps/a");
    assert.deepEqual(conflictsOf(err), [{ manager: "kubectl-edit", field: ".data.key" }]);
    const bare = new ApiError(409, { reason: "Conflict", message: 'Apply failed with 1 conflict: conflict with "helm" using apps/v1: .spec.replicas' }, "PATCH", "/x");
    assert.deepEqual(conflictsOf(bare), [{ manager: "helm", field: ".spec.replicas" }]);
  });
  it("recognises immutable-field errors (Job template, Service clusterIP) and nothing else", () => {
    const job = new ApiError(422, { reason: "Invalid", message: 'Job.batch "m" is invalid: spec.template: Invalid value: ...: field is immutable' }, "PATCH", "/x");
    const svc = new ApiError(422, { reason: "Invalid", message: 'Service "s" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.0.0.9"}: may not change once set' }, "PATCH", "/x");
    const other = new ApiError(422, { reason: "Invalid", message: 'Service "s" is invalid: spec.ports[0].port: Invalid value: 70000' }, "PATCH", "/x");
    assert.equal(isImmutableError(job), true);
    assert.equal(isImmutableError(svc), true);
    assert.equal(isImmutableError(other), false);
    assert.equal(isImmutableError(new Error("field is immutable")), false);
  });
});
