// Our kubeconfig loader (which keeps @kubernetes/client-node out of the operator): files, merging, contexts, TLS
// material, every credential kind, the in-cluster ServiceAccount, and a clear error for each bad input.
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { stringify } from "yaml";
import { KubeConfig } from "../../../src/runtime/kubeconfig.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mooring-kubeconfig-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(o: { clusters?: object[]; users?: object[]; contexts?: object[]; current?: string }): string {
  return stringify({ apiVersion: "v1", kind: "Config", clusters: o.clusters ?? [], users: o.users ?? [], contexts: o.contexts ?? [], "current-context": o.current });
}
const cluster = (name: string, c: object) => ({ name, cluster: c });
const user = (name: string, u: object) => ({ name, user: u });
const context = (name: string, c: object) => ({ name, context: c });

async function file(name: string, text: string): Promise<string> {
  const p = path.join(dir, name);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text);
  return p;
}

describe("KubeConfig files", () => {
  it("resolves certificate paths relative to the kubeconfig's own folder and reads them", async () => {
    await file("a/pki/ca.crt", "CA");
    await file("a/pki/me.crt", "CERT");
    await file("a/pki/me.key", "KEY");
    const p = await file(
      "a/config",
      config({
        clusters: [cluster("c", { server: "https://10.1.2.3:6443", "certificate-authority": "pki/ca.crt", "tls-server-name": "api.local" })],
        users: [user("u", { "client-certificate": "pki/me.crt", "client-key": "pki/me.key" })],
        contexts: [context("ctx", { cluster: "c", user: "u", namespace: "team" })],
        current: "ctx",
      }),
    );
    const kc = KubeConfig.fromFile(p);
    assert.equal(kc.cluster?.server, "https://10.1.2.3:6443");
    assert.equal(kc.cluster?.certificateAuthority, path.join(dir, "a/pki/ca.crt"));
    assert.equal(kc.namespace, "team");
    const tls = kc.tlsOptions();
    assert.equal(tls.ca?.toString(), "CA");
    assert.equal(tls.cert?.toString(), "CERT");
    assert.equal(tls.key?.toString(), "KEY");
    assert.equal(tls.servername, "api.local");
    assert.equal(tls.rejectUnauthorized, undefined);
  });

  it("decodes inline base64 data and honours insecure-skip-tls-verify", () => {
    const kc = KubeConfig.fromString(
      config({
        clusters: [cluster("c", { server: "https://h", "certificate-authority-data": Buffer.from("CA!").toString("base64"), "insecure-skip-tls-verify": true })],
        users: [user("u", { "client-certificate-data": Buffer.from("C").toString("base64"), "client-key-data": Buffer.from("K").toString("base64") })],
        contexts: [context("x", { cluster: "c", user: "u" })],
        current: "x",
      }),
    );
    const tls = kc.tlsOptions();
    assert.deepEqual([tls.ca?.toString(), tls.cert?.toString(), tls.key?.toString(), tls.rejectUnauthorized], ["CA!", "C", "K", false]);
  });

  it("merges a KUBECONFIG list like kubectl: the first file wins per name and for current-context; missing files are skipped", async () => {
    const one = await file("m/one", config({ clusters: [cluster("c", { server: "https://one" })], contexts: [context("a", { cluster: "c", user: "u" })], current: "a" }));
    const two = await file(
      "m/two",
      config({
        clusters: [cluster("c", { server: "https://two" }), cluster("d", { server: "https://dee" })],
        users: [user("u", { token: "t2" })],
        contexts: [context("b", { cluster: "d", user: "u" })],
        current: "b",
      }),
    );
    const kc = KubeConfig.fromDefault({ KUBECONFIG: [one, path.join(dir, "m/missing"), two].join(path.delimiter), HOME: dir });
    assert.equal(kc.currentContext, "a");
    assert.equal(kc.cluster?.server, "https://one");
    assert.deepEqual(await kc.authHeaders(), { Authorization: "Bearer t2" });
    kc.useContext("b");
    assert.equal(kc.cluster?.server, "https://dee");
  });

  it("falls back to ~/.kube/config when KUBECONFIG is unset", async () => {
    const home = path.join(dir, "home");
    await file("home/.kube/config", config({ clusters: [cluster("c", { server: "https://home" })], contexts: [context("h", { cluster: "c", user: "nobody" })], current: "h" }));
    assert.equal(KubeConfig.fromDefault({ HOME: home }).cluster?.server, "https://home");
  });

  it("reads the Pod's ServiceAccount in a cluster, re-reading the token file as it rotates", async () => {
    const sa = path.join(dir, "sa");
    await file("sa/ca.crt", "CLUSTER-CA");
    await file("sa/namespace", "mooring-system\n");
    await file("sa/token", "first\n");
    const kc = KubeConfig.inCluster({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, sa);
    assert.equal(kc.cluster?.server, "https://10.96.0.1:443");
    assert.equal(kc.namespace, "mooring-system");
    assert.equal(kc.tlsOptions().ca?.toString(), "CLUSTER-CA");
    assert.deepEqual(await kc.authHeaders(), { Authorization: "Bearer first" });
    await writeFile(path.join(sa, "token"), "second");
    assert.deepEqual(await kc.authHeaders(), { Authorization: "Bearer second" });
    const v6 = KubeConfig.inCluster({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "6443" }, sa);
    assert.equal(v6.cluster?.server, "https://[fd00::1]:6443");
  });

  it("converts client-node's KubeConfig, its in-cluster user included", async () => {
    const cn = new k8s.KubeConfig();
    cn.loadFromString(config({ clusters: [cluster("c", { server: "https://cn" })], users: [user("u", { token: "abc" })], contexts: [context("x", { cluster: "c", user: "u", namespace: "n" })], current: "x" }));
    const kc = KubeConfig.from(cn);
    assert.equal(kc.cluster?.server, "https://cn");
    assert.equal(kc.namespace, "n");
    assert.deepEqual(await kc.authHeaders(), { Authorization: "Bearer abc" });
    await file("cn/token", "pod-token");
    const inCluster = KubeConfig.fromString(
      config({ clusters: [cluster("c", { server: "https://x" })], users: [user("u", { "auth-provider": { name: "tokenFile", config: { tokenFile: path.join(dir, "cn/token") } } })], contexts: [context("x", { cluster: "c", user: "u" })], current: "x" }),
    );
    assert.deepEqual(await inCluster.authHeaders(), { Authorization: "Bearer pod-token" });
    // And back: our export is readable by client-node.
    const back = new k8s.KubeConfig();
    back.loadFromString(kc.exportConfig());
    assert.equal(back.getCurrentCluster()?.server, "https://cn");
  });
});

describe("KubeConfig credentials", () => {
  const withUser = (u: object) => KubeConfig.fromString(config({ clusters: [cluster("c", { server: "https://h" })], users: [user("u", u)], contexts: [context("x", { cluster: "c", user: "u" })], current: "x" }), dir);

  it("sends a token, a token file, or basic auth", async () => {
    assert.deepEqual(await withUser({ token: "tok" }).authHeaders(), { Authorization: "Bearer tok" });
    await file("tf", "from-file\n");
    assert.deepEqual(await withUser({ tokenFile: "tf" }).authHeaders(), { Authorization: "Bearer from-file" });
    assert.deepEqual(await withUser({ username: "ann", password: "pw" }).authHeaders(), { Authorization: `Basic ${Buffer.from("ann:pw").toString("base64")}` });
    assert.deepEqual(await withUser({ as: "someone" }).authHeaders(), { "Impersonate-User": "someone" });
  });

  it("runs an exec plugin with its args and env, and reuses its token until it expires", async () => {
    const count = path.join(dir, "exec-count");
    await writeFile(count, "");
    const script = await file(
      "bin/cred",
      `#!/bin/sh\necho x >> ${count}\n[ -n "$KUBERNETES_EXEC_INFO" ] || exit 3\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s-%s","expirationTimestamp":"%s"}}' "$1" "$SUFFIX" "$EXPIRY"\n`,
    );
    await chmod(script, 0o755);
    const future = new Date(Date.now() + 3600_000).toISOString();
    const kc = withUser({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: "bin/cred", args: ["argone"], env: [{ name: "SUFFIX", value: "s" }, { name: "EXPIRY", value: future }] } });
    assert.deepEqual(await kc.authHeaders(), { Authorization: "Bearer argone-s" });
    assert.deepEqual(await kc.authHeaders(), { Authorization: "Bearer argone-s" });
    assert.equal((await readFile(count, "utf8")).trim().split("\n").length, 1, "a token that has not expired is reused");
    const past = new Date(Date.now() - 1000).toISOString();
    const expiring = withUser({ exec: { command: "bin/cred", args: ["a"], env: [{ name: "EXPIRY", value: past }] } });
    await expiring.authHeaders();
    await expiring.authHeaders();
    assert.equal((await readFile(count, "utf8")).trim().split("\n").length, 3, "an expired token is asked for again");
  });

  it("names the exec plugin that failed or printed nonsense", async () => {
    const bad = await file("bin/bad", "#!/bin/sh\necho 'login required: run sso login' >&2\nexit 1\n");
    const junk = await file("bin/junk", "#!/bin/sh\necho not-json\n");
    const empty = await file("bin/empty", `#!/bin/sh\necho '{"status":{}}'\n`);
    for (const f of [bad, junk, empty]) await chmod(f, 0o755);
    await assert.rejects(withUser({ exec: { command: bad } }).authHeaders(), /exec plugin .*bin\/bad failed \(exited with code 1\): login required: run sso login/);
    await assert.rejects(withUser({ exec: { command: junk } }).authHeaders(), /bin\/junk printed no ExecCredential JSON/);
    await assert.rejects(withUser({ exec: { command: empty } }).authHeaders(), /bin\/empty returned neither a token nor a client certificate/);
    await assert.rejects(withUser({ exec: { command: "no-such-plugin-anywhere" } }).authHeaders(), /exec plugin no-such-plugin-anywhere failed \(not found on PATH\)/);
    // The message never repeats the plugin's arguments (they may carry a client secret).
    const silent = await file("bin/silent", "#!/bin/sh\nexit 2\n");
    await chmod(silent, 0o755);
    await assert.rejects(withUser({ exec: { command: silent, args: ["--oidc-client-secret=hunter2"] } }).authHeaders(), (err: Error) => {
      assert.match(err.message, /bin\/silent failed \(exited with code 2\)$/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
  });

  it("runs the plugin once for concurrent callers, and again after forgetCredentials (a 401)", async () => {
    const count = path.join(dir, "exec-count-2");
    await writeFile(count, "");
    const script = await file("bin/slow", `#!/bin/sh\necho x >> ${count}\nsleep 0.2\necho '{"status":{"token":"t"}}'\n`);
    await chmod(script, 0o755);
    const kc = withUser({ exec: { command: script } });
    const all = await Promise.all(Array.from({ length: 8 }, () => kc.authHeaders()));
    assert.ok(all.every((h) => h.Authorization === "Bearer t"));
    assert.equal((await readFile(count, "utf8")).trim().split("\n").length, 1, "one run for eight callers");
    kc.forgetCredentials();
    await kc.authHeaders();
    assert.equal((await readFile(count, "utf8")).trim().split("\n").length, 2);
  });

  it("prefers a token file to an inline token (as client-go), and sends as-groups and an oidc id-token", async () => {
    await file("tf2", "from-file\n");
    assert.deepEqual(await withUser({ token: "inline", tokenFile: "tf2" }).authHeaders(), { Authorization: "Bearer from-file" });
    assert.deepEqual(await withUser({ token: "t", as: "alice", "as-groups": ["devs", "ops"] }).authHeaders(), { Authorization: "Bearer t", "Impersonate-User": "alice", "Impersonate-Group": ["devs", "ops"] });
    assert.deepEqual(await withUser({ "auth-provider": { name: "oidc", config: { "id-token": "jwt", "client-id": "k" } } }).authHeaders(), { Authorization: "Bearer jwt" });
  });

  it("refuses the removed auth-provider plugins with the way out", async () => {
    await assert.rejects(withUser({ "auth-provider": { name: "gcp", config: {} } }).authHeaders(), /auth-provider "gcp", which is not supported; use an exec credential plugin/);
  });
});

describe("KubeConfig bad input", () => {
  it("says which file is not YAML, without quoting its lines (they may hold a token)", async () => {
    const p = await file("bad.yaml", "clusters: [\n");
    assert.throws(() => KubeConfig.fromFile(p), /kubeconfig .*bad\.yaml is not valid YAML/);
    const q = await file("bad2.yaml", "users:\n- name: u\n  user:\n    token: abc: SECRET-VALUE\n");
    assert.throws(() => KubeConfig.fromFile(q), (err: Error) => /not valid YAML/.test(err.message) && !err.message.includes("SECRET-VALUE"));
  });
  it("fails for a missing file named on its own, and when every KUBECONFIG entry is missing", () => {
    assert.throws(() => KubeConfig.fromFile(path.join(dir, "nope")), { code: "ENOENT" });
    assert.throws(() => KubeConfig.fromDefault({ KUBECONFIG: [path.join(dir, "n1"), path.join(dir, "n2")].join(path.delimiter) }), /none of the kubeconfig files exists/);
  });
  it("says there is no kubeconfig at all outside a Pod", () => {
    assert.throws(() => KubeConfig.fromDefault({ HOME: path.join(dir, "empty-home") }), /no kubeconfig: KUBECONFIG is unset, .* does not exist and this is not a Pod/);
  });
  it("names the missing context, the context without a cluster, and the unreadable certificate", () => {
    const kc = KubeConfig.fromString(config({ clusters: [cluster("c", { server: "https://h", "certificate-authority": "/nonexistent/ca.crt" })], contexts: [context("x", { cluster: "c", user: "u" }), context("y", { cluster: "gone", user: "u" })], current: "x" }));
    assert.throws(() => kc.useContext("prod"), /context "prod" is not in the kubeconfig; choose one of: x, y/);
    assert.throws(() => kc.tlsOptions(), /cannot read the kubeconfig's certificate-authority \/nonexistent\/ca\.crt/);
    kc.useContext("y");
    assert.equal(kc.cluster, undefined);
    assert.throws(() => kc.requireCluster(), /context "y" names no cluster with a server/);
    assert.throws(() => KubeConfig.fromString(config({})).requireCluster(), /no current-context/);
  });
});
