// The operator's tenancy flags (docs/tenancy.md): secure by default, as Flux's multi-tenancy lockdown.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { parseOperatorArgs } from "../../../src/config.js";

const ENV = ["MOORING_DEFAULT_SERVICE_ACCOUNT", "MOORING_ALLOW_CROSS_NAMESPACE_REFS", "MOORING_FORBID_CROSS_NAMESPACE_REFS"];

describe("tenancy flags", () => {
  afterEach(() => {
    for (const k of ENV) delete process.env[k];
  });

  it("default to the namespace's default ServiceAccount and refused cross-namespace references", () => {
    const c = parseOperatorArgs([]);
    assert.equal(c.defaultServiceAccount, "default");
    assert.equal(c.allowCrossNamespaceRefs, false);
  });

  it("--default-service-account names another ServiceAccount; only an explicit empty value means the controller's own identity", () => {
    assert.equal(parseOperatorArgs(["--default-service-account", "deployer"]).defaultServiceAccount, "deployer");
    assert.equal(parseOperatorArgs(["--default-service-account="]).defaultServiceAccount, undefined);
    assert.equal(parseOperatorArgs(["--default-service-account", ""]).defaultServiceAccount, undefined);
    process.env.MOORING_DEFAULT_SERVICE_ACCOUNT = "";
    assert.equal(parseOperatorArgs([]).defaultServiceAccount, undefined, "an empty environment variable is explicit too");
    process.env.MOORING_DEFAULT_SERVICE_ACCOUNT = "tenant-sa";
    assert.equal(parseOperatorArgs([]).defaultServiceAccount, "tenant-sa");
  });

  it("refuses a ServiceAccount name that is not one, saying how to opt out", () => {
    for (const bad of ["Deployer", "a_b", "-x", "x".repeat(254)]) {
      assert.throws(() => parseOperatorArgs(["--default-service-account", bad]), /is not a valid ServiceAccount name .*pass "" to apply with the controller's own identity/, bad);
    }
  });

  it("--allow-cross-namespace-refs allows them, also as =true; =false and an environment variable set to false do not", () => {
    assert.equal(parseOperatorArgs(["--allow-cross-namespace-refs"]).allowCrossNamespaceRefs, true);
    assert.equal(parseOperatorArgs(["--allow-cross-namespace-refs=true"]).allowCrossNamespaceRefs, true);
    assert.equal(parseOperatorArgs(["--allow-cross-namespace-refs=false"]).allowCrossNamespaceRefs, false);
    process.env.MOORING_ALLOW_CROSS_NAMESPACE_REFS = "false";
    assert.equal(parseOperatorArgs([]).allowCrossNamespaceRefs, false, "commander reads a bare boolean's variable as true whatever its value");
    process.env.MOORING_ALLOW_CROSS_NAMESPACE_REFS = "true";
    assert.equal(parseOperatorArgs([]).allowCrossNamespaceRefs, true);
    assert.throws(() => parseOperatorArgs(["--allow-cross-namespace-refs=maybe"]), /expected true or false, got "maybe"/);
  });

  it("still accepts the old --forbid-cross-namespace-refs, which wins over --allow-cross-namespace-refs", () => {
    assert.equal(parseOperatorArgs(["--forbid-cross-namespace-refs"]).allowCrossNamespaceRefs, false);
    assert.equal(parseOperatorArgs(["--allow-cross-namespace-refs", "--forbid-cross-namespace-refs"]).allowCrossNamespaceRefs, false);
    process.env.MOORING_FORBID_CROSS_NAMESPACE_REFS = "true";
    assert.equal(parseOperatorArgs(["--allow-cross-namespace-refs"]).allowCrossNamespaceRefs, false);
  });
});
