// Extracting a source artifact (src/render/extract.ts): entry names that are plain relative paths only, symlinks kept
// only when they stay inside the tree (chains of links checked as the kernel resolves them), executable bits, and the
// entry and size limits; refusals are SourceArtifactErrors that are not retried.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import zlib from "node:zlib";
import { after, describe, it } from "node:test";
import tar from "tar-stream";
import { extractTarGz, symlinkStaysInside, unsafeEntryName } from "../../../src/render/extract.js";
import { SourceArtifactError } from "../../../src/render/source-limits.js";

const top = fs.mkdtempSync(path.join(os.tmpdir(), "mooring-extract-"));
after(() => fs.rmSync(top, { recursive: true, force: true }));
let n = 0;

type Entry = { name: string; body?: string; link?: string; dir?: boolean; mode?: number };
async function tgz(entries: Entry[]): Promise<string> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.dir) pack.entry({ name: e.name, type: "directory" });
    else if (e.link !== undefined) pack.entry({ name: e.name, type: "symlink", linkname: e.link });
    else pack.entry({ name: e.name, mode: e.mode ?? 0o644 }, e.body ?? "");
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  const file = path.join(top, `a${n++}.tar.gz`);
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(chunks)));
  return file;
}
const dest = () => path.join(top, `out${n++}`);
const refused = (message: RegExp) => (e: unknown) => e instanceof SourceArtifactError && !e.retryable && message.test(e.message);

void describe("source artifact extraction", () => {
  void it("names why an entry name is unsafe", () => {
    assert.deepEqual(
      ["", "a\0b", "/etc/passwd", "C:/x", "a\\b", "a/../b", "./a", "a/./b", "a/b.yaml", "..a/b"].map(unsafeEntryName),
      ["empty name", "NUL in name", "absolute or non-POSIX path", "absolute or non-POSIX path", "absolute or non-POSIX path", 'path component ".."', 'path component "."', 'path component "."', undefined, undefined],
    );
  });

  void it("tells whether a symlink's target stays inside the tree, lexically", () => {
    assert.deepEqual(
      [["a/l", "../b"], ["a/l", "../../b"], ["l", ".."], ["l", "/etc"], ["l", ""], ["a/b/l", "../c/../../d"], ["l", "x\0"]].map(([e, t]) => symlinkStaysInside(e!, t!)),
      [true, false, false, false, false, true, false],
    );
  });

  void it("extracts files, directories and links that stay inside; skips those that leave, also through a chain", async () => {
    const file = await tgz([
      { name: "app", dir: true },
      { name: "app/deploy.yaml", body: "kind: Deployment\n" },
      { name: "bin/run.sh", body: "#!/bin/sh\n", mode: 0o755 },
      { name: "app/link.yaml", link: "deploy.yaml" },
      { name: "out", link: "../../etc/passwd" },
      { name: "abs", link: "/etc/passwd" },
      { name: "app/up", link: ".." }, // inside: the root
      { name: "app/up2", link: "up/.." }, // each looks inside, but app/up/.. is the root's parent
    ]);
    const dir = dest();
    const r = await extractTarGz(file, dir);
    assert.deepEqual([r.files, r.bytes], [2, 27]);
    assert.deepEqual([...r.skippedSymlinks].sort(), ["abs", "app/up2", "out"]);
    assert.equal(fs.readFileSync(path.join(dir, "app/link.yaml"), "utf8"), "kind: Deployment\n");
    assert.equal(fs.readlinkSync(path.join(dir, "app/up")), "..");
    for (const gone of ["out", "abs", "app/up2"]) assert.equal(fs.existsSync(path.join(dir, gone)), false, gone);
    assert.equal(fs.statSync(path.join(dir, "bin/run.sh")).mode & 0o777, 0o755);
    assert.equal(fs.statSync(path.join(dir, "app/deploy.yaml")).mode & 0o111, 0);
  });

  void it("refuses unsafe names, duplicates, too many entries and too many bytes, not to be retried", async () => {
    await assert.rejects(extractTarGz(await tgz([{ name: "../evil", body: "x" }]), dest(), { what: "GitRepository a/b" }), refused(/^source artifact GitRepository a\/b: refusing entry "\.\.\/evil": path component "\.\."$/));
    await assert.rejects(extractTarGz(await tgz([{ name: "a" }, { name: "b" }, { name: "c" }]), dest(), { limits: { maxEntries: 2 } }), refused(/more than 2 entries/));
    await assert.rejects(extractTarGz(await tgz([{ name: "a", body: "12345" }, { name: "b", body: "678" }]), dest(), { limits: { maxExtractedBytes: 7 } }), refused(/extracted size over the 7-byte limit/));
    await assert.rejects(extractTarGz(await tgz([{ name: "a", body: "1" }, { name: "a", body: "2" }]), dest()), (e: unknown) => e instanceof SourceArtifactError);
  });
});
