// The example operator against the real local cluster: the library's behaviour as a user sees it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { Writable } from "node:stream";
import { Registry } from "prom-client";
import { REPO_ROOT, testCluster, type TestCluster } from "../../test/support/cluster.js";
import { createTestNamespace, type TestNamespace } from "../../test/support/namespace.js";
import { waitFor } from "../../test/support/wait.js";
import { createLogger } from "../../src/log.js";
import { Kinds, type KubeObject, Manager, computeStatus, getCondition } from "../../src/runtime/index.js";
import { FIELD_MANAGER, FINALIZER, Greeting, type GreetingObject, addGreetingController, configMapName, installCrd } from "./operator.js";

const quiet = process.env.RT_DEBUG ? createLogger({ level: "debug", format: "text" }) : createLogger({ level: "error", stream: new Writable({ write: (_c, _e, cb) => cb() }) });
let c: TestCluster;
let ns: TestNamespace;
let mgr: Manager;
let run: Promise<void>;
const stop = new AbortController();

before(async () => {
  c = await testCluster();
  ns = await createTestNamespace(c, "greeting");
  mgr = new Manager({ kubeConfig: c.kc, namespace: ns.name, fieldManager: FIELD_MANAGER, registry: new Registry(), logger: quiet });
  await installCrd(mgr.client.live());
  await waitFor("the Greeting kind to be served", () => mgr.mapper.kindFor("examples.mooring.dev/v1", "Greeting"));
  addGreetingController(mgr);
  run = mgr.start(stop.signal);
  await mgr.elected;
});

after(async () => {
  stop.abort();
  await run;
  await ns?.cleanup();
});

const greeting = (name: string, message: string): GreetingObject => ({ apiVersion: "examples.mooring.dev/v1", kind: "Greeting", metadata: { name, namespace: ns.name }, spec: { message } });
type ConfigMap = KubeObject & { data?: Record<string, string> };

describe("greeting operator (example)", () => {
  it("keeps a ConfigMap for each Greeting and reports Ready with the observed generation", async () => {
    const live = mgr.client.live();
    await live.create(greeting("hello", "hello, world"));
    const cm = await waitFor("the ConfigMap", async () => live.get<ConfigMap>(Kinds.ConfigMap, configMapName("hello"), ns.name));
    assert.equal(cm.data?.message, "hello, world");
    assert.equal(cm.metadata?.ownerReferences?.[0]?.name, "hello");
    const g = await waitFor("Ready=True", async () => {
      const obj = await live.get<GreetingObject>(Greeting, "hello", ns.name);
      return obj && computeStatus(obj) === "Current" && obj;
    });
    assert.equal(g.status?.observedGeneration, g.metadata?.generation);
    assert.deepEqual(g.metadata?.finalizers, [FINALIZER]);

    await live.patch(g, { spec: { message: "bonjour" } }, "merge");
    await waitFor("the ConfigMap to follow the spec", async () => (await live.get<ConfigMap>(Kinds.ConfigMap, configMapName("hello"), ns.name))?.data?.message === "bonjour");
  });

  it("puts back a ConfigMap deleted by hand (owner enqueue)", async () => {
    const live = mgr.client.live();
    await waitFor("the ConfigMap", async () => live.get(Kinds.ConfigMap, configMapName("hello"), ns.name));
    await live.delete({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: configMapName("hello"), namespace: ns.name } });
    const back = await waitFor("the ConfigMap to be recreated", async () => live.get<ConfigMap>(Kinds.ConfigMap, configMapName("hello"), ns.name));
    assert.equal(back.data?.message, "bonjour");
  });

  it("marks an empty message Stalled and does not retry it (terminal error)", async () => {
    const live = mgr.client.live();
    await live.create(greeting("empty", " "));
    const g = await waitFor("Stalled=True", async () => {
      const obj = await live.get<GreetingObject>(Greeting, "empty", ns.name);
      return obj && getCondition(obj.status?.conditions, "Stalled")?.status === "True" && obj;
    });
    assert.equal(computeStatus(g), "Failed");
    const metrics = await mgr.metrics.registry.getSingleMetric("controller_runtime_terminal_reconcile_errors_total")!.get();
    assert.ok(metrics.values.some((v) => v.labels.controller === "greeting" && v.value >= 1));
  });

  it("runs the finalizer's cleanup and lets the Greeting go", async () => {
    const live = mgr.client.live();
    await live.delete(greeting("hello", ""));
    await waitFor("the Greeting to be gone", async () => (await live.get(Greeting, "hello", ns.name)) === undefined);
    const events = await waitFor("the cleanup's event", async () => {
      const list = await live.list<KubeObject & { reason: string; regarding: { name: string } }>(Kinds.EventV1, { namespace: ns.name });
      return list.some((e) => e.reason === "CleanedUp") && list;
    });
    assert.ok(events.some((e) => e.reason === "CleanedUp" && e.regarding.name === "hello"));
  });
});

describe("greeting operator as a process", () => {
  it("stops gracefully on SIGTERM and exits 0", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "examples/configmap-operator/operator.ts")], {
      env: { ...process.env, KUBECONFIG: c.kubeconfigPath, GREETING_NAMESPACE: ns.name, HEALTH_ADDR: "127.0.0.1:0", METRICS_ADDR: "0", MOORING_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await waitFor("the operator to start its workers", () => out.includes("starting workers"), { timeoutMs: 60_000 });
      child.kill("SIGTERM");
      const code = await exited;
      assert.equal(code, 0, out.slice(-2000));
      assert.match(out, /received signal; shutting down gracefully/);
      assert.match(out, /manager stopped/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
