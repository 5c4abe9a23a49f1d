// The render controller when things go wrong, on the real cluster: a missing GitRepository, a missing values
// ConfigMap, a cross-namespace source (refused by default), a chart whose `required` value is missing, and broken
// YAML pushed over a good render (Rendered=False naming file and line, the last good artifact kept, an event), then
// fixed; values from Secrets masked in failure messages and events (src/render/redact.ts). Each recovers as soon as the cause is gone, through the watches alone.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import type { TestRepo } from "../../support/git-server.js";
import { waitFor } from "../../support/wait.js";
import { cond, download, RenderEnv, type App } from "./harness.js";

let env: RenderEnv;
let repo: TestRepo;
let head: string;

const PASSWORD = "hunter2-integration-s3cret";
const SUFFIX = "suffix-from-a-secret";
const rendered = (rev: string) => (a: App) => cond(a, "Rendered")?.status === "True" && a.status?.render?.artifact?.revision === `main@sha1:${rev}`;

before(async () => {
  env = await RenderEnv.start("rctlf");
  repo = await env.git.createRepo("app", {
    files: {
      "plain/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  v: one\n",
      "chart/Chart.yaml": "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
      "chart/values.yaml": "greeting: hello\n",
      "chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  greeting: {{quote values.greeting}}\n",
      "strict/Chart.yaml": "apiVersion: v2\nname: strict\nversion: 0.1.0\n",
      "strict/values.yaml": "{}\n",
      "strict/templates/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndata:\n  host: {{required "values.host is required" values.host}}\n',
      // A Go-template chart that fails quoting values (from a Secret), and two objects a Secret's variable names alike.
      "leaky/Chart.yaml": "apiVersion: v2\nname: leaky\nversion: 0.1.0\n",
      "leaky/templates/cm.yaml":
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaky\ndata:\n  a: {{ fail (printf "cannot reach the database as %s with password %s" .Values.user .Values.db.password) }}\n',
      "subst/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${suffix}\n",
      "subst/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${suffix}\n",
    },
  });
  head = await repo.head();
});

after(async () => {
  await env?.close();
});

void describe("render controller failures", () => {
  void it("reports a missing GitRepository in SourceReady and recovers when it appears", async () => {
    await env.createApp("early", { sourceRef: { kind: "GitRepository", name: "later" }, path: "plain" });
    const a = await env.waitApp("early", "SourceReady=False", (x) => cond(x, "SourceReady")?.status === "False");
    assert.equal(cond(a, "SourceReady")?.reason, "SourceNotFound");
    assert.match(cond(a, "SourceReady")!.message, new RegExp(`GitRepository ${env.ns.name}/later .*does not exist`));
    assert.equal(a.status?.render, undefined);
    await env.createGitRepository("later", repo.url);
    const ok = await env.waitApp("early", "rendered", rendered(head));
    assert.equal(cond(ok, "SourceReady")?.status, "True");
    assert.equal((await download(ok.status!.render!.artifact!))[0]?.metadata.name, "plain");
  });

  void it("refuses a source in another namespace by default, naming the field and the flag", async () => {
    await env.createApp("elsewhere", { sourceRef: { kind: "GitRepository", name: "later", namespace: "default" }, path: "plain" });
    const a = await env.waitApp("elsewhere", "SourceReady=False", (x) => cond(x, "SourceReady")?.status === "False");
    assert.equal(cond(a, "SourceReady")?.reason, "CrossNamespaceRefForbidden");
    assert.match(cond(a, "SourceReady")!.message, /spec\.sourceRef\.namespace names GitRepository default\/later/);
    assert.match(cond(a, "SourceReady")!.message, /--allow-cross-namespace-refs/);
  });

  void it("waits for a missing valuesFrom ConfigMap and renders when it is created", async () => {
    await env.createApp("vals", { sourceRef: { kind: "GitRepository", name: "later" }, path: "chart", render: { helm: { valuesFrom: [{ kind: "ConfigMap", name: "greeting" }] } } });
    const a = await env.waitApp("vals", "Rendered=False", (x) => cond(x, "Rendered")?.status === "False");
    assert.equal(cond(a, "Rendered")?.reason, "ValuesNotFound");
    assert.match(cond(a, "Rendered")!.message, /ConfigMap .*\/greeting .*does not exist/);
    await env.c.core.createNamespacedConfigMap({ namespace: env.ns.name, body: { metadata: { name: "greeting" }, data: { "values.yaml": "greeting: hi\n" } } });
    const ok = await env.waitApp("vals", "rendered", rendered(head));
    assert.equal((await download(ok.status!.render!.artifact!))[0]?.data?.greeting, "hi");
  });

  void it("names the template when a required chart value is missing", async () => {
    await env.createApp("strict", { sourceRef: { kind: "GitRepository", name: "later" }, path: "strict" });
    const a = await env.waitApp("strict", "Rendered=False", (x) => cond(x, "Rendered")?.status === "False");
    assert.equal(cond(a, "Rendered")?.reason, "RenderFailed");
    assert.match(cond(a, "Rendered")!.message, /strict\/templates\/cm\.yaml/);
    assert.match(cond(a, "Rendered")!.message, /values\.host is required/);
    assert.equal(cond(a, "SourceReady")?.status, "True");
  });

  void it("masks the values of Secrets in a failed render's Rendered message and events (a chart's fail, a duplicate name from substituteFrom)", async () => {
    const ns = env.ns.name;
    await env.c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "db-values" }, stringData: { "values.yaml": `user: app\ndb:\n  password: ${PASSWORD}\n` } } });
    await env.c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "subst-vars" }, stringData: { suffix: SUFFIX } } });
    await env.createApp("leaky", { sourceRef: { kind: "GitRepository", name: "later" }, path: "leaky", render: { helm: { valuesFrom: [{ kind: "Secret", name: "db-values" }] } } });
    await env.createApp("subst", { sourceRef: { kind: "GitRepository", name: "later" }, path: "subst", render: { substituteFrom: [{ kind: "Secret", name: "subst-vars" }] } });
    const leaky = cond(await env.waitApp("leaky", "Rendered=False", (x) => cond(x, "Rendered")?.status === "False"), "Rendered")!;
    assert.equal(leaky.reason, "RenderFailed");
    assert.equal(leaky.message, "leaky/templates/cm.yaml:6: the chart failed the render: cannot reach the database as app with password ***");
    const subst = cond(await env.waitApp("subst", "Rendered=False", (x) => cond(x, "Rendered")?.status === "False"), "Rendered")!;
    assert.equal(subst.reason, "RenderFailed");
    assert.match(subst.message, /duplicate object .*cm-\*\*\*/);
    const events = env.c.kc.makeApiClient(k8s.EventsV1Api);
    const notes = await waitFor("RenderFailed events of both", async () => {
      const list = (await events.listNamespacedEvent({ namespace: ns })).items.filter((e) => (e.regarding?.name === "leaky" || e.regarding?.name === "subst") && e.reason === "RenderFailed");
      return new Set(list.map((e) => e.regarding?.name)).size === 2 ? list.map((e) => e.note ?? "") : undefined;
    }, { timeoutMs: 20_000 });
    assert.ok(notes.some((n) => n.includes("with password ***")), notes.join("\n"));
    const shown = JSON.stringify([await env.getApp("leaky"), await env.getApp("subst"), (await events.listNamespacedEvent({ namespace: ns })).items]);
    for (const secret of [PASSWORD, SUFFIX]) assert.ok(!shown.includes(secret), `${secret} shows in status or events`);
  });

  void it("keeps the last good artifact on broken YAML, says where, records an event, and recovers on a fix", async () => {
    const good = await env.getApp("early");
    const goodArtifact = good!.status!.render!.artifact!;
    const renders = env.render.stats.renders;
    const broken = await repo.commit({ "plain/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n" }, "broken");
    await env.requestReconcile("GitRepository", "later");
    const a = await env.waitApp("early", "Rendered=False", (x) => cond(x, "Rendered")?.status === "False");
    const c = cond(a, "Rendered")!;
    assert.equal(c.reason, "RenderFailed");
    assert.match(c.message, /plain\/bad\.yaml:\d+/, c.message);
    assert.deepEqual(a.status?.render?.artifact, goodArtifact, "the last good artifact stays in status");
    assert.equal(a.status?.source?.revision, `main@sha1:${head}`, "status.source is the source of the artifact in status");
    assert.equal((await download(goodArtifact))[0]?.metadata.name, "plain", "and is still served");
    const events = env.c.kc.makeApiClient(k8s.EventsV1Api);
    await waitFor("a RenderFailed event", async () => {
      const list = await events.listNamespacedEvent({ namespace: env.ns.name });
      return list.items.find((e) => e.regarding?.name === "early" && e.reason === "RenderFailed" && e.type === "Warning" && /bad\.yaml/.test(e.note ?? ""));
    }, { timeoutMs: 20_000 });

    // The same broken input is not rendered again by a reconcile request.
    await env.settled();
    const after = env.render.stats.renders;
    assert.ok(after > renders);
    const reconciles = await env.counter("controller_runtime_reconcile_total", { controller: "render" });
    await env.requestReconcile("Application", "early");
    await waitFor("the request handled", async () => (await env.counter("controller_runtime_reconcile_total", { controller: "render" })) > reconciles, { timeoutMs: 20_000 });
    assert.equal(env.render.stats.renders, after);

    const fixed = await repo.commit({ "plain/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fixed\n" }, "fixed");
    assert.notEqual(fixed, broken);
    await env.requestReconcile("GitRepository", "later");
    const ok = await env.waitApp("early", "rendered at the fix", rendered(fixed));
    assert.equal(cond(ok, "Rendered")?.reason, "Succeeded");
    assert.deepEqual((await download(ok.status!.render!.artifact!)).map((o) => o.metadata.name).sort(), ["fixed", "plain"]);
  });
});
