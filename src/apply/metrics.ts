// The apply controller's own Prometheus metrics, on the runtime's registry (one set per registry).
//
// Per-Application series (labels namespace, name) are bounded: at most `maxApplications` Applications have their own
// (--metrics-max-applications, default 500; 0 turns them off). An Application past the cap is counted in the
// counters and histograms under namespace="", name="" (one aggregate series), and has no health or drift gauge of
// its own; mooring_application_metrics_overflow says how many are past the cap. A deleted Application frees its
// slot. Per-kind counts that never grow with the number of objects are in src/metrics/conditions.ts.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { HEALTH_STATUSES, type HealthStatus } from "../api/application.js";

type AppLabels = { namespace: string; name: string };

/** The methods the controller calls; labels are remapped for Applications past the cap. */
interface AppHistogram<L extends string> {
  observe(labels: AppLabels & Partial<Record<L, string>>, value: number): void;
}
interface AppCounter<L extends string> {
  inc(labels: AppLabels & Partial<Record<L, string>>, value?: number): void;
}
interface AppGauge {
  set(labels: AppLabels, value: number): void;
}

export interface ApplyMetrics {
  syncDuration: AppHistogram<"result">;
  objectsApplied: AppCounter<"action">;
  objectsPruned: AppCounter<never>;
  /** Drifted objects found (each time an object is newly seen drifted). */
  driftDetected: AppCounter<never>;
  /** Drifted objects re-applied by self-heal. */
  driftCorrected: AppCounter<never>;
  /** Objects drifted and not corrected right now (detect-only, or self-heal blocked). */
  drifted: AppGauge;
  /** Sets the application's health gauge: 1 for its status, 0 for the others. */
  setHealth(namespace: string, name: string, status: HealthStatus): void;
  forget(namespace: string, name: string): void;
}

export interface ApplyMetricsOptions {
  /** Applications with series of their own (default DEFAULT_MAX_APPLICATIONS; 0: none). */
  maxApplications?: number;
}

export const DEFAULT_MAX_APPLICATIONS = 500;
/** The labels of the aggregate series of the Applications past the cap. */
export const OVERFLOW_LABELS: AppLabels = { namespace: "", name: "" };

const cache = new WeakMap<Registry, ApplyMetrics>();

/** Which Applications have series of their own: the first `max` seen, until they are forgotten. */
class Slots {
  private readonly own = new Set<string>();
  private readonly over = new Set<string>();
  constructor(private readonly max: number) {}

  /** True when the Application has its own series (claiming a free slot if it has none yet). */
  has(l: AppLabels): boolean {
    const key = `${l.namespace}/${l.name}`;
    if (this.own.has(key)) return true;
    if (this.own.size < this.max) {
      this.own.add(key);
      this.over.delete(key);
      return true;
    }
    this.over.add(key);
    return false;
  }

  /** Frees the Application's slot; true when it had one. */
  release(l: AppLabels): boolean {
    const key = `${l.namespace}/${l.name}`;
    this.over.delete(key);
    return this.own.delete(key);
  }

  get overflow(): number {
    return this.over.size;
  }
}

export function applyMetrics(registry: Registry, opts: ApplyMetricsOptions = {}): ApplyMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const slots = new Slots(Math.max(0, opts.maxApplications ?? DEFAULT_MAX_APPLICATIONS));
  /** The labels to record `l` under: its own, or the aggregate of the Applications past the cap. */
  const labelsOf = <T extends AppLabels>(l: T): T => (slots.has(l) ? l : { ...l, ...OVERFLOW_LABELS });

  const health = new Gauge({ name: "mooring_application_health", help: "Health of each Application: 1 for its current status, 0 for the others", labelNames: ["namespace", "name", "status"] as const, registers });
  const syncDuration = new Histogram({
    name: "mooring_application_sync_duration_seconds",
    help: "Duration of Application syncs (download, apply, prune), by result",
    labelNames: ["namespace", "name", "result"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  const objectsApplied = new Counter({ name: "mooring_application_objects_applied_total", help: "Objects applied by Applications, by action (created, configured, unchanged, recreated)", labelNames: ["namespace", "name", "action"] as const, registers });
  const objectsPruned = new Counter({ name: "mooring_application_objects_pruned_total", help: "Objects pruned by Applications", labelNames: ["namespace", "name"] as const, registers });
  const driftDetected = new Counter({ name: "mooring_application_drift_detected_total", help: "Managed objects found drifted from what the Application applied", labelNames: ["namespace", "name"] as const, registers });
  const driftCorrected = new Counter({ name: "mooring_application_drift_corrected_total", help: "Drifted objects re-applied by self-heal", labelNames: ["namespace", "name"] as const, registers });
  const drifted = new Gauge({ name: "mooring_application_drifted_objects", help: "Objects drifted and not corrected now (detect-only mode, or self-heal blocked by a sync window)", labelNames: ["namespace", "name"] as const, registers });
  new Gauge({
    name: "mooring_application_metrics_overflow",
    help: "Applications past --metrics-max-applications: counted under namespace=\"\", name=\"\", with no health or drift gauge of their own",
    registers,
    collect() {
      this.set(slots.overflow);
    },
  });

  const m: ApplyMetrics = {
    syncDuration: { observe: (l, v) => syncDuration.observe(labelsOf(l), v) },
    objectsApplied: { inc: (l, v) => objectsApplied.inc(labelsOf(l), v) },
    objectsPruned: { inc: (l, v) => objectsPruned.inc(labelsOf(l), v) },
    driftDetected: { inc: (l, v) => driftDetected.inc(labelsOf(l), v) },
    driftCorrected: { inc: (l, v) => driftCorrected.inc(labelsOf(l), v) },
    // A gauge cannot be summed into the aggregate: past the cap there is none.
    drifted: { set: (l, v) => (slots.has(l) ? drifted.set(l, v) : undefined) },
    setHealth(namespace, name, status) {
      if (!slots.has({ namespace, name })) return;
      for (const s of HEALTH_STATUSES) health.set({ namespace, name, status: s }, s === status ? 1 : 0);
    },
    forget(namespace, name) {
      if (!slots.release({ namespace, name })) return;
      for (const s of HEALTH_STATUSES) health.remove({ namespace, name, status: s });
      drifted.remove({ namespace, name });
      for (const series of [syncDuration, objectsApplied, objectsPruned, driftDetected, driftCorrected]) removeApp(series, namespace, name);
    },
  };
  cache.set(registry, m);
  return m;
}

/** Removes every series of one Application from a metric (whatever its other labels). */
function removeApp(metric: { remove(labels: Record<string, string>): void; get(): Promise<{ values: { labels: Record<string, string | number> }[] }> | { values: { labels: Record<string, string | number> }[] } }, namespace: string, name: string): void {
  // prom-client's get() of a histogram/counter without collect callbacks is synchronous underneath; await it anyway.
  void Promise.resolve(metric.get()).then((v) => {
    const seen = new Set<string>();
    for (const { labels } of v.values) {
      if (labels.namespace !== namespace || labels.name !== name) continue;
      const base: Record<string, string> = {};
      for (const [k, val] of Object.entries(labels)) if (k !== "le" && k !== "quantile") base[k] = String(val);
      const key = JSON.stringify(base);
      if (seen.has(key)) continue;
      seen.add(key);
      metric.remove(base);
    }
  });
}
