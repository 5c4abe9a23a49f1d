// Resolving a path inside an extracted artifact as the kernel would, never looking outside it
// (src/render/walk.ts): links followed relative to their directory, `..` from where a link resolved, links out of the
// root (relative or absolute) and loops refused, missing and not-a-directory components named; the prefix cache; and
// the messages a failure gives.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { describeFailure, kindPhrase, MAX_SYMLINKS, walkInside, type WalkFailure, type WalkState } from "../../../src/render/walk.js";

let top: string;
let root: string;

before(() => {
  top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mooring-walk-")));
  root = path.join(top, "repo");
  fs.mkdirSync(path.join(root, "apps/web/base"), { recursive: true });
  fs.mkdirSync(path.join(root, "shared"));
  fs.writeFileSync(path.join(root, "apps/web/base/deploy.yaml"), "kind: Deployment\n");
  fs.writeFileSync(path.join(root, "shared/cm.yaml"), "kind: ConfigMap\n");
  fs.writeFileSync(path.join(top, "secret.txt"), "outside\n");
  fs.symlinkSync("../../shared", path.join(root, "apps/web/common")); // relative to its own directory
  fs.symlinkSync("common/../base", path.join(root, "apps/web/via")); // `..` from where the link resolved (shared/..)
  fs.symlinkSync("../secret.txt", path.join(root, "escape"));
  fs.symlinkSync(path.join(root, "shared"), path.join(root, "absolute"));
  fs.symlinkSync("loop-b", path.join(root, "loop-a"));
  fs.symlinkSync("loop-a", path.join(root, "loop-b"));
  fs.symlinkSync("nowhere", path.join(root, "dangling"));
});
after(() => fs.rmSync(top, { recursive: true, force: true }));

const fails = (rel: string): WalkFailure => {
  const w = walkInside(root, rel);
  assert.equal(w.ok, false, `${rel} resolved`);
  return w as WalkFailure;
};

void describe("walkInside", () => {
  void it("resolves files and directories to their real paths, following links inside the root", () => {
    const f = walkInside(root, "apps/web/base/deploy.yaml");
    assert.ok(f.ok);
    assert.deepEqual([f.rel, f.real, f.kind], ["apps/web/base/deploy.yaml", path.join(root, "apps/web/base/deploy.yaml"), "file"]);
    const viaLink = walkInside(root, "apps/web/common/cm.yaml");
    assert.ok(viaLink.ok);
    assert.equal(viaLink.rel, "shared/cm.yaml");
    const r = walkInside(root, "");
    assert.ok(r.ok);
    assert.deepEqual([r.rel, r.kind], ["", "directory"]);
  });

  void it("takes `..` in a link target from the directory the link resolved to, as the kernel does", () => {
    // apps/web/via -> common/../base: common is shared, so shared/.. is the root, and root/base does not exist.
    assert.deepEqual(fails("apps/web/via"), { ok: false, reason: "missing", at: "base" });
  });

  void it("refuses links that leave the root, absolute links and loops, naming the link", () => {
    assert.deepEqual(fails("escape"), { ok: false, reason: "outside", link: "escape", absolute: false });
    assert.deepEqual(fails("absolute/cm.yaml"), { ok: false, reason: "outside", link: "absolute", absolute: true });
    const loop = fails("loop-a");
    assert.equal(loop.reason, "loop");
    assert.match((loop as { link: string }).link, /^loop-[ab]$/);
  });

  void it("names the first missing component and the component that is not a directory", () => {
    assert.deepEqual(fails("apps/api/deploy.yaml"), { ok: false, reason: "missing", at: "apps/api" });
    assert.deepEqual(fails("dangling"), { ok: false, reason: "missing", at: "nowhere" });
    assert.deepEqual(fails("apps/web/base/deploy.yaml/x"), { ok: false, reason: "not-a-directory", at: "apps/web/base/deploy.yaml" });
  });

  void it("remembers resolved directory prefixes and resumes from them", () => {
    const cache = new Map<string, WalkState>();
    assert.ok(walkInside(root, "apps/web/common/cm.yaml", cache).ok);
    assert.deepEqual(cache.get("apps/web/common")?.stack, ["shared"], "the lexical prefix maps to where it resolved");
    // A planted entry proves the next walk starts from the cache, not from the disk.
    cache.set("apps/web/common", { stack: ["apps", "web", "base"], stats: cache.get("apps/web/base")?.stats ?? [] });
    const w = walkInside(root, "apps/web/common/deploy.yaml", cache);
    assert.ok(w.ok);
    assert.equal(w.rel, "apps/web/base/deploy.yaml");
  });
});

void describe("walk failures as text", () => {
  void it("say what is wrong and how to fix it", () => {
    assert.match(describeFailure({ ok: false, reason: "outside", link: "escape", absolute: true }, "escape"), /^resolves outside the source root: escape is a symlink pointing outside it \(absolute link targets are never followed\); /);
    assert.doesNotMatch(describeFailure({ ok: false, reason: "outside", link: "e", absolute: false }, "e"), /absolute/);
    assert.match(describeFailure({ ok: false, reason: "outside", link: "e", absolute: false, skipped: true }, "e"), /left out when the source artifact was extracted/);
    assert.equal(describeFailure({ ok: false, reason: "loop", link: "l" }, "l"), `cannot be resolved: more than ${MAX_SYMLINKS} symlinks were followed (a symlink loop at l?); fix the link`);
    assert.equal(describeFailure({ ok: false, reason: "missing", at: "a" }, ""), "does not exist (looked for .)");
    assert.equal(describeFailure({ ok: false, reason: "not-a-directory", at: "a/f" }, "a/f/x"), "does not exist (looked for a/f/x, but a/f is not a directory)");
    assert.equal(describeFailure({ ok: false, reason: "unreadable", at: "a", code: "EACCES" }, "a"), "cannot be read (EACCES at a)");
    assert.deepEqual([kindPhrase("FIFO"), kindPhrase("unknown")], ["a FIFO", "not a regular file"]);
  });
});
