// Commit metadata read from raw commit objects: headers, signatures, messages, limits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { COMMIT_MESSAGE_MAX } from "../../../src/api/gitrepository.js";
import { parseCommit, parseIdentity } from "../../../src/source/git-commit.js";

const raw = (s: string) => Buffer.from(s, "utf8");
const TREE = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";

void describe("parseCommit", () => {
  void it("reads author, committer, the committer's time in UTC and the message", () => {
    const c = parseCommit(raw(`${TREE}parent ${"a".repeat(40)}\nauthor Ann Author <ann@example.com> 1700000000 +0100\ncommitter Bob Builder <bob@example.com> 1700003600 -0500\n\nScale web to 3\n\nBecause traffic.\n`));
    assert.deepEqual(c, { author: "Ann Author <ann@example.com>", committer: "Bob Builder <bob@example.com>", message: "Scale web to 3\n\nBecause traffic.", time: "2023-11-14T23:13:20Z" });
  });

  void it("skips a signature's continuation lines and keeps the first of repeated headers", () => {
    const c = parseCommit(raw(`${TREE}author A <a@x> 1 +0000\ncommitter C <c@x> 2 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n author Mallory <m@x> 3 +0000\n -----END PGP SIGNATURE-----\n\nsigned\n`));
    assert.equal(c?.author, "A <a@x>");
    assert.equal(c?.time, "1970-01-01T00:00:02Z");
    assert.equal(c?.message, "signed");
  });

  void it("clips a long message to the limit in code points, and is undefined without an author", () => {
    const c = parseCommit(raw(`${TREE}author A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n${"😀".repeat(COMMIT_MESSAGE_MAX + 10)}`));
    assert.equal(Array.from(c!.message).length, COMMIT_MESSAGE_MAX);
    assert.ok(c!.message.endsWith("…"));
    assert.equal(parseCommit(raw(`${TREE}\nno author`)), undefined);
  });

  void it("keeps an identity without a time as it is", () => {
    assert.deepEqual(parseIdentity("Someone <s@x>"), { who: "Someone <s@x>" });
    assert.deepEqual(parseIdentity("Someone <s@x> 0 +0000"), { who: "Someone <s@x>", time: "1970-01-01T00:00:00Z" });
  });
});
