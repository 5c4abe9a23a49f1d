import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { insertPathPart } from "../../../../src/render/kustomize/transformers.js";

void describe("kustomize building blocks added for real-world kustomizations", () => {
  void it("inserts a path part like Kustomize's ValueAddTransformer", () => {
    assert.equal(insertPathPart("projects", 1, "cat-111"), "projects/cat-111");
    assert.equal(insertPathPart("a/b/c", 0, "X"), "X/a/b/c");
    assert.equal(insertPathPart("/a/b", 0, "X"), "/X/a/b");
    assert.equal(insertPathPart("a/b", 99, "X"), "a/b/X");
    assert.equal(insertPathPart("", 0, "X"), "X");
  });
});
