// Rendered artifacts an Application's history names are kept past the storage's `keep`; the others are collected.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, utimes } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ArtifactStorage } from "../../../src/artifact/storage.js";
import { historyDigests } from "../../../src/render/render-step.js";

const key = { kind: "Application", namespace: "team-a", name: "web" };
const digestOf = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
async function* one(s: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(s);
}

void describe("ArtifactStorage retain", () => {
  let root = "";
  after(() => rm(root, { recursive: true, force: true }));

  void it("keeps the newest `keep` and every retained digest; deletes the rest", async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "mooring-retain-"));
    const s = new ArtifactStorage({ root, keep: 2 });
    await s.init();
    const paths: string[] = [];
    for (let i = 0; i < 5; i++) {
      const stored = await s.write(key, one(`render ${i}`), ".json", { retain: new Set([digestOf("render 0"), digestOf("render 1")]) });
      // Distinct modification times: "newest" is by mtime.
      await utimes(s.absolute(stored.path), 1_000 + i, 1_000 + i);
      paths.push(stored.path);
    }
    const left = new Set(await s.list(key));
    // render 0 and 1: retained (history); 3 and 4: the newest two; 2: neither, deleted.
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => left.has(paths[i]!)), [true, true, false, true, true]);
    // Without the history naming them, the next write collects them.
    await s.write(key, one("render 5"), ".json", { retain: new Set() });
    assert.equal((await s.list(key)).length, 2);
  });

  void it("reads the retained digests from status.history and status.rollback", () => {
    const got = historyDigests({ status: { history: [{ digest: "sha256:a", revision: "r", startedAt: "t", phase: "Succeeded", initiatedBy: "auto" }, { revision: "r", startedAt: "t", phase: "Failed", initiatedBy: "auto" }], rollback: { digest: "sha256:b", requestedAt: "t", revision: "r", until: "resume", phase: "Succeeded" } } });
    assert.deepEqual([...got].sort(), ["sha256:a", "sha256:b"]);
  });
});
