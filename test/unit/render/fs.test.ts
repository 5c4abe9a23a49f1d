// The render sandbox's one resolver (src/render/fs.ts: walkInside and ArtifactRoot): paths resolved as the kernel
// resolves them, never lexically, and nothing outside the root looked at, read or named. The attack matrix over
// every renderer input is test/security/render-sandbox.test.ts; this file pins the resolver's own rules, and the
// extractor's use of it (src/render/fetch.ts).
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ArtifactRoot, MAX_SYMLINKS, replayReads, walkInside, type Walk } from "../../../src/render/fs.js";
import { RenderError } from "../../../src/render/errors.js";
import { extractTarGz } from "../../../src/render/fetch.js";
import { resolveLimits } from "../../../src/render/limits.js";
import { tgz } from "../../support/tar.js";

type Entry = string | { symlink: string } | { fifo: true };

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A fresh directory holding `outside/` (with a canary) and `root/` (the artifact) built from `files`. */
function setup(files: Record<string, Entry>): { top: string; root: string } {
  const top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "mooring-resolver-")));
  dirs.push(top);
  fs.mkdirSync(path.join(top, "outside/inner"), { recursive: true });
  fs.writeFileSync(path.join(top, "outside/canary"), "CANARY\n");
  const root = path.join(top, "root");
  fs.mkdirSync(root);
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof content === "string") fs.writeFileSync(p, content);
    else if ("symlink" in content) fs.symlinkSync(content.symlink, p);
    else execFileSync("mkfifo", [p]);
  }
  return { top, root };
}

const ok = (w: Walk): Extract<Walk, { ok: true }> => {
  assert.ok(w.ok, `expected a resolution, got ${JSON.stringify(w)}`);
  return w;
};

function throwsRender(fn: () => unknown, message: RegExp, file?: string, top?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RenderError, `expected a RenderError, got ${String(err)}`);
    assert.match(err.message, message);
    if (file !== undefined) assert.equal(err.file, file);
    if (top) assert.ok(!err.message.includes(top), `host path in ${err.message}`);
    assert.ok(!err.message.includes("CANARY"));
    return true;
  });
}

void describe("walkInside: the kernel's semantics", () => {
  void it("follows a link's `..` from where the link led, not from where it stood", () => {
    // a -> b/.. with b -> x/y/z: the kernel gives x/y; collapsing lexically would give the root.
    const { root } = setup({ "x/y/z/.keep": "", "x/y/f": "deep\n", f: "top\n", b: { symlink: "x/y/z" }, a: { symlink: "b/.." } });
    const w = ok(walkInside(root, "a/f"));
    assert.equal(w.rel, "x/y/f");
    assert.equal(fs.readFileSync(path.join(root, "a/f"), "utf8"), "deep\n", "the kernel agrees");
  });

  void it("refuses `..` past the root inside a link target, naming that link", () => {
    const { root } = setup({ "a/b/.keep": "", "a/b/up": { symlink: ".." }, esc: { symlink: "a/b/up/../.." }, d: { symlink: "." }, q: { symlink: "d/.." } });
    assert.deepEqual(walkInside(root, "esc/outside/canary"), { ok: false, reason: "outside", link: "esc", absolute: false });
    assert.deepEqual(walkInside(root, "q"), { ok: false, reason: "outside", link: "q", absolute: false });
    assert.equal(ok(walkInside(root, "a/b/up")).rel, "a", "a link to `..` that stays inside is fine");
  });

  void it("refuses absolute targets, even ones that point inside the root", () => {
    const { root } = setup({ f: "x" });
    fs.symlinkSync(path.join(root, "f"), path.join(root, "abs-in"));
    fs.symlinkSync("/etc", path.join(root, "etc"));
    fs.symlinkSync("etc-hop", path.join(root, "x"));
    fs.symlinkSync("/etc", path.join(root, "etc-hop"));
    assert.deepEqual(walkInside(root, "abs-in"), { ok: false, reason: "outside", link: "abs-in", absolute: true });
    assert.deepEqual(walkInside(root, "etc/passwd"), { ok: false, reason: "outside", link: "etc", absolute: true });
    assert.deepEqual(walkInside(root, "x/passwd"), { ok: false, reason: "outside", link: "etc-hop", absolute: true });
  });

  void it("refuses a relative link that leaves and comes back in", () => {
    const { root } = setup({ f: "x", back: { symlink: "../root/f" } });
    assert.deepEqual(walkInside(root, "back"), { ok: false, reason: "outside", link: "back", absolute: false });
  });

  void it(`follows up to ${MAX_SYMLINKS} links and refuses more (loops)`, () => {
    const files: Record<string, Entry> = { end: "x", self: { symlink: "self" }, a: { symlink: "b" }, b: { symlink: "a" }, grow: { symlink: "grow/x" } };
    for (let i = 0; i < MAX_SYMLINKS; i++) files[`l${i}`] = { symlink: i === MAX_SYMLINKS - 1 ? "end" : `l${i + 1}` };
    files.over = { symlink: "l0" };
    const { root } = setup(files);
    assert.equal(ok(walkInside(root, "l0")).rel, "end");
    assert.deepEqual(walkInside(root, "over"), { ok: false, reason: "loop", link: `l${MAX_SYMLINKS - 1}` });
    for (const p of ["self", "a", "grow"]) assert.equal((walkInside(root, p) as { reason?: string }).reason, "loop", p);
  });

  void it("reports missing components and files used as directories", () => {
    const { root } = setup({ f: "x", dangling: { symlink: "nowhere" } });
    assert.deepEqual(walkInside(root, "nope/x"), { ok: false, reason: "missing", at: "nope" });
    assert.deepEqual(walkInside(root, "dangling"), { ok: false, reason: "missing", at: "nowhere" });
    assert.deepEqual(walkInside(root, "f/x"), { ok: false, reason: "not-a-directory", at: "f" });
  });

  void it("reports what it found: files, directories, FIFOs, sockets", async () => {
    const { root } = setup({ f: "x", "d/.keep": "", pipe: { fifo: true }, "to-pipe": { symlink: "pipe" } });
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(root, "sock"), resolve));
    try {
      assert.equal(ok(walkInside(root, "f")).kind, "file");
      assert.equal(ok(walkInside(root, "d")).kind, "directory");
      assert.equal(ok(walkInside(root, "")).kind, "directory");
      assert.equal(ok(walkInside(root, "pipe")).kind, "FIFO");
      assert.equal(ok(walkInside(root, "to-pipe")).kind, "FIFO");
      assert.equal(ok(walkInside(root, "sock")).kind, "socket");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  void it("gives the same answers with its cache as without", () => {
    const { root } = setup({ "x/y/z/f": "1", "x/y/g": "2", b: { symlink: "x/y/z" }, a: { symlink: "b/.." }, d: { symlink: "." }, q: { symlink: "d/.." } });
    const cache = new Map();
    const paths = ["a", "a/g", "a/z/f", "b/f", "b", "a/g", "q", "q/x", "d/d/a/g", "x/y", "x/y/z/f", "a/z/f"];
    for (const p of [...paths, ...paths]) assert.deepEqual(walkInside(root, p, cache), walkInside(root, p), p);
  });
});

void describe("ArtifactRoot: every read goes through the resolver", () => {
  void it("reads what the kernel reads for in-root chains, and refuses chains that leave", () => {
    const { top, root } = setup({ "x/y/z/.keep": "", "x/y/f": "deep\n", f: "top\n", b: { symlink: "x/y/z" }, a: { symlink: "b/.." }, "up-hop": { symlink: "x/.." } });
    fs.symlinkSync("../outside/inner", path.join(root, "hop"));
    fs.symlinkSync("hop/..", path.join(root, "esc"));
    const r = new ArtifactRoot(root, resolveLimits());
    assert.equal(r.readText("a/f"), "deep\n");
    assert.equal(r.resolve("f", "a", "resource"), "a/f", "returns the lexical path, which the reads resolve again");
    throwsRender(() => r.readText("esc/canary"), /^esc\/canary: resolves outside the source root: hop is a symlink pointing outside it/, "esc/canary", top);
    throwsRender(() => r.resolve("canary", "esc", "resource", "k.yaml"), /^k\.yaml: resource "canary" resolves outside the source root: hop is a symlink pointing outside it/, "k.yaml", top);
    throwsRender(() => r.isFile("esc/canary"), /resolves outside the source root/, "esc/canary", top);
    throwsRender(() => r.isDir("esc"), /resolves outside the source root/, "esc", top);
    throwsRender(() => r.exists("esc"), /resolves outside the source root/, "esc", top);
    throwsRender(() => r.list("esc"), /resolves outside the source root/, "esc", top);
    throwsRender(() => r.list(""), /^entry "esc" resolves outside the source root/, undefined, top);
  });

  void it("says where a path leads (realPath), refuses one that leaves, and a replay notices a link that now leads elsewhere", () => {
    const { top, root } = setup({ "apps/shared.yaml": "same\n", "apps/web/own.yaml": "same\n", "apps/web/link.yaml": { symlink: "../shared.yaml" }, "apps/webl": { symlink: "web" } });
    const r = new ArtifactRoot(root, resolveLimits(), { trace: true });
    assert.deepEqual([r.realPath("apps/web/link.yaml"), r.realPath("apps/webl/link.yaml"), r.realPath("apps/webl"), r.realPath("")], ["apps/shared.yaml", "apps/shared.yaml", "apps/web", ""]);
    fs.symlinkSync("../../outside", path.join(root, "apps/out"));
    throwsRender(() => r.realPath("apps/out"), /^apps\/out: resolves outside the source root/, "apps/out", top);
    r.readText("apps/web/link.yaml");
    const reads = Object.fromEntries(r.reads!);
    assert.equal(replayReads(root, reads, resolveLimits()), true);
    // Same content, another place: a load restriction decided on the old place must be decided again.
    fs.rmSync(path.join(root, "apps/web/link.yaml"));
    fs.symlinkSync("own.yaml", path.join(root, "apps/web/link.yaml"));
    assert.equal(replayReads(root, reads, resolveLimits()), false);
  });

  void it("refuses FIFOs, sockets and devices without opening them, and directories where a file is expected", () => {
    const { top, root } = setup({ pipe: { fifo: true }, link: { symlink: "pipe" }, "d/f": "x", "ok.yaml": "a: 1\n" });
    const r = new ArtifactRoot(root, resolveLimits());
    throwsRender(() => r.readBytes("pipe"), /^pipe: is a FIFO, not a regular file/, "pipe", top);
    throwsRender(() => r.readBytes("link"), /is a FIFO/, "link", top);
    throwsRender(() => r.isFile("pipe"), /is a FIFO/, "pipe", top);
    throwsRender(() => r.resolve("link", "", "patches path", "k.yaml"), /^k\.yaml: patches path "link" is a FIFO/, "k.yaml", top);
    throwsRender(() => r.readBytes("d"), /^d: is a directory, not a file/, "d", top);
    throwsRender(() => r.resolve("d", "", "configMapGenerator \"g\" file", "k.yaml", "file"), /configMapGenerator "g" file "d" is a directory, not a file/, "k.yaml", top);
    throwsRender(() => r.resolve("ok.yaml", "", "component", "k.yaml", "directory"), /component "ok\.yaml" is not a directory/, "k.yaml", top);
    // Listing shows a FIFO as a file, so whoever wants to read it gets the error above instead of a silent skip.
    assert.deepEqual(r.list(""), [
      { name: "d", path: "d", dir: true },
      { name: "link", path: "link", dir: false },
      { name: "ok.yaml", path: "ok.yaml", dir: false },
      { name: "pipe", path: "pipe", dir: false },
    ]);
    const dev = new ArtifactRoot("/dev", resolveLimits());
    throwsRender(() => dev.readBytes("null"), /^null: is a character device, not a regular file/, "null");
    throwsRender(() => dev.resolve("zero", "", "resource", "k.yaml"), /resource "zero" is a character device/, "k.yaml");
  });

  void it("keeps the size limits, checked on the opened file", () => {
    const { root } = setup({ big: "x".repeat(2000), small: "y" });
    const r = new ArtifactRoot(root, resolveLimits({ maxFileBytes: 1000, maxTotalBytes: 2 }));
    throwsRender(() => r.readBytes("big"), /over the 1000-byte limit per file/, "big");
    assert.equal(r.readText("small"), "y");
    r.readBytes("small");
    throwsRender(() => r.readBytes("small"), /limit per render/, "small");
  });

  void it("names a missing path and a loop without quoting any host path", () => {
    const { top, root } = setup({ self: { symlink: "self" }, f: "x" });
    const r = new ArtifactRoot(root, resolveLimits());
    throwsRender(() => r.resolve("nope.yaml", "", "resource", "k.yaml"), /resource "nope\.yaml" does not exist \(looked for nope\.yaml\)/, "k.yaml", top);
    throwsRender(() => r.resolve("f/x", "", "resource", "k.yaml"), /resource "f\/x" does not exist \(looked for f\/x, but f is not a directory\)/, "k.yaml", top);
    throwsRender(() => r.resolve("self", "", "resource", "k.yaml"), /resource "self" cannot be resolved: more than 40 symlinks were followed \(a symlink loop at self\?\)/, "k.yaml", top);
    assert.equal(r.isFile("nope"), false);
    assert.equal(r.isDir("f/x"), false, "a missing path is just missing");
  });
});

void describe("extractTarGz: links resolved as the kernel does once all exist", () => {
  void it("removes chains that each look inside but together leave the tree, and never creates a link through a link", async () => {
    const { top } = setup({});
    const file = path.join(top, "a.tgz");
    fs.writeFileSync(
      file,
      await tgz([
        { name: "f.yaml", body: "x" },
        { name: "sub/g.yaml", body: "y" },
        { name: "d", type: "symlink", linkname: "." },
        { name: "q", type: "symlink", linkname: "d/.." },
        { name: "x", type: "symlink", linkname: "q/outside/canary" },
        { name: "q/planted", type: "symlink", linkname: "canary" },
        { name: "s", type: "symlink", linkname: "sub" },
        { name: "s/planted", type: "symlink", linkname: "g.yaml" },
        { name: "in", type: "symlink", linkname: "sub/../f.yaml" },
        { name: "sub/up", type: "symlink", linkname: "../d/sub" },
      ]),
    );
    const dir = path.join(top, "tree");
    const r = await extractTarGz(file, dir);
    assert.deepEqual(r.skippedSymlinks.sort(), ["q", "q/planted", "s/planted", "x"]);
    assert.ok(!fs.existsSync(path.join(top, "planted")), "no link planted outside the tree");
    assert.ok(!fs.existsSync(path.join(dir, "sub/planted")), "no link planted through a link");
    assert.equal(fs.readlinkSync(path.join(dir, "d")), ".");
    assert.equal(fs.readFileSync(path.join(dir, "in"), "utf8"), "x");
    assert.equal(fs.readFileSync(path.join(dir, "sub/up/g.yaml"), "utf8"), "y");
  });
});
