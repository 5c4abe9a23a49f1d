// Who is asking (src/ui/auth.ts): the trusted-proxy list, and the three modes' answers to real HTTP requests on a
// loopback server (the peer address as Node reports it, headers, cookies). No API server is faked: where the module
// asks one (TokenReview, SelfSubjectReview) it is pointed at a closed port, which tests the refusal and fallback paths;
// an accepted token, a session's life and the impersonated rights run against kube-apiserver in
// test/integration/ui/browser.test.ts (token sign-in, a bad token refused, a proxy user's sync refused with a 403) and
// e2e/ui-installed.test.ts (401 without a token, a ServiceAccount token's user).
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { connect, type Kube } from "../../../src/cli/kube.js";
import { AUTH_MODES, Authenticator, SESSION_COOKIE, Unauthenticated, localIdentity, trustedProxyList, type AuthOptions, type Identity } from "../../../src/ui/auth.js";

const KUBE_TOKEN = "kubeconfig-t0ken-never-shown";
const USER_TOKEN = "user-bearer-t0ken-never-shown";
const LOCAL: Identity = { user: "kubernetes-admin", groups: ["system:masters"] };

let kube: Kube;
before(async () => {
  // A kubeconfig whose API server is a closed port: every request the module makes fails to connect.
  const { file } = await closedPortKubeconfig("ui-auth-", { token: KUBE_TOKEN });
  kube = connect({ kubeconfig: file });
});
after(() => kube.close());

const auth = (o: AuthOptions) => new Authenticator(o, kube.client.rest, LOCAL);

type Answer = { identity: Identity } | { refused: string; unauthenticated: boolean };

/** Sends one request to a loopback server (listening on `host`) whose handler asks `a` who it is. */
async function ask(a: Authenticator, headers: Record<string, string | string[]> = {}, o: { listen?: string; connect?: string } = {}): Promise<Answer> {
  const server = http.createServer((req, res) => {
    a.identify(req).then(
      (identity) => res.end(JSON.stringify({ identity })),
      (err: Error) => res.end(JSON.stringify({ refused: err.message, unauthenticated: err instanceof Unauthenticated })),
    );
  });
  await new Promise<void>((r) => server.listen(0, o.listen ?? "127.0.0.1", () => r()));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<Answer>((resolve, reject) => {
      const req = http.get({ host: o.connect ?? "127.0.0.1", port, headers }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve(JSON.parse(body) as Answer));
      });
      req.on("error", reject);
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

const refusal = (a: Answer): string => {
  assert.ok("refused" in a, `expected a refusal, got ${JSON.stringify(a)}`);
  assert.ok(a.unauthenticated, `expected Unauthenticated, got: ${a.refused}`);
  return a.refused;
};

void describe("trustedProxyList", () => {
  void it("takes IPv4 and IPv6 addresses and CIDRs, trimmed, blank entries skipped", () => {
    const l = trustedProxyList([" 127.0.0.1 ", "", "  ", "10.0.0.0/8", "192.168.1.0/24", "fd00::/8", "::1"]);
    for (const [a, t] of [["127.0.0.1", "ipv4"], ["10.255.0.1", "ipv4"], ["192.168.1.200", "ipv4"], ["fd12::3", "ipv6"], ["::1", "ipv6"]] as const) assert.ok(l.check(a, t), a);
    for (const [a, t] of [["127.0.0.2", "ipv4"], ["11.0.0.1", "ipv4"], ["192.168.2.1", "ipv4"], ["fe80::1", "ipv6"]] as const) assert.ok(!l.check(a, t), a);
    assert.ok(!trustedProxyList([]).check("127.0.0.1", "ipv4"), "an empty list trusts nobody");
  });

  void it("refuses what is not an address or CIDR, naming the entry", () => {
    assert.throws(() => trustedProxyList(["127.0.0.1", "proxy.example.com"]), /--trusted-proxy "proxy.example.com" is not an IP address or CIDR/);
    assert.throws(() => trustedProxyList(["10.0.0.0/8/9"]), /"10.0.0.0\/8\/9" is not an IP address or CIDR/);
    assert.throws(() => trustedProxyList(["/8"]), /is not an IP address/);
  });

  void it("refuses a prefix that is not 0-32 (IPv4) or 0-128 (IPv6) in decimal digits: '10.0.0.0/' must not trust everyone", () => {
    for (const e of ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/x", "10.0.0.0/", "10.0.0.0/0x8", "10.0.0.0/1e1", "10.0.0.0/8.5", "fd00::/129"]) {
      assert.throws(() => trustedProxyList([e]), new RegExp(`"${e.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}" has an invalid prefix length`), e);
    }
    assert.ok(trustedProxyList(["0.0.0.0/0"]).check("8.8.8.8", "ipv4"), "/0 written out is allowed");
    assert.ok(trustedProxyList(["fd00::/128"]).check("fd00::", "ipv6"));
  });
});

void describe("Authenticator: set-up", () => {
  void it("knows the three modes and the session cookie's name", () => {
    assert.deepEqual(AUTH_MODES, ["local", "token", "proxy"]);
    assert.equal(SESSION_COOKIE, "mooring_ui_session");
  });

  void it("refuses proxy mode without a trusted proxy (anyone could set the header), and a bad entry in any mode", () => {
    assert.throws(() => auth({ mode: "proxy" }), /--auth=proxy needs --trusted-proxy/);
    assert.throws(() => auth({ mode: "proxy", trustedProxies: [" ", ""] }), /--auth=proxy needs --trusted-proxy/);
    assert.throws(() => auth({ mode: "token", trustedProxies: ["nope"] }), /"nope" is not an IP address/);
    assert.doesNotThrow(() => auth({ mode: "local" }));
    assert.doesNotThrow(() => auth({ mode: "token" }));
  });
});

void describe("Authenticator: local mode", () => {
  void it("every request is the kubeconfig's user, whatever it claims", async () => {
    const a = auth({ mode: "local" });
    assert.deepEqual(await ask(a), { identity: LOCAL });
    assert.deepEqual(await ask(a, { "X-Forwarded-User": "mallory", Authorization: `Bearer ${USER_TOKEN}` }), { identity: LOCAL });
  });

  void it("actions use the kubeconfig's client itself", () => {
    const a = auth({ mode: "local" });
    assert.equal(a.clientFor({ user: "someone", groups: [] }, kube.client), kube.client);
  });
});

void describe("Authenticator: proxy mode", () => {
  const a = () => auth({ mode: "proxy", trustedProxies: ["127.0.0.1"] });

  void it("takes the user and groups (comma-separated, repeated, blanks dropped) from a trusted proxy's headers", async () => {
    assert.deepEqual(await ask(a(), { "X-Forwarded-User": "alice", "X-Forwarded-Groups": ["dev, ops", ",qa,"] }), { identity: { user: "alice", groups: ["dev", "ops", "qa"] } });
    assert.deepEqual(await ask(a(), { "X-Forwarded-User": "bob" }), { identity: { user: "bob", groups: [] } });
  });

  void it("reads the configured header names, and only those", async () => {
    const custom = auth({ mode: "proxy", trustedProxies: ["127.0.0.0/8"], userHeader: "X-Auth-Request-User", groupsHeader: "X-Auth-Request-Groups" });
    assert.deepEqual(await ask(custom, { "x-auth-request-user": "carol", "X-Auth-Request-Groups": "admins", "X-Forwarded-Groups": "ignored" }), { identity: { user: "carol", groups: ["admins"] } });
    assert.match(refusal(await ask(custom, { "X-Forwarded-User": "carol" })), /the proxy sent no X-Auth-Request-User header/);
  });

  void it("refuses a request with no user header", async () => {
    assert.match(refusal(await ask(a(), { "X-Forwarded-Groups": "dev" })), /^the proxy sent no X-Forwarded-User header$/);
    assert.match(refusal(await ask(a(), { "X-Forwarded-User": "" })), /sent no X-Forwarded-User/);
  });

  void it("refuses a request from any other address, header or not, naming the address", async () => {
    const onlyV6 = auth({ mode: "proxy", trustedProxies: ["::1"] });
    assert.match(refusal(await ask(onlyV6, { "X-Forwarded-User": "mallory" })), /^requests must come through the trusted proxy \(this one came from 127\.0\.0\.1\)$/);
    const elsewhere = auth({ mode: "proxy", trustedProxies: ["10.0.0.0/8"] });
    assert.match(refusal(await ask(elsewhere, { "X-Forwarded-User": "mallory", "X-Forwarded-Groups": "system:masters" })), /came from 127\.0\.0\.1/);
  });

  void it("checks an IPv4 peer on a dual-stack socket (::ffff:127.0.0.1) as IPv4, and an IPv6 peer as IPv6", async () => {
    assert.deepEqual(await ask(a(), { "X-Forwarded-User": "alice" }, { listen: "::", connect: "127.0.0.1" }), { identity: { user: "alice", groups: [] } });
    assert.match(refusal(await ask(a(), { "X-Forwarded-User": "alice" }, { listen: "::", connect: "::1" })), /came from ::1/);
    const v6 = auth({ mode: "proxy", trustedProxies: ["::1/128"] });
    assert.deepEqual(await ask(v6, { "X-Forwarded-User": "dave" }, { listen: "::", connect: "::1" }), { identity: { user: "dave", groups: [] } });
  });

  void it("actions run as the named user: another client than the process's own", () => {
    const c = a().clientFor({ user: "alice", groups: ["dev"] }, kube.client);
    assert.notEqual(c, kube.client);
    assert.notEqual(c.rest, kube.client.rest);
    assert.equal(c.fieldManager, kube.client.fieldManager);
  });
});

void describe("Authenticator: token mode", () => {
  const a = () => auth({ mode: "token" });

  void it("refuses a request with no token and no session, or an unknown session", async () => {
    assert.equal(refusal(await ask(a())), "sign in with a Kubernetes token");
    assert.equal(refusal(await ask(a(), { Cookie: `${SESSION_COOKIE}=forged-session-id` })), "sign in with a Kubernetes token");
    assert.equal(refusal(await ask(a(), { Cookie: `other=1; not_${SESSION_COOKIE}=x` })), "sign in with a Kubernetes token");
    assert.equal(refusal(await ask(a(), { Authorization: `Basic ${Buffer.from("u:p").toString("base64")}` })), "sign in with a Kubernetes token");
  });

  void it("a bearer token the API server cannot check is an error, not a user, and the error never holds the token", async () => {
    const answer = await ask(a(), { Authorization: `Bearer ${USER_TOKEN}` });
    assert.ok("refused" in answer, JSON.stringify(answer));
    assert.equal(answer.unauthenticated, false, "an unreachable API server is not a bad token");
    assert.match(answer.refused, /ECONNREFUSED|connect/);
    for (const s of [USER_TOKEN, KUBE_TOKEN]) assert.ok(!answer.refused.includes(s), answer.refused);
  });

  void it("signIn and review reject when the token cannot be checked, without the token in the error", async () => {
    for (const attempt of [() => a().signIn(USER_TOKEN), () => a().review(USER_TOKEN)]) {
      const err = await attempt().then(
        () => assert.fail("accepted a token nobody checked"),
        (e: Error) => e,
      );
      assert.ok(!(err instanceof Unauthenticated));
      for (const s of [USER_TOKEN, KUBE_TOKEN]) assert.ok(!err.message.includes(s), err.message);
    }
  });

  void it("signOut of a request without a session, or with an unknown one, changes nothing", async () => {
    const t = a();
    const server = http.createServer((req, res) => (t.signOut(req), res.end("ok")));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal(await (await fetch(url)).text(), "ok");
    assert.equal(await (await fetch(url, { headers: { Cookie: `${SESSION_COOKIE}=nope` } })).text(), "ok");
    server.close();
    assert.equal(refusal(await ask(t)), "sign in with a Kubernetes token");
  });
});

void describe("localIdentity", () => {
  void it("falls back to a placeholder name when the API server cannot say (the name is cosmetic: rights stay the API server's)", async () => {
    assert.deepEqual(await localIdentity(kube.client.rest), { user: "(kubeconfig user)", groups: [] });
  });
});
import { closedPortKubeconfig } from "../../support/closed-port.js";
