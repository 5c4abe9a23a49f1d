// Leader election with a coordination.k8s.io/v1 Lease, following client-go's algorithm:
//  - a candidate tries every retryPeriod; it may take the lease when it is free (no holder) or when the holder has
//    not renewed for leaseDuration, measured on OUR clock from when we last saw the record change (clocks of two
//    machines are never compared);
//  - the leader renews every retryPeriod; if it cannot renew for renewDeadline it has lost, and must stop at once;
//  - optimistic concurrency (resourceVersion) makes two simultaneous takeovers impossible: one update conflicts.
import { type Logger, log } from "../log.js";
import { type Clock, realClock, sleep } from "./clock.js";
import type { Client } from "./client.js";
import { Kinds, apiVersionOf } from "./kinds.js";
import { isAlreadyExists, isConflict } from "./rest.js";

export interface LeaderElectionOptions {
  namespace: string;
  /** Lease name (e.g. "mooring-leader"). */
  name: string;
  /** This candidate's identity; default hostname + random suffix. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Give the lease up on a graceful stop so the next leader takes over at once (default true). */
  releaseOnCancel?: boolean;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
  [k: string]: unknown;
}

/** RFC 3339 with microseconds, the MicroTime format of Lease times. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElectionLostError extends Error {}

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDuration: number;
  private readonly renewDeadline: number;
  private readonly retryPeriod: number;
  private observed: { spec: string; at: number } | undefined;
  private lease: Lease | undefined;
  private leader = false;
  private readonly log: Logger;

  constructor(
    private readonly client: Client,
    private readonly opts: LeaderElectionOptions,
    private readonly clock: Clock = realClock,
    logger?: Logger,
    private readonly onStatus?: (leader: boolean) => void,
  ) {
    this.identity = opts.identity ?? `${process.env.HOSTNAME ?? "mooring"}_${Math.random().toString(36).slice(2, 10)}`;
    this.leaseDuration = opts.leaseDurationMs ?? 15_000;
    this.renewDeadline = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriod = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseDuration > this.renewDeadline && this.renewDeadline > this.retryPeriod * 1.2)) {
      throw new Error(`leader election needs leaseDuration > renewDeadline > 1.2·retryPeriod (got ${this.leaseDuration}/${this.renewDeadline}/${this.retryPeriod} ms)`);
    }
    this.log = (logger ?? log()).child({ component: "leader-election", lease: `${opts.namespace}/${opts.name}`, identity: this.identity });
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** The current holder as last seen. */
  holder(): string | undefined {
    return this.lease?.spec?.holderIdentity ?? undefined;
  }

  private setLeader(v: boolean): void {
    if (this.leader === v) return;
    this.leader = v;
    this.onStatus?.(v);
  }

  /** Waits until this candidate holds the lease (true) or `signal` aborts (false). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    this.log.info("waiting to become leader");
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) {
        this.setLeader(true);
        this.log.info("became leader");
        return true;
      }
      try {
        await sleep(this.clock, this.retryPeriod * (1 + Math.random() * 0.2), signal);
      } catch {
        return false;
      }
    }
    return false;
  }

  /**
   * Renews the lease every retryPeriod until `signal` aborts (resolves "stopped", releasing the lease if configured)
   * or renewal fails for renewDeadline (resolves "lost").
   */
  async hold(signal: AbortSignal): Promise<"stopped" | "lost"> {
    let lastRenew = this.clock.now();
    while (!signal.aborted) {
      try {
        await sleep(this.clock, this.retryPeriod, signal);
      } catch {
        break;
      }
      const attempt = new AbortController();
      const t = this.clock.setTimeout(() => attempt.abort(new Error("renew attempt timed out")), Math.max(1, lastRenew + this.renewDeadline - this.clock.now()));
      const onStop = () => attempt.abort(signal.reason);
      signal.addEventListener("abort", onStop, { once: true });
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew(attempt.signal);
      } finally {
        this.clock.clearTimeout(t);
        signal.removeEventListener("abort", onStop);
      }
      if (signal.aborted) break;
      if (ok) lastRenew = this.clock.now();
      else if (this.clock.now() - lastRenew >= this.renewDeadline) {
        this.setLeader(false);
        this.log.error("lost the lease: could not renew it within the renew deadline", { renewDeadlineMs: this.renewDeadline });
        return "lost";
      }
    }
    if (this.opts.releaseOnCancel ?? true) await this.release();
    this.setLeader(false);
    return "stopped";
  }

  /** Gives the lease up (holder cleared, 1 s duration) so another candidate can take it at once. */
  async release(): Promise<void> {
    if (!this.leader || !this.lease) return;
    const now = microTime(this.clock.now());
    try {
      await this.client.update({ ...this.lease, spec: { ...this.lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: now, acquireTime: now } });
      this.log.info("released the lease");
    } catch (err) {
      this.log.warn("could not release the lease; the next leader waits for it to expire", { error: (err as Error).message });
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.clock.now();
    const { name, namespace } = this.opts;
    const mine: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDuration / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      const current = await this.client.get<Lease>(Kinds.Lease, name, namespace, { signal });
      if (!current) {
        this.lease = await this.client.create<Lease>({ apiVersion: apiVersionOf(Kinds.Lease), kind: "Lease", metadata: { name, namespace }, spec: mine }, { signal });
        this.observed = { spec: JSON.stringify(this.lease.spec), at: now };
        return true;
      }
      const spec = current.spec ?? {};
      const seen = JSON.stringify(spec);
      if (this.observed?.spec !== seen) this.observed = { spec: seen, at: now };
      this.lease = current;
      const holder = spec.holderIdentity ?? "";
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder && holder !== this.identity && this.observed.at + durationMs > now) return false; // held by another, still valid
      const next: LeaseSpec =
        holder === this.identity
          ? { ...spec, renewTime: mine.renewTime, leaseDurationSeconds: mine.leaseDurationSeconds }
          : { ...mine, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
      this.lease = await this.client.update<Lease>({ ...current, apiVersion: apiVersionOf(Kinds.Lease), kind: "Lease", spec: next }, { signal });
      this.observed = { spec: JSON.stringify(this.lease.spec), at: now };
      return true;
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) return false; // someone else wrote first
      if (!signal.aborted) this.log.warn("lease request failed", { error: (err as Error).message });
      return false;
    }
  }
}
