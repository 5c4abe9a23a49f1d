// Reading a file the user named (src/cli/read.ts): the text, or the reason, never a throw.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { readText } from "../../../src/cli/read.js";

describe("readText", () => {
  it("returns the text, or the error's message naming the file", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-read-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, "a.yaml"), "kind: X\n");
    assert.deepEqual(readText(path.join(dir, "a.yaml")), { text: "kind: X\n" });
    const missing = readText(path.join(dir, "gone.yaml"));
    assert.ok("error" in missing && /ENOENT.*gone\.yaml/.test(missing.error), JSON.stringify(missing));
    const isDir = readText(dir);
    assert.ok("error" in isDir && /EISDIR/.test(isDir.error), JSON.stringify(isDir));
  });
});
