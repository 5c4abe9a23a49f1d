// A render failure names where it happened (src/render/errors.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RenderError, isRenderError } from "../../../src/render/errors.js";

describe("RenderError", () => {
  it("prefixes the message with file:line, the file, else the template", () => {
    assert.equal(new RenderError("bad", { file: "a/b.yaml", line: 3 }).message, "a/b.yaml:3: bad");
    assert.equal(new RenderError("bad", { file: "a/b.yaml" }).message, "a/b.yaml: bad");
    assert.equal(new RenderError("bad", { template: "chart/templates/x.yaml" }).message, "chart/templates/x.yaml: bad");
    assert.equal(new RenderError("bad").message, "bad");
    const e = new RenderError("bad", { file: "f", line: 1, template: "t" });
    assert.deepEqual([e.file, e.line, e.template, e.name], ["f", 1, "t", "RenderError"]);
    assert.ok(isRenderError(e));
    assert.equal(isRenderError(new Error("bad")), false);
  });
});
