// Delivery: one FIFO queue per Provider, drained in the background, so a slow or failing receiver delays only its own
// notifications (never a sync: the controllers that sync do not wait for, or even know about, the notify controller).
// A failed request is retried with exponential backoff while the receiver says it may work later (network errors,
// 408, 429, 5xx) up to `attempts` requests; every step is reported through `onRecord` (the Alert's and Provider's
// status) and the log, with secrets redacted.
import { formatDuration } from "../api/duration.js";
import type { NotificationEventKind } from "../api/notification.js";
import { Reasons } from "../api/constants.js";
import type { Logger } from "../log.js";
import { type Clock, sleep } from "../runtime/clock.js";
import { objectRef, type NotificationEvent } from "./events.js";
import { CannotBuild, NotApplicable, buildRequest, type EventContext } from "./payload.js";
import { send as sendRequest, type SendResult } from "./send.js";
import { ProviderConfigError, redact, type ProviderSettings } from "./settings.js";
import { metaTime } from "../runtime/conditions.js";

/** The longest a Retry-After is obeyed: a receiver asking for an hour still gets its attempts within a few minutes each. */
const RETRY_AFTER_MAX_MS = 5 * 60_000;

export interface ObjectRef {
  namespace: string;
  name: string;
}

export interface Job {
  alert: ObjectRef;
  provider: ObjectRef;
  event: NotificationEvent;
  ctx: EventContext;
  /** The Provider's type when queued (for metrics). */
  type: string;
}

export type DeliveryResult = "Succeeded" | "Retrying" | "Failed";

/** What the status of the Alert and the Provider says about the last delivery. */
export interface DeliveryRecord {
  event: NotificationEventKind;
  object: string;
  revision?: string;
  at: string;
  result: DeliveryResult;
  attempts: number;
  /** The condition reason (Delivered, DeliveryRetrying, DeliveryFailed, or the Provider's configuration reason). */
  reason: string;
  /** What happened, for the Delivered condition's message; redacted. */
  message: string;
}

export interface DelivererOptions {
  /** The Provider's settings, read at each attempt (a fixed Secret takes effect on the next retry). */
  settingsFor(provider: ObjectRef): Promise<ProviderSettings>;
  send?: (req: Parameters<typeof sendRequest>[0], timeoutMs: number, secrets: readonly string[], signal?: AbortSignal) => Promise<SendResult>;
  onRecord(job: Job, record: DeliveryRecord): void;
  clock: Clock;
  logger: Logger;
  /** Requests per event at most (default 6). */
  attempts?: number;
  /** Wait before the first retry (default 2 s), doubled each time up to maxBackoffMs (default 1 min). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Events waiting per Provider at most; past it the oldest is dropped (default 100). */
  maxQueue?: number;
  onDropped?: (job: Job) => void;
}

interface Queue {
  jobs: Job[];
  running: boolean;
}

export class Deliverer {
  private readonly queues = new Map<string, Queue>();
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly o: DelivererOptions) {}

  /** Queues a job behind the Provider's earlier ones; returns at once. */
  enqueue(job: Job): void {
    const key = `${job.provider.namespace}/${job.provider.name}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = { jobs: [], running: false }));
    q.jobs.push(job);
    const max = this.o.maxQueue ?? 100;
    while (q.jobs.length > max) {
      const dropped = q.jobs.shift()!;
      this.o.logger.warn("notification dropped: the Provider's queue is full", { provider: key, event: dropped.event.kind, object: objectRef(dropped.event) });
      this.o.onDropped?.(dropped);
    }
    if (!q.running) {
      q.running = true;
      const p = this.drain(key, q).finally(() => this.running.delete(p));
      this.running.add(p);
    }
  }

  /** Stops: waits no further, abandons queued jobs (the process is ending). */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.running]);
  }

  /** Jobs waiting or in flight, per Provider (for tests and debugging). */
  pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.jobs.length + (q.running ? 1 : 0);
    return n;
  }

  private async drain(key: string, q: Queue): Promise<void> {
    try {
      while (q.jobs.length && !this.abort.signal.aborted) await this.deliver(q.jobs.shift()!);
    } finally {
      q.running = false;
      if (!q.jobs.length) this.queues.delete(key);
    }
  }

  private async deliver(job: Job): Promise<void> {
    const max = this.o.attempts ?? 6;
    const base = this.o.backoffMs ?? 2_000;
    const cap = this.o.maxBackoffMs ?? 60_000;
    const send = this.o.send ?? sendRequest;
    const e = job.event;
    const what = `${e.kind} of ${objectRef(e)}${e.revision ? ` (${e.revision})` : ""}`;
    const to = `Provider ${job.provider.name}`;
    const record = (result: DeliveryResult, attempts: number, reason: string, message: string) =>
      this.o.onRecord(job, { event: e.kind, object: objectRef(e), ...(e.revision ? { revision: e.revision } : {}), at: metaTime(this.o.clock.now()), result, attempts, reason, message });
    const log = this.o.logger.child({ alert: `${job.alert.namespace}/${job.alert.name}`, provider: `${job.provider.namespace}/${job.provider.name}`, event: e.kind, object: objectRef(e) });
    let secrets: readonly string[] = [];
    for (let attempt = 1; attempt <= max; attempt++) {
      let result: SendResult;
      try {
        const settings = await this.o.settingsFor(job.provider);
        secrets = settings.secrets;
        const req = buildRequest(settings, e, job.ctx);
        result = await send(req, settings.timeoutMs, secrets, this.abort.signal);
      } catch (err) {
        if (err instanceof NotApplicable) {
          log.debug("nothing to send for this event", { why: err.message });
          return;
        }
        if (err instanceof ProviderConfigError || err instanceof CannotBuild) {
          const reason = err instanceof ProviderConfigError ? err.reason : Reasons.deliveryFailed;
          const message = redact(`${what} not sent to ${to}: ${err.message}`, secrets);
          log.warn("notification not sent", { error: message });
          record("Failed", attempt - 1, reason, message);
          return;
        }
        result = { ok: false, retryable: true, message: (err as Error).message };
      }
      if (result.ok) {
        log.info("notification sent", { attempts: attempt, status: result.status });
        record("Succeeded", attempt, Reasons.delivered, `sent ${what} to ${to}${attempt > 1 ? ` after ${attempt} attempts` : ""}`);
        return;
      }
      const failure = redact(result.message, secrets);
      if (!result.retryable || attempt === max) {
        const message = `${what} not sent to ${to}: ${failure}${result.retryable ? `; gave up after ${attempt} attempts` : "; not retried (the receiver refused it)"}`;
        log.warn("notification failed", { error: message });
        record("Failed", attempt, Reasons.deliveryFailed, message);
        return;
      }
      const backoff = Math.min(cap, base * 2 ** (attempt - 1));
      // A receiver that says when to come back is obeyed (bounded): asking sooner only earns another 429.
      const asked = result.retryAfterMs !== undefined && result.retryAfterMs > backoff ? Math.min(result.retryAfterMs, RETRY_AFTER_MAX_MS) : undefined;
      const delay = asked ?? backoff;
      const message = `sending ${what} to ${to} failed (attempt ${attempt} of ${max}): ${failure}; retrying in ${formatDuration(delay)}${asked !== undefined ? " (the receiver's Retry-After)" : ""}`;
      log.info("notification failed, retrying", { error: message });
      record("Retrying", attempt, Reasons.deliveryRetrying, message);
      try {
        await sleep(this.o.clock, delay, this.abort.signal);
      } catch {
        return; // stopping
      }
    }
  }
}
