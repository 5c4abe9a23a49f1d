// The render worker's side of the protocol (src/render/isolated-worker.ts), spoken to directly over a real worker
// thread: each request is rendered and answered, in order, by one worker that outlives failures; a result carries
// only what crosses threads (no class instances), a RenderError its fields, any other error a plain message; and the
// cluster-scoped kinds arrive as data and become the render's scope resolver.
import assert from "node:assert/strict";
import { once } from "node:events";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { render } from "../../../src/render/index.js";
import type { WorkerReply, WorkerRequest } from "../../../src/render/isolated.js";
import { writeTree, type Tree } from "./tree.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/render");
const WORKER = new URL("../../../src/render/isolated-worker.ts", import.meta.url).href;

/** The worker as renderIsolated starts it under tsx: worker threads do not inherit tsx's loader, so register it first. */
function startWorker(): Worker {
  const bootstrap = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(WORKER)}); });`;
  return new Worker(bootstrap, { eval: true });
}

async function ask(worker: Worker, req: WorkerRequest): Promise<WorkerReply> {
  worker.postMessage(req);
  const [reply] = (await once(worker, "message")) as [WorkerReply];
  return reply;
}

function ok(reply: WorkerReply): Extract<WorkerReply, { ok: true }>["result"] {
  assert.ok(reply.ok, `a result, not ${JSON.stringify(reply)}`);
  return reply.result;
}

const CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n";

void describe("the render worker", () => {
  let worker: Worker;
  let tree: Tree;
  before(() => {
    worker = startWorker();
    tree = writeTree({
      "plain/cm.yaml": CM,
      "bad/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n",
      "kinds/all.yaml": [
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n",
      ].join("---\n"),
    });
  });
  after(async () => {
    tree.cleanup();
    await worker.terminate();
  });

  void it("answers a render with the objects, digest and type, as an in-process render gives them; nothing else", async () => {
    const out = ok(await ask(worker, { rootDir: tree.dir, path: "plain", opts: { targetNamespace: "apps" } }));
    const direct = render(tree.dir, "plain", { targetNamespace: "apps" });
    assert.deepEqual(Object.keys(out).sort(), ["digest", "objects", "type"], "no engine or reads unless there are some");
    assert.equal(out.type, "plain");
    assert.equal(out.digest, direct.digest);
    assert.deepEqual(out.objects, direct.objects);
  });

  void it("adds what the render read when traced, and a chart's template engine", async () => {
    const traced = ok(await ask(worker, { rootDir: tree.dir, path: "plain", opts: { traceReads: true } }));
    assert.ok(traced.reads, "reads returned");
    assert.ok(Object.keys(traced.reads).some((k) => k.includes("cm.yaml")), `cm.yaml among the reads: ${Object.keys(traced.reads).join(", ")}`);
    const chart = ok(await ask(worker, { rootDir: path.join(FIXTURES, "helm/webapp"), path: "", opts: { helm: { releaseName: "shop" } } }));
    assert.equal(chart.type, "helm");
    assert.equal(chart.engine, "handlebars");
    assert.ok(chart.objects.length > 0);
  });

  void it("makes the listed kinds cluster-scoped; other unknown kinds are namespaced, built-in ones keep their scope", async () => {
    const out = ok(await ask(worker, { rootDir: tree.dir, path: "kinds", opts: { targetNamespace: "team", clusterScopedKinds: ["example.com|Gadget"] } }));
    assert.deepEqual(
      out.objects.map((o) => [o.kind, o.metadata.namespace]),
      [
        ["Gadget", undefined],
        ["Widget", "team"],
        ["ClusterRole", undefined],
      ],
    );
  });

  void it("answers a RenderError with its fields, and keeps serving", async () => {
    const reply = await ask(worker, { rootDir: tree.dir, path: "bad", opts: {} });
    assert.equal(reply.ok, false);
    assert.ok(!reply.ok && reply.renderError);
    assert.equal(reply.file, "bad/cm.yaml");
    assert.equal(typeof reply.line, "number");
    assert.ok(reply.message.startsWith(`bad/cm.yaml:${reply.line}: `), `the full message, location first: ${reply.message}`);
    assert.equal(ok(await ask(worker, { rootDir: tree.dir, path: "plain", opts: {} })).objects.length, 1, "the same worker renders the next request");
  });

  void it("answers any other error as a message, not a RenderError, and keeps serving", async () => {
    const reply = await ask(worker, { rootDir: tree.dir, path: "plain", opts: null as unknown as WorkerRequest["opts"] });
    assert.deepEqual(Object.keys(reply).sort(), ["message", "ok", "renderError"]);
    assert.ok(!reply.ok && !reply.renderError);
    assert.match(reply.message, /null/);
    assert.equal(ok(await ask(worker, { rootDir: tree.dir, path: "plain", opts: {} })).type, "plain");
  });

  void it("answers requests in the order they were sent", async () => {
    const replies: WorkerReply[] = [];
    const onMessage = (r: WorkerReply) => replies.push(r);
    worker.on("message", onMessage);
    try {
      worker.postMessage({ rootDir: tree.dir, path: "bad", opts: {} } satisfies WorkerRequest);
      worker.postMessage({ rootDir: tree.dir, path: "plain", opts: {} } satisfies WorkerRequest);
      worker.postMessage({ rootDir: tree.dir, path: "kinds", opts: {} } satisfies WorkerRequest);
      while (replies.length < 3) await once(worker, "message");
    } finally {
      worker.off("message", onMessage);
    }
    assert.deepEqual(
      replies.map((r) => (r.ok ? r.result.objects.length : "error")),
      ["error", 1, 3],
    );
  });
});
