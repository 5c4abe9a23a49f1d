// Every input the fuzzer (test/fuzz, `make fuzz`) found to crash, hang or exhaust memory is kept as a case file in
// test/fuzz/regressions/ and replayed here, in a worker thread with a deadline and a memory cap: it must end with a
// result or the parser's own error. A case whose fix is pending is listed in test/fuzz/known.json and runs as a todo.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { describe, it } from "node:test";
import { isKnown, knownFindings, replayCase } from "../../fuzz/run.js";
import { caseFile, TARGETS } from "../../fuzz/targets.js";
import { SourceError } from "../../../src/source/errors.js";
import { PackStore } from "../../../src/source/packindex.js";

const DIR = path.resolve(import.meta.dirname, "../../fuzz/regressions");
const files = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();
const known = knownFindings();

void describe("fuzz regressions", () => {
  void it("every known finding names a target and has a regression case", () => {
    for (const k of known) {
      assert.ok(TARGETS[k.target], `known.json names an unknown target ${k.target}`);
      assert.ok(files.some((f) => { const c = caseFile(path.join(DIR, f)); return c.target === k.target && new RegExp(k.match).test(c.outcome ?? ""); }), `no regression case in test/fuzz/regressions for ${k.target} /${k.match}/`);
    }
  });

  for (const f of files) {
    const c = caseFile(path.join(DIR, f));
    const k = isKnown(known, c.target, c.outcome ?? "");
    void it(`${c.target}: ${f} (${(c.outcome ?? "").split("\n")[0]!.slice(0, 100)}) ends with a result or the parser's own error`, k ? { todo: k.todo } : {}, async () => {
      const o = await replayCase(c, 15_000);
      assert.ok(o.kind === "ok" || o.kind === "expected", `${c.target} ${f}: ${JSON.stringify(o).slice(0, 500)}`);
    });
  }
});

// The memory side of the packindex finding: a count that can be allocated is allocated, all at once.
void describe("fuzz finding: a pack header's declared object count", () => {
  void it("a 60-byte pack declaring 40 million objects is refused without allocating memory for them", async () => {
    const head = Buffer.alloc(12);
    head.write("PACK", 0, "latin1");
    head.writeUInt32BE(2, 4);
    head.writeUInt32BE(40_000_000, 8);
    const body = Buffer.concat([head, Buffer.from([0x35]), zlib.deflateSync(Buffer.from("hello"))]);
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-packcount-"));
    try {
      const p = path.join(dir, "bomb.pack");
      writeFileSync(p, Buffer.concat([body, createHash("sha1").update(body).digest()]));
      const before = process.memoryUsage().arrayBuffers;
      let peak = 0;
      await assert.rejects(async () => {
        const store = await PackStore.open(p);
        try {
          await store.index(path.join(dir, "bomb.idx"), () => {
            peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
            return false;
          });
        } finally {
          await store.close();
        }
      }, SourceError);
      assert.ok(peak < 64 * 1024 * 1024, `indexing allocated ${Math.round(peak / 1024 / 1024)} MiB for objects the pack cannot hold`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
