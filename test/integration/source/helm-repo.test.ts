// The Helm repository client (src/source/helm-repo.ts) against a real repository on loopback: charts packaged and
// indexed by the pinned helm, served over HTTP and HTTPS with basic auth. Resolution picks the newest version in a
// range; the digest is checked against the index; every bad input gets its own reason and a message with no secret.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { HelmSourceError, chartDirectory, downloadChart, fetchIndex, resolveVersion, type HelmFetchOptions } from "../../../src/source/helm-repo.js";
import { selfSignedCert } from "../../support/git-server.js";
import { HelmRepoServer, configMapChart } from "../../support/helm-repo.js";

const PASSWORD = "pw-helm-repo-test";
let plain: HelmRepoServer;
let secured: HelmRepoServer;
let ca: string;
const o: HelmFetchOptions = { timeoutMs: 10_000 };

async function failure(p: Promise<unknown>): Promise<HelmSourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HelmSourceError, `a HelmSourceError, not ${String(err)}`);
    assert.doesNotMatch(err.message, new RegExp(PASSWORD));
    return err;
  }
  assert.fail("it succeeded");
}

before(async () => {
  plain = await HelmRepoServer.start();
  for (const v of ["1.0.0", "1.2.0", "1.10.0-rc.1", "2.0.0"]) plain.addChart(configMapChart("demo", v));
  plain.addChart(configMapChart("other", "0.1.0"));
  const cert = await selfSignedCert();
  ca = cert.cert;
  secured = await HelmRepoServer.start({ tls: cert, basicAuth: { username: "charts", password: PASSWORD } });
  secured.addChart(configMapChart("demo", "3.1.4"));
});

after(async () => {
  await plain?.close();
  await secured?.close();
});

void describe("Helm repositories over HTTP(S)", () => {
  void it("reads the index and resolves the newest version in a range (pre-releases only when asked)", async () => {
    const { index } = await fetchIndex(plain.url, o);
    assert.deepEqual([...index.entries.keys()].sort(), ["demo", "other"]);
    assert.equal(index.digest, `sha256:${createHash("sha256").update(plain.index()).digest("hex")}`);
    assert.equal(resolveVersion(index, "demo", "^1.0").version, "1.2.0");
    assert.equal(resolveVersion(index, "demo", "*").version, "2.0.0");
    assert.equal(resolveVersion(index, "demo", ">=1.10.0-rc.0 <2").version, "1.10.0-rc.1");
    assert.equal(resolveVersion(index, "demo", "1.0.0").version, "1.0.0");
  });

  void it("downloads a chart, verifies its digest against the index and finds its directory", async () => {
    const { index } = await fetchIndex(plain.url, o);
    const entry = resolveVersion(index, "demo", "~1.2");
    const before = plain.count("/demo-1.2.0.tgz");
    const got = await downloadChart(index, "demo", entry, plain.url, { ...o, maxBytes: 1 << 20 });
    const file = readFileSync(`${plain.dir}/demo-1.2.0.tgz`);
    assert.equal(got.digest, `sha256:${createHash("sha256").update(file).digest("hex")}`);
    assert.equal(got.digest.slice(7), entry.digest);
    assert.equal(got.chartName, "demo");
    assert.equal(plain.count("/demo-1.2.0.tgz"), before + 1);
  });

  void it("a chart whose bytes differ from the index's digest is refused (DigestMismatch)", async () => {
    const { index } = await fetchIndex(plain.url, o);
    plain.overrides.set("/other-0.1.0.tgz", readFileSync(`${plain.dir}/demo-1.0.0.tgz`));
    try {
      const err = await failure(downloadChart(index, "other", resolveVersion(index, "other", "*"), plain.url, { ...o, maxBytes: 1 << 20 }));
      assert.equal(err.reason, "DigestMismatch");
      assert.match(err.message, /chart "other" version 0\.1\.0 .* has digest sha256:[0-9a-f]{64}, but the index says [0-9a-f]{64}; refusing it/);
    } finally {
      plain.overrides.delete("/other-0.1.0.tgz");
    }
  });

  void it("a chart over the size limit is refused while it downloads (ChartTooLarge)", async () => {
    const { index } = await fetchIndex(plain.url, o);
    const err = await failure(downloadChart(index, "demo", resolveVersion(index, "demo", "2"), plain.url, { ...o, maxBytes: 100 }));
    assert.equal(err.reason, "ChartTooLarge");
    assert.match(err.message, /larger than the 100-byte limit \(--max-chart-size\)/);
  });

  void it("no version in the range, and an unknown chart, each have their own reason", async () => {
    const { index } = await fetchIndex(plain.url, o);
    const none = await failure(Promise.resolve().then(() => resolveVersion(index, "demo", "^9")));
    assert.equal(none.reason, "NoMatchingVersion");
    assert.equal(none.message, 'no version of chart "demo" matches "^9" (newest: 2.0.0, 1.10.0-rc.1, 1.2.0, 1.0.0)');
    const missing = await failure(Promise.resolve().then(() => resolveVersion(index, "nope", "*")));
    assert.equal(missing.reason, "ChartNotFound");
    assert.match(missing.message, /no chart "nope" \(it has 2 charts, such as demo, other\)/);
  });

  void it("an unreachable repository, a 404 and a 500 are RepositoryUnreachable; a non-index is IndexInvalid", async () => {
    const closed = await failure(fetchIndex("http://127.0.0.1:9/charts", o));
    assert.equal(closed.reason, "RepositoryUnreachable");
    assert.match(closed.message, /connection refused by http:\/\/127\.0\.0\.1:9/);
    const dns = await failure(fetchIndex("http://charts.invalid", o));
    assert.equal(dns.reason, "RepositoryUnreachable");
    const notFound = await failure(fetchIndex(`${plain.url}/nothing-here`, o));
    assert.equal(notFound.reason, "RepositoryUnreachable");
    assert.match(notFound.message, /answered HTTP 404/);
    plain.failStatus = 500;
    try {
      assert.match((await failure(fetchIndex(plain.url, o))).message, /HTTP 500/);
    } finally {
      plain.failStatus = undefined;
    }
    plain.overrides.set("/index.yaml", "<html>not an index</html>\n");
    try {
      const bad = await failure(fetchIndex(plain.url, o));
      assert.equal(bad.reason, "IndexInvalid");
    } finally {
      plain.overrides.delete("/index.yaml");
    }
  });

  void it("HTTPS with a custom CA and basic auth; a wrong password is AuthenticationFailed, a missing CA a TLS error", async () => {
    const creds = { basic: { username: "charts", password: PASSWORD } };
    const { index } = await fetchIndex(secured.url, { ...o, creds, ca });
    const got = await downloadChart(index, "demo", resolveVersion(index, "demo", "3.x"), secured.url, { ...o, creds, ca, maxBytes: 1 << 20 });
    assert.equal(got.chartName, "demo");
    const wrong = await failure(fetchIndex(secured.url, { ...o, creds: { basic: { username: "charts", password: "wrong" } }, ca }));
    assert.equal(wrong.reason, "AuthenticationFailed");
    assert.match(wrong.message, /answered HTTP 401: the credentials in spec.secretRef were refused/);
    const anonymous = await failure(fetchIndex(secured.url, { ...o, ca }));
    assert.match(anonymous.message, /it needs credentials; set spec.secretRef/);
    const untrusted = await failure(fetchIndex(secured.url, { ...o, creds }));
    assert.equal(untrusted.reason, "RepositoryUnreachable");
    assert.match(untrusted.message, /TLS verification .* failed .*spec\.certSecretRef/);
  });

  void it("a repository slower than the timeout is RepositoryUnreachable naming the timeout, and is not waited for", async () => {
    plain.delayMs = 5_000;
    const started = Date.now();
    try {
      const err = await failure(fetchIndex(plain.url, { timeoutMs: 500 }));
      assert.equal(err.reason, "RepositoryUnreachable");
      assert.match(err.message, /did not answer within 500 ms \(spec\.timeout of the HelmRepository\)/);
      assert.ok(Date.now() - started < 4_000, `waited ${Date.now() - started} ms`);
    } finally {
      plain.delayMs = 0;
    }
  });

  void it("an archive without <name>/Chart.yaml, or not gzip at all, is InvalidChart", async () => {
    const { gzipSync } = await import("node:zlib");
    const notGzip = await failure(chartDirectory(Buffer.from("hello"), "x", "1.0.0"));
    assert.equal(notGzip.reason, "InvalidChart");
    const emptyTar = await failure(chartDirectory(gzipSync(Buffer.alloc(1024)), "x", "1.0.0"));
    assert.equal(emptyTar.reason, "InvalidChart");
    assert.match(emptyTar.message, /no <name>\/Chart\.yaml/);
  });
});
