import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SourceError } from "../../../src/source/errors.js";
import { commitOfRevision, pinnedCommit, refAtCommit, resolveRef, validateRefSpec, type RemoteRefs } from "../../../src/source/refs.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const T = "d".repeat(40); // an annotated tag object
const URL = "https://git.example/repo.git";

function remote(): RemoteRefs {
  return {
    head: "refs/heads/main",
    refs: new Map([
      ["HEAD", { oid: A }],
      ["refs/heads/main", { oid: A }],
      ["refs/heads/dev", { oid: B }],
      ["refs/tags/v1.0.0", { oid: T, peeled: B }],
      ["refs/tags/v1.2.0", { oid: C }],
      ["refs/tags/v2.0.0-rc.1", { oid: A }],
      ["refs/tags/not-semver", { oid: A }],
      ["refs/pull/1/head", { oid: C }],
    ]),
  };
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SourceError, `expected SourceError, got ${String(err)}`);
    return err.reason;
  }
  assert.fail("expected an error");
}

void describe("resolveRef", () => {
  void it("resolves a branch to its tip with revision <branch>@sha1:<sha>", () => {
    assert.deepEqual(resolveRef({ branch: "dev" }, remote(), URL), { kind: "branch", fullRef: "refs/heads/dev", commit: B, revision: `dev@sha1:${B}` });
  });
  void it("peels an annotated tag to its commit", () => {
    const r = resolveRef({ tag: "v1.0.0" }, remote(), URL);
    assert.equal(r.commit, B);
    assert.equal(r.revision, `v1.0.0@sha1:${B}`);
  });
  void it("resolves a lightweight tag", () => {
    assert.equal(resolveRef({ tag: "v1.2.0" }, remote(), URL).commit, C);
  });
  void it("picks the highest tag matching a semver range, excluding prereleases the range does not allow", () => {
    const r = resolveRef({ semver: ">=1.0.0" }, remote(), URL);
    assert.equal(r.revision, `v1.2.0@sha1:${C}`);
    assert.equal(resolveRef({ semver: "~1.0" }, remote(), URL).revision, `v1.0.0@sha1:${B}`);
    assert.equal(resolveRef({ semver: ">=2.0.0-rc.0" }, remote(), URL).revision, `v2.0.0-rc.1@sha1:${A}`);
  });
  void it("fails with RefNotFound when no tag matches the range, naming the highest tag", () => {
    assert.equal(reason(() => resolveRef({ semver: "^3" }, remote(), URL)), "RefNotFound");
    assert.throws(() => resolveRef({ semver: "^3" }, remote(), URL), /no tag .* matches the semver range "\^3".*highest 2\.0\.0-rc\.1/);
  });
  void it("resolves a full ref name", () => {
    assert.equal(resolveRef({ name: "refs/pull/1/head" }, remote(), URL).revision, `refs/pull/1/head@sha1:${C}`);
  });
  void it("defaults to the remote HEAD's branch", () => {
    assert.deepEqual(resolveRef(undefined, remote(), URL), { kind: "head", fullRef: "refs/heads/main", commit: A, revision: `main@sha1:${A}` });
    assert.equal(resolveRef({}, remote(), URL).revision, `main@sha1:${A}`);
  });
  void it("keeps a commit as given, with revision sha1:<sha>", () => {
    assert.deepEqual(resolveRef({ commit: C }, remote(), URL), { kind: "commit", commit: C, revision: `sha1:${C}` });
  });
  void it("fails with RefNotFound for a missing branch or tag, listing what exists", () => {
    assert.equal(reason(() => resolveRef({ branch: "nope" }, remote(), URL)), "RefNotFound");
    assert.throws(() => resolveRef({ branch: "nope" }, remote(), URL), /branch "nope" not found .*branches there: dev, main/);
    assert.equal(reason(() => resolveRef({ tag: "v9" }, remote(), URL)), "RefNotFound");
    assert.equal(reason(() => resolveRef({ name: "refs/pull/2/head" }, remote(), URL)), "RefNotFound");
  });
  void it("fails with EmptyRepository when the remote has no refs", () => {
    assert.equal(reason(() => resolveRef(undefined, { refs: new Map() }, URL)), "EmptyRepository");
  });
  void it("rejects specs that can never work as InvalidSpec (not retryable)", () => {
    for (const ref of [{ branch: "a", tag: "b" }, { commit: "abc" }, { semver: "not a range!" }, { name: "heads/main" }]) {
      assert.equal(reason(() => validateRefSpec(ref)), "InvalidSpec", JSON.stringify(ref));
      try {
        validateRefSpec(ref);
      } catch (err) {
        assert.equal((err as SourceError).retryable, false);
      }
    }
  });
});

void describe("revision helpers", () => {
  void it("reads the commit back from a revision", () => {
    assert.equal(commitOfRevision(`main@sha1:${A}`), A);
    assert.equal(commitOfRevision(`sha1:${B}`), B);
    assert.equal(commitOfRevision("main"), undefined);
  });
  void it("a pinned commit resolves without the remote", () => {
    assert.equal(pinnedCommit({ commit: A })?.revision, `sha1:${A}`);
    assert.equal(pinnedCommit({ branch: "main" }), undefined);
  });
  void it("finds a ref whose tip is a commit (peeled tags included)", () => {
    assert.equal(refAtCommit(remote(), B), "refs/heads/dev");
    assert.equal(refAtCommit(remote(), "e".repeat(40)), undefined);
  });
});
