// The limits the chart passes (templates/_limits.tpl) add up: for the default values and for others, what every
// controller may hold at once, worst case, fits its container's memory limit, what it writes to /tmp fits the tmp
// emptyDir, and the artifact storage stays under its volume's sizeLimit, as the operator's own flag parser reads the
// flags (a flag the chart does not set counts at the binary's default). The model (docs/install.md, "Limits"): per
// render worker alive (--render-workers, at most concurrency), its heap and a Go-template chart's helm run (as much:
// src/render/isolated.ts); per concurrent reconcile, the render's result (about four times the rendered size:
// copied, parsed, serialized), four git objects per
// fetch, four times the rendered size per artifact download by the apply controller; 64Mi for the process itself. On disk: concurrency+1 packs per fetch limit in /tmp, and
// renderKeepSources + 2 × concurrency extracted sources (and downloads) for the render controller.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseOperatorArgs, type OperatorConfig } from "../../../src/config.js";
import { CHART_DIR, renderChart, runHelm, type K8sObject } from "../../support/helm.js";

const MiB = 1024 * 1024;
const PROCESS = 64 * MiB;

function bytes(q: string | number): number {
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  assert.ok(m, `cannot read quantity ${q}`);
  const unit = { Ki: 1024, Mi: MiB, Gi: 1024 * MiB, Ti: 1024 * 1024 * MiB, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ""] ?? 1;
  return Number(m[1]) * unit;
}

interface Container { args: string[]; resources?: { limits?: { memory?: string } }; volumeMounts?: { name: string; mountPath: string }[] }
interface Volume { name: string; emptyDir?: { sizeLimit?: string; medium?: string } }
const spec = (d: K8sObject) => (d.spec as { template: { spec: { containers: Container[]; volumes: Volume[] } } }).template.spec;

interface Workload {
  name: string;
  cfg: OperatorConfig;
  memory?: number;
  tmp: number;
  storage?: { size: number; medium?: string };
}

function workloads(objs: K8sObject[]): Workload[] {
  return objs
    .filter((o) => o.kind === "Deployment")
    .map((d) => {
      const c = spec(d).containers[0]!;
      const vol = (mount: string) => spec(d).volumes.find((v) => v.name === c.volumeMounts?.find((m) => m.mountPath === mount)?.name)?.emptyDir;
      const data = vol("/data");
      return {
        name: d.metadata.name,
        cfg: parseOperatorArgs(c.args.slice(1)),
        ...(c.resources?.limits?.memory ? { memory: bytes(c.resources.limits.memory) } : {}),
        tmp: bytes(vol("/tmp")!.sizeLimit!),
        ...(data ? { storage: { size: bytes(data.sizeLimit!), ...(data.medium ? { medium: data.medium } : {}) } } : {}),
      };
    });
}

/** Checks every sum for a rendered chart; returns what it computed, for messages. */
function assertFits(objs: K8sObject[]): string[] {
  const ws = workloads(objs);
  assert.ok(ws.length > 0);
  const render = ws.find((w) => w.cfg.controllers.includes("render"));
  const report: string[] = [];
  for (const w of ws) {
    const { cfg } = w;
    const has = (c: string) => cfg.controllers.includes(c as "source");
    const C = cfg.concurrency;
    // The rendered size an apply controller downloads is bounded by the render controller that produced it.
    const rendered = (render ?? w).cfg.maxRenderedBytes!;
    const perReconcile = (has("render") ? 4 * cfg.maxRenderedBytes! : 0) + (has("source") ? 4 * cfg.maxObjectBytes! : 0) + (has("apply") ? 4 * rendered : 0);
    // Render workers alive at once (busy or idle): at most --render-workers, and never more than the reconciles.
    const workers = has("render") ? Math.min(cfg.renderWorkers!, C) : 0;
    const memoryNeeded = PROCESS + C * perReconcile + workers * 2 * cfg.renderWorkerHeapBytes!;
    if (w.memory !== undefined) {
      const inMemoryStorage = w.storage?.medium === "Memory" ? w.storage.size : 0;
      assert.ok(memoryNeeded <= w.memory - inMemoryStorage, `${w.name}: worst case ${memoryNeeded / MiB} MiB of memory does not fit its limit of ${w.memory / MiB} MiB (less ${inMemoryStorage / MiB} MiB of in-memory storage)`);
      report.push(`${w.name}: memory ${Math.round(memoryNeeded / MiB)}/${(w.memory - inMemoryStorage) / MiB} MiB`);
    }
    const tmpNeeded = (has("source") ? (C + 1) * cfg.maxSourceBytes! : 0) + (has("render") ? (cfg.renderKeepSources! + 2 * C) * cfg.maxExtractedBytes! : 0);
    assert.ok(tmpNeeded <= w.tmp, `${w.name}: worst case ${tmpNeeded / MiB} MiB in /tmp does not fit its sizeLimit of ${w.tmp / MiB} MiB`);
    report.push(`${w.name}: /tmp ${Math.round(tmpNeeded / MiB)}/${w.tmp / MiB} MiB`);
    if (w.storage) {
      assert.ok(cfg.maxStorageBytes !== undefined && cfg.maxStorageBytes < w.storage.size, `${w.name}: artifact storage limited (${cfg.maxStorageBytes}) under its volume's ${w.storage.size}`);
    }
    // The object limit is far below the memory: a pack bomb is refused by its size, it never fills the container.
    if (has("source") && w.memory !== undefined) assert.ok(cfg.maxObjectBytes! * 8 <= w.memory, `${w.name}: --max-object-size ${cfg.maxObjectBytes! / MiB} MiB is not far below ${w.memory / MiB} MiB`);
  }
  return report;
}

const CASES: { name: string; set?: Record<string, string | number | boolean>; json?: string[] }[] = [
  { name: "the default values (split)" },
  { name: "all-in-one", set: { mode: "all-in-one" } },
  { name: "concurrency 1", set: { concurrency: 1 } },
  { name: "one render worker", set: { renderWorkers: 1 } },
  { name: "more render workers than reconciles", set: { renderWorkers: 6, concurrency: 3 } },
  { name: "concurrency 8, all-in-one with 4Gi", set: { concurrency: 8, mode: "all-in-one", "allInOne.resources.limits.memory": "4Gi" } },
  { name: "a small render controller (512Mi) and /tmp (256Mi)", set: { "controllers.render.resources.limits.memory": "512Mi", "tmp.sizeLimit": "256Mi" } },
  { name: "decimal units and more sources kept", set: { "controllers.source.resources.limits.memory": "1G", "controllers.apply.resources.limits.memory": "0.75Gi", "tmp.sizeLimit": "3G", "limits.renderKeepSources": 10 } },
  { name: "artifact storage in memory", set: { mode: "all-in-one", "storage.medium": "Memory", "storage.sizeLimit": "512Mi", "allInOne.resources.limits.memory": "3Gi" } },
  { name: "a render controller without a memory limit", json: ["--set-json", "controllers.render.resources.limits.memory=null"] },
];

void describe("chart: limits fit the containers", () => {
  for (const c of CASES) {
    void it(`for ${c.name}`, () => {
      const objs = renderChart(c.set ?? {}, { extraArgs: c.json ?? [] });
      assertFits(objs);
    });
  }

  void it("bounds the rendered size by the apply controller's memory even when the render controller has no limit", () => {
    const ws = workloads(renderChart({}, { extraArgs: ["--set-json", "controllers.render.resources.limits.memory=null"] }));
    const render = ws.find((w) => w.name === "mooring-render")!;
    assert.equal(render.memory, undefined);
    assert.equal(render.cfg.maxRenderedBytes, 25 * MiB);
  });

  void it("passes the limits the model assumes to the controllers that use them", () => {
    const ws = workloads(renderChart());
    const by = (n: string) => ws.find((w) => w.name === `mooring-${n}`)!.cfg;
    assert.equal(by("render").renderWorkers, 2);
    assert.equal(by("render").renderWorkerHeapBytes, 227 * MiB, "2Gi / (1 + 4 results + 2 workers × 2) shares");
    assert.equal(by("render").maxRenderedBytes, 25 * MiB, "a quarter share of the apply controller's 512Mi / (1 + 4)");
    assert.equal(by("source").maxObjectBytes, 25 * MiB, "a quarter share of 512Mi / (1 + 4)");
    assert.equal(by("source").maxSourceBytes, 204 * MiB, "1Gi of /tmp / (4 + 1)");
    assert.equal(by("render").maxExtractedBytes, 85 * MiB, "1Gi of /tmp / (4 kept + 2 × 4)");
    assert.equal(by("render").renderKeepSources, 4);
    assert.equal(by("source").maxStorageBytes, 1843 * MiB, "90% of 2Gi");
  });

  void it("passes --render-workers to the processes that render, at most concurrency", () => {
    const split = workloads(renderChart({ renderWorkers: 3 }));
    assert.equal(split.find((w) => w.name === "mooring-render")!.cfg.renderWorkers, 3);
    assert.ok(!split.find((w) => w.name === "mooring-apply")!.cfg.controllers.includes("render"));
    const one = workloads(renderChart({ mode: "all-in-one", renderWorkers: 8, concurrency: 2 }));
    assert.equal(one[0]!.cfg.renderWorkers, 2, "more workers than reconciles could never all be busy");
  });

  void it("refuses a memory limit too small for the concurrency, naming both", () => {
    const r = runHelm(["template", "m", CHART_DIR, "--set", "concurrency=40"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /a memory limit of 512Mi is too small for concurrency 40/);
  });

  void it("an extra flag still overrides a derived one (extraArgs come last)", () => {
    const ws = workloads(renderChart({ "extraArgs[0]": "--max-object-size=8Mi" }));
    assert.equal(ws.find((w) => w.name === "mooring-source")!.cfg.maxObjectBytes, 8 * MiB);
  });
});
