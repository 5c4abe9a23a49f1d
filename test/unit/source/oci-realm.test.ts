// Where the registry token flow may take a HelmRepository's credentials (src/source/oci-realm.ts): never an http
// realm; with credentials, only an https realm in the registry's domain; without, any https realm. The real
// registry and token server are in test/integration/source/helm-oci-token.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkRealm, domainOf } from "../../../src/source/oci-realm.js";

const accepted = (realm: string, host: string, creds = true): string => {
  const r = checkRealm(realm, host, creds);
  assert.ok("url" in r, `refused ${realm} for ${host}: ${"refused" in r ? r.refused : ""}`);
  return r.url.href;
};
const refused = (realm: string, host: string, creds = true): string => {
  const r = checkRealm(realm, host, creds);
  assert.ok("refused" in r, `accepted ${realm} for ${host}`);
  return r.refused;
};

void describe("checkRealm", () => {
  void it("with credentials: an https realm on the registry's host (any port) or in its domain", () => {
    assert.equal(accepted("https://ghcr.io/token", "ghcr.io"), "https://ghcr.io/token");
    assert.equal(accepted("https://auth.docker.io/token", "registry-1.docker.io"), "https://auth.docker.io/token");
    assert.equal(accepted("https://gitlab.example.com/jwt/auth", "registry.example.com:5050"), "https://gitlab.example.com/jwt/auth");
    assert.equal(accepted("https://127.0.0.1:5001/token", "127.0.0.1:5000"), "https://127.0.0.1:5001/token");
    assert.equal(accepted("https://[::1]:8443/token", "[::1]:5000"), "https://[::1]:8443/token");
    assert.equal(accepted("https://AUTH.Example.COM./token", "registry.example.com"), "https://auth.example.com./token");
  });

  void it("a plain http realm is refused, with or without credentials, saying it was not asked and what to configure", () => {
    for (const creds of [true, false]) {
      const why = refused("http://127.0.0.1:5001/token?secret=x", "127.0.0.1:5000", creds);
      assert.equal(
        why,
        "sends clients for a token to http://127.0.0.1:5001/token over plain HTTP, where the credentials of spec.secretRef and the token would cross the network in clear text: " +
          "Mooring did not ask it. Configure the registry's token service with an https:// realm (in the CNCF registry: auth.token.realm)",
      );
      assert.match(refused("http://auth.docker.io/token", "registry-1.docker.io", creds), /over plain HTTP/);
    }
  });

  void it("with credentials: a realm outside the registry's domain is refused, naming the domain", () => {
    assert.equal(
      refused("https://collector.attacker.example/token", "registry.example.com"),
      "sends clients for a token to https://collector.attacker.example/token, outside the registry's domain (example.com): Mooring sends the credentials of spec.secretRef " +
        "only to the registry's own domain and did not send them. Serve the token service under example.com, or check that the HelmRepository's spec.url names the registry you trust",
    );
    // A name for an address, another address, a metadata service: not the registry's.
    assert.match(refused("https://localhost:5001/token", "127.0.0.1:5000"), /outside the registry's domain \(127\.0\.0\.1\)/);
    assert.match(refused("https://10.0.0.6/token", "10.0.0.5:5000"), /outside the registry's domain \(10\.0\.0\.5\)/);
    assert.match(refused("https://169.254.169.254/latest", "registry.example.com"), /outside the registry's domain \(example\.com\)/);
  });

  void it("without credentials an https realm in another domain is asked (anonymously), as Helm does", () => {
    assert.equal(accepted("https://other.example.net/token", "registry.example.com", false), "https://other.example.net/token");
    assert.equal(accepted("https://localhost:5001/token", "127.0.0.1:5000", false), "https://localhost:5001/token");
  });

  void it("never: not a URL, not http(s), or with a user name or password in it", () => {
    for (const creds of [true, false]) {
      assert.match(refused("/token", "ghcr.io", creds), /not a URL; the registry is misconfigured/);
      assert.match(refused("file:///etc/passwd", "ghcr.io", creds), /to file:\/\/\/etc\/passwd, which is not an http\(s\) URL/);
      const why = refused("https://u:pw-in-realm@ghcr.io/token", "ghcr.io", creds);
      assert.match(why, /with a user name or password in it \(https:\/\/ghcr\.io\/token\)/);
      assert.doesNotMatch(why, /pw-in-realm/);
    }
  });
});

void describe("domainOf", () => {
  void it("an address is itself, a name its last two labels", () => {
    assert.equal(domainOf("registry-1.docker.io"), "docker.io");
    assert.equal(domainOf("Docker.IO."), "docker.io");
    assert.equal(domainOf("localhost"), "localhost");
    assert.equal(domainOf("127.0.0.1"), "127.0.0.1");
    assert.equal(domainOf("[fd00:ec2::254]"), "fd00:ec2::254");
  });
});
