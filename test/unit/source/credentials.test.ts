import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authHeaders, credentialsFromSecret, secretValues } from "../../../src/source/credentials.js";
import { SourceError, scrub } from "../../../src/source/errors.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

function failure(fn: () => unknown): SourceError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SourceError);
    return err;
  }
  assert.fail("expected an error");
}

void describe("credentialsFromSecret", () => {
  void it("reads basic auth and a CA", () => {
    const c = credentialsFromSecret({ username: b64("git"), password: b64("s3cret"), "ca.crt": b64(PEM) }, "repo-auth");
    assert.deepEqual(c, { basic: { username: "git", password: "s3cret" }, caCert: PEM });
    assert.equal(authHeaders(c).authorization, "Basic " + b64("git:s3cret"));
  });
  void it("reads a bearer token", () => {
    const c = credentialsFromSecret({ bearerToken: b64("tok-123") }, "repo-auth");
    assert.deepEqual(authHeaders(c), { authorization: "Bearer tok-123" });
  });
  void it("a missing Secret is CredentialsInvalid naming the Secret", () => {
    const e = failure(() => credentialsFromSecret(undefined, "repo-auth"));
    assert.equal(e.reason, "CredentialsInvalid");
    assert.match(e.message, /Secret "repo-auth" .* not found/);
  });
  void it("missing keys are CredentialsInvalid and never echo values", () => {
    for (const data of [{ username: b64("git") }, { password: b64("hunter22") }, {}, { bearerToken: "" }, { "ca.crt": b64("not pem") }] as Record<string, string>[]) {
      const e = failure(() => credentialsFromSecret(data, "repo-auth"));
      assert.equal(e.reason, "CredentialsInvalid", JSON.stringify(data));
      assert.doesNotMatch(e.message, /hunter22/);
    }
  });
  void it("rejects both basic auth and a token", () => {
    assert.equal(failure(() => credentialsFromSecret({ username: b64("a"), password: b64("b"), bearerToken: b64("c") }, "x")).reason, "CredentialsInvalid");
  });
});

void describe("scrub", () => {
  void it("removes user-info from URLs and secret values from text", () => {
    const c = credentialsFromSecret({ username: b64("git"), password: b64("s3cret") }, "x");
    const text = "fatal: https://git:s3cret@host/repo.git said s3cret and " + b64("git:s3cret");
    const out = scrub(text, secretValues(c));
    assert.equal(out.includes("s3cret"), false);
    assert.equal(out.includes(b64("git:s3cret")), false);
    assert.match(out, /https:\/\/host\/repo\.git/);
  });
});
