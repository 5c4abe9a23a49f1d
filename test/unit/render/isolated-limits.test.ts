// The limits a render worker runs under, derived from its heap (src/render/isolated.ts): V8's generations within the
// heap, the renderer's file, total and output limits, and a Go-template chart's helm run held to the same memory.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { heapSplit, limitsForHeap, workerOptions } from "../../../src/render/isolated.js";
import { DEFAULT_LIMITS } from "../../../src/render/limits.js";

const MiB = 1024 * 1024;

void describe("render worker limits", () => {
  void it("splits the heap between V8's generations without exceeding it", () => {
    for (const heap of [32, 64, 157, 512, 2048]) {
      const s = heapSplit(heap);
      assert.ok(s.maxOldGenerationSizeMb + s.maxYoungGenerationSizeMb <= Math.max(heap, 20), `${heap}: ${JSON.stringify(s)}`);
      assert.ok(s.maxYoungGenerationSizeMb >= 4 && s.maxYoungGenerationSizeMb <= 32);
    }
  });

  void it("derives the renderer's limits from the heap, never above its defaults", () => {
    assert.deepEqual(limitsForHeap(512), { maxFileBytes: DEFAULT_LIMITS.maxFileBytes, maxTotalBytes: DEFAULT_LIMITS.maxTotalBytes, maxOutputBytes: DEFAULT_LIMITS.maxOutputBytes });
    assert.deepEqual(limitsForHeap(64), { maxFileBytes: 8 * MiB, maxTotalBytes: 32 * MiB, maxOutputBytes: 16 * MiB });
    assert.equal(limitsForHeap(157, 25 * MiB).maxOutputBytes, 25 * MiB, "--max-rendered-size wins when given");
  });

  void it("gives a Go-template chart's helm run the worker's memory unless the options set one, and keeps explicit limits", () => {
    const o = workerOptions({ helm: { releaseName: "r" }, limits: { maxFileBytes: 1234 } }, 157);
    assert.equal(o.helm?.maxMemoryMb, 157);
    assert.equal(o.limits?.maxFileBytes, 1234);
    assert.equal(o.limits?.maxOutputBytes, Math.floor((157 * MiB) / 4));
    assert.equal(workerOptions({ helm: { maxMemoryMb: 300 } }, 157).helm?.maxMemoryMb, 300);
    assert.equal(workerOptions({}, 157).helm, undefined, "no helm options added to other renders");
  });
});
