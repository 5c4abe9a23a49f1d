// The data-less Secret view against the real API server, with a Secret created and updated by `kubectl apply`, which
// copies the whole applied object — data included — into kubectl.kubernetes.io/last-applied-configuration.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../../src/log.js";
import * as renderController from "../../../src/render/controller.js";
import { Cache, Kinds, RestClient, type Informer, type KubeObject, type Selection } from "../../../src/runtime/index.js";
import { SECRETS_WITHOUT_DATA } from "../../../src/runtime/secret-view.js";
import { testCluster, type TestCluster } from "../../support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../support/namespace.js";
import { waitFor } from "../../support/wait.js";

const run = promisify(execFile);
const quiet = createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
const CANARY = "canary-view-4b1d-s3cr3t";
const ROTATED = "canary-view-rotated-9e2c";
const b64 = (s: string) => Buffer.from(s).toString("base64");

let c: TestCluster;
let ns: TestNamespace;
let rest: RestClient;
const stop = new AbortController();

before(async () => {
  c = await testCluster();
  ns = await createTestNamespace(c, "rt-secret-view");
  rest = RestClient.fromKubeConfig(c.kc, { qps: 200, burst: 200 });
});

after(async () => {
  stop.abort();
  rest?.close();
  await ns?.cleanup();
});

async function kubectlApply(value: string): Promise<void> {
  const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "applied", namespace: ns.name, labels: { app: "db" } }, stringData: { password: value }, data: { token: b64(value) } };
  const child = run("kubectl", ["--kubeconfig", c.kubeconfigPath, "apply", "-f", "-"]);
  child.child.stdin!.end(JSON.stringify(secret));
  await child;
}

/** Everything every Secret informer of the cache holds, as text. */
function heldText(cache: Cache): { text: string; objects: (KubeObject & { dataDigest?: string })[] } {
  const informers = [...(cache as unknown as { informers: Map<string, Informer> }).informers.values()].filter((i) => i.kind.kind === "Secret");
  assert.ok(informers.length > 0);
  const objects = informers.flatMap((i) => i.store.list()) as (KubeObject & { dataDigest?: string })[];
  return { text: JSON.stringify(objects), objects };
}

function assertNoData(text: string, value: string): void {
  for (const form of [value, b64(value)]) assert.ok(!text.includes(form), `the cache holds the Secret's ${form === value ? "value" : "base64 value"}`);
  assert.ok(!text.includes(LAST_APPLIED), "the cache holds the last-applied-configuration annotation");
}

async function checkView(view: Selection): Promise<void> {
  await kubectlApply(CANARY);
  const live = await c.core.readNamespacedSecret({ name: "applied", namespace: ns.name });
  assert.ok(live.metadata?.annotations?.[LAST_APPLIED]?.includes(b64(CANARY)), "kubectl apply copied the data into the annotation");
  // No base transform: the view alone must hold nothing of the data (managedFields included).
  const cache = new Cache(rest, { namespace: ns.name, logger: quiet });
  const inf = cache.informerFor(Kinds.Secret, view);
  cache.start(stop.signal);
  await inf.waitForSync();
  const first = await waitFor("the applied Secret in the view", () => inf.store.get(`${ns.name}/applied`) as (KubeObject & { dataDigest?: string }) | undefined);
  assert.match(first.dataDigest ?? "", /^[a-f0-9]{64}$/);
  assert.deepEqual(first.metadata?.labels, { app: "db" });
  assertNoData(heldText(cache).text, CANARY);

  await kubectlApply(ROTATED);
  const second = await waitFor("the view to see the new data", () => {
    const o = inf.store.get(`${ns.name}/applied`) as (KubeObject & { dataDigest?: string }) | undefined;
    return o && o.metadata?.resourceVersion !== first.metadata?.resourceVersion && o;
  });
  assert.notEqual(second.dataDigest, first.dataDigest, "the digest changes with the data");
  const { text } = heldText(cache);
  assertNoData(text, CANARY);
  assertNoData(text, ROTATED);
}

describe("Secrets without data (cache view)", () => {
  it("hold neither the data nor the last-applied-configuration of a Secret applied with kubectl, and the digest follows the data", async () => {
    await checkView(SECRETS_WITHOUT_DATA);
  });

  it("is the view the render controller watches Secrets through", async () => {
    await c.core.deleteNamespacedSecret({ name: "applied", namespace: ns.name });
    await checkView(renderController.SECRETS_WITHOUT_DATA);
  });
});
