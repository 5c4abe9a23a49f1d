// Two ways a long-running operator could go wrong slowly: bounded cache-sync waits that pile up, and timers past
// Node's 2^31-1 ms limit (which Node fires after 1 ms, turning a month-long requeue into a hot loop).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Informer, KubeConfig, Kinds, RestClient, realClock } from "../../../src/runtime/index.js";

describe("Informer.waitForSync", () => {
  it("forgets a waiter whose signal aborted, so repeated bounded waits do not accumulate", async () => {
    // Never run: the informer stays unsynced, as one refused with 403 does.
    const rest = RestClient.fromKubeConfig(KubeConfig.fromString("clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"));
    const inf = new Informer(rest, Kinds.ConfigMap);
    for (let i = 0; i < 50; i++) {
      const ac = new AbortController();
      const wait = inf.waitForSync(ac.signal);
      ac.abort();
      await assert.rejects(wait, /gave up waiting for the ConfigMap cache to sync/);
    }
    assert.equal((inf as unknown as { syncWaiters: unknown[] }).syncWaiters.length, 0);
    rest.close();
  });
});

describe("realClock.setTimeout", () => {
  it("caps a delay beyond Node's timer limit instead of firing at once", async () => {
    let fired = false;
    const t = realClock.setTimeout(() => (fired = true), 30 * 86_400_000); // 30 days
    await new Promise((r) => setTimeout(r, 50));
    realClock.clearTimeout(t);
    assert.equal(fired, false);
  });
});
