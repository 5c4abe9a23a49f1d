// The source controller's typed failure and the scrubbing of credentials from messages (src/source/errors.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SourceError, isSourceError, redactUrl, scrub } from "../../../src/source/errors.js";

describe("source errors", () => {
  it("only a spec or tree problem is not retryable", () => {
    assert.equal(new SourceError("InvalidSpec", "x").retryable, false);
    assert.equal(new SourceError("InvalidTree", "x").retryable, false);
    for (const r of ["Unreachable", "AuthenticationFailed", "Timeout", "FetchFailed", "RefNotFound"] as const) assert.equal(new SourceError(r, "x").retryable, true, r);
    const e = new SourceError("Timeout", "slow");
    assert.ok(isSourceError(e) && e instanceof Error && e.name === "SourceError" && e.reason === "Timeout");
    assert.equal(isSourceError(new Error("x")), false);
  });

  it("removes user-info from every URL and each given secret of 3 characters or more", () => {
    assert.equal(redactUrl("https://user:tok@github.com/o/r.git"), "https://github.com/o/r.git");
    assert.equal(scrub("fetch ssh://git@host/r and HTTPS://a:b@h/x failed"), "fetch ssh://host/r and HTTPS://h/x failed");
    assert.equal(scrub("server said: bad token s3cret (s3cret)", ["s3cret", undefined]), "server said: bad token *** (***)");
    assert.equal(scrub("ab is short", ["ab"]), "ab is short");
  });
});
