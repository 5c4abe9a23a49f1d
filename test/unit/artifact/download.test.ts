// The one artifact downloader (src/artifact/download.ts) against a real loopback HTTP server: the bytes and their
// sha256, a digest mismatch, a declared and an undeclared body over the cap, an HTTP error, an unreachable server, the
// deadline cutting a stalled body, and a file sink created exclusively and removed on failure.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { DownloadError, type DownloadFailure, download, sha256Digest } from "../../../src/artifact/download.js";

const BODY = Buffer.from("hello artifact\n".repeat(100));
const DIGEST = `sha256:${createHash("sha256").update(BODY).digest("hex")}`;

let server: http.Server;
let base: string;
let dir: string;
// Resolved when /stalls has written its headers and first bytes: the test cancels only after that, so a loaded
// machine that is slow to connect never turns a cut body into a failed connection.
let stalled: () => void = () => {};

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "mooring-download-"));
  server = http.createServer((req, res) => {
    switch (req.url) {
      case "/ok":
        return res.writeHead(200, { "Content-Length": BODY.length }).end(BODY);
      case "/undeclared": // chunked: no Content-Length, so only counting can stop it
        res.writeHead(200);
        for (let i = 0; i < 10; i++) res.write(BODY);
        return res.end();
      case "/stalls":
        res.writeHead(200);
        return res.write(BODY.subarray(0, 10), () => stalled()); // never ends
      default:
        return res.writeHead(404).end("not found");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  server.close();
  await rm(dir, { recursive: true, force: true });
});

const limits = { maxBytes: 1 << 20, timeoutMs: 5_000 };

async function failure(p: Promise<unknown>): Promise<DownloadFailure> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DownloadError, `a DownloadError, not ${String(err)}`);
    return err.failure;
  }
  assert.fail("the download succeeded");
}

describe("download", () => {
  it("returns the bytes, their size and sha256, and checks a given digest", async () => {
    const got = await download(`${base}/ok`, { ...limits, digest: DIGEST });
    assert.deepEqual(got.bytes, BODY);
    assert.equal(got.size, BODY.length);
    assert.equal(got.digest, DIGEST);
    assert.equal(sha256Digest(BODY), DIGEST);
  });

  it("refuses bytes that do not hash to the digest", async () => {
    const f = await failure(download(`${base}/ok`, { ...limits, digest: `sha256:${"0".repeat(64)}` }));
    assert.deepEqual(f, { kind: "digest", expected: `sha256:${"0".repeat(64)}`, actual: DIGEST });
  });

  it("refuses a declared length over the cap before reading, and an undeclared body once it passes the cap", async () => {
    assert.deepEqual(await failure(download(`${base}/ok`, { ...limits, maxBytes: 100 })), { kind: "tooLarge", limit: 100, declared: BODY.length });
    assert.deepEqual(await failure(download(`${base}/undeclared`, { ...limits, maxBytes: BODY.length * 2 })), { kind: "tooLarge", limit: BODY.length * 2 });
  });

  it("reports an HTTP error status and an unreachable server", async () => {
    assert.deepEqual(await failure(download(`${base}/gone`, limits)), { kind: "status", status: 404, statusText: "Not Found" });
    const f = await failure(download("http://127.0.0.1:1/x", limits));
    assert.equal(f.kind, "unreachable");
    const err = (await download("http://127.0.0.1:1/x", limits).catch((e: unknown) => e)) as Error;
    assert.match(err.message, /^cannot download http:\/\/127\.0\.0\.1:1\/x: \S/);
  });

  it("cuts a stalled body at the deadline, and the caller's signal cancels too", async () => {
    // The deadline covers connecting too (a deadline hit before the headers is "unreachable"), so it is long enough
    // for the headers to arrive on a loaded machine; the body then stalls until it passes.
    const f = await failure(download(`${base}/stalls`, { ...limits, timeoutMs: 2_000 }));
    assert.equal(f.kind, "interrupted");
    const stop = new AbortController();
    stalled = () => setTimeout(() => stop.abort(), 300);
    assert.equal((await failure(download(`${base}/stalls`, { ...limits, signal: stop.signal }))).kind, "interrupted");
  });

  it("writes to a new file, refuses an existing one, and removes the file on failure", async () => {
    const file = path.join(dir, "a.bin");
    const got = await download(`${base}/ok`, { ...limits, digest: DIGEST, file });
    assert.equal(got.bytes.length, 0, "nothing kept in memory");
    assert.deepEqual(await readFile(file), BODY);
    assert.equal((await failure(download(`${base}/ok`, { ...limits, file }))).kind, "interrupted", "an existing file is never overwritten");
    const bad = path.join(dir, "b.bin");
    await failure(download(`${base}/ok`, { ...limits, digest: `sha256:${"1".repeat(64)}`, file: bad }));
    await assert.rejects(stat(bad), /ENOENT/, "a mismatching download leaves no file");
    const big = path.join(dir, "c.bin");
    await failure(download(`${base}/undeclared`, { ...limits, maxBytes: BODY.length, file: big }));
    await assert.rejects(stat(big), /ENOENT/, "an oversized download leaves no file");
  });
});
