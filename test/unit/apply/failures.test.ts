import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { conflictsOf, isImmutableError } from "../../../src/apply/failures.js";
import { ApiError } from "../../../src/runtime/index.js";

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
