// Findings of the fault-injection suite (test/faults) reproduced without a cluster, so the fix is checked by
// `make unit`. Each is a todo until fixed (docs/reliability.md, "Bugs found and not fixed yet").
//
// Found when three operators ran side by side (make faults): the render controller's source cache lives in
// os.tmpdir()/mooring-render-cache (src/controllers.ts), shared by every operator process on the host; a process
// starting removes every `.tmp-*` entry there (SourceCache init), including the download another process is
// extracting; that extraction fails with ENOENT, which extractTarGz reports as a non-retryable SourceArtifactError, so
// the render controller remembers "ArtifactInvalid" for that input and the Application stayed SourceReady=False for
// the whole 120 s the test waited (until its input changes or the process restarts).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { SourceArtifactError, SourceCache, extractTarGz } from "../../../src/render/fetch.js";

void describe("fault findings: the render controller's source cache", () => {
  void it("an extraction that fails on a local I/O error (the file gone, a full disk) is retryable", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-finding-"));
    try {
      const err = await extractTarGz(path.join(dir, "gone.tar.gz"), path.join(dir, "tree")).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof SourceArtifactError, `a SourceArtifactError, not ${String(err)}`);
      assert.equal(err.retryable, true, err.message);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it("starting a source cache leaves another process's in-flight download alone", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mooring-finding-"));
    try {
      // Another process's download, in progress right now.
      const theirs = path.join(dir, ".tmp-0123456789abcdef.tar.gz");
      writeFileSync(theirs, "partial download");
      const cache = new SourceCache({ dir });
      // The first checkout initialises the cache (and then fails on the digest, which does not matter here).
      await cache.checkout("http://127.0.0.1:9/x.tar.gz", "not-a-digest").catch(() => {});
      assert.ok(existsSync(theirs), "the other process's temporary download was removed");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
