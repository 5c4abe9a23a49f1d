import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { strategicMerge } from "../../../../src/render/kustomize/smp.js";

void describe("kustomize building blocks", () => {
  void it("merges lists by merge key for built-in kinds and replaces them for custom resources", () => {
    const target = { spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "1" }] } };
    const patch = { spec: { containers: [{ name: "b", image: "2" }, { name: "c", image: "3" }] } };
    assert.deepEqual(strategicMerge(target, patch, { apiVersion: "v1", kind: "Pod" }), {
      spec: { containers: [{ name: "b", image: "2" }, { name: "c", image: "3" }, { name: "a", image: "1" }] },
    });
    assert.deepEqual(strategicMerge(target, patch, { apiVersion: "x.io/v1", kind: "Thing" }), patch);
  });
});
