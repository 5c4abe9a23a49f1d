import assert from "node:assert/strict";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { startArtifactServer, type RunningServer } from "../../../src/artifact/server.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { chunks, key } from "./fixtures.js";

void describe("artifact server", () => {
  let root: string;
  let srv: RunningServer;
  let stored: { path: string; digest: string; size: number };
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "mooring-serve-"));
    const s = new ArtifactStorage({ root: path.join(root, "store") });
    await s.init();
    stored = await s.write(key, chunks("artifact bytes"));
    await writeFile(path.join(root, "outside.txt"), "secret");
    await symlink(path.join(root, "outside.txt"), path.join(root, "store", "gitrepository", "team-a", "app", `${"c".repeat(64)}.${"E".repeat(32)}.tar.gz`));
    // A file under the root but not named as an artifact (no token): never served.
    await writeFile(path.join(root, "store", "gitrepository", "team-a", "app", `${"d".repeat(64)}.tar.gz`), "secret");
    await writeFile(path.join(root, "store", "gitrepository", "team-a", "app", ".tmp-x"), "partial");
    srv = await startArtifactServer("127.0.0.1:0", { root: path.join(root, "store") });
  });
  after(async () => {
    await srv.close();
    await rm(root, { recursive: true, force: true });
  });
  const get = (p: string, method = "GET") => fetch(`http://127.0.0.1:${srv.port}${p}`, { method });

  void it("serves a stored artifact with content type and length", async () => {
    const res = await get("/" + stored.path);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/gzip");
    assert.equal(res.headers.get("content-length"), String(stored.size));
    assert.equal(await res.text(), "artifact bytes");
    const head = await get("/" + stored.path, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(stored.size));
  });

  void it("answers 404 for directories, missing files, dotfiles, traversal and symlinks out of the root", async () => {
    for (const p of ["/", "/gitrepository/", "/gitrepository/team-a/app", "/gitrepository/team-a/app/nope.tar.gz", "/gitrepository/team-a/app/.tmp-x",
      "/..%2foutside.txt", "/gitrepository/..%2F..%2Foutside.txt", "/%2e%2e/outside.txt", `/gitrepository/team-a/app/${"c".repeat(64)}.${"E".repeat(32)}.tar.gz`, "/a%00b", "/%zz",
      `/gitrepository/team-a/app/${"d".repeat(64)}.tar.gz`]) {
      const res = await get(p);
      assert.equal(res.status, 404, p);
      assert.doesNotMatch(await res.text(), /secret|artifact bytes/, p);
    }
  });

  void it("answers 404 to a URL without its token, with a forged or altered token, or another object's path with this token", async () => {
    const name = path.basename(stored.path);
    const [hex, token] = name.split(".") as [string, string];
    const dir = path.dirname(stored.path);
    const flip = (t: string, i: number) => t.slice(0, i) + (t[i] === "A" ? "B" : "A") + t.slice(i + 1);
    const forged = [
      `/${dir}/${hex}.tar.gz`,
      `/${dir}/${hex}.${"A".repeat(32)}.tar.gz`,
      `/${dir}/${hex}.${flip(token, 0)}.tar.gz`,
      `/${dir}/${hex}.${flip(token, 31)}.tar.gz`,
      `/${dir}/${hex}.${token.slice(0, 31)}.tar.gz`,
      `/${dir}/${hex}.${token}x.tar.gz`,
      `/${dir}/${hex}.${token}.json`,
      `/gitrepository/team-a/other/${name}`,
      `/${dir}/${name}?token=${token}`.replace(name, `${hex}.tar.gz`),
    ];
    for (const p of forged) {
      const res = await get(p);
      assert.equal(res.status, 404, p);
      assert.doesNotMatch(await res.text(), /artifact bytes/, p);
    }
    assert.equal((await get("/" + stored.path)).status, 200, "the URL from status works");
  });

  void it("is read-only", async () => {
    for (const m of ["PUT", "POST", "DELETE"]) assert.equal((await get("/" + stored.path, m)).status, 405, m);
  });
});
