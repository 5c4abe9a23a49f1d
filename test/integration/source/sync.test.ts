// The source sync against a real git server (git http-backend): refs, artifacts, no-op polls, determinism.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { KEY, harness, readArtifact, type Harness } from "./harness.js";

const T = 20_000;

void describe("source sync against git http-backend", () => {
  let server: GitServer;
  let repo: TestRepo;
  let h: Harness;
  let first: string;
  before(async () => {
    server = await GitServer.start();
    repo = await server.createRepo("app", {
      files: {
        "deploy/app.yaml": "kind: ConfigMap\n",
        "deploy/run.sh": "#!/bin/sh\necho hi\n",
        "docs/readme.md": "docs\n",
        ".github/workflows/ci.yml": "on: push\n",
        ".gitignore": "*.tmp\n",
        "escape": { symlink: "../../../../etc/passwd" },
      },
    });
    await repo.git(["update-index", "--chmod=+x", "deploy/run.sh"]);
    await repo.git(["commit", "-q", "-m", "exec bit"]);
    await repo.push();
    first = await repo.head();
    h = await harness();
  });
  after(async () => {
    await server.close();
    await h.cleanup();
  });

  void it("fetches the default branch and stores a tar.gz without VCS/CI folders and with spec.ignore applied", async () => {
    const out = await h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T, ignore: "docs/\n" } });
    assert.equal(out.kind, "Updated");
    assert.equal(out.resolved.revision, `main@sha1:${first}`);
    assert.match(out.artifact.digest, /^sha256:[0-9a-f]{64}$/);
    const files = await readArtifact(h.storage, out.artifact.path);
    assert.deepEqual([...files.keys()], ["deploy/app.yaml", "deploy/run.sh", "escape"]);
    assert.equal(files.get("deploy/app.yaml")!.content, "kind: ConfigMap\n");
    assert.equal(files.get("deploy/app.yaml")!.mode, 0o644);
    assert.equal(files.get("deploy/run.sh")!.mode, 0o755);
    // A symlink pointing outside the tree is stored as a link, never followed.
    assert.equal(files.get("escape")!.type, "symlink");
    assert.equal(files.get("escape")!.linkname, "../../../../etc/passwd");
    assert.equal(files.get("escape")!.content, "");
  });

  void it("produces the same digest for the same commit fetched twice", async () => {
    const other = await harness();
    try {
      const a = await h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, force: true });
      const b = await other.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T } });
      assert.equal(a.kind, "Updated");
      assert.equal(b.kind, "Updated");
      assert.equal(a.artifact.digest, b.artifact.digest);
      // The same name but for the random token each storage gives its artifacts (their URLs cannot be guessed).
      const untokened = (p: string) => p.replace(/\.[A-Za-z0-9_-]{32}(?=\.tar\.gz$)/, "");
      assert.notEqual(a.artifact.path, b.artifact.path);
      assert.equal(untokened(a.artifact.path), untokened(b.artifact.path));
    } finally {
      await other.cleanup();
    }
  });

  void it("a no-op poll does one ref listing and downloads no pack", async () => {
    const a = await h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T } , force: true });
    assert.equal(a.kind, "Updated");
    server.resetStats();
    const b = await h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, current: { path: a.artifact.path, revision: a.artifact.revision, digest: a.artifact.digest } });
    assert.equal(b.kind, "Unchanged");
    assert.deepEqual(server.stats, { ...server.stats, requests: 1, refListings: 1, uploadPacks: 0, packBytes: 0 });
  });

  void it("a new commit on the branch makes a new artifact; the last two are kept", async () => {
    const before1 = await h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, force: true });
    const next = await repo.commit({ "deploy/app.yaml": "kind: ConfigMap\ndata: {}\n" }, "second");
    const cur = { path: before1.artifact.path, revision: before1.artifact.revision, digest: before1.artifact.digest };
    const out = await h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, current: cur });
    assert.equal(out.kind, "Updated");
    assert.equal(out.resolved.revision, `main@sha1:${next}`);
    assert.notEqual(out.artifact.digest, before1.artifact.digest);
    assert.equal((await readArtifact(h.storage, out.artifact.path)).get("deploy/app.yaml")!.content, "kind: ConfigMap\ndata: {}\n");
    const kept = await h.storage.list(KEY);
    assert.equal(kept.length, 2);
    assert.equal(kept[0], out.artifact.path);
  });

  void it("a commit-pinned ref whose artifact exists needs no network", async () => {
    const pinned = await h.syncer.sync({ key: { ...KEY, name: "pinned" }, spec: { url: repo.url, timeoutMs: T, ref: { commit: first } } });
    assert.equal(pinned.kind, "Updated");
    assert.equal(pinned.resolved.revision, `sha1:${first}`);
    server.resetStats();
    const again = await h.syncer.sync({
      key: { ...KEY, name: "pinned" },
      spec: { url: repo.url, timeoutMs: T, ref: { commit: first } },
      current: { path: pinned.artifact.path, revision: pinned.artifact.revision, digest: pinned.artifact.digest },
    });
    assert.equal(again.kind, "Unchanged");
    assert.equal(again.kind === "Unchanged" && again.network, false);
    assert.equal(server.stats.requests, 0);
  });

  void it("an artifact named in status but missing on disk is fetched again", async () => {
    const a = await h.syncer.sync({ key: { ...KEY, name: "lost" }, spec: { url: repo.url, timeoutMs: T } });
    await h.storage.remove({ ...KEY, name: "lost" });
    assert.equal(await h.storage.exists(a.artifact.path), false);
    const b = await h.syncer.sync({ key: { ...KEY, name: "lost" }, spec: { url: repo.url, timeoutMs: T }, current: { path: a.artifact.path, revision: a.artifact.revision, digest: a.artifact.digest } });
    assert.equal(b.kind, "Updated");
    assert.equal(b.artifact.digest, a.artifact.digest);
    assert.equal(await h.storage.exists(b.artifact.path, b.artifact.digest), true);
  });
});

void describe("ref kinds against git http-backend", () => {
  let server: GitServer;
  let repo: TestRepo;
  let h: Harness;
  const commits: Record<string, string> = {};
  before(async () => {
    server = await GitServer.start();
    repo = await server.createRepo("refs", { files: { "v.txt": "1.0.0" } });
    commits.v100 = await repo.head();
    await repo.tag("v1.0.0", "annotated 1.0.0");
    commits.v110 = await repo.commit({ "v.txt": "1.1.0" });
    await repo.tag("v1.1.0");
    commits.v200 = await repo.commit({ "v.txt": "2.0.0" });
    await repo.tag("v2.0.0", "annotated 2.0.0");
    commits.mainTip = await repo.commit({ "v.txt": "main" });
    await repo.branch("feature");
    commits.feature = await repo.commit({ "v.txt": "feature" });
    await repo.git(["push", "-q", "origin", "HEAD:refs/pull/7/head"]);
    await repo.checkout("main");
    h = await harness();
  });
  after(async () => {
    await server.close();
    await h.cleanup();
  });

  const content = async (ref: object, name: string) => {
    const out = await h.syncer.sync({ key: { ...KEY, name }, spec: { url: repo.url, timeoutMs: T, ref } });
    return { revision: out.resolved.revision, v: (await readArtifact(h.storage, out.artifact.path)).get("v.txt")!.content };
  };

  void it("branch", async () => {
    assert.deepEqual(await content({ branch: "feature" }, "b"), { revision: `feature@sha1:${commits.feature}`, v: "feature" });
  });
  void it("annotated tag, peeled to its commit", async () => {
    assert.deepEqual(await content({ tag: "v1.0.0" }, "t"), { revision: `v1.0.0@sha1:${commits.v100}`, v: "1.0.0" });
  });
  void it("semver range picks the highest matching tag", async () => {
    assert.deepEqual(await content({ semver: "^1.0.0" }, "s1"), { revision: `v1.1.0@sha1:${commits.v110}`, v: "1.1.0" });
    assert.deepEqual(await content({ semver: ">=1.0.0" }, "s2"), { revision: `v2.0.0@sha1:${commits.v200}`, v: "2.0.0" });
  });
  void it("a commit that is no ref's tip", async () => {
    assert.deepEqual(await content({ commit: commits.v110 }, "c"), { revision: `sha1:${commits.v110}`, v: "1.1.0" });
  });
  void it("a full ref name", async () => {
    assert.deepEqual(await content({ name: "refs/pull/7/head" }, "n"), { revision: `refs/pull/7/head@sha1:${commits.feature}`, v: "feature" });
  });
  void it("a non-default HEAD branch", async () => {
    await repo.setDefaultBranch("feature");
    try {
      assert.deepEqual(await content({}, "h"), { revision: `feature@sha1:${commits.feature}`, v: "feature" });
    } finally {
      await repo.setDefaultBranch("main");
    }
  });
});
