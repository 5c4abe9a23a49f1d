// The apply controller's own Prometheus metrics, on the runtime's registry (one set per registry).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { HEALTH_STATUSES, type HealthStatus } from "../api/application.js";

export interface ApplyMetrics {
  syncDuration: Histogram<"namespace" | "name" | "result">;
  objectsApplied: Counter<"namespace" | "name" | "action">;
  objectsPruned: Counter<"namespace" | "name">;
  health: Gauge<"namespace" | "name" | "status">;
  /** Drifted objects found (each time an object is newly seen drifted). */
  driftDetected: Counter<"namespace" | "name">;
  /** Drifted objects re-applied by self-heal. */
  driftCorrected: Counter<"namespace" | "name">;
  /** Objects drifted and not corrected right now (detect-only, or self-heal blocked). */
  drifted: Gauge<"namespace" | "name">;
  /** Sets the application's health gauge: 1 for its status, 0 for the others. */
  setHealth(namespace: string, name: string, status: HealthStatus): void;
  forget(namespace: string, name: string): void;
}

const cache = new WeakMap<Registry, ApplyMetrics>();

export function applyMetrics(registry: Registry): ApplyMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const health = new Gauge({ name: "mooring_application_health", help: "Health of each Application: 1 for its current status, 0 for the others", labelNames: ["namespace", "name", "status"] as const, registers });
  const m: ApplyMetrics = {
    syncDuration: new Histogram({
      name: "mooring_application_sync_duration_seconds",
      help: "Duration of Application syncs (download, apply, prune), by result",
      labelNames: ["namespace", "name", "result"] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    objectsApplied: new Counter({ name: "mooring_application_objects_applied_total", help: "Objects applied by Applications, by action (created, configured, unchanged, recreated)", labelNames: ["namespace", "name", "action"] as const, registers }),
    objectsPruned: new Counter({ name: "mooring_application_objects_pruned_total", help: "Objects pruned by Applications", labelNames: ["namespace", "name"] as const, registers }),
    health,
    driftDetected: new Counter({ name: "mooring_application_drift_detected_total", help: "Managed objects found drifted from what the Application applied", labelNames: ["namespace", "name"] as const, registers }),
    driftCorrected: new Counter({ name: "mooring_application_drift_corrected_total", help: "Drifted objects re-applied by self-heal", labelNames: ["namespace", "name"] as const, registers }),
    drifted: new Gauge({ name: "mooring_application_drifted_objects", help: "Objects drifted and not corrected now (detect-only mode, or self-heal blocked by a sync window)", labelNames: ["namespace", "name"] as const, registers }),
    setHealth(namespace, name, status) {
      for (const s of HEALTH_STATUSES) health.set({ namespace, name, status: s }, s === status ? 1 : 0);
    },
    forget(namespace, name) {
      for (const s of HEALTH_STATUSES) health.remove({ namespace, name, status: s });
      m.drifted.remove({ namespace, name });
    },
  };
  cache.set(registry, m);
  return m;
}
