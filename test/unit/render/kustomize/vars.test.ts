import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { doReplacements } from "../../../../src/render/kustomize/vars.js";

void describe("kustomize building blocks added for real-world kustomizations", () => {
  void it("expands $(VAR) as Kubernetes does: $$ escapes, unknown vars stay, a whole-field var keeps its type", () => {
    const vals: Record<string, unknown> = { A: "a", N: 8 };
    const map = (k: string): unknown => (k in vals ? vals[k] : `$(${k})`);
    assert.equal(doReplacements("x-$(A)-$(B)", map), "x-a-$(B)");
    assert.equal(doReplacements("$$(A)_$(A)", map), "$(A)_a");
    assert.equal(doReplacements("$(N)", map), 8);
    assert.equal(doReplacements("port-$(N)", map), "port-8");
    assert.equal(doReplacements("$(A", map), "$(A");
    assert.equal(doReplacements("$A)", map), "$A)");
  });
});
