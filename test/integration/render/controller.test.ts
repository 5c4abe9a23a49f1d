// The render controller with the source controller on one Manager, on the real cluster and the real git server:
// plain, kustomize and helm Applications get a rendered artifact that downloads with the digest in status; a push
// re-renders; a change to a valuesFrom ConfigMap re-renders only the Application that reads it; a reconcile with
// nothing changed renders nothing and writes nothing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TestRepo } from "../../support/git-server.js";
import { waitFor } from "../../support/wait.js";
import type { Informer, KubeObject } from "../../../src/runtime/index.js";
import { A, cond, download, RenderEnv, type App } from "./harness.js";

let env: RenderEnv;
let repo: TestRepo;
let head: string;

const CHART_TEMPLATE = [
  "apiVersion: v1",
  "kind: ConfigMap",
  "metadata:",
  "  name: {{release.name}}-greeting",
  "data:",
  "  greeting: {{quote values.greeting}}",
  "",
].join("\n");

const rendered = (rev: string) => (a: App) => cond(a, "Rendered")?.status === "True" && a.status?.render?.artifact?.revision === `main@sha1:${rev}`;

before(async () => {
  // With --watch-secrets: a Secret's change re-renders through the watch (test/integration/render/limits.test.ts
  // covers the default, get-only reads).
  env = await RenderEnv.start("rctl", { watchSecrets: true });
  repo = await env.git.createRepo("app", {
    files: {
      "plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  v: one\n",
      "plain/sub/two.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-two\n---\n# empty\n",
      "kust/kustomization.yaml": "resources:\n  - cm.yaml\nnamePrefix: k-\ncommonLabels:\n  tier: web\n",
      "kust/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: b\n",
      "chart/Chart.yaml": "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
      "chart/values.yaml": "greeting: hello\n",
      "chart/templates/cm.yaml": CHART_TEMPLATE,
    },
  });
  head = await repo.head();
  await env.c.core.createNamespacedConfigMap({ namespace: env.ns.name, body: { metadata: { name: "vals" }, data: { "values.yaml": "greeting: from-configmap\n" } } });
  await env.createGitRepository("repo", repo.url);
});

after(async () => {
  await env?.close();
});

void describe("render controller", () => {
  void it("renders plain, kustomize and helm Applications into downloadable artifacts", async () => {
    await env.createApp("plain", { sourceRef: { kind: "GitRepository", name: "repo" }, path: "plain" });
    await env.createApp("kust", { sourceRef: { kind: "GitRepository", name: "repo" }, path: "kust" });
    await env.createApp("chart-a", { sourceRef: { kind: "GitRepository", name: "repo" }, path: "chart", render: { helm: { valuesFrom: [{ kind: "ConfigMap", name: "vals" }] } } });
    await env.createApp("chart-b", { sourceRef: { kind: "GitRepository", name: "repo" }, path: "chart", render: { helm: { values: { greeting: "inline" } } } });
    const ns = env.ns.name;

    const plain = await env.waitApp("plain", "rendered", rendered(head));
    assert.equal(cond(plain, "SourceReady")?.status, "True");
    assert.deepEqual(plain.status?.source?.revision, `main@sha1:${head}`);
    assert.match(plain.status?.source?.digest ?? "", /^sha256:[a-f0-9]{64}$/);
    assert.equal(plain.status?.render?.objects, 2);
    assert.ok(plain.status?.render?.lastRenderedAt);
    const plainObjs = await download(plain.status!.render!.artifact!);
    assert.deepEqual(plainObjs.map((o) => o.metadata.name), ["plain", "plain-two"]);
    for (const o of plainObjs) {
      assert.equal(o.metadata.namespace, ns, "targetNamespace defaults to the Application's namespace");
      assert.equal(o.metadata.labels?.["app.kubernetes.io/managed-by"], "mooring");
      assert.equal(o.metadata.labels?.["delivery.mooring.dev/application"], `${ns}.plain`);
    }

    const kust = await env.waitApp("kust", "rendered", rendered(head));
    const kustObjs = await download(kust.status!.render!.artifact!);
    assert.deepEqual(kustObjs.map((o) => [o.metadata.name, o.metadata.labels?.tier]), [["k-cfg", "web"]]);

    const a = await env.waitApp("chart-a", "rendered", rendered(head));
    assert.equal((await download(a.status!.render!.artifact!))[0]?.data?.greeting, "from-configmap");
    const b = await env.waitApp("chart-b", "rendered", rendered(head));
    const bObjs = await download(b.status!.render!.artifact!);
    assert.deepEqual(bObjs.map((o) => [o.metadata.name, o.data?.greeting]), [["chart-b-greeting", "inline"]]);
    // Two Applications on one artifact: downloaded and extracted once.
    assert.equal(env.render.sources.fetches, 1);
  });

  void it("re-renders only the Application whose valuesFrom ConfigMap changed", async () => {
    await env.settled();
    const before = await env.getApp("chart-a");
    const other = await env.getApp("chart-b");
    const plain = await env.getApp("plain");
    const renders = env.render.stats.renders;
    await env.c.core.patchNamespacedConfigMap({ name: "vals", namespace: env.ns.name, body: [{ op: "replace", path: "/data/values.yaml", value: "greeting: changed\n" }] });
    const after = await env.waitApp("chart-a", "new digest", (x) => x.status?.render?.artifact?.digest !== before?.status?.render?.artifact?.digest);
    assert.equal((await download(after.status!.render!.artifact!))[0]?.data?.greeting, "changed");
    assert.equal(after.status?.render?.artifact?.revision, before?.status?.render?.artifact?.revision, "same source revision");
    assert.equal(env.render.stats.renders, renders + 1, "exactly one render: chart-a's");
    assert.equal((await env.getApp("chart-b"))?.metadata.resourceVersion, other?.metadata.resourceVersion, "chart-b untouched");
    assert.equal((await env.getApp("plain"))?.metadata.resourceVersion, plain?.metadata.resourceVersion, "plain untouched");
  });

  void it("reads a valuesFrom Secret, re-renders when it changes, and holds no Secret's data in its cache", async () => {
    const ns = env.ns.name;
    await env.c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "secret-vals" }, stringData: { "values.yaml": "greeting: from-secret\n" } } });
    await env.c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "unrelated" }, stringData: { token: "not-ours-to-hold" } } });
    await env.createApp("chart-s", { sourceRef: { kind: "GitRepository", name: "repo" }, path: "chart", render: { helm: { valuesFrom: [{ kind: "Secret", name: "secret-vals" }] } } });
    const first = await env.waitApp("chart-s", "rendered", rendered(head));
    assert.equal((await download(first.status!.render!.artifact!))[0]?.data?.greeting, "from-secret");
    await env.c.core.patchNamespacedSecret({ name: "secret-vals", namespace: ns, body: [{ op: "replace", path: "/data/values.yaml", value: Buffer.from("greeting: secret-changed\n").toString("base64") }] });
    const changed = await env.waitApp("chart-s", "new digest", (x) => x.status?.render?.artifact?.digest !== first.status?.render?.artifact?.digest);
    assert.equal((await download(changed.status!.render!.artifact!))[0]?.data?.greeting, "secret-changed");
    // What the cache holds of Secrets: names and digests, never data.
    const informers = [...(env.mgr.cache as unknown as { informers: Map<string, Informer> }).informers.values()].filter((i) => i.kind.kind === "Secret");
    assert.ok(informers.length > 0);
    for (const inf of informers) {
      const held = inf.store.list() as (KubeObject & { data?: unknown; dataDigest?: string })[];
      assert.ok(held.some((s) => s.metadata?.name === "unrelated"), "every Secret of the namespace is watched");
      for (const s of held) {
        assert.equal(s.data, undefined, `Secret ${s.metadata?.name} is held without its data`);
        assert.match(s.dataDigest ?? "", /^[a-f0-9]{64}$/);
      }
    }
  });

  void it("does no work and no write on a reconcile with nothing changed", async () => {
    await env.settled();
    const app = await env.getApp("plain");
    const renders = env.render.stats.renders;
    const writes = env.render.stats.statusWrites;
    const patches = await env.counter("rest_client_requests_total", { method: "PATCH" });
    const posts = await env.counter("rest_client_requests_total", { method: "POST" });
    const reconciles = await env.counter("controller_runtime_reconcile_total", { controller: "render" });
    await env.requestReconcile("Application", "plain");
    await waitFor("the render controller handled the request", async () => (await env.counter("controller_runtime_reconcile_total", { controller: "render" })) > reconciles, { timeoutMs: 20_000 });
    assert.equal(env.render.stats.renders, renders, "no render");
    assert.equal(env.render.stats.statusWrites, writes, "no status write");
    assert.equal(await env.counter("rest_client_requests_total", { method: "PATCH" }), patches, "no PATCH request");
    assert.equal(await env.counter("rest_client_requests_total", { method: "POST" }), posts, "no POST (event) request");
    const now = await env.getApp("plain");
    assert.deepEqual(now?.status, app?.status);
  });

  void it("re-renders on a push", async () => {
    await env.settled();
    const old = await env.getApp("plain");
    const kustBefore = await env.getApp("kust");
    const renders = env.render.stats.renders;
    const unchanged = env.render.stats.unchanged;
    const next = await repo.commit({ "plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  v: two\n" }, "v two");
    await env.requestReconcile("GitRepository", "repo");
    const plain = await env.waitApp("plain", "rendered at the new commit", rendered(next));
    assert.notEqual(plain.status?.render?.artifact?.digest, old?.status?.render?.artifact?.digest);
    assert.notEqual(plain.status?.source?.digest, old?.status?.source?.digest);
    const objs = await download(plain.status!.render!.artifact!);
    assert.equal(objs.find((o) => o.metadata.name === "plain")?.data?.v, "two");
    // The others follow the new revision too (their output is unchanged, their source revision is not).
    const kust = await env.waitApp("kust", "at the new commit", rendered(next));
    assert.equal(kust.status?.source?.revision, `main@sha1:${next}`);
    // The previous artifact is still served for a consumer mid-download (storage keeps two).
    assert.equal((await fetch(old!.status!.render!.artifact!.url)).status, 200);
    // Only plain read what changed: the others' renders stand (nothing they read differs), none is run again.
    for (const a of ["chart-a", "chart-b"]) await env.waitApp(a, "at the new commit", rendered(next));
    assert.equal(env.render.stats.renders - renders, 1, "one render: plain's");
    assert.ok(env.render.stats.unchanged - unchanged >= 3, "kust, chart-a and chart-b (and the Secret test's Application): unchanged, not rendered");
    assert.equal(kust.status?.render?.artifact?.digest, kustBefore?.status?.render?.artifact?.digest);
  });

  void it("renders again what a commit changed for it: a file it reads, a new file in a directory it lists, a file a kustomization starts to name", async () => {
    await env.settled();
    const digests = async () => Object.fromEntries(await Promise.all(["plain", "kust", "chart-a"].map(async (n) => [n, (await env.getApp(n))?.status?.render?.artifact?.digest])));
    const before = await digests();
    let renders = env.render.stats.renders;
    // A file kust reads changes; a file in plain/sub (which plain lists) appears; the chart is untouched.
    let next = await repo.commit({ "kust/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: c\n", "plain/sub/three.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-three\n" }, "kust and plain");
    await env.requestReconcile("GitRepository", "repo");
    for (const a of ["plain", "kust", "chart-a", "chart-b"]) await env.waitApp(a, "at the new commit", rendered(next));
    let after = await digests();
    assert.equal(env.render.stats.renders - renders, 2, "plain and kust rendered again");
    assert.notEqual(after.kust, before.kust);
    assert.notEqual(after.plain, before.plain);
    assert.ok((await download((await env.getApp("plain"))!.status!.render!.artifact!)).some((o) => o.metadata.name === "plain-three"));
    assert.equal(after["chart-a"], before["chart-a"]);
    // A file the kustomization did not read before (it did not exist) becomes one of its resources.
    renders = env.render.stats.renders;
    next = await repo.commit({ "kust/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n", "kust/kustomization.yaml": "resources:\n  - cm.yaml\n  - extra.yaml\nnamePrefix: k-\ncommonLabels:\n  tier: web\n" }, "kust grows");
    await env.requestReconcile("GitRepository", "repo");
    const kust = await env.waitApp("kust", "at the new commit", rendered(next));
    assert.ok((await download(kust.status!.render!.artifact!)).some((o) => o.metadata.name === "k-extra"));
    for (const a of ["plain", "chart-a", "chart-b"]) await env.waitApp(a, "at the new commit", rendered(next));
    assert.equal(env.render.stats.renders - renders, 1, "only kust");
    after = await digests();
    assert.equal(after.plain, (await digests()).plain);
  });

  void it("does not render again after a restart when nothing changed", async () => {
    await env.settled();
    const plain = await env.getApp("plain");
    await env.restart();
    // Every Application is reconciled once at start (the initial list).
    await waitFor("all Applications reconciled", async () => (await env.counter("controller_runtime_reconcile_total", { controller: "render" })) >= 4, { timeoutMs: 30_000 });
    await env.settled();
    assert.equal(env.render.stats.renders, 0, "answered from the render index on disk");
    assert.equal(env.render.stats.statusWrites, 0);
    assert.equal(env.render.sources.fetches, 0, "no source download either");
    assert.equal(await env.counter("rest_client_requests_total", { method: "PATCH" }), 0);
    assert.deepEqual((await env.getApp("plain"))?.status, plain?.status);
  });

  void it("removes the rendered artifacts of a deleted Application", async () => {
    const kust = await env.getApp("kust");
    const url = kust!.status!.render!.artifact!.url;
    assert.equal((await fetch(url)).status, 200);
    await env.custom.deleteNamespacedCustomObject({ ...A, namespace: env.ns.name, name: "kust" });
    await waitFor("the artifact gone", async () => (await fetch(url)).status === 404, { timeoutMs: 20_000 });
    assert.equal((await fetch((await env.getApp("plain"))!.status!.render!.artifact!.url)).status, 200, "others stay");
  });
});
