// Credentials against the real git server: basic auth, bearer token, a custom CA for TLS, and Secrets that are
// missing or lack keys. Credentials never appear in error messages.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentialsFromSecret } from "../../../src/source/credentials.js";
import { GitServer, selfSignedCert, type TestRepo } from "../../support/git-server.js";
import { KEY, harness, sourceError, type Harness } from "./harness.js";

const T = 20_000;
const b64 = (s: string) => Buffer.from(s).toString("base64");
const PASSWORD = "pa55-w0rd-never-shown";

void describe("basic auth", () => {
  let server: GitServer;
  let repo: TestRepo;
  let h: Harness;
  before(async () => {
    server = await GitServer.start({ basicAuth: { username: "git", password: PASSWORD } });
    repo = await server.createRepo("private", { files: { "a.yaml": "a: 1\n" } });
    h = await harness();
  });
  after(async () => {
    await server.close();
    await h.cleanup();
  });

  void it("fetches with username/password from the Secret", async () => {
    const credentials = credentialsFromSecret({ username: b64("git"), password: b64(PASSWORD) }, "repo-auth");
    const out = await h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, credentials });
    assert.equal(out.kind, "Updated");
  });

  void it("401 without credentials says to set spec.secretRef", async () => {
    const e = await sourceError(h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T } }));
    assert.equal(e.reason, "AuthenticationFailed");
    assert.match(e.message, /HTTP 401 .*no credentials were given; set spec.secretRef/);
  });

  void it("401 with wrong credentials never shows them, not even from the URL", async () => {
    const credentials = credentialsFromSecret({ username: b64("git"), password: b64("wrong-" + PASSWORD) }, "repo-auth");
    const url = repo.url.replace("http://", `http://git:${PASSWORD}@`);
    const e = await sourceError(h.syncer.sync({ key: KEY, spec: { url, timeoutMs: T }, credentials }));
    assert.equal(e.reason, "AuthenticationFailed");
    assert.match(e.message, /the credentials in spec.secretRef were refused/);
    assert.equal(e.message.includes(PASSWORD), false, e.message);
    assert.equal(e.message.includes(b64(`git:wrong-${PASSWORD}`)), false);
  });

  void it("a Secret missing or missing its keys fails before any request", async () => {
    server.resetStats();
    for (const data of [undefined, { username: b64("git") }, { password: b64(PASSWORD) }, {}] as (Record<string, string> | undefined)[]) {
      assert.throws(() => credentialsFromSecret(data, "repo-auth"), (err: Error & { reason?: string }) => err.reason === "CredentialsInvalid" && !err.message.includes(PASSWORD));
    }
    assert.equal(server.stats.requests, 0);
  });
});

void describe("bearer token", () => {
  let server: GitServer;
  let repo: TestRepo;
  let h: Harness;
  before(async () => {
    server = await GitServer.start({ bearerToken: "tok-" + PASSWORD });
    repo = await server.createRepo("private", { files: { "a.yaml": "a: 1\n" } });
    h = await harness();
  });
  after(async () => {
    await server.close();
    await h.cleanup();
  });

  void it("fetches with bearerToken and refuses a wrong one", async () => {
    const ok = credentialsFromSecret({ bearerToken: b64("tok-" + PASSWORD) }, "t");
    assert.equal((await h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, credentials: ok })).kind, "Updated");
    const bad = credentialsFromSecret({ bearerToken: b64("nope-" + PASSWORD) }, "t");
    const e = await sourceError(h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, credentials: bad, force: true }));
    assert.equal(e.reason, "AuthenticationFailed");
    assert.equal(e.message.includes(PASSWORD), false);
  });
});

void describe("TLS with a custom CA", () => {
  let server: GitServer;
  let repo: TestRepo;
  let h: Harness;
  let cert: string;
  before(async () => {
    const tls = await selfSignedCert();
    cert = tls.cert;
    server = await GitServer.start({ tls, basicAuth: { username: "git", password: PASSWORD } });
    repo = await server.createRepo("tls", { files: { "a.yaml": "a: 1\n" } });
    h = await harness();
  });
  after(async () => {
    await server.close();
    await h.cleanup();
  });

  void it("trusts the server with ca.crt from the Secret", async () => {
    assert.match(repo.url, /^https:/);
    const credentials = credentialsFromSecret({ username: b64("git"), password: b64(PASSWORD), "ca.crt": b64(cert) }, "tls");
    assert.equal((await h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, credentials })).kind, "Updated");
  });

  void it("without the CA fails verification and says to add ca.crt", async () => {
    const credentials = credentialsFromSecret({ username: b64("git"), password: b64(PASSWORD) }, "tls");
    const e = await sourceError(h.syncer.sync({ key: KEY, spec: { url: repo.url, timeoutMs: T }, credentials, force: true }));
    assert.equal(e.reason, "Unreachable");
    assert.match(e.message, /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed .*add the server's CA as ca.crt/);
  });
});
