// Reading one kubeconfig document (src/runtime/kubeconfig-file.ts): typed entries, paths relative to the file, the
// first of a duplicated name kept (as kubectl merges), and errors that never quote the file's text.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { clusterOf, dataOrFile, parseKubeconfig, str, unseen, userOf } from "../../../src/runtime/kubeconfig-file.js";

describe("kubeconfig documents", () => {
  it("parses a mapping and refuses other YAML without quoting it", () => {
    assert.deepEqual(parseKubeconfig("clusters: []\n", "a.yaml"), { clusters: [] });
    assert.deepEqual(parseKubeconfig("", "empty.yaml"), {});
    assert.throws(() => parseKubeconfig("- a\n- b\n", "list.yaml"), /kubeconfig list\.yaml is not a mapping/);
    assert.throws(
      () => parseKubeconfig("users:\n  - token: s3cr3t: [\n", "bad.yaml"),
      (err: Error) => /kubeconfig bad\.yaml is not valid YAML/.test(err.message) && !err.message.includes("s3cr3t"),
    );
  });

  it("resolves file paths against the kubeconfig's directory; a bare exec command stays a PATH lookup", () => {
    const c = clusterOf("c", { server: "https://k:6443", "certificate-authority": "ca.crt", "insecure-skip-tls-verify": true }, "/etc/kube");
    assert.deepEqual(c, { name: "c", server: "https://k:6443", certificateAuthority: "/etc/kube/ca.crt", certificateAuthorityData: undefined, insecureSkipTlsVerify: true, tlsServerName: undefined });
    const u = userOf("u", { "client-key": "../keys/k.pem", "token-file": "t", as: "admin", "as-groups": ["g1", 2], exec: { command: "aws", args: ["eks"], env: [{ name: "A", value: "1" }] } }, "/etc/kube");
    assert.equal(u.clientKey, "/etc/keys/k.pem");
    assert.equal(u.tokenFile, "/etc/kube/t");
    assert.equal(u.impersonate, "admin");
    assert.deepEqual(u.impersonateGroups, ["g1", "2"]);
    assert.deepEqual(u.exec, { command: "aws", args: ["eks"], env: [{ name: "A", value: "1" }], apiVersion: undefined, interactiveMode: undefined });
    assert.equal(userOf("u", { exec: { command: "bin/creds" } }, "/etc/kube").exec?.command, "/etc/kube/bin/creds");
  });

  it("yields only named entries not seen yet, and treats empty strings as absent", () => {
    const seen = [{ name: "a" }];
    assert.deepEqual([...unseen([{ name: "a", x: 1 }, { name: "b", x: 2 }, { x: 3 }, "junk"], seen)].map(([n]) => n), ["b"]);
    assert.deepEqual([...unseen(undefined, seen)], []);
    assert.equal(str(""), undefined);
    assert.equal(str(1), undefined);
    assert.equal(str("x"), "x");
  });

  it("reads inline base64 data before a file, and names the file it cannot read", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-kubeconfig-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, "ca.crt"), "from file");
    assert.equal(dataOrFile(Buffer.from("inline").toString("base64"), path.join(dir, "ca.crt"), "certificate-authority")?.toString(), "inline");
    assert.equal(dataOrFile(undefined, path.join(dir, "ca.crt"), "certificate-authority")?.toString(), "from file");
    assert.equal(dataOrFile(undefined, undefined, "certificate-authority"), undefined);
    assert.throws(() => dataOrFile(undefined, path.join(dir, "gone.crt"), "client-key"), /cannot read the kubeconfig's client-key .*gone\.crt/);
  });
});
