import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { render, renderIsolated, RenderError } from "../../../src/render/index.js";
import { DEFAULT_RENDER_WORKERS, closeRenderWorkers, renderWorkerStats, setRenderWorkers } from "../../../src/render/isolated.js";
import { writeTree } from "./tree.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/render");

void describe("rendering in a worker thread", () => {
  const t = writeTree({
    "Chart.yaml": "name: big\nversion: 1.0.0\n",
    "values.yaml": `items: [${Array.from({ length: 3000 }, (_, i) => i).join(", ")}]\n`,
    // 3,000 × 3,000 lines: hundreds of MB of output, from a few KB of input.
    "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n{{#each values.items}}{{#each @root.values.items}}  k{{@index}}: {{this}}\n{{/each}}{{/each}}",
  });
  after(() => t.cleanup());

  void it("gives the same objects and digest as rendering in-process", async () => {
    const opts = { helm: { releaseName: "shop" }, targetNamespace: "apps" };
    const dir = path.join(FIXTURES, "helm/webapp");
    const isolated = await renderIsolated(dir, "", opts);
    const direct = render(dir, "", opts);
    assert.equal(isolated.type, "helm");
    assert.equal(isolated.digest, direct.digest);
    assert.deepEqual(isolated.objects, direct.objects);
  });

  void it("passes RenderErrors back with file and line", async () => {
    await assert.rejects(
      renderIsolated(path.join(FIXTURES, "kustomize"), "", { type: "kustomize" }),
      (e: unknown) => e instanceof RenderError && e.file === "." && /no kustomization.yaml/.test(e.message) && e.message.startsWith(".: directory"),
    );
  });

  void it("stops a render that exceeds its memory limit", async () => {
    await assert.rejects(renderIsolated(t.dir, "", {}, { maxHeapMb: 32, timeoutMs: 120_000 }), (e: unknown) => e instanceof RenderError && /more than 32 MiB/.test(e.message));
  });

  void it("stops a render that exceeds its deadline", async () => {
    await assert.rejects(renderIsolated(t.dir, "", {}, { timeoutMs: 1 }), (e: unknown) => e instanceof RenderError && /longer than 1 ms/.test(e.message));
  });

  void it("takes cluster-scoped custom kinds as data", async () => {
    const t2 = writeTree({ "a.yaml": "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n" });
    try {
      const out = await renderIsolated(t2.dir, "", { targetNamespace: "team", clusterScopedKinds: ["example.com|Gadget"] });
      assert.deepEqual(
        out.objects.map((o) => o.metadata.namespace),
        [undefined, "team"],
      );
    } finally {
      t2.cleanup();
    }
  });

  void it("reuses a warm worker for renders of the same reuse key only, and never one that timed out or ran out of memory", async () => {
    await closeRenderWorkers();
    // Room for every key's worker: what is reused here is not decided by the bound (tested below).
    setRenderWorkers(8);
    const small = writeTree({ "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n" });
    try {
      const before = renderWorkerStats();
      const once = async (key: string | undefined) => (await renderIsolated(small.dir, "", {}, { reuseKey: key })).objects.length;
      assert.equal(await once("team-a"), 1);
      assert.equal(await once("team-a"), 1);
      let s = renderWorkerStats();
      assert.equal(s.started - before.started, 1, "the second render of team-a ran in the first one's worker");
      assert.equal(s.reused - before.reused, 1);
      assert.equal(s.idle, 1, "the worker waits, idle, for team-a's next render");
      assert.equal(await once("team-b"), 1);
      s = renderWorkerStats();
      assert.equal(s.started - before.started, 2, "another namespace never gets team-a's worker");
      assert.equal(await once(undefined), 1);
      assert.equal(renderWorkerStats().started - before.started, 3, "without a reuse key, a fresh worker");
      // A render error (the input's fault) leaves the worker usable; a deadline or the memory limit does not.
      await assert.rejects(renderIsolated(path.join(FIXTURES, "kustomize"), "", { type: "kustomize" }, { reuseKey: "team-a" }), RenderError);
      assert.equal(renderWorkerStats().reused - before.reused, 2);
      await assert.rejects(renderIsolated(t.dir, "", {}, { timeoutMs: 1, reuseKey: "team-a" }), /longer than 1 ms/);
      await assert.rejects(renderIsolated(t.dir, "", {}, { maxHeapMb: 32, timeoutMs: 120_000, reuseKey: "team-c" }), /more than 32 MiB/);
      const mid = renderWorkerStats();
      assert.equal(await once("team-c"), 1);
      assert.equal(renderWorkerStats().started - mid.started, 1, "the worker that ran out of memory was not reused");
      assert.equal(await once("team-a"), 1);
      assert.equal(renderWorkerStats().started - mid.started, 2, "the worker stopped at its deadline was not reused");
    } finally {
      small.cleanup();
      await closeRenderWorkers();
      setRenderWorkers(DEFAULT_RENDER_WORKERS);
    }
    assert.equal(renderWorkerStats().idle, 0);
  });

  void it("keeps at most --render-workers workers alive, busy or idle: more renders wait, an idle one of another key is retired", async () => {
    await closeRenderWorkers();
    setRenderWorkers(2);
    const small = writeTree({ "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n" });
    try {
      const before = renderWorkerStats();
      let most = 0;
      const watch = setInterval(() => (most = Math.max(most, renderWorkerStats().live)), 1);
      const outs = await Promise.all(["t1", "t2", "t3", "t4", "t1", "t2"].map((key) => renderIsolated(small.dir, "", {}, { reuseKey: key })));
      clearInterval(watch);
      assert.deepEqual(outs.map((o) => o.objects.length), [1, 1, 1, 1, 1, 1]);
      const s = renderWorkerStats();
      assert.ok(s.live <= 2 && most <= 2, `at most 2 workers alive (saw ${most}, now ${s.live})`);
      assert.ok(s.waited - before.waited >= 4, `six renders at once on two workers: four waited (${s.waited - before.waited})`);
      assert.equal(s.idle, s.live, "when all are done, the workers alive are idle ones");
      // Two keys parked; a third key retires the longest-idle one instead of starting a third worker.
      const keys = async (k: string) => (await renderIsolated(small.dir, "", {}, { reuseKey: k })).objects.length;
      await closeRenderWorkers();
      await keys("a");
      await keys("b");
      assert.equal(renderWorkerStats().live, 2);
      const mid = renderWorkerStats();
      await keys("c");
      assert.equal(renderWorkerStats().live, 2, "still two alive: c's worker replaced an idle one");
      assert.equal(renderWorkerStats().started - mid.started, 1);
      await keys("b");
      assert.equal(renderWorkerStats().reused - mid.reused, 1, "b's worker was kept (a, idle longest, was retired)");
      await keys("a");
      assert.equal(renderWorkerStats().started - mid.started, 2, "a's worker was the one retired: a starts a new one");
    } finally {
      small.cleanup();
      await closeRenderWorkers();
      setRenderWorkers(DEFAULT_RENDER_WORKERS);
    }
    assert.equal(renderWorkerStats().live, 0);
  });
});
