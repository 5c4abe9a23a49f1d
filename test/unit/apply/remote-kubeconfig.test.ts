// The kubeconfig of a remote cluster read from an Application's Secret: which key, what is refused, and that no
// message carries a credential.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KubeConfigProblem, kubeConfigText, parseRemoteKubeConfig } from "../../../src/apply/remote-kubeconfig.js";

const TOKEN = "sEcReT-tOkEn-0123456789abcdef";
const KEY_DATA = Buffer.from("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKEYMATERIALkeymaterial\n-----END EC PRIVATE KEY-----\n").toString("base64");

function kubeconfig(o: { cluster?: Record<string, unknown>; user?: Record<string, unknown>; current?: string } = {}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": o.current ?? "spoke",
    clusters: [{ name: "spoke", cluster: { server: "https://10.1.2.3:6443", "certificate-authority-data": "Q0EK", ...o.cluster } }],
    users: [{ name: "spoke-admin", user: o.user ?? { token: TOKEN } }],
    contexts: [{ name: "spoke", context: { cluster: "spoke", user: "spoke-admin" } }],
  });
}
const b64 = (s: string) => Buffer.from(s).toString("base64");

function problem(fn: () => unknown): KubeConfigProblem {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KubeConfigProblem, `a KubeConfigProblem, got ${String(err)}`);
    for (const secret of [TOKEN, "KEYMATERIAL", KEY_DATA]) assert.ok(!err.message.includes(secret), `no credential in: ${err.message}`);
    return err;
  }
  assert.fail("expected a KubeConfigProblem");
}

void describe("kubeConfigText: the Secret's key", () => {
  void it("reads 'value', else 'value.yaml' (Cluster API's key), else the key named", () => {
    assert.equal(kubeConfigText("ns/s", { value: b64("a"), "value.yaml": b64("b") }, undefined), "a");
    assert.equal(kubeConfigText("ns/s", { "value.yaml": b64("b") }, undefined), "b");
    assert.equal(kubeConfigText("ns/s", { value: b64("a"), other: b64("c") }, "other"), "c");
  });
  void it("a missing key is KubeConfigNotFound naming the keys there are (names only)", () => {
    const p = problem(() => kubeConfigText("ns/s", { config: b64(TOKEN) }, undefined));
    assert.equal(p.reason, "KubeConfigNotFound");
    assert.equal(p.message, "Secret ns/s has no key 'value' or 'value.yaml' (its keys: config); put the remote cluster's kubeconfig there or set spec.kubeConfig.secretRef.key");
    const named = problem(() => kubeConfigText("ns/s", { value: b64("x") }, "kubeconfig"));
    assert.match(named.message, /no key 'kubeconfig' \(spec.kubeConfig.secretRef.key\) \(its keys: value\)/);
    assert.match(problem(() => kubeConfigText("ns/s", undefined, undefined)).message, /its keys: none/);
  });
  void it("an empty value is KubeConfigInvalid", () => {
    assert.equal(problem(() => kubeConfigText("ns/s", { value: b64("  \n") }, undefined)).reason, "KubeConfigInvalid");
  });
});

void describe("parseRemoteKubeConfig", () => {
  void it("accepts inline certificates and tokens; the key is the text's sha256, the server has no credentials", () => {
    const text = kubeconfig({ user: { "client-certificate-data": "Q0VSVAo=", "client-key-data": KEY_DATA } });
    const r = parseRemoteKubeConfig("ns/s", text);
    assert.equal(r.server, "https://10.1.2.3:6443");
    assert.match(r.key, /^[0-9a-f]{64}$/);
    assert.equal(parseRemoteKubeConfig("ns/other", text).key, r.key, "the same kubeconfig in another Secret is the same cluster");
    assert.notEqual(parseRemoteKubeConfig("ns/s", kubeconfig()).key, r.key, "other credentials, another cache");
    assert.equal(parseRemoteKubeConfig("ns/s", kubeconfig()).kubeConfig.user?.token, TOKEN);
  });
  const refused: [string, Parameters<typeof kubeconfig>[0], RegExp][] = [
    ["an exec plugin", { user: { exec: { command: "/bin/sh", args: ["-c", TOKEN] } } }, /user "spoke-admin": exec \(credential plugins are not run for remote clusters/],
    ["an auth-provider", { user: { "auth-provider": { name: "oidc", config: { "id-token": TOKEN } } } }, /user "spoke-admin": auth-provider/],
    ["a token file", { user: { tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token" } }, /tokenFile \(a file path; use token\)/],
    ["certificate and key files", { user: { "client-certificate": "/etc/cert", "client-key": "/etc/key" } }, /client-certificate \(a file path; use client-certificate-data\); user "spoke-admin": client-key \(a file path/],
    ["a CA file", { cluster: { "certificate-authority": "ca.crt", "certificate-authority-data": undefined } }, /cluster "spoke": certificate-authority \(a file path/],
    ["insecure-skip-tls-verify", { cluster: { "insecure-skip-tls-verify": true } }, /insecure-skip-tls-verify/],
    ["credentials in the server URL", { cluster: { server: `https://admin:${TOKEN}@10.1.2.3` } }, /user name or password in the server address/],
    ["a server that is not http(s)", { cluster: { server: "unix:///var/run/k8s.sock" } }, /not http\(s\)/],
    ["no current context", { current: "" }, /has no current-context/],
    ["a current context that is not there", { current: "elsewhere" }, /names current-context "elsewhere", which is not among its contexts/],
  ];
  for (const [what, o, message] of refused) {
    void it(`refuses ${what}, naming the Secret and the field, never a value`, () => {
      const p = problem(() => parseRemoteKubeConfig("team-a/spoke", kubeconfig(o)));
      assert.equal(p.reason, "KubeConfigInvalid");
      assert.match(p.message, /^the kubeconfig in Secret team-a\/spoke /);
      assert.match(p.message, message);
    });
  }
  void it("malformed YAML: the position, not the text", () => {
    const p = problem(() => parseRemoteKubeConfig("ns/s", `users:\n- name: x\n  user: { token: ${TOKEN}\n`));
    assert.equal(p.reason, "KubeConfigInvalid");
    assert.match(p.message, /^the kubeconfig in Secret ns\/s cannot be read: is not valid YAML: /);
    assert.doesNotMatch(p.message, /\n/);
  });
  void it("no cluster for the context", () => {
    const text = JSON.stringify({ "current-context": "c", contexts: [{ name: "c", context: { cluster: "gone", user: "u" } }], users: [{ name: "u", user: { token: TOKEN } }] });
    assert.match(problem(() => parseRemoteKubeConfig("ns/s", text)).message, /has no cluster with a server for context "c"/);
  });
});
