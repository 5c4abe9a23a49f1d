// mergeAssociative's linear shortcut for lists with one merge key (src/render/kustomize/assoc.ts) must give what the
// step-by-step emulation of kyaml's walk gives; the walk itself is checked against kubectl in merge-keys.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { mergeAssociative, walkAssociative, type MergeItem } from "../../../../src/render/kustomize/assoc.js";
import { DELETE, strategicMerge, stripDirectives } from "../../../../src/render/kustomize/smp.js";
import { isMap } from "../../../../src/render/objects.js";

const merge: MergeItem = (te, pe) => {
  if (pe === undefined) return te === undefined ? undefined : structuredClone(te);
  if (te === undefined) return isMap(pe) && pe.$patch === "delete" ? undefined : stripDirectives(pe);
  const m = strategicMerge(te, pe, { apiVersion: "apps/v1", kind: "Deployment" }, ["spec", "template", "spec", "containers", "0", "env"]);
  return m === DELETE ? undefined : m;
};

const name = fc.constantFrom("A", "B", "C", "D", 1);
const env = fc.record({ name, value: fc.constantFrom("1", "2", "x") });
const patchItem = fc.oneof(env, fc.record({ name, $patch: fc.constant("delete") }), fc.record({ name, value: fc.constant(null) }));

void describe("mergeAssociative's shortcut for one merge key", () => {
  void it("gives the step-by-step walk's result on lists of keyed maps with duplicates, deletes and nulls", () => {
    fc.assert(
      fc.property(fc.array(env, { maxLength: 7 }), fc.array(patchItem, { maxLength: 4 }), (target, patch) => {
        assert.deepEqual(mergeAssociative(target, patch, ["name"], merge), walkAssociative(target, patch, ["name"], merge));
      }),
      { numRuns: 3000 },
    );
  });

  void it("is linear: 20000 env entries merge in well under a second", () => {
    const target = Array.from({ length: 20000 }, (_, i) => ({ name: `V${i}`, value: String(i) }));
    const start = process.hrtime.bigint();
    const out = mergeAssociative(target, [{ name: "V7", value: "x" }], ["name"], merge);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.equal(out.length, 20000);
    assert.deepEqual(out[0], { name: "V7", value: "x" });
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });
});
