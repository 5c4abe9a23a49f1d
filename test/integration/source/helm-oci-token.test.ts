// Charts from an OCI registry that uses the registry token flow (issue 22): the CNCF distribution registry with
// `auth: token` answers a request without a token with `401 WWW-Authenticate: Bearer realm=…,service=…,scope=…`,
// and accepts only tokens from our token server on loopback (test/support/registry-token-server.ts, the Docker token
// API: GET <realm>?service=…&scope=… with basic credentials → {token, access_token}). The client exchanges the
// HelmRepository's credentials for a token and reads the chart with it; wrong credentials are AuthenticationFailed,
// with no secret in the error or in status. On the local cluster an OCI HelmRepository and a HelmChart do the same.
// A registry that sends clients for a token over plain HTTP (never asked), or to a host outside its domain, gets no
// credentials (src/source/oci-realm.ts): the token server sees no request, and the refusal says what happened and
// what to do.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { startArtifactServer, type RunningServer } from "../../../src/artifact/server.js";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { FieldManagers, HelmChartKind, HelmRepositoryKind, installCrds } from "../../../src/api/index.js";
import { createLogger } from "../../../src/log.js";
import { Manager } from "../../../src/runtime/index.js";
import { HelmSourceError } from "../../../src/source/helm-repo.js";
import { OciClient, downloadOciChart, ociLayer, resolveOci } from "../../../src/source/helm-oci.js";
import { setupHelmControllers } from "../../../src/source/helmchart.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { OciRegistry, REGISTRY_PASSWORD, REGISTRY_USER, TOKEN_SERVICE } from "../../support/helm-registry.js";
import { runHelm } from "../../support/helm.js";
import { configMapChart } from "../../support/helm-repo.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Obj {
  status?: { conditions?: Cond[]; artifact?: { revision: string; digest: string } };
}

const R = { group: HelmRepositoryKind.group, version: HelmRepositoryKind.version, plural: HelmRepositoryKind.plural, kind: "HelmRepository" };
const C = { group: HelmChartKind.group, version: HelmChartKind.version, plural: HelmChartKind.plural, kind: "HelmChart" };
const WRONG_PASSWORD = "not-the-pw-oci-test";

let reg: OciRegistry;
/** The same registry and token server, the realm http:// (plainReg) or named localhost (otherReg). */
let plainReg: OciRegistry;
let otherReg: OciRegistry;
let c: TestCluster | undefined;
let ns: TestNamespace | undefined;
let custom: k8s.CustomObjectsApi;
let dir: string | undefined;
let artifacts: RunningServer | undefined;
const stop = new AbortController();
let running: Promise<void> | undefined;

const creds = { basic: { username: REGISTRY_USER, password: REGISTRY_PASSWORD } };
const wrong = { basic: { username: REGISTRY_USER, password: WRONG_PASSWORD } };
const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((x) => x.type === type);

before(async () => {
  reg = await OciRegistry.start({ auth: "token" });
  for (const v of ["0.1.0", "0.2.0"]) reg.push(configMapChart("tokendemo", v));
  plainReg = await OciRegistry.start({ auth: "token", realm: { scheme: "http" } });
  otherReg = await OciRegistry.start({ auth: "token", realm: { host: "localhost" } });
  // helm itself refuses the http:// realm (it cannot push there), and reads through localhost's.
  otherReg.push(configMapChart("tokendemo", "0.1.0"));
});

after(async () => {
  stop.abort();
  await running?.catch(() => {});
  await ns?.cleanup();
  await artifacts?.close();
  await reg?.close();
  await plainReg?.close();
  await otherReg?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The error a promise rejects with: a HelmSourceError whose message holds no password. */
async function failure(p: Promise<unknown>): Promise<HelmSourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HelmSourceError, String(err));
    for (const secret of [REGISTRY_PASSWORD, WRONG_PASSWORD]) assert.doesNotMatch(err.message, new RegExp(secret));
    return err;
  }
  assert.fail("it succeeded");
}

void describe("OCI registry client, registry token flow", () => {
  void it("the registry refuses basic credentials and asks for a token; the client gets one with them and reads the chart", async () => {
    // The registry itself takes no basic auth: it answers with the challenge naming our token server.
    const direct = await new Promise<{ status?: number; challenge?: string }>((resolve, reject) => {
      const basic = Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString("base64");
      https
        .get(`https://${reg.host}/v2/charts/tokendemo/tags/list`, { ca: reg.ca, headers: { authorization: `Basic ${basic}` } }, (res) => {
          res.resume();
          resolve({ status: res.statusCode, challenge: String(res.headers["www-authenticate"] ?? "") });
        })
        .on("error", reject);
    });
    assert.equal(direct.status, 401);
    assert.equal(direct.challenge, `Bearer realm="${reg.tokenServer!.realm}",service="${TOKEN_SERVICE}",scope="repository:charts/tokendemo:pull"`);
    const before = (await reg.tokenServer!.requests()).length;
    const client = new OciClient(reg.host, { creds, ca: reg.ca, timeoutMs: 10_000 });
    const r = await resolveOci(client, reg.url, "tokendemo", "*", creds);
    assert.deepEqual(r, { version: "0.2.0", tag: "0.2.0" });
    const layer = await ociLayer(client, reg.url, "tokendemo", r.tag, creds);
    const got = await downloadOciChart(client, reg.url, "tokendemo", layer, 1 << 20);
    assert.equal(got.digest, layer.layer);
    assert.equal(got.chartName, "tokendemo");
    // One token for the repository's pull scope, asked for with the credentials, reused for the tags, the manifest
    // and the layer.
    const asked = (await reg.tokenServer!.requests()).slice(before);
    assert.deepEqual(asked, [{ service: TOKEN_SERVICE, scopes: ["repository:charts/tokendemo:pull"], user: REGISTRY_USER, status: 200 }]);
  });

  void it("a wrong password is refused by the token server: AuthenticationFailed, naming the field and no secret", async () => {
    const denied = await failure(resolveOci(new OciClient(reg.host, { creds: wrong, ca: reg.ca, timeoutMs: 10_000 }), reg.url, "tokendemo", "*", wrong));
    assert.equal(denied.reason, "AuthenticationFailed");
    assert.match(denied.message, /answered HTTP 401: the credentials in spec\.secretRef were refused/);
    const last = (await reg.tokenServer!.requests()).at(-1);
    assert.deepEqual(last, { service: TOKEN_SERVICE, scopes: ["repository:charts/tokendemo:pull"], user: REGISTRY_USER, status: 401 });
  });

  void it("without credentials the anonymous token grants nothing: AuthenticationFailed, asking for spec.secretRef", async () => {
    const denied = await failure(resolveOci(new OciClient(reg.host, { ca: reg.ca, timeoutMs: 10_000 }), reg.url, "tokendemo", "*"));
    assert.equal(denied.reason, "AuthenticationFailed");
    assert.match(denied.message, /it needs credentials; set spec\.secretRef/);
    const last = (await reg.tokenServer!.requests()).at(-1);
    assert.deepEqual(last, { service: TOKEN_SERVICE, scopes: ["repository:charts/tokendemo:pull"], status: 200 });
  });
});

void describe("OCI registry client, a token service the credentials must not reach", () => {
  const client = (r: OciRegistry, c?: typeof creds) => new OciClient(r.host, { ...(c ? { creds: c } : {}), ca: r.ca, timeoutMs: 10_000, repository: "team/charts" });

  void it("an http:// realm gets no credentials: AuthenticationFailed naming the HelmRepository, the registry, the realm and the fix", async () => {
    assert.match(plainReg.tokenServer!.realm, /^http:\/\/127\.0\.0\.1:\d+\/token$/);
    const before = (await plainReg.tokenServer!.requests()).length;
    const denied = await failure(resolveOci(client(plainReg, creds), plainReg.url, "tokendemo", "*", creds));
    assert.equal(denied.reason, "AuthenticationFailed");
    assert.equal(
      denied.message,
      `HelmRepository team/charts: the registry ${plainReg.host} sends clients for a token to ${plainReg.tokenServer!.realm} over plain HTTP, where the credentials of spec.secretRef ` +
        "and the token would cross the network in clear text: Mooring did not ask it. Configure the registry's token service with an https:// realm (in the CNCF registry: auth.token.realm)",
    );
    assert.deepEqual((await plainReg.tokenServer!.requests()).slice(before), [], "the token server was asked");
    // The pinned helm refuses it too (oras-go since v2.6.1, GHSA-xf85-363p-868w).
    const tmp = await mkdtemp(path.join(os.tmpdir(), "mooring-ocitoken-helm-"));
    try {
      await writeFile(path.join(tmp, "ca.pem"), plainReg.ca);
      const login = runHelm(["registry", "login", plainReg.host, "--username", REGISTRY_USER, "--password", REGISTRY_PASSWORD, "--ca-file", path.join(tmp, "ca.pem")], { env: { HELM_REGISTRY_CONFIG: path.join(tmp, "registry.json") } });
      assert.notEqual(login.status, 0, login.stdout);
      assert.match(login.stderr, new RegExp(`bearer realm "${plainReg.tokenServer!.realm}" uses http but registry was contacted over https`));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    assert.deepEqual((await plainReg.tokenServer!.requests()).slice(before), [], "helm asked the token server");
  });

  void it("a realm on another host than the registry's (localhost for 127.0.0.1) gets no credentials either", async () => {
    assert.match(otherReg.tokenServer!.realm, /^https:\/\/localhost:\d+\/token$/);
    const before = (await otherReg.tokenServer!.requests()).length;
    const denied = await failure(resolveOci(client(otherReg, creds), otherReg.url, "tokendemo", "*", creds));
    assert.equal(denied.reason, "AuthenticationFailed");
    assert.match(denied.message, /^HelmRepository team\/charts: the registry 127\.0\.0\.1:\d+ sends clients for a token to https:\/\/localhost:\d+\/token, outside the registry's domain \(127\.0\.0\.1\): .*did not send them/);
    assert.deepEqual((await otherReg.tokenServer!.requests()).slice(before), [], "the token server was asked");
  });

  void it("without credentials the http:// realm is not asked either (as helm), and localhost's is, anonymously (as helm)", async () => {
    const plainBefore = (await plainReg.tokenServer!.requests()).length;
    const refused = await failure(resolveOci(client(plainReg), plainReg.url, "tokendemo", "*"));
    assert.equal(refused.reason, "AuthenticationFailed");
    assert.match(refused.message, /over plain HTTP, .*Mooring did not ask it/);
    assert.deepEqual((await plainReg.tokenServer!.requests()).slice(plainBefore), []);
    const otherBefore = (await otherReg.tokenServer!.requests()).length;
    const denied = await failure(resolveOci(client(otherReg), otherReg.url, "tokendemo", "*"));
    assert.match(denied.message, /it needs credentials; set spec\.secretRef/);
    assert.deepEqual((await otherReg.tokenServer!.requests()).slice(otherBefore), [{ service: TOKEN_SERVICE, scopes: ["repository:charts/tokendemo:pull"], status: 200 }]);
  });
});

void describe("OCI HelmRepository and HelmChart on the cluster, registry token flow", () => {
  before(async () => {
    c = await testCluster();
    custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
    await installCrds(c.kc);
    ns = await createTestNamespace(c, "ocitoken");
    await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "good" }, stringData: { username: REGISTRY_USER, password: REGISTRY_PASSWORD, "ca.crt": reg.ca } } });
    await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: "bad" }, stringData: { username: REGISTRY_USER, password: WRONG_PASSWORD, "ca.crt": reg.ca } } });
    dir = await mkdtemp(path.join(os.tmpdir(), "mooring-ocitoken-"));
    const storage = new ArtifactStorage({ root: path.join(dir, "storage") });
    await storage.init();
    artifacts = await startArtifactServer("127.0.0.1:0", { root: storage.root });
    const mgr = new Manager({ kubeConfig: c.kc, namespace: ns.name, registry: new Registry(), fieldManager: FieldManagers.source, logger: createLogger({ level: "warn" }) });
    setupHelmControllers(mgr, { storage, advertisedAddr: `127.0.0.1:${artifacts.port}`, concurrency: 2, failureBackoffMs: 1_000 });
    running = mgr.start(stop.signal);
  });

  const create = (r: typeof R, name: string, spec: Record<string, unknown>) =>
    custom.createNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns!.name, body: { apiVersion: `${r.group}/${r.version}`, kind: r.kind, metadata: { name }, spec } });
  const get = async (r: typeof R, name: string) => (await custom.getNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns!.name, name })) as Obj;
  const waitReady = (r: typeof R, name: string, status: "True" | "False") =>
    waitFor(`${r.kind} ${name} Ready=${status}`, async () => {
      const o = await get(r, name);
      return cond(o, "Ready")?.status === status ? o : undefined;
    }, { timeoutMs: 60_000 });

  void it("stores the chart through the token flow, and reports wrong credentials as AuthenticationFailed with no secret in status or events", async () => {
    await create(R, "good", { type: "oci", url: reg.url, secretRef: { name: "good" }, interval: "10m" });
    await create(C, "tokendemo", { sourceRef: { kind: "HelmRepository", name: "good" }, chart: "tokendemo", version: "^0.1", interval: "10m" });
    await create(R, "bad", { type: "oci", url: reg.url, secretRef: { name: "bad" }, interval: "10m" });
    await create(C, "denied", { sourceRef: { kind: "HelmRepository", name: "bad" }, chart: "tokendemo", interval: "10m" });

    const repo = await waitReady(R, "good", "True");
    assert.match(cond(repo, "Ready")!.message, /OCI registry 127\.0\.0\.1:\d+ answers/);
    const chart = await waitReady(C, "tokendemo", "True");
    assert.equal(chart.status?.artifact?.revision, "0.1.0");

    const bad = await waitReady(R, "bad", "False");
    assert.equal(cond(bad, "Ready")!.reason, "AuthenticationFailed");
    const denied = await waitReady(C, "denied", "False");
    assert.equal(cond(denied, "Ready")!.reason, "AuthenticationFailed");
    assert.match(cond(denied, "Ready")!.message, /credentials in spec\.secretRef were refused/);

    const events = JSON.stringify((await c!.core.listNamespacedEvent({ namespace: ns!.name })).items.map((e) => [e.reason, e.message]));
    for (const [what, text] of [["status of HelmRepository bad", JSON.stringify(bad.status)], ["status of HelmChart denied", JSON.stringify(denied.status)], ["events", events]] as const) {
      for (const secret of [REGISTRY_PASSWORD, WRONG_PASSWORD]) assert.ok(!text.includes(secret), `${what} shows a password: ${text}`);
    }
    // The token server was asked with the right and the wrong password; the registry answered only with tokens.
    const users = (await reg.tokenServer!.requests()).filter((q) => q.user === REGISTRY_USER).map((q) => q.status);
    assert.ok(users.includes(200) && users.includes(401), `token requests: ${users.join(", ")}`);
  });

  void it("a registry whose token service is plain HTTP: HelmRepository and HelmChart Ready=False saying so, the password sent nowhere and shown nowhere", async () => {
    await c!.core.createNamespacedSecret({ namespace: ns!.name, body: { metadata: { name: "plain" }, stringData: { username: REGISTRY_USER, password: REGISTRY_PASSWORD, "ca.crt": plainReg.ca } } });
    const asked = (await plainReg.tokenServer!.requests()).length;
    await create(R, "plainrealm", { type: "oci", url: plainReg.url, secretRef: { name: "plain" }, interval: "10m" });
    await create(C, "plainchart", { sourceRef: { kind: "HelmRepository", name: "plainrealm" }, chart: "tokendemo", interval: "10m" });
    const saying = new RegExp(`^HelmRepository ${ns!.name}/plainrealm: the registry 127\\.0\\.0\\.1:\\d+ sends clients for a token to http://127\\.0\\.0\\.1:\\d+/token over plain HTTP, .*Mooring did not ask it\\. Configure the registry's token service with an https:// realm`);
    const repo = await waitReady(R, "plainrealm", "False");
    const chart = await waitReady(C, "plainchart", "False");
    for (const o of [repo, chart]) {
      assert.equal(cond(o, "Ready")!.reason, "AuthenticationFailed");
      assert.match(cond(o, "Ready")!.message, saying);
    }
    const events = JSON.stringify((await c!.core.listNamespacedEvent({ namespace: ns!.name })).items.map((e) => [e.reason, e.message]));
    for (const text of [JSON.stringify(repo.status), JSON.stringify(chart.status), events]) assert.ok(!text.includes(REGISTRY_PASSWORD), `a password shows: ${text}`);
    assert.deepEqual((await plainReg.tokenServer!.requests()).slice(asked), [], "the token server was asked");
  });
});
