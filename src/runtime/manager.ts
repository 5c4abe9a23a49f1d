// The manager: owns the REST client, the shared cache, the client, metrics and probes, and runs controllers.
// Start order: probe and metrics servers → caches (on every replica, so a new leader starts warm) → wait for sync
// (/readyz turns ready) → leader election, if enabled → controllers. Stop order is the reverse; losing the lease stops
// the controllers and calls `exit(1)` (process.exit by default) because this replica can no longer know it is alone.
import { setMaxListeners } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type Registry, register as globalRegistry } from "prom-client";
import { type Logger, log } from "../log.js";
import { ControllerBuilder, type ControllerHost } from "./builder.js";
import { Cache } from "./cache.js";
import { Client } from "./client.js";
import { type Clock, untilAborted } from "./clock.js";
import type { Controller } from "./controller.js";
import { EventRecorder } from "./events.js";
import { dropManagedFields, type InformerOptions, type Transform } from "./informer.js";
import { Kinds } from "./kinds.js";
import { LeaderElectionLostError, type LeaderElectionOptions, LeaderElector } from "./leaderelection.js";
import { runtimeMetrics, type RuntimeMetrics } from "./metrics.js";
import type { ExportableKubeConfig, KubeConfig } from "./kubeconfig.js";
import { RestClient } from "./rest.js";
import { RestMapper } from "./restmapper.js";
import { timeoutSignal } from "./timeout.js";

export interface ManagerOptions {
  /** Our KubeConfig, or client-node's (converted). */
  kubeConfig: KubeConfig | ExportableKubeConfig;
  /** Restrict namespaced kinds to one namespace (default: all). */
  namespace?: string;
  /** Field manager for server-side apply and the events' reporting controller (default "mooring"). */
  fieldManager?: string;
  /** Client-side rate limit (defaults 20 qps, burst 30). */
  qps?: number;
  burst?: number;
  /** Applied to objects entering the cache (default dropManagedFields; null keeps objects whole). */
  cacheTransform?: Transform | null;
  /** Informer tuning (watchdog, backoff, page size). */
  informer?: CacheInformerOptions;
  /** Enable leader election; only the leader runs controllers. */
  leaderElection?: LeaderElectionOptions;
  /** "host:port" for /metrics (":8080"); "0" or undefined disables; ":0" picks a free port. */
  metricsAddr?: string;
  /** "host:port" for /healthz and /readyz; "0" or undefined disables. */
  healthAddr?: string;
  /** Only objects of the controllers' `for` kinds matching this selector are reconciled here (sharding). */
  shardLabelSelector?: string;
  /** start() fails when the caches have not synced within this time (default 2 min, like controller-runtime). */
  cacheSyncTimeoutMs?: number;
  /** Upper bound for the whole graceful stop, including in-flight reconciles (default 30 s). */
  gracefulShutdownTimeoutMs?: number;
  registry?: Registry;
  logger?: Logger;
  clock?: Clock;
  /** Called with 1 when the lease is lost (default process.exit); tests pass a recorder. */
  exit?: (code: number) => void;
}

type CacheInformerOptions = Omit<InformerOptions, "namespace" | "labelSelector" | "fieldSelector" | "transform">;

export type Runnable = (signal: AbortSignal) => Promise<void>;
export type Check = () => Promise<void> | void;

function parseAddr(addr: string | undefined): { host: string | undefined; port: number } | undefined {
  if (!addr || addr === "0") return undefined;
  const m = addr.match(/^([^:]*):(\d+)$/);
  if (!m) throw new Error(`invalid listen address "${addr}"; expected host:port such as ":8080"`);
  return { host: m[1] || undefined, port: Number(m[2]) };
}

/** An AbortSignal that aborts on SIGTERM or SIGINT (graceful shutdown). */
export function shutdownSignal(): AbortSignal {
  const ctl = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log().info("received signal; shutting down gracefully", { signal: sig });
    ctl.abort(new Error(`received ${sig}`));
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  return ctl.signal;
}

export class Manager implements ControllerHost {
  readonly rest: RestClient;
  readonly mapper: RestMapper;
  readonly cache: Cache;
  readonly client: Client;
  readonly metrics: RuntimeMetrics;
  readonly logger: Logger;
  readonly clock: Clock | undefined;
  readonly shardLabelSelector: string | undefined;
  readonly elector: LeaderElector | undefined;
  private readonly controllers: Controller[] = [];
  private readonly runnables: { run: Runnable; needLeader: boolean }[] = [];
  private readonly healthChecks = new Map<string, Check>();
  private readonly readyChecks = new Map<string, Check>();
  private readonly servers: http.Server[] = [];
  private readonly recorders: EventRecorder[] = [];
  private startedOnce = false;
  /** The caches registered before start() have synced (latched: later informers do not change it). */
  private startupSynced = false;
  private leaderResolve!: () => void;
  /** Resolves when this manager becomes leader (at once without leader election). */
  readonly elected: Promise<void> = new Promise((r) => (this.leaderResolve = r));
  metricsAddress: AddressInfo | undefined;
  healthAddress: AddressInfo | undefined;

  constructor(private readonly opts: ManagerOptions) {
    this.logger = opts.logger ?? log();
    this.clock = opts.clock;
    this.metrics = runtimeMetrics(opts.registry ?? globalRegistry);
    this.rest = RestClient.fromKubeConfig(opts.kubeConfig, {
      qps: opts.qps,
      burst: opts.burst,
      clock: opts.clock,
      onRequest: (method, code, host) => this.metrics.restClientRequests.inc({ method, code: code ? String(code) : "<error>", host }),
    });
    this.mapper = new RestMapper(this.rest);
    this.mapper.register(...Object.values(Kinds));
    this.cache = new Cache(this.rest, {
      namespace: opts.namespace,
      transform: opts.cacheTransform === null ? undefined : (opts.cacheTransform ?? dropManagedFields),
      informer: opts.informer,
      clock: opts.clock,
      logger: this.logger,
    });
    this.client = new Client({ rest: this.rest, mapper: this.mapper, cache: this.cache, fieldManager: opts.fieldManager ?? "mooring" });
    this.shardLabelSelector = opts.shardLabelSelector;
    if (opts.leaderElection) {
      this.elector = new LeaderElector(this.client.live(), opts.leaderElection, opts.clock, this.logger, (leader) =>
        this.metrics.leaderElectionMasterStatus.set({ name: opts.leaderElection!.name }, leader ? 1 : 0),
      );
    }
    this.healthChecks.set("ping", () => {});
    // Ready once the informers the controllers need at start have synced. Informers added later (one
    // Application's applied kinds or health checks) never take the Pod out of its Services: one kind the operator
    // may not list would otherwise make every replica unready. They report their own failures on the object.
    this.readyChecks.set("informers-synced", () => {
      if (!this.startupSynced) throw new Error(`caches have not synced yet (waiting for: ${this.cache.unsynced().join(", ") || "start"})`);
    });
  }

  /** Starts describing a controller; finish with build(reconciler). */
  controller(name?: string): ControllerBuilder {
    const b = new ControllerBuilder(this);
    return name ? b.named(name) : b;
  }

  add(controller: Controller): void {
    if (this.startedOnce) throw new Error(`controller ${controller.name} was added after the manager started; add controllers before start()`);
    if (this.controllers.some((c) => c.name === controller.name)) throw new Error(`a controller named "${controller.name}" already exists; give each a distinct name with named()`);
    this.controllers.push(controller);
  }

  /** Runs `run` alongside the controllers (only on the leader unless needLeaderElection is false). */
  addRunnable(run: Runnable, o: { needLeaderElection?: boolean } = {}): void {
    this.runnables.push({ run, needLeader: o.needLeaderElection ?? true });
  }

  addHealthCheck(name: string, check: Check): void {
    this.healthChecks.set(name, check);
  }

  addReadyCheck(name: string, check: Check): void {
    this.readyChecks.set(name, check);
  }

  /** An event recorder reporting as `component` (events.k8s.io/v1, aggregated). */
  eventRecorder(component: string): EventRecorder {
    const r = new EventRecorder(this.client.live(), { reportingController: component, clock: this.clock, logger: this.logger });
    this.recorders.push(r);
    return r;
  }

  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : this.startedOnce;
  }

  /**
   * Runs everything until `signal` aborts (default: SIGTERM/SIGINT), then stops gracefully and resolves.
   * Rejects with LeaderElectionLostError after calling exit(1) if the lease is lost.
   */
  async start(signal: AbortSignal = shutdownSignal()): Promise<void> {
    if (this.startedOnce) throw new Error("the manager was already started; create a new one");
    this.startedOnce = true;
    const stop = new AbortController();
    // Every controller, worker, informer and runnable listens on this one signal; more than Node's default 10 is normal.
    setMaxListeners(0, stop.signal);
    const onAbort = () => stop.abort(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    let lost = false;
    const tasks: Promise<unknown>[] = [];
    try {
      await this.startServers();
      this.cache.start(stop.signal);
      await this.waitForCaches(stop.signal);
      this.startupSynced = !stop.signal.aborted;
      this.logger.info("caches synced");
      for (const r of this.runnables.filter((r) => !r.needLeader)) tasks.push(this.guard("runnable", r.run(stop.signal)));
      if (this.elector && !stop.signal.aborted) {
        if (await this.elector.acquire(stop.signal)) {
          const leading = this.elector.hold(stop.signal).then((outcome) => {
            if (outcome === "lost") {
              lost = true;
              // Another replica may already lead: in-flight reconciles must not keep writing while we drain.
              for (const c of this.controllers) c.abortInFlight("leader election lost");
              stop.abort(new LeaderElectionLostError("leader election lost"));
            }
          });
          tasks.push(leading);
        }
      }
      if (!stop.signal.aborted) {
        this.leaderResolve();
        for (const c of this.controllers) tasks.push(this.guard(`controller ${c.name}`, c.start(stop.signal)));
        for (const r of this.runnables.filter((r) => r.needLeader)) tasks.push(this.guard("runnable", r.run(stop.signal)));
      }
      await untilAborted(stop.signal);
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (!stop.signal.aborted) stop.abort(new Error("manager stopping after a start failure"));
      await this.shutdown(tasks);
    }
    if (lost) {
      (this.opts.exit ?? ((code: number) => process.exit(code)))(1);
      throw new LeaderElectionLostError(`lost the leader election lease ${this.opts.leaderElection?.namespace}/${this.opts.leaderElection?.name}; controllers stopped`);
    }
  }

  private async waitForCaches(signal: AbortSignal): Promise<void> {
    const limit = this.opts.cacheSyncTimeoutMs ?? 120_000;
    const timeout = timeoutSignal(limit);
    try {
      await this.cache.waitForSync(AbortSignal.any([signal, timeout]));
    } catch (err) {
      if (signal.aborted) return;
      if (timeout.aborted) {
        throw new Error(`caches did not sync within ${limit} ms (unsynced: ${this.cache.unsynced().join(", ")}); check RBAC (list/watch) for these kinds and that their CRDs are installed`);
      }
      throw err;
    }
  }

  private guard(what: string, p: Promise<void>): Promise<void> {
    return p.catch((err: unknown) => {
      this.logger.error(`${what} failed`, { error: (err as Error).message });
    });
  }

  private async shutdown(tasks: Promise<unknown>[]): Promise<void> {
    const limit = this.opts.gracefulShutdownTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), limit)));
    const all = (async () => {
      await Promise.all(tasks);
      await Promise.all(this.recorders.map((r) => r.flush()));
      await this.cache.stopped();
    })();
    const outcome = await Promise.race([all.then(() => "done" as const), timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") this.logger.warn("graceful shutdown timed out; exiting with work in flight", { timeoutMs: limit });
    for (const r of this.recorders) r.stop();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
    this.rest.close();
    this.logger.info("manager stopped");
  }

  private async runChecks(checks: Map<string, Check>): Promise<{ ok: boolean; text: string }> {
    const lines: string[] = [];
    let ok = true;
    for (const [name, check] of checks) {
      try {
        await check();
        lines.push(`[+]${name} ok`);
      } catch (err) {
        ok = false;
        lines.push(`[-]${name} failed: ${(err as Error).message}`);
      }
    }
    return { ok, text: lines.join("\n") + `\n${ok ? "ok" : "failed"}\n` };
  }

  private async listen(addr: string | undefined, handler: http.RequestListener): Promise<AddressInfo | undefined> {
    const a = parseAddr(addr);
    if (!a) return undefined;
    const server = http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(a.port, a.host, () => resolve());
    });
    this.servers.push(server);
    return server.address() as AddressInfo;
  }

  private async startServers(): Promise<void> {
    this.healthAddress = await this.listen(this.opts.healthAddr, (req, res) => {
      const path = (req.url ?? "").split("?")[0];
      const checks = path === "/healthz" ? this.healthChecks : path === "/readyz" ? this.readyChecks : undefined;
      if (!checks) {
        res.writeHead(404).end("not found; try /healthz or /readyz\n");
        return;
      }
      void this.runChecks(checks).then(({ ok, text }) => res.writeHead(ok ? 200 : 500, { "Content-Type": "text/plain" }).end(text));
    });
    this.metricsAddress = await this.listen(this.opts.metricsAddr, (req, res) => {
      if ((req.url ?? "").split("?")[0] !== "/metrics") {
        res.writeHead(404).end("not found; try /metrics\n");
        return;
      }
      this.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { "Content-Type": this.metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(`metrics failed: ${err.message}\n`),
      );
    });
  }
}
