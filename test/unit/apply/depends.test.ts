import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type DependencyView, dependenciesOf, findCycle, notReadyReason } from "../../../src/apply/depends.js";

const ready = (gen = 1, over: Partial<DependencyView["status"]> = {}): DependencyView => ({
  metadata: { name: "db", namespace: "ns", generation: gen },
  status: { conditions: [{ type: "Ready", status: "True", reason: "Succeeded", observedGeneration: gen }], sync: { revision: "r1" }, render: { artifact: { revision: "r1" } }, ...over },
});

describe("dependenciesOf", () => {
  it("defaults the namespace to the dependent's", () => {
    assert.deepEqual(dependenciesOf({ metadata: { namespace: "a" }, spec: { dependsOn: [{ name: "x" }, { name: "y", namespace: "b" }] } }), ["a/x", "b/y"]);
  });
});

describe("notReadyReason", () => {
  it("Ready at the current generation and the rendered revision: ready", () => {
    assert.equal(notReadyReason("ns/db", ready()), undefined);
  });
  it("a missing dependency is named and says what to do", () => {
    assert.match(notReadyReason("ns/db", undefined)!, /dependency Application ns\/db does not exist; create it or remove it from spec\.dependsOn/);
  });
  it("not Ready, with the dependency's own reason", () => {
    const d = ready();
    d.status!.conditions = [{ type: "Ready", status: "False", reason: "SyncFailed", message: "boom" }];
    assert.match(notReadyReason("ns/db", d)!, /ns\/db is not Ready \(SyncFailed: boom\)/);
  });
  it("Ready at an older generation is not ready", () => {
    const d = ready(1);
    d.metadata!.generation = 2;
    assert.match(notReadyReason("ns/db", d)!, /not yet at its current generation 2/);
  });
  it("Ready but a newer revision rendered and not applied yet is not ready", () => {
    assert.match(notReadyReason("ns/db", ready(1, { render: { artifact: { revision: "r2" } } }))!, /applied revision r1, not yet its rendered revision r2/);
  });
});

describe("findCycle", () => {
  const graph: Record<string, string[]> = { a: ["b"], b: ["c"], c: ["a"], d: ["b"], e: ["f"], f: [] };
  const deps = (k: string) => graph[k];
  it("finds a cycle through the start, in order", () => {
    assert.deepEqual(findCycle("a", deps), ["a", "b", "c", "a"]);
  });
  it("a node that only leads into a cycle is not itself in one", () => {
    assert.equal(findCycle("d", deps), undefined);
  });
  it("no cycle", () => {
    assert.equal(findCycle("e", deps), undefined);
  });
  it("self-dependency", () => {
    assert.deepEqual(findCycle("s", (k) => (k === "s" ? ["s"] : [])), ["s", "s"]);
  });
  it("unknown nodes (missing Applications) end the walk", () => {
    assert.equal(findCycle("x", (k) => (k === "x" ? ["missing"] : undefined)), undefined);
  });
});
