// What the apply controller remembers between reconciles, in this process only (src/apply/memory.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Memories, desiredObjects, rememberApplied } from "../../../src/apply/memory.js";

describe("apply memory", () => {
  it("gives each Application one memory, created empty, and a fresh one when it is re-created (new uid)", () => {
    const m = new Memories();
    const a = m.claim("demo/web", "uid-1");
    assert.deepEqual([a.applied.size, a.retryResetAt, a.healthChecks.size, a.uid], [0, 0, 0, "uid-1"]);
    a.retryResetAt = 5;
    assert.equal(m.claim("demo/web", "uid-1"), a, "the same Application keeps its memory");
    assert.equal(m.get("demo/web"), a);
    const b = m.claim("demo/web", "uid-2");
    assert.notEqual(b, a);
    assert.equal(b.retryResetAt, 0);
    m.forget("demo/web");
    assert.notEqual(m.get("demo/web"), b);
  });

  it("records an applied object's identity and the state it overwrote, and parses the desired render", () => {
    const mem = new Memories().get("demo/web");
    rememberApplied(mem, "demo_cfg__ConfigMap", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", uid: "u", generation: 1, resourceVersion: "7" } }, 1000, "6");
    assert.deepEqual(mem.applied.get("demo_cfg__ConfigMap"), { uid: "u", generation: 1, rv: "7", at: 1000, staleRv: "6" });
    const objects = desiredObjects(JSON.stringify([["demo_cfg__ConfigMap", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg" } }]]));
    assert.deepEqual([...objects.keys()], ["demo_cfg__ConfigMap"]);
    assert.equal(objects.get("demo_cfg__ConfigMap")?.metadata?.name, "cfg");
  });
});
