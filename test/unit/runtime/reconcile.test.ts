// Requests and their queue keys (src/runtime/reconcile.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TerminalError, requestFromKey, requestKey } from "../../../src/runtime/reconcile.js";

describe("reconcile requests", () => {
  it("key as namespace/name (name alone when cluster-scoped) and read back", () => {
    assert.equal(requestKey({ namespace: "ns", name: "a" }), "ns/a");
    assert.equal(requestKey({ namespace: "", name: "node-1" }), "node-1");
    assert.deepEqual(requestFromKey("ns/a"), { namespace: "ns", name: "a" });
    assert.deepEqual(requestFromKey("node-1"), { namespace: "", name: "node-1" });
    for (const r of [{ namespace: "ns", name: "a" }, { namespace: "", name: "x" }]) assert.deepEqual(requestFromKey(requestKey(r)), r);
  });

  it("TerminalError is an Error with its name and cause", () => {
    const cause = new Error("root");
    const e = new TerminalError("bad spec", { cause });
    assert.ok(e instanceof Error);
    assert.equal(e.name, "TerminalError");
    assert.equal(e.cause, cause);
  });
});
