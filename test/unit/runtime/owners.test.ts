import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setControllerReference, AlreadyOwnedError } from "../../../src/runtime/owners.js";
import { obj } from "./fixtures.js";

describe("owner references", () => {
  it("setControllerReference refuses a second controller and cross-namespace owners", () => {
    const o1 = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "o1", namespace: "ns", uid: "u1" } };
    const o2 = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "o2", namespace: "ns", uid: "u2" } };
    const child = obj("c", "1");
    setControllerReference(o1, child);
    setControllerReference(o1, child);
    assert.equal(child.metadata!.ownerReferences!.length, 1);
    assert.throws(() => setControllerReference(o2, child), AlreadyOwnedError);
    assert.throws(() => setControllerReference({ ...o1, metadata: { ...o1.metadata, namespace: "other" } }, obj("d", "1")), /cross-namespace/);
  });
});
