// The git layer against git http-backend: the ref listing (one request), the streaming pack download (one more
// request), and isomorphic-git's own fetch for servers that do not advertise side-band — both giving the same tree.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { collect } from "../../support/tar.js";
import { writeTarGz } from "../../../src/artifact/tarball.js";
import { fetchCommit, listRemoteRefs } from "../../../src/source/git.js";
import { resolveRef } from "../../../src/source/refs.js";
import { commitEntries } from "../../../src/source/tree.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";

const OPTS = { timeoutMs: 20_000 };

void describe("git layer", () => {
  let server: GitServer;
  let repo: TestRepo;
  before(async () => {
    server = await GitServer.start();
    repo = await server.createRepo("app", { files: { "a/one.yaml": "one\n", "b/two.yaml": "two\n", "link": { symlink: "a/one.yaml" } } });
    await repo.tag("v1.0.0", "annotated");
    await repo.commit({ "b/two.yaml": "two v2\n" });
  });
  after(() => server.close());

  void it("lists refs, HEAD's target, peeled tags and capabilities in one request", async () => {
    server.resetStats();
    const remote = await listRemoteRefs(repo.url, OPTS);
    assert.equal(server.stats.requests, 1);
    assert.equal(remote.head, "refs/heads/main");
    assert.equal(remote.refs.get("refs/heads/main")!.oid, await repo.head());
    const tag = remote.refs.get("refs/tags/v1.0.0")!;
    assert.notEqual(tag.oid, tag.peeled);
    assert.equal(tag.peeled, await repo.git(["rev-parse", "v1.0.0^{commit}"]));
    assert.ok(remote.capabilities!.includes("side-band-64k"));
  });

  void it("streams the pack in one POST and builds the same tree as isomorphic-git's fetch", async () => {
    const remote = await listRemoteRefs(repo.url, OPTS);
    const resolved = resolveRef({ tag: "v1.0.0" }, remote, repo.url);
    server.resetStats();
    const streamed = await fetchCommit(repo.url, resolved, remote, OPTS);
    assert.deepEqual([server.stats.refListings, server.stats.uploadPacks], [0, 1], "no second discovery request");
    const classic = await fetchCommit(repo.url, resolved, { ...remote, capabilities: [] }, OPTS);
    try {
      assert.equal(streamed.commit, resolved.commit);
      assert.equal(classic.commit, resolved.commit);
      const a = await commitEntries(streamed.objects, streamed.commit);
      const b = await commitEntries(classic.objects, classic.commit);
      assert.deepEqual(a.entries.map((e) => e.path), ["a/one.yaml", "b/two.yaml", "link"]);
      assert.deepEqual(await collect(writeTarGz(a.entries)), await collect(writeTarGz(b.entries)));
    } finally {
      await streamed.dispose();
      await classic.dispose();
    }
  });
});
