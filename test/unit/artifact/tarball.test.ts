import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { collect, listTarGz } from "../../support/tar.js";
import { ignoreMatcher } from "../../../src/source/tree.js";
import { FIXED_MTIME, UnsafePathError, assertSafePath, directoryEntries, writeTarGz, type TarEntry } from "../../../src/artifact/tarball.js";

const file = (p: string, content: string, executable = false): TarEntry => ({
  path: p,
  type: "file",
  executable,
  size: content.length,
  read: async () => Buffer.from(content),
});

void describe("writeTarGz", () => {
  void it("sorts entries and fixes mtime, owner and modes, so order of input does not matter", async () => {
    const entries = [file("b/z.yaml", "z"), file("a.txt", "a", true), { path: "link", type: "symlink" as const, target: "../../etc/passwd" }, file("b/a.yaml", "ba")];
    const one = await collect(writeTarGz(entries));
    const two = await collect(writeTarGz([...entries].reverse()));
    assert.equal(createHash("sha256").update(one).digest("hex"), createHash("sha256").update(two).digest("hex"));
    const listed = await listTarGz(one);
    assert.deepEqual(listed.map((e) => e.name), ["a.txt", "b/a.yaml", "b/z.yaml", "link"]);
    for (const e of listed) {
      assert.equal(e.mtime, FIXED_MTIME.getTime());
      assert.equal(e.uid, 0);
      assert.equal(e.gid, 0);
    }
    assert.equal(listed[0]!.mode, 0o755);
    assert.equal(listed[1]!.mode, 0o644);
    assert.equal(listed[3]!.type, "symlink");
    assert.equal(listed[3]!.linkname, "../../etc/passwd");
    assert.equal(listed[3]!.content, "");
  });

  void it("refuses `..`, `.`, absolute and empty path parts", async () => {
    for (const p of ["../x", "a/../b", "a/./b", "/etc/passwd", "a//b", ""]) {
      assert.throws(() => assertSafePath(p), UnsafePathError, p);
      await assert.rejects(collect(writeTarGz([file(p, "x")])), UnsafePathError, p);
    }
    assertSafePath("a..b/..c/d..");
  });

  void it("stores paths longer than 100 bytes intact", async () => {
    const long = "d".repeat(80) + "/" + "e".repeat(80) + "/f.txt";
    const listed = await listTarGz(await collect(writeTarGz([file(long, "x")])));
    assert.equal(listed[0]!.name, long);
  });
});

void describe("directoryEntries", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mooring-tar-"));
    await mkdir(path.join(dir, "sub"));
    await mkdir(path.join(dir, ".github/workflows"), { recursive: true });
    await writeFile(path.join(dir, "sub/a.yaml"), "a: 1\n");
    await writeFile(path.join(dir, "run.sh"), "#!/bin/sh\n");
    await chmod(path.join(dir, "run.sh"), 0o755);
    await writeFile(path.join(dir, ".github/workflows/ci.yml"), "on: push\n");
    await writeFile(path.join(dir, "secret.env"), "X=1\n");
    await symlink("/etc", path.join(dir, "outside"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  void it("records symlinks as links without following them, and applies ignore rules", async () => {
    const ig = ignoreMatcher("*.env\n");
    const entries = await directoryEntries(dir, (rel, isDir) => !ig.ignores(isDir ? rel + "/" : rel));
    const listed = await listTarGz(await collect(writeTarGz(entries)));
    assert.deepEqual(listed.map((e) => `${e.name}:${e.type}:${e.mode.toString(8)}`), ["outside:symlink:777", "run.sh:file:755", "sub/a.yaml:file:644"]);
    assert.equal(listed[0]!.linkname, "/etc");
  });
});
