// Webhook secrets per GitRepository, on the real cluster: tenants A and B follow the same repository (a monorepo),
// each GitRepository with a receiver of its own (spec.webhook.secretRef, a Secret in its namespace); B also has one
// GitRepository without, left to the operator-wide secret. A push signed with A's secret reaches A's GitRepository
// (recorded as a reconcile request, then fetched) and nothing of B's; A's secret at B's receiver, a forged signature
// and the operator-wide secret at a tenant's receiver are 401, logged without the body; the operator-wide secret
// triggers only the GitRepository without a receiver of its own.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Annotations, GitRepositoryKind } from "../../../src/api/index.js";
import { WEBHOOK_SECRET_KEY, WEBHOOK_SECRET_NAME } from "../../../src/source/index.js";
import type { KubeObject } from "../../../src/runtime/index.js";
import type { TestRepo } from "../../support/git-server.js";
import { waitFor } from "../../support/wait.js";
import { cond, gitRepository, startTenancy, type Tenancy } from "./harness.js";

const SECRET_A = "team-a-hook-secret-4e1b";
const SECRET_B = "team-b-hook-secret-90c2";
const OPERATOR = "operator-wide-hook-secret-77aa";
const CANARY = "canary-in-body-3f9e";

type Repo = KubeObject & { spec: Record<string, unknown>; status?: { artifact?: { revision: string }; conditions?: unknown[] } };

let t: Tenancy;
let repo: TestRepo;
let first = "";

const sign = (body: string, secret: string) => "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
const get = (namespace: string, name: string) => t.admin.get<Repo>(GitRepositoryKind, name, namespace);
const requested = async (namespace: string, name: string) => (await get(namespace, name))?.metadata?.annotations?.[Annotations.reconcileRequestedAt];

function hook(path: string, secret: string): Promise<Response> {
  const body = JSON.stringify({ url: repo.url, branch: "main", note: CANARY });
  return fetch(`http://${t.config.webhookAddr}${path}`, { method: "POST", body, headers: { "content-type": "application/json", "x-mooring-signature-256": sign(body, secret) } });
}

/** The reconcile-request annotation of every GitRepository, to compare before and after a push. */
async function requests(): Promise<Record<string, string | undefined>> {
  return {
    a: await requested(t.a.name, "mono"),
    b: await requested(t.b.name, "mono"),
    bPlain: await requested(t.b.name, "plain"),
  };
}

before(async () => {
  t = await startTenancy("hook");
  repo = await t.git.createRepo("mono", { files: { "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n" } });
  first = await repo.head();
  const secret = (namespace: string, name: string, token: string) =>
    t.admin.create({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, stringData: { [WEBHOOK_SECRET_KEY]: token } } as KubeObject);
  await secret(t.a.name, "hook", SECRET_A);
  await secret(t.b.name, "hook", SECRET_B);
  await secret(t.system.name, WEBHOOK_SECRET_NAME, OPERATOR);
  await t.admin.create(gitRepository(t, t.a.name, "mono", repo.url, { webhook: { secretRef: { name: "hook" } } }));
  await t.admin.create(gitRepository(t, t.b.name, "mono", repo.url, { webhook: { secretRef: { name: "hook" } } }));
  await t.admin.create(gitRepository(t, t.b.name, "plain", repo.url));
  for (const [ns, name] of [[t.a.name, "mono"], [t.b.name, "mono"], [t.b.name, "plain"]] as const) {
    await waitFor(`GitRepository ${ns}/${name} Ready`, async () => cond(await get(ns, name), "Ready")?.status === "True", { timeoutMs: 60_000 });
  }
});

after(async () => {
  await t?.stop();
});

describe("webhook receivers per GitRepository", () => {
  it("a push signed with A's secret at A's receiver triggers A's GitRepository, which fetches the new commit; B's are untouched", async () => {
    const next = await repo.commit({ "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n" }, "second");
    const before = await requests();
    const res = await hook(`/hook/${t.a.name}/mono`, SECRET_A);
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { triggered: 1 });
    const after = await requests();
    assert.notEqual(after.a, before.a, "A's GitRepository got a reconcile request");
    assert.deepEqual([after.b, after.bPlain], [before.b, before.bPlain], "none of B's did");
    // The interval is an hour: only the push can bring the new commit in.
    await waitFor("A's GitRepository at the new commit", async () => (await get(t.a.name, "mono"))?.status?.artifact?.revision === `main@sha1:${next}`, { timeoutMs: 60_000 });
    for (const name of ["mono", "plain"]) assert.equal((await get(t.b.name, name))?.status?.artifact?.revision, `main@sha1:${first}`, `B's ${name} was not fetched`);
  });

  it("A's secret at B's receiver, a forged signature, and the operator-wide secret at a tenant's receiver are 401; nothing is triggered", async () => {
    const before = await requests();
    const tries: [string, string][] = [
      [`/hook/${t.b.name}/mono`, SECRET_A],
      [`/hook/${t.b.name}/plain`, SECRET_A],
      [`/hook/${t.b.name}/mono`, "forged"],
      [`/hook/${t.b.name}/mono`, OPERATOR],
      [`/hook/${t.a.name}/mono`, SECRET_B],
      ["/hook", SECRET_A],
    ];
    for (const [path, secret] of tries) {
      const res = await hook(path, secret);
      assert.equal(res.status, 401, `${path} signed with ${secret === OPERATOR ? "the operator-wide secret" : secret === "forged" ? "a forged secret" : "another tenant's secret"}`);
    }
    assert.deepEqual(await requests(), before);
    const logs = t.logs();
    assert.match(logs, new RegExp(`webhook rejected: signature mismatch.*GitRepository ${t.b.name}/mono`));
    assert.match(logs, new RegExp(`webhook rejected: no receiver secret.*GitRepository ${t.b.name}/plain has no spec\\.webhook\\.secretRef`));
    for (const secret of [SECRET_A, SECRET_B, OPERATOR, CANARY]) assert.ok(!logs.includes(secret), "no secret and no body in the operator's log");
  });

  it("the operator-wide secret triggers only the GitRepository without a receiver of its own", async () => {
    const before = await requests();
    const res = await hook("/hook", OPERATOR);
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { triggered: 1 });
    const after = await requests();
    assert.notEqual(after.bPlain, before.bPlain);
    assert.deepEqual([after.a, after.b], [before.a, before.b]);
  });
});
