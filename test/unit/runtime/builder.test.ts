import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ownerRequests } from "../../../src/runtime/builder.js";
import { Kinds } from "../../../src/runtime/kinds.js";
import { obj } from "./fixtures.js";

describe("owner mapping", () => {
  it("owner mapping follows only controller references of the owner kind", () => {
    const owner = { ...Kinds.Deployment };
    const child = obj("c", "1", {
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "Deployment", name: "d1", uid: "1", controller: true },
        { apiVersion: "apps/v1", kind: "Deployment", name: "d2", uid: "2" },
        { apiVersion: "v1", kind: "ConfigMap", name: "x", uid: "3", controller: true },
      ],
    });
    assert.deepEqual(ownerRequests(owner)(child), [{ namespace: "ns", name: "d1" }]);
    assert.equal(ownerRequests(owner, false)(child).length, 2);
  });
});
