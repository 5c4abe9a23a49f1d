// The clusters the apply controller applies to: the one it runs in, and remote ones named by an Application's
// spec.kubeConfig.secretRef (Flux's shape; docs/clusters.md says why).
//
// One RemoteCluster per kubeconfig: its own REST client (rate limit, connections), discovery, informer cache and
// ClusterView, shared by every Application whose Secret holds that kubeconfig, and stopped when the last of them
// leaves. Apply, prune, health, drift and self-heal then run exactly as locally, only through that view and its
// client (src/apply/execute.ts identity(), watches.ts).
//
// Reachability is known without holding a worker: each remote cluster is probed (GET /version) every PROBE_MS while
// it is in use, and at once when one of its requests fails in transit. An Application of a cluster that does not
// answer stops at once with ClusterUnreachable (other Applications' workers are never held by it); the probe that
// finds the cluster back wakes its Applications.
//
// The Secret is watched through a data-less view (one field-selected informer per Secret, its changes wake the
// Application), and read live only when its data digest changes: an unchanged Application costs no request.
// The kubeconfig's credentials stay in the RemoteCluster's client; no message, log, event or status carries them.
import { Gauge } from "prom-client";
import type { Application } from "../api/application.js";
import { Finalizers } from "../api/constants.js";
import type { Controller } from "../runtime/controller.js";
import { Cache } from "../runtime/cache.js";
import { Client } from "../runtime/client.js";
import { removeFinalizer } from "../runtime/finalizers.js";
import { dropManagedFields, type Informer } from "../runtime/informer.js";
import { type KubeObject, Kinds } from "../runtime/kinds.js";
import type { Manager } from "../runtime/manager.js";
import type { ReconcileContext, Request } from "../runtime/reconcile.js";
import { ApiError, RestClient, isForbidden } from "../runtime/rest.js";
import { RestMapper } from "../runtime/restmapper.js";
import { SECRETS_WITHOUT_DATA, secretDataDigest } from "../runtime/secret-view.js";
import { untilAborted } from "../runtime/clock.js";
import type { ApplyEnv } from "./execute.js";
import type { AppObject } from "./owned.js";
import { KubeConfigProblem, type RemoteKubeConfig, kubeConfigText, parseRemoteKubeConfig } from "./remote-kubeconfig.js";
import type { Stop } from "./summarize.js";
import { ClusterView } from "./watches.js";
import { timeoutSignal } from "../runtime/timeout.js";

/** How often a remote cluster in use is probed. */
export const PROBE_MS = 10_000;
/** How long a probe waits for an answer. */
const PROBE_TIMEOUT_MS = 5_000;
/** Requests to a remote cluster give up sooner than local ones (60 s): a cluster gone away must not hold a worker long. */
const REMOTE_REQUEST_TIMEOUT_MS = 30_000;

/** Where an Application's objects are: a view of a cluster, or why there is none to use now. */
export interface Placement {
  /** The view to read and write through (when there is a problem: the one it used last, else the local one). */
  view: ClusterView;
  /** Why the Application cannot be synced now (a Stop, written as its status). */
  problem?: Stop;
  /** The remote cluster's server, for messages (no credentials). */
  server?: string;
}

type ReachState = { kind: "unknown" } | { kind: "up" } | { kind: "down"; message: string; since: number };

/** One remote cluster (one kubeconfig): its client, cache and view, the Applications using it and whether it answers. */
class RemoteCluster {
  readonly rest: RestClient;
  readonly cache: Cache;
  readonly client: Client;
  readonly mapper: RestMapper;
  readonly view: ClusterView;
  readonly users = new Set<string>();
  state: ReachState = { kind: "unknown" };
  private readonly stop = new AbortController();
  private probing: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly key: string,
    readonly server: string,
    kc: RemoteKubeConfig,
    private readonly registry: Clusters,
  ) {
    const mgr = registry.mgr;
    this.rest = RestClient.fromKubeConfig(kc.kubeConfig, {
      requestTimeoutMs: REMOTE_REQUEST_TIMEOUT_MS,
      onRequest: (method, code, host) => {
        mgr.metrics.restClientRequests.inc({ method, code: code ? String(code) : "<error>", host });
        // A request that failed in transit: look now rather than at the next tick.
        if (code === 0 && this.state.kind === "up") void this.probe();
      },
    });
    this.mapper = new RestMapper(this.rest);
    this.cache = new Cache(this.rest, { transform: dropManagedFields, logger: mgr.logger.child({ cluster: server }) });
    this.client = new Client({ rest: this.rest, mapper: this.mapper, cache: this.cache, fieldManager: mgr.client.fieldManager });
    // Objects there may be applied by Applications of another hub (or shard): only this process's users are woken.
    const admit = (req: Request) => this.users.has(`${req.namespace}/${req.name}`);
    this.view = new ClusterView(this, { healthRules: registry.config.healthRules, admit }, registry.cacheSyncTimeoutMs);
    this.view.attach(registry.controller);
    this.cache.start(this.stop.signal);
  }

  /** Whether the API server answers: a probe's answer of any HTTP status but 5xx counts (credentials are checked by the requests themselves). */
  probe(): Promise<void> {
    this.probing ??= (async () => {
      let next: ReachState;
      try {
        await this.rest.request("GET", "/version", { signal: AbortSignal.any([this.stop.signal, timeoutSignal(PROBE_TIMEOUT_MS)]) });
        next = { kind: "up" };
      } catch (err) {
        const e = err as ApiError;
        const answered = e instanceof ApiError && e.code > 0 && e.code < 500;
        next = answered ? { kind: "up" } : { kind: "down", message: reachMessage(err), since: this.state.kind === "down" ? this.state.since : Date.now() };
      }
      if (this.stop.signal.aborted) return;
      const changed = next.kind !== this.state.kind && this.state.kind !== "unknown";
      this.state = next;
      if (changed) this.registry.changed(this);
    })().finally(() => {
      this.probing = undefined;
      this.schedule();
    });
    return this.probing;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stop.signal.aborted || this.users.size === 0) return;
    this.timer = setTimeout(() => void this.probe(), PROBE_MS);
    this.timer.unref?.();
  }

  close(): void {
    clearTimeout(this.timer);
    this.stop.abort(new Error(`remote cluster ${this.server} no longer used`));
    void this.cache.stopped().finally(() => this.rest.close());
  }
}

function reachMessage(err: unknown): string {
  const e = err as ApiError;
  if (e instanceof ApiError) return e.code ? `HTTP ${e.code}: ${e.status.message ?? ""}`.trim() : (e.status.message ?? "request failed");
  return (err as Error).message;
}

/** What the registry remembers about one Application. */
interface AppState {
  /** The cluster it was last placed on ("" = local). */
  cluster: string;
  /** The Secret watch it holds: "namespace/name" and what undoes its handler. */
  secret?: { id: string; off: () => void };
}

/** A kubeconfig read from one Secret (and key), by the digest of the Secret's data it was read from. */
interface Loaded {
  digest: string;
  result: RemoteKubeConfig | KubeConfigProblem;
}

const SECRET_HOLDER = "apply-kubeconfig/";

export class Clusters {
  readonly local: ClusterView;
  controller!: Controller;
  private readonly remotes = new Map<string, RemoteCluster>();
  private readonly apps = new Map<string, AppState>();
  private readonly loaded = new Map<string, Loaded>();

  constructor(
    readonly mgr: Manager,
    readonly config: { healthRules?: ApplyEnv["config"]["healthRules"] },
    readonly cacheSyncTimeoutMs: number,
    local: ClusterView,
  ) {
    this.local = local;
    // What the remote caches hold, per server: one cache per kubeconfig, its informers (= watches open there) and the
    // Applications using it. Computed when scraped.
    const remotes = this.remotes;
    const perServer = (g: Gauge<"server">, value: (r: RemoteCluster) => number) => {
      g.reset();
      for (const r of remotes.values()) g.inc({ server: r.server }, value(r));
    };
    const registers = [mgr.metrics.registry];
    new Gauge({ name: "mooring_remote_cluster_caches", help: "Informer caches of remote clusters (one per kubeconfig), by API server", labelNames: ["server"] as const, registers, collect() { perServer(this, () => 1); } });
    new Gauge({ name: "mooring_remote_cluster_informers", help: "Informers (watches) open on remote clusters, by API server", labelNames: ["server"] as const, registers, collect() { perServer(this, (r) => r.cache.size); } });
    new Gauge({ name: "mooring_remote_cluster_applications", help: "Applications applied to remote clusters, by API server", labelNames: ["server"] as const, registers, collect() { perServer(this, (r) => r.users.size); } });
    new Gauge({ name: "mooring_remote_cluster_reachable", help: "Whether a remote cluster's API server answers its probe (1) or not (0), by API server", labelNames: ["server"] as const, registers, collect() { perServer(this, (r) => (r.state.kind === "down" ? 0 : 1)); } });
    // Stopped with the controllers: every remote cache and connection closes at shutdown.
    mgr.addRunnable(async (signal) => {
      await untilAborted(signal);
      for (const r of this.remotes.values()) r.close();
      this.remotes.clear();
    });
  }

  attach(controller: Controller): void {
    this.controller = controller;
  }

  /** Where `app` is applied, with the cluster's view; or the problem that stops it now. */
  async place(app: AppObject, signal: AbortSignal): Promise<Placement> {
    const key = `${app.metadata!.namespace}/${app.metadata!.name}`;
    const state = this.apps.get(key) ?? { cluster: "" };
    this.apps.set(key, state);
    const ref = app.spec.kubeConfig?.secretRef;
    if (!ref) {
      this.unwatchSecret(key, state);
      this.move(key, state, "");
      return { view: this.local };
    }
    const last = state.cluster ? (this.remotes.get(state.cluster)?.view ?? this.local) : this.local;
    const read = await this.readKubeConfig(app, key, state, signal);
    if (read instanceof KubeConfigProblem) return { view: last, problem: { kind: "refused", reason: read.reason, message: read.message } };
    if ("watchFailed" in read) return { view: last, problem: { kind: "watchFailed", message: read.watchFailed } };
    let remote = this.remotes.get(read.key);
    if (!remote) this.remotes.set(read.key, (remote = new RemoteCluster(read.key, read.server, read, this)));
    this.move(key, state, read.key);
    if (remote.state.kind === "unknown") await remote.probe();
    if (remote.state.kind === "down") {
      const secret = `${app.metadata!.namespace}/${ref.name}`;
      return { view: remote.view, server: remote.server, problem: { kind: "clusterUnreachable", message: `the API server ${remote.server} of the cluster in Secret ${secret} does not answer: ${remote.state.message}; retried, and synced again when it answers` } };
    }
    return { view: remote.view, server: remote.server };
  }

  /**
   * A deleted Application whose cluster cannot be used: an unreachable one keeps the finalizer (retried, the objects
   * are still there to prune); a Secret that is gone or unusable cannot become usable again by waiting, so the
   * objects on that cluster are left in place, said in an event, and the finalizer goes (as Flux does).
   */
  async finalizeWithout(env: ApplyEnv, app: AppObject, p: Placement, ctx: ReconcileContext): Promise<void> {
    const problem = p.problem!;
    const message = problem.message;
    if (problem.kind !== "refused") throw new Error(`cannot finalize Application ${app.metadata!.namespace}/${app.metadata!.name}: ${message}`);
    const count = app.status?.sync?.inventory?.length ?? 0;
    env.events.warning(app, problem.reason, "Finalize", `${count} object(s) left in place on the remote cluster: ${message}`);
    ctx.log.warn("finalized without the remote cluster: objects left in place", { objects: count, reason: problem.reason });
    await removeFinalizer(this.mgr.client, app, Finalizers.application, { signal: ctx.signal });
  }

  /** The Application is gone (or no longer this controller's): its Secret watch and its place in a remote cluster go. */
  forget(key: string): void {
    const state = this.apps.get(key);
    if (!state) return;
    this.unwatchSecret(key, state);
    this.move(key, state, undefined);
    this.apps.delete(key);
  }

  /** Remote clusters in use (tests and debugging): server, Applications, informers, reachability. */
  describe(): { server: string; applications: string[]; informers: number; state: string }[] {
    return [...this.remotes.values()].map((r) => ({ server: r.server, applications: [...r.users].sort(), informers: r.cache.size, state: r.state.kind }));
  }

  /** A remote cluster went down or came back: its Applications reconcile now and say so. */
  changed(remote: RemoteCluster): void {
    this.mgr.logger.info(remote.state.kind === "up" ? "remote cluster answers again" : "remote cluster does not answer", { server: remote.server, applications: remote.users.size });
    for (const key of remote.users) this.controller.enqueue(requestOf(key));
  }

  /** Moves an Application to cluster `to` ("" local, undefined none): the informers it held on the old one are given back. */
  private move(key: string, state: AppState, to: string | undefined): void {
    if (state.cluster === to) return;
    const from = state.cluster;
    if (from === "") this.local.forget(key);
    else {
      const old = this.remotes.get(from);
      if (old) {
        old.view.forget(key);
        old.users.delete(key);
        if (old.users.size === 0) {
          old.close();
          this.remotes.delete(from);
        }
      }
    }
    if (to === undefined) return;
    state.cluster = to;
    const remote = to ? this.remotes.get(to) : undefined;
    if (remote) {
      const first = remote.users.size === 0;
      remote.users.add(key);
      if (first && remote.state.kind !== "unknown") void remote.probe();
    }
  }

  /** The kubeconfig of the Application's Secret: from memory while the Secret's data digest is unchanged. */
  private async readKubeConfig(app: Application, key: string, state: AppState, signal: AbortSignal): Promise<RemoteKubeConfig | KubeConfigProblem | { watchFailed: string }> {
    const ns = app.metadata!.namespace!;
    const ref = app.spec.kubeConfig!.secretRef;
    const id = `${ns}/${ref.name}`;
    const inf = this.watchSecret(key, state, ns, ref.name);
    const synced = await this.synced(inf, signal);
    if (synced) return { watchFailed: `the operator cannot watch Secret ${id} (spec.kubeConfig.secretRef): ${synced}; grant get, list and watch on Secrets in ${ns} to the apply controller (Helm value rbac.apply.kubeConfigSecretNamespaces, or rbac.apply.clusterRead)` };
    const seen = inf.store.get(id) as (KubeObject & { dataDigest?: string }) | undefined;
    if (!seen) return new KubeConfigProblem("KubeConfigNotFound", `Secret ${id} (spec.kubeConfig.secretRef) does not exist; create it with the remote cluster's kubeconfig under the key 'value'`);
    const memo = `${id}|${ref.key ?? ""}`;
    const prev = this.loaded.get(memo);
    if (prev && prev.digest === seen.dataDigest) return prev.result;
    let live: (KubeObject & { data?: Record<string, string> }) | undefined;
    try {
      live = await this.mgr.client.live().get(Kinds.Secret, ref.name, ns, { signal });
    } catch (err) {
      if (signal.aborted) throw err;
      if (isForbidden(err)) return { watchFailed: `the operator cannot read Secret ${id} (spec.kubeConfig.secretRef): ${(err as Error).message}` };
      throw err;
    }
    if (!live) return new KubeConfigProblem("KubeConfigNotFound", `Secret ${id} (spec.kubeConfig.secretRef) does not exist; create it with the remote cluster's kubeconfig under the key 'value'`);
    let result: RemoteKubeConfig | KubeConfigProblem;
    try {
      result = parseRemoteKubeConfig(`${id}`, kubeConfigText(id, live.data, ref.key));
    } catch (err) {
      if (!(err instanceof KubeConfigProblem)) throw err;
      result = err;
    }
    this.loaded.set(memo, { digest: secretDataDigest(live.data), result });
    return result;
  }

  /** Waits (bounded) for the Secret informer's first list; returns why it failed, or undefined. */
  private async synced(inf: Informer, signal: AbortSignal): Promise<string | undefined> {
    if (inf.hasSynced()) return undefined;
    const why = () => inf.lastError?.message;
    if (why()) return why();
    try {
      await inf.waitForSync(AbortSignal.any([signal, timeoutSignal(this.cacheSyncTimeoutMs)]));
      return undefined;
    } catch (err) {
      if (signal.aborted) throw err;
      return why() ?? "the Secret's watch has not synced yet";
    }
  }

  /** The data-less informer of the one Secret the Application names, held for it; its changes wake the Application. */
  private watchSecret(key: string, state: AppState, ns: string, name: string): Informer {
    const id = `${ns}/${name}`;
    const sel = { namespace: ns, fieldSelector: `metadata.name=${name}`, ...SECRETS_WITHOUT_DATA };
    if (state.secret && state.secret.id !== id) this.unwatchSecret(key, state);
    const inf = this.mgr.cache.acquire(Kinds.Secret, sel, SECRET_HOLDER + key);
    if (!state.secret) {
      const wake = () => this.controller.enqueue(requestOf(key));
      state.secret = { id, off: inf.addEventHandler({ onAdd: wake, onUpdate: wake, onDelete: wake }) };
    }
    return inf;
  }

  private unwatchSecret(key: string, state: AppState): void {
    if (!state.secret) return;
    state.secret.off();
    const [ns, name] = state.secret.id.split("/") as [string, string];
    this.mgr.cache.release(Kinds.Secret, { namespace: ns, fieldSelector: `metadata.name=${name}`, ...SECRETS_WITHOUT_DATA }, SECRET_HOLDER + key);
    state.secret = undefined;
    // The Secret may be read again by another Application: its memo goes only when no Application names it.
    if (![...this.apps.values()].some((s) => s.secret?.id === `${ns}/${name}`)) for (const m of this.loaded.keys()) if (m.startsWith(`${ns}/${name}|`)) this.loaded.delete(m);
  }
}

function requestOf(key: string): Request {
  const i = key.indexOf("/");
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

