import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Store } from "../../../src/runtime/store.js";
import { obj } from "./fixtures.js";

describe("store", () => {
  it("a relist reports only real changes: adds, updates by resourceVersion, and deletes", () => {
    const s = new Store();
    assert.equal(s.replace([obj("a", "1"), obj("b", "1"), obj("c", "1")]).length, 3);
    const changes = s.replace([obj("a", "1"), obj("b", "2"), obj("d", "1")]);
    assert.deepEqual(
      changes.map((c) => `${c.type}:${c.obj.metadata!.name}`).sort(),
      ["add:d", "delete:c", "update:b"],
    );
    assert.equal(s.upsert(obj("a", "1")), undefined, "the same resourceVersion again is no change");
    assert.deepEqual(s.keys().sort(), ["ns/a", "ns/b", "ns/d"]);
  });

  it("indexes by namespace, by owner and by custom functions, and keeps indexes current", () => {
    const s = new Store({ byApp: (o) => [o.metadata?.labels?.app ?? ""] });
    s.upsert(obj("a", "1", { labels: { app: "x" }, ownerReferences: [{ apiVersion: "v1", kind: "X", name: "o", uid: "u1" }] }));
    s.upsert(obj("b", "1", { labels: { app: "y" } }));
    assert.deepEqual(s.byIndex("byApp", "x").map((o) => o.metadata!.name), ["a"]);
    assert.deepEqual(s.byIndex("owner", "u1").map((o) => o.metadata!.name), ["a"]);
    assert.equal(s.byIndex("namespace", "ns").length, 2);
    s.upsert(obj("a", "2", { labels: { app: "y" } }));
    assert.deepEqual(s.byIndex("byApp", "x"), []);
    assert.equal(s.byIndex("byApp", "y").length, 2);
    s.delete(obj("b", "2"));
    assert.deepEqual(s.byIndex("byApp", "y").map((o) => o.metadata!.name), ["a"]);
    assert.throws(() => s.byIndex("nope", "x"), /no index named "nope"/);
  });
});
