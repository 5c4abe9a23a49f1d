import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Kinds, resourcePath } from "../../../src/runtime/kinds.js";

describe("resource paths", () => {
  it("builds resource paths and refuses scope mistakes", () => {
    assert.equal(resourcePath(Kinds.ConfigMap, "ns", "a"), "/api/v1/namespaces/ns/configmaps/a");
    assert.equal(resourcePath(Kinds.Deployment, "ns", "a", "status"), "/apis/apps/v1/namespaces/ns/deployments/a/status");
    assert.equal(resourcePath(Kinds.Namespace, undefined, "x"), "/api/v1/namespaces/x");
    assert.equal(resourcePath(Kinds.ConfigMap), "/api/v1/configmaps");
    assert.throws(() => resourcePath(Kinds.Namespace, "ns"), /cluster-scoped/);
  });
});
