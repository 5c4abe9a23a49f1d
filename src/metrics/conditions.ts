// Per-kind counts of Mooring's objects by condition, read from the informer cache at each scrape:
//   mooring_resource_conditions{kind, type, status} — how many objects of `kind` have condition `type` at `status`
//   mooring_resources{kind, suspended}              — how many objects of `kind` exist, suspended or not
// Their cardinality is bounded by the kinds and condition types, never by the number of objects, so they are always
// on; they back the chart's alerts on Stalled objects and failing sources (charts/mooring/files/alerts.yaml).
// Every replica holds the cache, so every replica reports them: aggregate with max by (kind, type, status).
import { Gauge } from "prom-client";
import type { Informer } from "../runtime/informer.js";
import type { KindDescriptor, KubeObject } from "../runtime/kinds.js";
import type { Manager } from "../runtime/manager.js";

/** The condition types counted; others an object may carry are not (bounded cardinality). */
export const COUNTED_CONDITIONS = ["Ready", "Reconciling", "Stalled", "Synced", "Healthy", "SourceReady", "Rendered", "FetchFailed", "ArtifactInStorage", "WindowOpen", "RolledBack"] as const;
const STATUSES = ["True", "False", "Unknown"] as const;

type Conditioned = KubeObject & { spec?: { suspend?: boolean }; status?: { conditions?: { type?: string; status?: string }[] } };

const registered = new WeakMap<object, Map<string, Informer<Conditioned>>>();

/**
 * Counts `kinds` (their informers: the controllers' own, already pinned) on the manager's registry. Called once per
 * controller setup; the gauges are registered on the first call and read every kind registered so far.
 */
export function registerConditionMetrics(mgr: Manager, kinds: readonly KindDescriptor[]): void {
  const registry = mgr.metrics.registry;
  let informers = registered.get(registry);
  if (!informers) {
    informers = new Map();
    registered.set(registry, informers);
    const read = informers;
    new Gauge({
      name: "mooring_resource_conditions",
      help: "Mooring objects by kind and condition: how many have condition type at status (True, False, Unknown)",
      labelNames: ["kind", "type", "status"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, inf] of read) {
          const counts = new Map<string, number>();
          for (const type of COUNTED_CONDITIONS) for (const s of STATUSES) counts.set(`${type}\n${s}`, 0);
          for (const o of inf.store.list()) {
            for (const c of o.status?.conditions ?? []) {
              const key = `${c?.type}\n${c?.status}`;
              if (counts.has(key)) counts.set(key, counts.get(key)! + 1);
            }
          }
          // Only the condition types this kind has at all (all three statuses of each, zeros too, so an alert's
          // series exists before it fires), so a dashboard does not list impossible ones.
          for (const type of COUNTED_CONDITIONS) {
            if (!STATUSES.some((s) => counts.get(`${type}\n${s}`)! > 0)) continue;
            for (const status of STATUSES) this.set({ kind, type, status }, counts.get(`${type}\n${status}`)!);
          }
        }
      },
    });
    new Gauge({
      name: "mooring_resources",
      help: "Mooring objects by kind, suspended (spec.suspend) or not",
      labelNames: ["kind", "suspended"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, inf] of read) {
          let suspended = 0;
          const all = inf.store.list();
          for (const o of all) if (o.spec?.suspend === true) suspended++;
          this.set({ kind, suspended: "true" }, suspended);
          this.set({ kind, suspended: "false" }, all.length - suspended);
        }
      },
    });
  }
  for (const k of kinds) informers.set(k.kind, mgr.cache.informerFor<Conditioned>(k));
}
