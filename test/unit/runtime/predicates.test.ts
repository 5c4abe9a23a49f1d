import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { admits, and, annotationChanged, annotationsChanged, generationChanged, labelSelector, labelsChanged, not, or, predicate } from "../../../src/runtime/predicates.js";
import { obj } from "./fixtures.js";

describe("predicates", () => {
  it("generationChanged passes creates and deletes, and updates only when the generation moved", () => {
    const a = obj("a", "1", { generation: 1 });
    assert.equal(admits(generationChanged, "create", a), true);
    assert.equal(admits(generationChanged, "delete", a), true);
    assert.equal(admits(generationChanged, "update", obj("a", "2", { generation: 1 }), a), false);
    assert.equal(admits(generationChanged, "update", obj("a", "3", { generation: 2 }), a), true);
  });

  it("labelsChanged and annotationsChanged compare the maps, not their identity", () => {
    const a = obj("a", "1", { labels: { x: "1" }, annotations: { n: "1" } });
    assert.equal(admits(labelsChanged, "update", obj("a", "2", { labels: { x: "1" } }), a), false);
    assert.equal(admits(labelsChanged, "update", obj("a", "2", { labels: { x: "2" } }), a), true);
    assert.equal(admits(labelsChanged, "update", obj("a", "2", { labels: { x: "1", y: "1" } }), a), true);
    assert.equal(admits(annotationsChanged, "update", obj("a", "2", { annotations: { n: "1" } }), a), false);
    assert.equal(admits(annotationsChanged, "update", obj("a", "2", {}), a), true);
  });

  it("annotationChanged(key) passes updates that change that one annotation only", () => {
    const p = annotationChanged("example.com/requested-at");
    const a = obj("a", "1", { annotations: { "example.com/requested-at": "t1", other: "1" } });
    assert.equal(admits(p, "update", obj("a", "2", { annotations: { "example.com/requested-at": "t1", other: "2" } }), a), false);
    assert.equal(admits(p, "update", obj("a", "2", { annotations: { "example.com/requested-at": "t2" } }), a), true);
    assert.equal(admits(p, "update", obj("a", "2", {}), a), true);
    assert.equal(admits(p, "create", a), true);
  });

  it("labelSelector filters every event type; custom predicates and combinators compose", () => {
    const p = labelSelector("app=web,tier in (a,b),!skip");
    assert.equal(admits(p, "create", obj("a", "1", { labels: { app: "web", tier: "a" } })), true);
    assert.equal(admits(p, "delete", obj("a", "1", { labels: { app: "web", tier: "c" } })), false);
    assert.equal(admits(p, "update", obj("a", "1", { labels: { app: "web", tier: "b", skip: "" } })), false);
    const named = predicate((o) => o.metadata?.name === "a");
    assert.equal(admits(and(named, p), "create", obj("a", "1", { labels: { app: "web", tier: "a" } })), true);
    assert.equal(admits(and(named, p), "create", obj("b", "1", { labels: { app: "web", tier: "a" } })), false);
    assert.equal(admits(or(named, p), "create", obj("a", "1")), true);
    assert.equal(admits(not(named), "create", obj("a", "1")), false);
  });
});
