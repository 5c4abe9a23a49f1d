// The UI's compression (src/ui/compress.ts): which encoding an Accept-Encoding header gets, the bundle's files
// compressed once and served again until they change on disk, and an event stream's messages flushed one by one.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import zlib from "node:zlib";
import { StaticAssets, negotiate, streamCompressor } from "../../../src/ui/compress.js";

describe("negotiate", () => {
  it("prefers br, then gzip, and honours q=0 and *", () => {
    assert.equal(negotiate("gzip, deflate, br, zstd"), "br");
    assert.equal(negotiate("gzip, deflate"), "gzip");
    assert.equal(negotiate("br;q=0, gzip;q=0.5"), "gzip");
    assert.equal(negotiate("gzip;q=0"), undefined);
    assert.equal(negotiate("identity"), undefined);
    assert.equal(negotiate(undefined), undefined);
    assert.equal(negotiate(""), undefined);
    assert.equal(negotiate("*"), "br");
    assert.equal(negotiate("*;q=0, gzip"), "gzip");
    assert.equal(negotiate(["deflate", "GZIP"]), "gzip");
  });
});

describe("StaticAssets", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("serves a file compressed in the encoding asked for, with an ETag per representation, and re-reads it when it changes", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-ui-assets-"));
    dirs.push(dir);
    const js = `export const rows = ${JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ key: `team-a/app-${i}`, sync: "Synced" })))};\n`;
    await writeFile(path.join(dir, "app.js"), js);
    const assets = new StaticAssets(dir);
    const plain = await assets.get("app.js", undefined);
    const br = await assets.get("app.js", "br");
    const gz = await assets.get("app.js", "gzip");
    assert.equal(plain.encoding, undefined);
    assert.equal(plain.body.toString(), js);
    assert.equal(br.encoding, "br");
    assert.equal(zlib.brotliDecompressSync(br.body).toString(), js);
    assert.equal(gz.encoding, "gzip");
    assert.equal(zlib.gunzipSync(gz.body).toString(), js);
    assert.ok(br.body.length < js.length / 5, `br ${br.body.length} bytes of ${js.length}`);
    assert.equal(new Set([plain.etag, br.etag, gz.etag]).size, 3, "each representation has its own ETag");
    assert.equal((await assets.get("app.js", "br")).body, br.body, "compressed once, then served from memory");

    await writeFile(path.join(dir, "app.js"), `${js}// rebuilt\n`);
    const again = await assets.get("app.js", undefined);
    assert.match(again.body.toString(), /rebuilt/);
    assert.notEqual(again.etag, plain.etag);
  });

  it("leaves files under 1 KiB uncompressed, and throws for a missing file (but not when warming up)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-ui-assets-"));
    dirs.push(dir);
    await writeFile(path.join(dir, "index.html"), "<!doctype html><p>hi</p>");
    const a = await assets(dir).get("index.html", "gzip");
    assert.equal(a.encoding, undefined);
    assert.equal(a.body.toString(), "<!doctype html><p>hi</p>");
    await assert.rejects(assets(dir).get("app.css", "gzip"), /ENOENT/);
    await assets(dir).warm(["index.html", "app.css"]); // at start-up: a missing file is left for a request to report
  });
});

const assets = (dir: string) => new StaticAssets(dir);

describe("streamCompressor", () => {
  for (const enc of ["br", "gzip"] as const) {
    it(`${enc}: each message written can be decoded before the next is written (flushed, not held in the window)`, async () => {
      const z = streamCompressor(enc);
      const d = enc === "br" ? zlib.createBrotliDecompress() : zlib.createGunzip();
      z.pipe(d);
      let text = "";
      d.on("data", (c: Buffer) => (text += c.toString()));
      const until = async (pred: () => boolean) => {
        for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
        return pred();
      };
      z.write("data: {\"type\":\"snapshot\"}\n\n");
      assert.ok(await until(() => text.includes("snapshot")), `the first message arrived alone: ${JSON.stringify(text)}`);
      z.write("data: {\"type\":\"changes\"}\n\n");
      assert.ok(await until(() => text.includes("changes")), "and so did the second");
      z.end();
    });
  }
});
