// setupSource end to end, as the operator runs it: flags → storage, artifact server, webhook receiver and controller
// on a manager. A signed webhook push makes the new commit's artifact appear without waiting for the interval.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { FieldManagers, GitRepositoryKind, installCrds } from "../../../src/api/index.js";
import { parseOperatorArgs } from "../../../src/config.js";
import { createLogger } from "../../../src/log.js";
import { Manager } from "../../../src/runtime/index.js";
import { WEBHOOK_SECRET_KEY, WEBHOOK_SECRET_NAME, setupSource } from "../../../src/source/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { GitServer, type TestRepo } from "../../support/git-server.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

const G = { group: GitRepositoryKind.group, version: GitRepositoryKind.version, plural: GitRepositoryKind.plural };
const SECRET = "hook-secret-for-test";

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Status {
  conditions?: { type: string; status: string }[];
  artifact?: { url: string; revision: string; digest: string };
}

let c: TestCluster;
let ns: TestNamespace;
let custom: k8s.CustomObjectsApi;
let server: GitServer;
let repo: TestRepo;
let dir: string;
let webhookPort: number;
const stop = new AbortController();
let running: Promise<void> | undefined;

const status = async (name: string): Promise<Status | undefined> =>
  ((await custom.getNamespacedCustomObject({ ...G, namespace: ns.name, name })) as { status?: Status }).status;

before(async () => {
  c = await testCluster();
  custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
  await installCrds(c.kc);
  ns = await createTestNamespace(c, "srcsetup");
  server = await GitServer.start();
  repo = await server.createRepo("app", { files: { "cm.yaml": "kind: ConfigMap\n" } });
  dir = await mkdtemp(path.join(os.tmpdir(), "mooring-srcsetup-"));
  const artifactPort = await freePort();
  webhookPort = await freePort();
  const config = parseOperatorArgs([
    "--storage-path", path.join(dir, "storage"),
    "--artifact-addr", `127.0.0.1:${artifactPort}`,
    "--advertised-artifact-addr", `127.0.0.1:${artifactPort}`,
    "--webhook-addr", `127.0.0.1:${webhookPort}`,
  ]);
  await c.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: WEBHOOK_SECRET_NAME }, stringData: { [WEBHOOK_SECRET_KEY]: SECRET } } });
  const logger = createLogger({ level: "warn" });
  const mgr = new Manager({ kubeConfig: c.kc, namespace: ns.name, registry: new Registry(), fieldManager: FieldManagers.source, logger });
  await setupSource(mgr, { config, logger, secretNamespace: ns.name });
  running = mgr.start(stop.signal);
});

after(async () => {
  if (ns && custom) {
    const list = (await custom.listNamespacedCustomObject({ ...G, namespace: ns.name })) as { items: { metadata: { name: string } }[] };
    for (const o of list.items) await custom.deleteNamespacedCustomObject({ ...G, namespace: ns.name, name: o.metadata.name });
    await waitFor("GitRepositories deleted", async () => ((await custom.listNamespacedCustomObject({ ...G, namespace: ns.name })) as { items: unknown[] }).items.length === 0, { timeoutMs: 30_000 });
  }
  stop.abort();
  await running?.catch(() => {});
  await ns?.cleanup();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

void describe("setupSource", () => {
  void it("serves the artifact on --artifact-addr and applies a signed webhook push at once", async () => {
    await custom.createNamespacedCustomObject({
      ...G,
      namespace: ns.name,
      body: { apiVersion: `${G.group}/${G.version}`, kind: "GitRepository", metadata: { name: "app" }, spec: { url: repo.url, interval: "1h", ref: { branch: "main" } } },
    });
    const first = await waitFor("Ready", async () => {
      const s = await status("app");
      return s?.conditions?.find((x) => x.type === "Ready")?.status === "True" ? s : undefined;
    }, { timeoutMs: 60_000 });
    const res = await fetch(first.artifact!.url);
    assert.equal(res.status, 200);
    assert.equal(`sha256:${createHash("sha256").update(Buffer.from(await res.arrayBuffer())).digest("hex")}`, first.artifact!.digest);

    const next = await repo.commit({ "cm.yaml": "kind: ConfigMap\ndata: {}\n" }, "second");
    const body = JSON.stringify({ url: repo.url, branch: "main" });
    const bad = await fetch(`http://127.0.0.1:${webhookPort}/hook`, { method: "POST", body, headers: { "x-mooring-signature-256": "sha256=00" } });
    assert.equal(bad.status, 401);
    const sig = "sha256=" + createHmac("sha256", SECRET).update(body).digest("hex");
    const hook = await fetch(`http://127.0.0.1:${webhookPort}/hook`, { method: "POST", body, headers: { "x-mooring-signature-256": sig } });
    assert.equal(hook.status, 202);
    assert.deepEqual(await hook.json(), { triggered: 1 });
    // interval is 1h: only the webhook can bring the new commit in within the wait.
    await waitFor("new revision after the webhook", async () => (await status("app"))?.artifact?.revision === `main@sha1:${next}`, { timeoutMs: 60_000 });
  });
});
