// A new commit reconciles the Applications it changed first (src/render/changed-first.ts): the reads of each
// Application's last render (as the real renderer records them) replayed against the new tree decide the order.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { changedFirst, orderedEnqueue, type AppRequest, type Prioritized } from "../../../src/render/changed-first.js";
import { Priority } from "../../../src/runtime/index.js";
import { render, resolveLimits } from "../../../src/render/index.js";
import type { Memo } from "../../../src/render/memo.js";
import { writeTree } from "./tree.js";

const app = (i: number) => `apps/app-${i}/cm.yaml`;
const cm = (i: number, v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-${i}\ndata:\n  v: "${v}"\n`;
const req = (i: number): AppRequest => ({ namespace: "team", name: `app-${i}` });
const named = (p: Prioritized) => `${p.req.name}:${p.priority}`;
/** What changedFirst emits, in order. */
async function collect(...a: [AppRequest[], Parameters<typeof changedFirst>[1], Parameters<typeof changedFirst>[2]]): Promise<Prioritized[]> {
  const out: Prioritized[] = [];
  await changedFirst(...a, (p) => out.push(p));
  return out;
}

void describe("changed first", () => {
  void it("puts the Applications whose reads the new tree answers differently first, then unknown ones, keeping each group's order", async () => {
    const before = writeTree({ [app(0)]: cm(0, "a"), [app(1)]: cm(1, "a"), [app(2)]: cm(2, "a"), [app(3)]: cm(3, "a") });
    const after = writeTree({ [app(0)]: cm(0, "a"), [app(1)]: cm(1, "a"), [app(2)]: cm(2, "b"), [app(3)]: cm(3, "a") });
    try {
      const memos = new Map<string, Memo>();
      for (const i of [0, 1, 2]) {
        const out = render(before.dir, `apps/app-${i}`, { traceReads: true });
        memos.set(`app-${i}`, { key: "k", ok: true, path: "p", digest: out.digest, size: 1, objects: 1, type: out.type, reads: out.reads! });
      }
      // app-3 has no memo (never rendered here): it may have changed, so it goes with the changed ones.
      let released = 0;
      const d = {
        memory: { load: async (_ns: string, name: string) => memos.get(name) },
        sources: { checkout: async () => ({ dir: after.dir, release: () => void released++ }) },
        replayLimits: resolveLimits({}),
      };
      const order = await collect([0, 1, 2, 3].map(req), { url: "http://artifacts/x.tar.gz", digest: "sha256:1" }, d as never);
      assert.deepEqual(order.map((r) => r.req.name), ["app-2", "app-3", "app-0", "app-1"]);
      // The changed (or unknown) ones at normal priority, the unchanged at low: the work queue hands out normal first.
      assert.deepEqual(order.map((r) => r.priority), [Priority.normal, Priority.normal, Priority.low, Priority.low]);
      assert.equal(released, 1, "the checkout is released");
      // A checkout that fails, or no artifact: the order is kept.
      const failing = { ...d, sources: { checkout: async () => Promise.reject(new Error("artifact server down")) } };
      const kept = ["app-0", "app-1", "app-2"].map((name) => `${name}:${Priority.normal}`);
      assert.deepEqual((await collect([0, 1, 2].map(req), { url: "u", digest: "d" }, failing as never)).map(named), kept);
      assert.deepEqual((await collect([0, 1, 2].map(req), undefined, d as never)).map(named), kept);
      // A file the render read that is now gone counts as changed.
      writeFileSync(path.join(after.dir, app(2)), cm(2, "a"));
      rmSync(path.join(after.dir, app(1)));
      assert.deepEqual((await collect([0, 1, 2].map(req), { url: "u", digest: "d" }, d as never)).map((r) => r.req.name), ["app-1", "app-0", "app-2"]);
    } finally {
      before.cleanup();
      after.cleanup();
    }
  });

  void it("emits a changed Application as soon as it is known, before the others are looked at; a memo that cannot be read makes the rest normal", async () => {
    const tree = writeTree({ [app(0)]: cm(0, "a") });
    try {
      const emitted: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const d = {
        // app-0 has no memo (changed); app-1's memo is slow to read; app-2's cannot be read.
        memory: {
          load: async (_ns: string, name: string) => {
            if (name === "app-1") await gate;
            if (name === "app-2") throw new Error("memo unreadable");
            return undefined;
          },
        },
        sources: { checkout: async () => ({ dir: tree.dir, release: () => {} }) },
        replayLimits: resolveLimits({}),
      };
      const done = changedFirst([0, 1, 2, 3].map(req), { url: "u", digest: "d" }, d as never, (p) => emitted.push(named(p)));
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(emitted, [`app-0:${Priority.normal}`], "app-0 is queued while app-1 is still being looked at");
      release();
      await done;
      assert.deepEqual(emitted, [0, 1, 2, 3].map((i) => `app-${i}:${Priority.normal}`));
    } finally {
      tree.cleanup();
    }
  });

  void it("coalesces the old and new object of one update into one ordering of the newest, and enqueues in its order", async () => {
    const enqueued: string[] = [];
    const seen: string[] = [];
    const map = orderedEnqueue<{ key: string; rev: string }>(
      (o) => o.key,
      (o) => {
        seen.push(o.rev);
        const ordered = o.rev === "new" ? [{ req: req(1), priority: Priority.normal }, { req: req(0), priority: Priority.low }] : [];
        return { reqs: [req(0), req(1)], ordered: async (emit: (p: Prioritized) => void) => ordered.forEach(emit) };
      },
      (r, priority) => enqueued.push(`${r.name}:${priority}`),
    );
    assert.deepEqual(map({ key: "team/src", rev: "old" }), [], "the map enqueues later, itself");
    map({ key: "team/src", rev: "new" });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ["new"]);
    assert.deepEqual(enqueued, [`app-1:${Priority.normal}`, `app-0:${Priority.low}`]);
    // An ordering that fails enqueues everything in the given order.
    const enq2: string[] = [];
    const map2 = orderedEnqueue<{ key: string }>((o) => o.key, () => ({
        reqs: [req(0), req(1)],
        ordered: async (emit: (p: Prioritized) => void) => {
          emit({ req: req(1), priority: Priority.normal });
          throw new Error("boom");
        },
      }), (r, priority) => enq2.push(`${r.name}:${priority}`));
    map2({ key: "k" });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(enq2, [`app-1:${Priority.normal}`, `app-0:${Priority.normal}`], "what was emitted, then the rest at normal");
  });
});
