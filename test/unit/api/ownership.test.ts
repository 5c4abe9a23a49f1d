// The ownership label and annotation: always a valid label value, unchanged for identities that always fitted (so
// objects applied by earlier releases keep their owner), and the full identity recoverable from the object.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Annotations, Labels } from "../../../src/api/constants.js";
import { ownerLabelValue, ownerOf, ownerRef } from "../../../src/api/ownership.js";

// Kubernetes' rule for label values (apimachinery validation.IsValidLabelValue).
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

void describe("ownership label", () => {
  void it("is <namespace>.<name> while it fits, as every earlier release wrote it", () => {
    assert.equal(ownerLabelValue("team-a", "web"), "team-a.web");
    const ns = "n".repeat(30);
    const name = "m".repeat(32); // 30 + 1 + 32 = 63
    assert.equal(ownerLabelValue(ns, name), `${ns}.${name}`);
  });

  void it("fits 63 characters and stays a valid, distinct label value for the longest namespaces and names", () => {
    const cases: [string, string][] = [
      ["n".repeat(63), "a".repeat(253)],
      ["team-a", "x".repeat(57)],
      ["team-a", "app.with.dots." + "y".repeat(60)],
      ["a-".repeat(31) + "b", "c"], // a cut that would end on a dash
      ["ns", "z".repeat(45) + "-.-" + "z".repeat(40)],
    ];
    const values = new Set<string>();
    for (const [ns, name] of cases) {
      const v = ownerLabelValue(ns, name);
      assert.ok(v.length <= 63, `${v.length} characters: ${v}`);
      assert.match(v, LABEL_VALUE, `valid label value: ${v}`);
      values.add(v);
    }
    assert.equal(values.size, cases.length, "distinct identities give distinct values");
    assert.notEqual(ownerLabelValue("team-a", "x".repeat(57)), ownerLabelValue("team-a", "x".repeat(58)));
  });

  void it("names the owner from the annotation, or from the label of objects applied before the annotation", () => {
    const long = "w".repeat(80);
    assert.deepEqual(
      ownerOf({ metadata: { labels: { [Labels.application]: ownerLabelValue("team-a", long) }, annotations: { [Annotations.applicationRef]: ownerRef("team-a", long) } } }),
      { namespace: "team-a", name: long },
    );
    assert.deepEqual(ownerOf({ metadata: { labels: { [Labels.application]: "team-a.web.v2" } } }), { namespace: "team-a", name: "web.v2" });
    assert.equal(ownerOf({ metadata: { labels: { other: "x" } } }), undefined);
    assert.equal(ownerOf({ metadata: { labels: { [Labels.application]: "nodot" } } }), undefined);
  });
});
