// Multi-byte characters through a real watch: an event of a few hundred KiB of 2-, 3- and 4-byte characters reaches
// the client in many HTTP chunks whose ends fall inside characters. The informer must hold exactly what the API
// server returns (a value decoded chunk by chunk gets U+FFFD where a character was cut: false drift, wrong values).
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../../src/log.js";
import { Informer, Kinds, RestClient, type KubeObject } from "../../../src/runtime/index.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

let c: TestCluster;
let ns: TestNamespace;
let rest: RestClient;
const stop = new AbortController();

before(async () => {
  c = await testCluster();
  ns = await createTestNamespace(c, "rt-utf8");
  rest = RestClient.fromKubeConfig(c.kc, { qps: 200, burst: 200 });
});

after(async () => {
  stop.abort();
  rest?.close();
  await ns?.cleanup();
});

/** ~300 KiB of characters of every UTF-8 length, with a marker so each version is different. */
const bigValue = (marker: string) => `${marker}: café 日本語 🚢⚓ ` + "aé日🚢".repeat(30_000);

type Cm = KubeObject & { data?: Record<string, string> };

describe("watch streams with multi-byte characters across chunks", () => {
  it("hold the value the API server returned, for the ADDED and the MODIFIED event", async () => {
    const inf = new Informer<Cm>(rest, Kinds.ConfigMap, { namespace: ns.name, logger: quiet });
    void inf.run(stop.signal);
    await inf.waitForSync();

    await c.core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: "multibyte" }, data: { value: bigValue("v1"), small: "é" } } });
    const live1 = await c.core.readNamespacedConfigMap({ name: "multibyte", namespace: ns.name });
    const held1 = await waitFor("the ADDED event", () => inf.store.get(`${ns.name}/multibyte`));
    assert.equal(held1.metadata?.resourceVersion, live1.metadata?.resourceVersion, "the informer holds the created version (from the watch, not a list)");
    assert.ok(!held1.data!.value!.includes("\uFFFD"), "no character was replaced by U+FFFD");
    assert.equal(held1.data!.value, live1.data!.value);
    assert.equal(held1.data!.small, "é");

    await c.core.replaceNamespacedConfigMap({ name: "multibyte", namespace: ns.name, body: { metadata: { name: "multibyte" }, data: { value: bigValue("v2 🚀"), small: "日" } } });
    const live2 = await c.core.readNamespacedConfigMap({ name: "multibyte", namespace: ns.name });
    const held2 = await waitFor("the MODIFIED event", () => {
      const o = inf.store.get(`${ns.name}/multibyte`);
      return o?.metadata?.resourceVersion === live2.metadata?.resourceVersion && o;
    });
    assert.ok(!held2.data!.value!.includes("\uFFFD"), "no character was replaced by U+FFFD");
    assert.equal(held2.data!.value, live2.data!.value);
    assert.equal(held2.data!.small, "日");
    assert.equal(inf.stats.lists, 1, "both versions came through the watch");
  });
});
