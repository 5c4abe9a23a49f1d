import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createLogger } from "../../src/log.js";

function capture(format: "json" | "text") {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  return { logger: createLogger({ format, stream, level: "info" }), lines };
}

const flush = () => new Promise((r) => setImmediate(r));

describe("logging", () => {
  it("writes one JSON object per line with structured fields", async () => {
    const { logger, lines } = capture("json");
    logger.info("fetched", { object: "default/podinfo", revision: "main@sha1:abc" });
    await flush();
    const entry = JSON.parse(lines[0]!);
    assert.equal(entry.message, "fetched");
    assert.equal(entry.level, "info");
    assert.equal(entry.object, "default/podinfo");
    assert.ok(entry.timestamp);
  });

  it("never writes secret-looking fields", async () => {
    const { logger, lines } = capture("json");
    logger.info("auth", { password: "hunter2", bearerToken: "tok", user: "bob" });
    await flush();
    assert.doesNotMatch(lines.join("\n"), /hunter2|"tok"/);
    assert.match(lines[0]!, /"user":"bob"/);
  });

  it("writes readable text lines and honours the level", async () => {
    const { logger, lines } = capture("text");
    logger.debug("hidden");
    logger.warn("retrying", { attempt: 2 });
    await flush();
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /warn\s+retrying attempt=2$/);
  });
});
