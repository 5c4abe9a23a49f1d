// Our kubeconfig loader against the real API server: the local cluster's own file (client certificates), and the
// token credentials a cluster hands out — a token file and an exec plugin — each proven by asking the API server
// who we are (SelfSubjectReview).
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { KubeConfig, RestClient, serviceAccountUser } from "../../../src/runtime/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";

let c: TestCluster;
let ns: TestNamespace;
let dir: string;
let admin: RestClient;
let token: string;

async function whoami(rest: RestClient): Promise<string> {
  const r = await rest.request<{ status: { userInfo: { username: string } } }>("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
  });
  return r.status.userInfo.username;
}

/** A kubeconfig for the local cluster's server and CA with `user` as credentials. */
function withUser(u: object): KubeConfig {
  const own = KubeConfig.fromFile(c.kubeconfigPath).requireCluster();
  return KubeConfig.fromString(
    stringify({
      clusters: [{ name: "local", cluster: { server: own.server, "certificate-authority": own.certificateAuthority, "certificate-authority-data": own.certificateAuthorityData } }],
      users: [{ name: "sa", user: u }],
      contexts: [{ name: "sa", context: { cluster: "local", user: "sa" } }],
      "current-context": "sa",
    }),
    dir,
  );
}

before(async () => {
  c = await testCluster();
  ns = await createTestNamespace(c, "rt-kubeconfig");
  dir = await mkdtemp(path.join(os.tmpdir(), "mooring-kc-it-"));
  admin = RestClient.fromKubeConfig(KubeConfig.fromFile(c.kubeconfigPath));
  await admin.request("POST", `/api/v1/namespaces/${ns.name}/serviceaccounts`, { body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot" } } });
  const tr = await admin.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/${ns.name}/serviceaccounts/robot/token`, {
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  token = tr.status.token;
});

after(async () => {
  admin?.close();
  await ns?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("KubeConfig with the real API server", () => {
  it("connects with the local cluster's own kubeconfig (client certificate)", async () => {
    const who = await whoami(admin);
    assert.match(who, /admin|kwok/, `the local cluster's admin user, got ${who}`);
  });

  it("authenticates with a token file", async () => {
    await writeFile(path.join(dir, "token"), token + "\n");
    const rest = RestClient.fromKubeConfig(withUser({ tokenFile: "token" }));
    try {
      assert.equal(await whoami(rest), serviceAccountUser(ns.name, "robot"));
    } finally {
      rest.close();
    }
  });

  it("authenticates with an exec credential plugin", async () => {
    const script = path.join(dir, "cred.sh");
    await writeFile(script, `#!/bin/sh\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$TOKEN"\n`);
    await chmod(script, 0o755);
    const rest = RestClient.fromKubeConfig(withUser({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: "./cred.sh", env: [{ name: "TOKEN", value: token }] } }));
    try {
      assert.equal(await whoami(rest), serviceAccountUser(ns.name, "robot"));
    } finally {
      rest.close();
    }
  });

  it("is refused (401) with a wrong token, reported as an API error", async () => {
    const rest = RestClient.fromKubeConfig(withUser({ token: "not-a-token" }));
    try {
      await assert.rejects(whoami(rest), (err: Error & { code?: number }) => err.code === 401);
    } finally {
      rest.close();
    }
  });
});
