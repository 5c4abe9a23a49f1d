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

export function setupNotifyController(mgr: Manager, opts: NotifyControllerOptions = {}): NotifyController {
  const client = mgr.client;
  const live = client.live();
  const clock = opts.clock ?? mgr.clock ?? realClock;
  const startedAt = opts.startedAt ?? clock.now();
  const log = mgr.logger.child({ controller: "notify" });
  const throttle = new Throttle(clock);
  const handled = new Map<string, number>();
  const providerRecords = new Map<string, DeliveryRecord>();
  const alertRecords = new Map<string, DeliveryRecord>();
  const dropped = new Map<string, number>();
  const sent = new Counter({
    name: "mooring_notifications_total",
    help: "Notification events per Alert outcome: sent, failed, retried, duplicate (deduplicated), rate_limited, dropped (queue full)",
    labelNames: ["type", "result"] as const,
    registers: [mgr.metrics.registry],
  });
  const providerWriter = new StatusWriter<ProviderStatus>({ client, fieldManager: FieldManagers.notify });
  const alertWriter = new StatusWriter<AlertStatus>({ client, fieldManager: FieldManagers.notify });

  const getProvider = (ref: ObjectRef) => client.get<ProviderObject>(ProviderKind, ref.name, ref.namespace);
  /** The Provider's settings with its Secret, read live: Secrets are not cached (memory, and a narrower permission). */
  const settingsFor = async (ref: ObjectRef, provider?: ProviderObject): Promise<ProviderSettings> => {
    const p = provider ?? (await getProvider(ref));
    if (!p) throw new ProviderConfigError(Reasons.providerNotFound, `Provider "${ref.name}" not found in namespace ${ref.namespace}; create it or fix the Alert's spec.providerRef.name`);
    const secretName = p.spec.secretRef?.name;
    const secret = secretName ? await live.get<SecretObject>(Kinds.Secret, secretName, ref.namespace) : undefined;
    return providerSettings(p, secretName ? (secret ? (secret.data ?? {}) : undefined) : {});
  };

  // onRecord runs only after set-up (deliveries are asynchronous), when both controllers below exist.
  const deliverer = new Deliverer({
    settingsFor: (ref) => settingsFor(ref),
    clock,
    logger: log,
    ...(opts.attempts ? { attempts: opts.attempts } : {}),
    ...(opts.backoffMs ? { backoffMs: opts.backoffMs } : {}),
    ...(opts.maxBackoffMs ? { maxBackoffMs: opts.maxBackoffMs } : {}),
    onRecord: (job: Job, record: DeliveryRecord) => {
      providerRecords.set(key(job.provider), record);
      alertRecords.set(key(job.alert), record);
      sent.inc({ type: job.type, result: record.result === "Succeeded" ? "sent" : record.result === "Retrying" ? "retried" : "failed" });
      providers.enqueue(job.provider);
      alerts.enqueue(job.alert);
    },
    onDropped: (job) => sent.inc({ type: job.type, result: "dropped" }),
  });
  mgr.addRunnable(async (signal) => {
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await deliverer.stop();
  });

  // ---- events ----

  /** The Application's revision for an event whose message names none: what it rendered (sync) or applied (the rest). */
  const revisionOf = (app: AppObject | undefined) => (kind: string) =>
    kind === "Synced" || kind === "SyncFailed" ? (app?.status?.render?.artifact?.revision ?? app?.status?.sync?.revision) : (app?.status?.sync?.revision ?? app?.status?.render?.artifact?.revision);

  /** The URL of the GitRepository an Application renders (commit statuses are set on its commits). */
  const repositoryUrl = async (app: AppObject | undefined): Promise<string | undefined> => {
    const ref = app?.spec.sourceRef;
    if (!app || ref?.kind !== "GitRepository") return undefined;
    const repo = await client.get<GitRepository & KubeObject>(GitRepositoryKind, ref.name, ref.namespace ?? app.metadata!.namespace);
    return repo?.spec.url;
  };

  const dispatch = async (event: NotificationEvent, labels: Record<string, string> | undefined, app: AppObject | undefined, ctx: ReconcileContext): Promise<void> => {
    const all = await client.list<AlertObject & KubeObject>(AlertKind, { namespace: event.object.namespace });
    const wanted = matchingAlerts(all, event, labels);
    if (!wanted.length) return;
    const url = await repositoryUrl(app);
    for (const a of wanted) {
      const alert = { namespace: a.metadata.namespace!, name: a.metadata.name! };
      const provider = { namespace: alert.namespace, name: a.spec.providerRef.name };
      const p = await getProvider(provider);
      if (p?.spec.suspend) continue;
      const type = p?.spec.type ?? "unknown";
      const verdict = throttle.admit(key(alert), event, {
        dedupWindowMs: parseDuration(a.spec.dedupWindow ?? "5m"),
        events: a.spec.rateLimit?.events ?? 30,
        intervalMs: parseDuration(a.spec.rateLimit?.interval ?? "1m"),
      });
      if (verdict !== "send") {
        sent.inc({ type, result: verdict === "duplicate" ? "duplicate" : "rate_limited" });
        ctx.log.debug("notification not queued", { alert: key(alert), verdict, event: event.kind });
        if (verdict === "rateLimited") {
          dropped.set(key(alert), (dropped.get(key(alert)) ?? 0) + 1);
          alerts.enqueue(alert);
        }
        continue;
      }
      deliverer.enqueue({ alert, provider, event, type, ctx: { ...(a.spec.summary ? { summary: a.spec.summary } : {}), ...(url ? { repositoryUrl: url } : {}) } });
    }
  };

  const reconcileEvent = async (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const ev = await client.get<KubeEvent>(Kinds.EventV1, req.name, req.namespace);
    const uid = ev?.metadata?.uid;
    if (!ev || !uid || handled.has(uid)) return {};
    handled.set(uid, clock.now());
    if (handled.size > 10_000) for (const [k, at] of handled) if (clock.now() - at > 2 * 3_600_000) handled.delete(k);
    const at = Date.parse(ev.eventTime ?? ev.metadata?.creationTimestamp ?? "");
    // Events from before this process started were someone else's news (or this process's predecessor's).
    if (!(at >= Math.floor(startedAt / 1000) * 1000)) return {};
    const r = ev.regarding;
    const kind = r?.kind ? SOURCE_KINDS[r.kind] : undefined;
    if (!kind || !r?.name) return {};
    const obj = await client.get<KubeObject>(kind, r.name, r.namespace ?? req.namespace);
    const app = kind === ApplicationKind ? (obj as AppObject | undefined) : undefined;
    const event = toNotification(ev, revisionOf(app));
    if (!event) return {};
    ctx.log.debug("event", { kind: event.kind, object: `${event.object.namespace}/${event.object.name}` });
    await dispatch(event, obj?.metadata?.labels, app, ctx);
    return {};
  };

  // ---- providers ----

  const checkProvider = async (p: ProviderObject): Promise<ProviderCheck> => {
    try {
      const s = await settingsFor({ namespace: p.metadata!.namespace!, name: p.metadata!.name! }, p);
      const where = s.address ? originOf(s.address) : "the Git host of each Application's GitRepository";
      return { ok: true, message: `ready to send (${s.type}) to ${where}` };
    } catch (err) {
      if (err instanceof ProviderConfigError) return { ok: false, reason: err.reason, message: err.message };
      throw err;
    }
  };

  const reconcileProvider = async (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const p = await client.get<ProviderObject>(ProviderKind, req.name, req.namespace);
    if (!p || p.metadata?.deletionTimestamp) {
      providerWriter.forget(req);
      providerRecords.delete(key(req));
      return {};
    }
    const check = await checkProvider(p);
    const status = providerStatus(p, providerWriter.current(p), check, providerRecords.get(key(req)), clock.now());
    if (await providerWriter.write(p, status, { signal: ctx.signal })) ctx.log.debug("provider status written", { ready: check.ok });
    return check.ok ? {} : { requeueAfter: RECHECK_MS };
  };

  // ---- alerts ----

  const reconcileAlert = async (req: Request, ctx: ReconcileContext): Promise<Result> => {
    const a = await client.get<Alert & KubeObject>(AlertKind, req.name, req.namespace);
    if (!a || a.metadata?.deletionTimestamp) {
      alertWriter.forget(req);
      alertRecords.delete(key(req));
      throttle.forget(key(req));
      dropped.delete(key(req));
      return {};
    }
    const provider = await getProvider({ namespace: req.namespace, name: a.spec.providerRef.name });
    const status = alertStatus(a, alertWriter.current(a), provider, alertRecords.get(key(req)), dropped.get(key(req)) ?? 0, clock.now());
    if (await alertWriter.write(a, status, { signal: ctx.signal })) ctx.log.debug("alert status written");
    return {};
  };

  const concurrency = opts.concurrency ?? 2;
  const events = mgr.controller("notify-events").for<KubeEvent>(Kinds.EventV1, { predicates: [created] }).withOptions({ maxConcurrentReconciles: concurrency }).build(reconcileEvent);
  const providers = mgr.controller("notify-provider").for<ProviderObject>(ProviderKind, { predicates: [specChanged] }).withOptions({ maxConcurrentReconciles: concurrency }).build(reconcileProvider);
  const alerts = mgr
    .controller("notify-alert")
    .for<Alert & KubeObject>(AlertKind, { predicates: [specChanged] })
    // A Provider's readiness is part of each Alert's Ready condition.
    .watches<ProviderObject>(ProviderKind, (p) =>
      client.cache
        ? client.cache
            .informerFor<Alert & KubeObject>(AlertKind)
            .store.list()
            .filter((a) => a.metadata?.namespace === p.metadata?.namespace && a.spec?.providerRef?.name === p.metadata?.name)
            .map((a) => ({ namespace: a.metadata!.namespace!, name: a.metadata!.name! }))
        : [],
    )
    .withOptions({ maxConcurrentReconciles: concurrency })
    .build(reconcileAlert);
  return { events, providers, alerts, deliverer };
}
