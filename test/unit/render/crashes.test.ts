// The render crash journal and gate (src/render/crashes.ts): markers left by another process count as attempts that
// never ended, only for the same input and limits; a suspect render runs alone.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { RenderCrashJournal, RenderGate } from "../../../src/render/crashes.js";

void describe("render crash journal", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  void it("counts renders another process never ended, per input and limits, and gives up at the second", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mooring-crashes-"));
    dirs.push(dir);
    const first = new RenderCrashJournal(dir);
    await first.begin("ns", "app", "k1", "heap=64Mi");
    assert.equal(await first.crashed("ns", "app", "k1", "heap=64Mi"), undefined, "this process's own render in progress is not a crash");
    // The process dies here. The next one sees the marker.
    const second = new RenderCrashJournal(dir);
    const c1 = await second.crashed("ns", "app", "k1", "heap=64Mi");
    assert.equal(c1?.attempts, 1);
    assert.equal(second.gaveUp(c1), false);
    assert.equal(await second.crashed("ns", "app", "k2", "heap=64Mi"), undefined, "another input");
    assert.equal(await second.crashed("ns", "app", "k1", "heap=128Mi"), undefined, "other limits: worth another try");
    assert.equal(await second.crashed("ns", "other", "k1", "heap=64Mi"), undefined, "another Application");
    await second.begin("ns", "app", "k1", "heap=64Mi");
    // Dies again.
    const third = new RenderCrashJournal(dir);
    const c2 = await third.crashed("ns", "app", "k1", "heap=64Mi");
    assert.equal(c2?.attempts, 2);
    assert.equal(third.gaveUp(c2), true);
    // A render that ends (any outcome) removes its marker.
    await third.begin("ns", "app", "k9", "heap=64Mi");
    await third.end("ns", "app");
    assert.equal(await new RenderCrashJournal(dir).crashed("ns", "app", "k9", "heap=64Mi"), undefined);
  });
});

void describe("render gate", () => {
  void it("runs ordinary renders together and a suspect alone, first come first served", async () => {
    const gate = new RenderGate();
    const log: string[] = [];
    let active = 0;
    let maxWithSuspect = 0;
    const job = (name: string, alone: boolean, ms: number) =>
      gate.run(alone, async () => {
        active++;
        log.push(`start ${name}`);
        if (alone) maxWithSuspect = Math.max(maxWithSuspect, active);
        await sleep(ms);
        if (alone) maxWithSuspect = Math.max(maxWithSuspect, active);
        active--;
        log.push(`end ${name}`);
      });
    await Promise.all([job("a", false, 30), job("b", false, 30), job("suspect", true, 30), job("c", false, 5)]);
    assert.equal(maxWithSuspect, 1, "nothing runs beside the suspect");
    assert.ok(log.indexOf("start suspect") > log.indexOf("end a") && log.indexOf("start suspect") > log.indexOf("end b"), log.join(", "));
    assert.ok(log.indexOf("start c") > log.indexOf("end suspect"), `c waits for the suspect queued before it: ${log.join(", ")}`);
    assert.ok(log.indexOf("start b") < log.indexOf("end a"), "ordinary renders overlap");
  });
});
