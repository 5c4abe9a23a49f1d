// Kill and restart the kube-apiserver process during a watch; the cache must converge to the server's state with
// nothing lost. This runs on a cluster of its own (rt-restart), never on the shared test cluster.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { Writable } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import { REPO_ROOT } from "../../support/cluster.js";
import { killAndRestartApiServer } from "../../support/apiserver-restart.js";
import { waitFor } from "../../support/wait.js";
import { createLogger } from "../../../src/log.js";
import { Client, Informer, Kinds, RestClient, RestMapper } from "../../../src/runtime/index.js";

const CLUSTER = "rt-restart";
const script = path.join(REPO_ROOT, "hack/cluster.sh");
const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

let rest: RestClient;
let client: Client;
const stop = new AbortController();
const ns = "restart-test";

before(async () => {
  const out = execFileSync("bash", [script, "up", CLUSTER], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 600_000 });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(out.trim().split("\n").pop()!);
  rest = RestClient.fromKubeConfig(kc, { qps: 200, burst: 200 });
  client = new Client({ rest, mapper: new RestMapper(rest), fieldManager: "rt-test" });
  await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
});

after(() => {
  stop.abort();
  rest?.close();
  execFileSync("bash", [script, "down", CLUSTER], { stdio: "inherit", timeout: 120_000 });
});

const cm = (name: string, v: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns }, data: { v } });

describe("kube-apiserver restart", () => {
  it("the cache converges to the server's state after the API server is killed and restarted during a watch", async () => {
    for (let i = 0; i < 20; i++) await client.create(cm(`cm-${i}`, "0"));
    const inf = new Informer(rest, Kinds.ConfigMap, { namespace: ns, logger: quiet, backoff: { initialMs: 200, maxMs: 2000 } });
    void inf.run(stop.signal);
    await inf.waitForSync();
    await waitFor("the watch to be open", () => inf.watchState.phase === "Watching" && inf.stats.watches === 1);

    // Writes racing the kill: some land before it, some fail while the server is down (that is fine).
    const restart = killAndRestartApiServer(CLUSTER, 3000);
    const racing = (async () => {
      for (let i = 0; i < 20; i++) {
        await client.update(cm(`cm-${i}`, "1")).catch(() => undefined);
        if (i % 4 === 0) await client.delete(cm(`cm-${i}`, "")).catch(() => undefined);
      }
    })();
    await Promise.all([restart, racing]);

    // After the restart: more changes the cache must also see.
    await waitFor("the API server to answer again", async () => (await client.list(Kinds.ConfigMap, { namespace: ns })).length > 0);
    for (let i = 20; i < 25; i++) await client.create(cm(`cm-${i}`, "2"));
    await client.update(cm("cm-1", "3"));

    const serverState = async () =>
      (await client.list(Kinds.ConfigMap, { namespace: ns }))
        .map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`)
        .sort()
        .join(",");
    const cacheState = () =>
      inf.store
        .list()
        .map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`)
        .sort()
        .join(",");
    await waitFor("the cache to converge to the server's state", async () => (await serverState()) === cacheState(), { timeoutMs: 60_000 });
    assert.ok(inf.stats.watches > 1, "the watch broke with the kill and was re-established");
    assert.ok(inf.store.get(`${ns}/cm-24`), "objects created after the restart are in the cache");
    assert.equal((inf.store.get(`${ns}/cm-1`) as unknown as { data: { v: string } }).data.v, "3");
    console.log(`after the restart: watches=${inf.stats.watches} relists=${inf.stats.relists} errors=${inf.stats.errors}`);
  });
});
