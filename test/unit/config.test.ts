import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseOperatorArgs } from "../../src/config.js";

describe("operator configuration", () => {
  it("defaults to all three controllers and documented addresses", () => {
    const c = parseOperatorArgs([]);
    assert.deepEqual(c.controllers, ["source", "render", "apply"]);
    assert.equal(c.healthAddr, ":8081");
    assert.equal(c.metricsAddr, ":8080");
    assert.equal(c.logLevel, "info");
    assert.equal(c.leaderElect, false);
    assert.equal(c.concurrency, 4);
  });

  it("sets the source size limit, artifacts kept and webhook Secret, with Kubernetes-style sizes", () => {
    const d = parseOperatorArgs([]);
    assert.deepEqual([d.maxSourceBytes, d.keepArtifacts, d.webhookSecret], [512 * 1024 * 1024, 2, "mooring-webhook"]);
    const c = parseOperatorArgs(["--max-source-size", "1Gi", "--keep-artifacts", "5", "--webhook-secret", "git-hooks"]);
    assert.deepEqual([c.maxSourceBytes, c.keepArtifacts, c.webhookSecret], [1024 ** 3, 5, "git-hooks"]);
    assert.equal(parseOperatorArgs(["--max-source-size", "200M"]).maxSourceBytes, 200_000_000);
    assert.equal(parseOperatorArgs(["--max-source-size", "4096"]).maxSourceBytes, 4096);
    for (const bad of ["", "1.5Gi", "12GB", "-1", "0"]) assert.throws(() => parseOperatorArgs(["--max-source-size", bad]), /expected a size such as 512Mi/, bad);
    assert.throws(() => parseOperatorArgs(["--keep-artifacts", "0"]), /positive integer/);
  });

  it("accepts any subset of controllers, de-duplicated", () => {
    assert.deepEqual(parseOperatorArgs(["--controllers", "apply,source,apply"]).controllers, ["apply", "source"]);
  });

  it("rejects an unknown controller with a message naming the choices", () => {
    assert.throws(() => parseOperatorArgs(["--controllers", "source,deploy"]), /unknown controller "deploy"; choose from source, render, apply/);
  });

  it("rejects a bad address and a non-positive number", () => {
    assert.throws(() => parseOperatorArgs(["--health-addr", "8081"]), /expected host:port/);
    assert.throws(() => parseOperatorArgs(["--concurrency", "0"]), /positive integer/);
  });

  it("reads MOORING_* environment variables when a flag is absent, and the flag wins", () => {
    process.env.MOORING_LOG_LEVEL = "debug";
    process.env.MOORING_CONTROLLERS = "render";
    try {
      const c = parseOperatorArgs([]);
      assert.equal(c.logLevel, "debug");
      assert.deepEqual(c.controllers, ["render"]);
      assert.deepEqual(parseOperatorArgs(["--controllers", "apply"]).controllers, ["apply"]);
    } finally {
      delete process.env.MOORING_LOG_LEVEL;
      delete process.env.MOORING_CONTROLLERS;
    }
  });
});
