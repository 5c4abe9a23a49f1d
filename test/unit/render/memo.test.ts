// What the render controller remembers of each Application's last render (src/render/memo.ts): successes in memory
// and on disk, failures in memory only unless a limit caused them (then on disk, and read back only under the same
// limits), forget, and a render index that cannot be written only logged.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, it } from "node:test";
import { createLogger } from "../../../src/log.js";
import { RenderMemory, type Memo } from "../../../src/render/memo.js";

const top = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-memo-"));
after(() => fs.rmSync(top, { recursive: true, force: true }));
let n = 0;

function memory(limits = "L1", dir = path.join(top, `renders-${n++}`)) {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on("data", (b: Buffer) => lines.push(b.toString()));
  return { mem: new RenderMemory(dir, limits, createLogger({ stream, format: "json" })), dir, lines };
}

const ok: Memo = { key: "k1", ok: true, path: "/cache/a.tgz", digest: "sha256:aa", size: 10, objects: 2, type: "plain" };
const failed: Memo = { key: "k2", ok: false, reason: "RenderFailed", message: "bad YAML" };
const limited: Memo = { key: "k3", ok: false, reason: "RenderLimit", message: "out of memory", persist: true, limits: "L1" };

void describe("RenderMemory", () => {
  void it("keeps a success in memory and on disk, where a restarted process finds it", async () => {
    const { mem, dir } = memory();
    assert.equal(await mem.load("shop", "web"), undefined, "nothing yet");
    await mem.save("shop", "web", ok);
    assert.deepEqual(await mem.load("shop", "web"), ok);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "shop", "web.json"), "utf8")), ok);
    const restarted = new RenderMemory(dir, "L2", createLogger({ stream: new PassThrough() }));
    assert.deepEqual(await restarted.load("shop", "web"), ok, "a success is kept whatever the limits");
    assert.equal(await restarted.load("shop", "api"), undefined, "one entry per Application");
  });

  void it("keeps an ordinary failure in memory only, so a restart renders again", async () => {
    const { mem, dir } = memory();
    await mem.save("shop", "web", failed);
    assert.deepEqual(await mem.load("shop", "web"), failed);
    assert.equal(fs.existsSync(path.join(dir, "shop", "web.json")), false);
    assert.equal(await new RenderMemory(dir, "L1", createLogger({ stream: new PassThrough() })).load("shop", "web"), undefined);
  });

  void it("keeps a failure a limit caused on disk, read back only under the same limits", async () => {
    const { mem, dir } = memory("L1");
    await mem.save("shop", "web", limited);
    const quiet = () => createLogger({ stream: new PassThrough() });
    assert.deepEqual(await new RenderMemory(dir, "L1", quiet()).load("shop", "web"), limited);
    assert.equal(await new RenderMemory(dir, "L2", quiet()).load("shop", "web"), undefined, "new limits: try again");
  });

  void it("ignores an index entry that is not a memo", async () => {
    const { dir } = memory();
    fs.mkdirSync(path.join(dir, "shop"), { recursive: true });
    fs.writeFileSync(path.join(dir, "shop", "bad.json"), "{not json");
    fs.writeFileSync(path.join(dir, "shop", "nokey.json"), JSON.stringify({ ok: true }));
    const mem = new RenderMemory(dir, "L1", createLogger({ stream: new PassThrough() }));
    assert.equal(await mem.load("shop", "bad"), undefined);
    assert.equal(await mem.load("shop", "nokey"), undefined);
  });

  void it("forgets an Application in memory and on disk", async () => {
    const { mem, dir } = memory();
    await mem.save("shop", "web", ok);
    await mem.forget("shop", "web");
    assert.equal(await mem.load("shop", "web"), undefined);
    assert.equal(fs.existsSync(path.join(dir, "shop", "web.json")), false);
    await mem.forget("shop", "never-saved");
  });

  void it("logs, and still remembers in memory, when the index cannot be written", async () => {
    const file = path.join(top, "a-file");
    fs.writeFileSync(file, "");
    const { mem, lines } = memory("L1", path.join(file, "renders")); // a directory under a file: never writable
    await mem.save("shop", "web", ok);
    assert.deepEqual(await mem.load("shop", "web"), ok);
    await new Promise((r) => setImmediate(r)); // let the log line through the logger's stream
    assert.equal(lines.length, 1);
    assert.match(JSON.parse(lines[0]!).message, /cannot write the render index/);
  });
});
