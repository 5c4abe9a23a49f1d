// A JSON file written whole or not at all (src/render/json-file.ts).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { writeJsonFile } from "../../../src/render/json-file.js";

describe("writeJsonFile", () => {
  it("makes the directory, writes through a temporary file and leaves only the file", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-json-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "a", "b", "index.json");
    await writeJsonFile(file, { x: [1, 2] }, 7);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { x: [1, 2] });
    await writeJsonFile(file, { x: 3 }, "w");
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { x: 3 });
    assert.deepEqual(readdirSync(path.dirname(file)), ["index.json"]);
  });
});
