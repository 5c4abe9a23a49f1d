// Prometheus metrics under controller-runtime's and client-go's names, so existing dashboards and alerts work.
// One set per registry (registering a name twice on a registry throws), shared by every controller using it.
import { Counter, Gauge, Histogram, type Registry, register as globalRegistry } from "prom-client";
import type { WorkQueue, WorkQueueMetrics } from "./workqueue.js";

export interface RuntimeMetrics {
  registry: Registry;
  reconcileTotal: Counter<"controller" | "result">;
  reconcileErrors: Counter<"controller">;
  terminalReconcileErrors: Counter<"controller">;
  reconcileTime: Histogram<"controller">;
  activeWorkers: Gauge<"controller">;
  maxConcurrentReconciles: Gauge<"controller">;
  restClientRequests: Counter<"code" | "method" | "host">;
  leaderElectionMasterStatus: Gauge<"name">;
  /** Hooks for one named queue; also tracks it for the unfinished-work and longest-running gauges. */
  forQueue(name: string, queue: () => WorkQueue | undefined): WorkQueueMetrics;
  /** Stops tracking a queue (after it shut down). */
  untrackQueue(name: string): void;
}

const cache = new WeakMap<Registry, RuntimeMetrics>();
const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

export function runtimeMetrics(registry: Registry = globalRegistry): RuntimeMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  // Registered in this order (workqueue first), so the exposition lists them as it always has.
  const queues = workqueueMetrics(registers);
  const m: RuntimeMetrics = {
    registry,
    ...controllerMetrics(registers),
    forQueue: queues.forQueue,
    untrackQueue: queues.untrackQueue,
  };
  cache.set(registry, m);
  return m;
}

/** client-go's workqueue metrics, with the two gauges read from the tracked queues at each scrape. */
function workqueueMetrics(registers: Registry[]): Pick<RuntimeMetrics, "forQueue" | "untrackQueue"> {
  const queues = new Map<string, () => WorkQueue | undefined>();
  const depth = new Gauge({ name: "workqueue_depth", help: "Current depth of workqueue", labelNames: ["name"], registers });
  const adds = new Counter({ name: "workqueue_adds_total", help: "Total number of adds handled by workqueue", labelNames: ["name"], registers });
  const retries = new Counter({ name: "workqueue_retries_total", help: "Total number of retries handled by workqueue", labelNames: ["name"], registers });
  const queueDuration = new Histogram({ name: "workqueue_queue_duration_seconds", help: "How long in seconds an item stays in workqueue before being requested", labelNames: ["name"], buckets: queueBuckets, registers });
  const workDuration = new Histogram({ name: "workqueue_work_duration_seconds", help: "How long in seconds processing an item from workqueue takes", labelNames: ["name"], buckets: queueBuckets, registers });
  new Gauge({
    name: "workqueue_unfinished_work_seconds",
    help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
    labelNames: ["name"],
    registers,
    collect() {
      for (const [name, q] of queues) this.set({ name }, q()?.processingAges().total ?? 0);
    },
  });
  new Gauge({
    name: "workqueue_longest_running_processor_seconds",
    help: "How many seconds has the longest running processor for workqueue been running",
    labelNames: ["name"],
    registers,
    collect() {
      for (const [name, q] of queues) this.set({ name }, q()?.processingAges().longest ?? 0);
    },
  });
  return {
    forQueue(name, queue) {
      queues.set(name, queue);
      return {
        add: () => adds.inc({ name }),
        depth: (n) => depth.set({ name }, n),
        retry: () => retries.inc({ name }),
        queueDuration: (s) => queueDuration.observe({ name }, s),
        workDuration: (s) => workDuration.observe({ name }, s),
      };
    },
    untrackQueue(name) {
      queues.delete(name);
    },
  };
}

type ControllerMetrics = Omit<RuntimeMetrics, "registry" | "forQueue" | "untrackQueue">;

/** controller-runtime's reconcile metrics, the REST client's request count, and leader election's status. */
function controllerMetrics(registers: Registry[]): ControllerMetrics {
  return {
    reconcileTotal: new Counter({ name: "controller_runtime_reconcile_total", help: "Total number of reconciliations per controller", labelNames: ["controller", "result"], registers }),
    reconcileErrors: new Counter({ name: "controller_runtime_reconcile_errors_total", help: "Total number of reconciliation errors per controller", labelNames: ["controller"], registers }),
    terminalReconcileErrors: new Counter({ name: "controller_runtime_terminal_reconcile_errors_total", help: "Total number of terminal reconciliation errors per controller", labelNames: ["controller"], registers }),
    reconcileTime: new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60],
      registers,
    }),
    activeWorkers: new Gauge({ name: "controller_runtime_active_workers", help: "Number of currently used workers per controller", labelNames: ["controller"], registers }),
    maxConcurrentReconciles: new Gauge({ name: "controller_runtime_max_concurrent_reconciles", help: "Maximum number of concurrent reconciles per controller", labelNames: ["controller"], registers }),
    restClientRequests: new Counter({ name: "rest_client_requests_total", help: "Number of HTTP requests, partitioned by status code, method, and host", labelNames: ["code", "method", "host"], registers }),
    leaderElectionMasterStatus: new Gauge({ name: "leader_election_master_status", help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master", labelNames: ["name"], registers }),
  };
}
