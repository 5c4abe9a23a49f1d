// The notify controller: turns the Events Mooring's controllers record into notifications, and keeps Provider and
// Alert status. Three controllers on one manager:
//   events    — each new events.k8s.io Event from the apply or source controller: classify (./events.ts) → the
//               Alerts that select it (./match.ts) → dedup and rate limit per Alert (./throttle.ts) → queue a
//               delivery (./delivery.ts). Nothing is written here; Events from before this process started are
//               history, not news, and are skipped.
//   providers — check the Provider's Secret and address (./settings.ts) → status (./status.ts), one write.
//   alerts    — the Provider it names and its last delivery → status, one write.
// Deliveries run in the background and report through the providers and alerts controllers' queues.
import { Counter } from "prom-client";
import {
  AlertKind, ApplicationKind, FieldManagers, GitRepositoryKind, HelmChartKind, HelmRepositoryKind, ProviderKind, Reasons,
  type Alert, type AlertStatus, type Application, type GitRepository, type Provider, type ProviderStatus,
} from "../api/index.js";
import { parseDuration } from "../api/duration.js";
import { type Clock, realClock } from "../runtime/clock.js";
import type { Controller } from "../runtime/controller.js";
import { Kinds, type KindDescriptor, type KubeObject } from "../runtime/kinds.js";
import type { Manager } from "../runtime/manager.js";
import { annotationsChanged, generationChanged, or, type Predicate } from "../runtime/predicates.js";
import type { ReconcileContext, Request, Result } from "../runtime/reconcile.js";
import { StatusWriter } from "../runtime/status.js";
import { Deliverer, type DeliveryRecord, type Job, type ObjectRef } from "./delivery.js";
import { toNotification, type KubeEvent, type NotificationEvent } from "./events.js";
import { matchingAlerts, type AlertObject } from "./match.js";
import { ProviderConfigError, originOf, providerSettings, type ProviderSettings } from "./settings.js";
import { alertStatus, providerStatus, type ProviderCheck } from "./status.js";
import { Throttle } from "./throttle.js";

export interface NotifyControllerOptions {
  concurrency?: number;
  clock?: Clock;
  /** Events recorded before this time (ms) are not sent (default: when the controller is set up). */
  startedAt?: number;
  /** Requests per event at most, and the first retry's wait (doubled each time, up to maxBackoffMs). */
  attempts?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface NotifyController {
  events: Controller;
  providers: Controller;
  alerts: Controller;
  deliverer: Deliverer;
}

type ProviderObject = Provider & KubeObject;
type AppObject = Application & KubeObject;
type SecretObject = KubeObject & { data?: Record<string, string> };

/** Only new Events: an Event's series updates (the same event again, counted) are not news. */
const created: Predicate = { create: () => true, update: () => false, delete: () => false };
const specChanged: Predicate = or(generationChanged, annotationsChanged);
/** A Provider not ready is looked at again this often (its Secret may have been created). */
const RECHECK_MS = 30_000;
const SOURCE_KINDS: Record<string, KindDescriptor> = { GitRepository: GitRepositoryKind, HelmRepository: HelmRepositoryKind, HelmChart: HelmChartKind, Application: ApplicationKind };
const key = (r: ObjectRef) => `${r.namespace}/${r.name}`;

/** The three reconcilers and the state they share (dedup memory, the last delivery per Provider and Alert). */
class Notifier {
  readonly deliverer: Deliverer;
  /** Set by setupNotifyController right after construction, before any event or delivery can arrive. */
  providers!: Controller;
  alerts!: Controller;
  private readonly client: Manager["client"];
  private readonly live: ReturnType<Manager["client"]["live"]>;
  private readonly clock: Clock;
  private readonly startedAt: number;
  private readonly throttle: Throttle;
  private readonly handled = new Map<string, number>();
  private readonly providerRecords = new Map<string, DeliveryRecord>();
  private readonly alertRecords = new Map<string, DeliveryRecord>();
  private readonly dropped = new Map<string, number>();
  private readonly sent: Counter<"type" | "result">;
  private readonly providerWriter: StatusWriter<ProviderStatus>;
  private readonly alertWriter: StatusWriter<AlertStatus>;

  constructor(mgr: Manager, opts: NotifyControllerOptions) {
    this.client = mgr.client;
    this.live = mgr.client.live();
    this.clock = opts.clock ?? mgr.clock ?? realClock;
    this.startedAt = opts.startedAt ?? this.clock.now();
    this.throttle = new Throttle(this.clock);
    this.sent = new Counter({
      name: "mooring_notifications_total",
      help: "Notification events per Alert outcome: sent, failed, retried, duplicate (deduplicated), rate_limited, dropped (queue full)",
      labelNames: ["type", "result"] as const,
      registers: [mgr.metrics.registry],
    });
    this.providerWriter = new StatusWriter<ProviderStatus>({ client: this.client, fieldManager: FieldManagers.notify });
    this.alertWriter = new StatusWriter<AlertStatus>({ client: this.client, fieldManager: FieldManagers.notify });
    // onRecord runs only after set-up (deliveries are asynchronous), when both controllers exist.
    this.deliverer = new Deliverer({
      settingsFor: (ref) => this.settingsFor(ref),
      clock: this.clock,
      logger: mgr.logger.child({ controller: "notify" }),
      ...(opts.attempts ? { attempts: opts.attempts } : {}),
      ...(opts.backoffMs ? { backoffMs: opts.backoffMs } : {}),
      ...(opts.maxBackoffMs ? { maxBackoffMs: opts.maxBackoffMs } : {}),
      onRecord: (job: Job, record: DeliveryRecord) => this.recorded(job, record),
      onDropped: (job) => this.sent.inc({ type: job.type, result: "dropped" }),
    });
  }

  private getProvider(ref: ObjectRef) {
    return this.client.get<ProviderObject>(ProviderKind, ref.name, ref.namespace);
  }

  /** The Provider's settings with its Secret, read live: Secrets are not cached (memory, and a narrower permission). */
  private async settingsFor(ref: ObjectRef, provider?: ProviderObject): Promise<ProviderSettings> {
    const p = provider ?? (await this.getProvider(ref));
    if (!p) throw new ProviderConfigError(Reasons.providerNotFound, `Provider "${ref.name}" not found in namespace ${ref.namespace}; create it or fix the Alert's spec.providerRef.name`);
    const secretName = p.spec.secretRef?.name;
    const secret = secretName ? await this.live.get<SecretObject>(Kinds.Secret, secretName, ref.namespace) : undefined;
    return providerSettings(p, secretName ? (secret ? (secret.data ?? {}) : undefined) : {});
  }

  /** A delivery's outcome: counted, and the Provider's and Alert's status brought up to date. */
  private recorded(job: Job, record: DeliveryRecord): void {
    this.providerRecords.set(key(job.provider), record);
    this.alertRecords.set(key(job.alert), record);
    this.sent.inc({ type: job.type, result: record.result === "Succeeded" ? "sent" : record.result === "Retrying" ? "retried" : "failed" });
    this.providers.enqueue(job.provider);
    this.alerts.enqueue(job.alert);
  }

  // ---- events ----

  /** The URL of the GitRepository an Application renders (commit statuses are set on its commits). */
  private async repositoryUrl(app: AppObject | undefined): Promise<string | undefined> {
    const ref = app?.spec.sourceRef;
    if (!app || ref?.kind !== "GitRepository") return undefined;
    const repo = await this.client.get<GitRepository & KubeObject>(GitRepositoryKind, ref.name, ref.namespace ?? app.metadata!.namespace);
    return repo?.spec.url;
  }

  /** Each Alert that selects the event: deduplicated and rate limited, then queued for delivery. */
  private async dispatch(event: NotificationEvent, labels: Record<string, string> | undefined, app: AppObject | undefined, ctx: ReconcileContext): Promise<void> {
    const all = await this.client.list<AlertObject & KubeObject>(AlertKind, { namespace: event.object.namespace });
    const wanted = matchingAlerts(all, event, labels);
    if (!wanted.length) return;
    const url = await this.repositoryUrl(app);
    for (const a of wanted) {
      const alert = { namespace: a.metadata.namespace!, name: a.metadata.name! };
      const provider = { namespace: alert.namespace, name: a.spec.providerRef.name };
      const p = await this.getProvider(provider);
      if (p?.spec.suspend) continue;
      const type = p?.spec.type ?? "unknown";
      const verdict = this.throttle.admit(key(alert), event, {
        dedupWindowMs: parseDuration(a.spec.dedupWindow ?? "5m"),
        events: a.spec.rateLimit?.events ?? 30,
        intervalMs: parseDuration(a.spec.rateLimit?.interval ?? "1m"),
      });
      if (verdict !== "send") {
        this.sent.inc({ type, result: verdict === "duplicate" ? "duplicate" : "rate_limited" });
        ctx.log.debug("notification not queued", { alert: key(alert), verdict, event: event.kind });
        if (verdict === "rateLimited") {
          this.dropped.set(key(alert), (this.dropped.get(key(alert)) ?? 0) + 1);
          this.alerts.enqueue(alert);
        }
        continue;
      }
      this.deliverer.enqueue({ alert, provider, event, type, ctx: { ...(a.spec.summary ? { summary: a.spec.summary } : {}), ...(url ? { repositoryUrl: url } : {}) } });
    }
  }

  /** Whether the Event is news: not seen before, and recorded after this process started. */
  private isNews(ev: KubeEvent | undefined): ev is KubeEvent {
    const uid = ev?.metadata?.uid;
    if (!ev || !uid || this.handled.has(uid)) return false;
    const now = this.clock.now();
    this.handled.set(uid, now);
    if (this.handled.size > 10_000) for (const [k, at] of this.handled) if (now - at > 2 * 3_600_000) this.handled.delete(k);
    const at = Date.parse(ev.eventTime ?? ev.metadata?.creationTimestamp ?? "");
    // Events from before this process started were someone else's news (or this process's predecessor's).
    return at >= Math.floor(this.startedAt / 1000) * 1000;
  }

  readonly reconcileEvent = async (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const ev = await this.client.get<KubeEvent>(Kinds.EventV1, req.name, req.namespace);
    if (!this.isNews(ev)) return {};
    const r = ev.regarding;
    const kind = r?.kind ? SOURCE_KINDS[r.kind] : undefined;
    if (!kind || !r?.name) return {};
    const obj = await this.client.get<KubeObject>(kind, r.name, r.namespace ?? req.namespace);
    const app = kind === ApplicationKind ? (obj as AppObject | undefined) : undefined;
    const event = toNotification(ev, revisionOf(app));
    if (!event) return {};
    ctx.log.debug("event", { kind: event.kind, object: `${event.object.namespace}/${event.object.name}` });
    await this.dispatch(event, obj?.metadata?.labels, app, ctx);
    return {};
  };

  // ---- providers ----

  private async checkProvider(p: ProviderObject): Promise<ProviderCheck> {
    try {
      const s = await this.settingsFor({ namespace: p.metadata!.namespace!, name: p.metadata!.name! }, p);
      const where = s.address ? originOf(s.address) : "the Git host of each Application's GitRepository";
      return { ok: true, message: `ready to send (${s.type}) to ${where}` };
    } catch (err) {
      if (err instanceof ProviderConfigError) return { ok: false, reason: err.reason, message: err.message };
      throw err;
    }
  }

  readonly reconcileProvider = async (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const p = await this.client.get<ProviderObject>(ProviderKind, req.name, req.namespace);
    if (!p || p.metadata?.deletionTimestamp) {
      this.providerWriter.forget(req);
      this.providerRecords.delete(key(req));
      return {};
    }
    const check = await this.checkProvider(p);
    const status = providerStatus(p, this.providerWriter.current(p), check, this.providerRecords.get(key(req)), this.clock.now());
    if (await this.providerWriter.write(p, status, { signal: ctx.signal })) ctx.log.debug("provider status written", { ready: check.ok });
    return check.ok ? {} : { requeueAfter: RECHECK_MS };
  };

  // ---- alerts ----

  readonly reconcileAlert = async (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const a = await this.client.get<Alert & KubeObject>(AlertKind, req.name, req.namespace);
    if (!a || a.metadata?.deletionTimestamp) {
      this.alertWriter.forget(req);
      this.alertRecords.delete(key(req));
      this.throttle.forget(key(req));
      this.dropped.delete(key(req));
      return {};
    }
    const provider = await this.getProvider({ namespace: req.namespace, name: a.spec.providerRef.name });
    const status = alertStatus(a, this.alertWriter.current(a), provider, this.alertRecords.get(key(req)), this.dropped.get(key(req)) ?? 0, this.clock.now());
    if (await this.alertWriter.write(a, status, { signal: ctx.signal })) ctx.log.debug("alert status written");
    return {};
  };

  /** The Alerts naming Provider `p` (a Provider's readiness is part of each Alert's Ready condition). */
  readonly alertsOf = (p: ProviderObject): Request[] =>
    this.client.cache
      ? this.client.cache
          .informerFor<Alert & KubeObject>(AlertKind)
          .store.list()
          .filter((a) => a.metadata?.namespace === p.metadata?.namespace && a.spec?.providerRef?.name === p.metadata?.name)
          .map((a) => ({ namespace: a.metadata!.namespace!, name: a.metadata!.name! }))
      : [];
}

/** The Application's revision for an event whose message names none: what it rendered (sync) or applied (the rest). */
const revisionOf = (app: AppObject | undefined) => (kind: string) =>
  kind === "Synced" || kind === "SyncFailed" ? (app?.status?.render?.artifact?.revision ?? app?.status?.sync?.revision) : (app?.status?.sync?.revision ?? app?.status?.render?.artifact?.revision);

export function setupNotifyController(mgr: Manager, opts: NotifyControllerOptions = {}): NotifyController {
  const n = new Notifier(mgr, opts);
  mgr.addRunnable(async (signal) => {
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await n.deliverer.stop();
  });
  const concurrency = { maxConcurrentReconciles: opts.concurrency ?? 2 };
  const events = mgr.controller("notify-events").for<KubeEvent>(Kinds.EventV1, { predicates: [created] }).withOptions(concurrency).build(n.reconcileEvent);
  n.providers = mgr.controller("notify-provider").for<ProviderObject>(ProviderKind, { predicates: [specChanged] }).withOptions(concurrency).build(n.reconcileProvider);
  n.alerts = mgr
    .controller("notify-alert")
    .for<Alert & KubeObject>(AlertKind, { predicates: [specChanged] })
    .watches<ProviderObject>(ProviderKind, n.alertsOf)
    .withOptions(concurrency)
    .build(n.reconcileAlert);
  return { events, providers: n.providers, alerts: n.alerts, deliverer: n.deliverer };
}
