// What the apply controller remembers between reconciles of one Application, in this process only. Everything here
// can be lost (a restart rebuilds it from status, the cache and the artifact server); none of it is a decision
// input that status does not also record, except the retry reset and the waves in progress.
import type { KubeObject } from "../runtime/kinds.js";
import type { AppliedObject } from "./applier.js";

/** What this process knows of one applied object. */
export interface Known {
  uid?: string;
  generation?: number;
  /** resourceVersion of the last state seen to match what was applied (compared for equality only). */
  rv?: string;
  /** When this process last applied it (0: only observed). */
  at: number;
  /**
   * resourceVersion of the state this process last overwrote (the object before its apply, or the drifted state
   * self-heal corrected): the cache still showing it is only lagging behind the write, not drift.
   */
  staleRv?: string;
}

/** A sync in waves waiting for a wave's health: where to resume. */
export interface WavesInProgress {
  digest: string;
  next: number;
  since: number;
  applied: AppliedObject[];
  waveOf: Map<string, number>;
}

/** What this process remembers between reconciles of one Application (rebuilt from status after a restart). */
export interface Memory {
  /** What this process knows of each applied object (by inventory id). */
  applied: Map<string, Known>;
  /**
   * The rendered objects (namespaces resolved) of the last successfully applied digest, by inventory id: drift is
   * measured against them. Held as JSON text and parsed when used: a string costs a fraction of the object graph,
   * and at 1,000 Applications these copies were a large part of the heap.
   */
  desired?: { digest: string; json: string };
  /** When loading `desired` last failed (it is not retried on every watch event). */
  desiredFailedAt?: number;
  /** A sync in waves waiting for a wave's health: where to resume. */
  waves?: WavesInProgress;
  /** The Application's uid: a re-created Application starts with a fresh memory. */
  uid?: string;
  /** Failures before this time do not count towards the retry limit (a spec change or manual request resets it). */
  retryResetAt: number;
  /** Manual-sync requests already handled (also recorded in history). */
  handledManual?: string;
  /** Inventory ids of the last successfully applied render (only ids are kept: renders can be large). */
  rendered?: { digest: string; ids: Set<string> };
  /** Health-check informers registered for this Application. */
  healthChecks: Set<string>;
}

/** The memories of all Applications, by "namespace/name". */
export class Memories {
  private readonly byKey = new Map<string, Memory>();

  /** The memory of `key`, created empty when missing. */
  get(key: string): Memory {
    let m = this.byKey.get(key);
    if (!m) this.byKey.set(key, (m = { applied: new Map(), retryResetAt: 0, healthChecks: new Set() }));
    return m;
  }

  /** The memory of `key` for the Application with this uid: a re-created Application starts afresh. */
  claim(key: string, uid: string | undefined): Memory {
    if (this.byKey.get(key)?.uid !== uid) this.byKey.delete(key);
    const m = this.get(key);
    m.uid = uid;
    return m;
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}

/** The applied render held in memory, parsed. */
export function desiredObjects(json: string): Map<string, KubeObject> {
  return new Map(JSON.parse(json) as [string, KubeObject][]);
}

/** Records an object this process just applied (the apply answer), with the state it overwrote. */
export function rememberApplied(mem: Memory, id: string, live: KubeObject, at: number, staleRv: string | undefined): void {
  mem.applied.set(id, { uid: live.metadata?.uid, generation: live.metadata?.generation, rv: live.metadata?.resourceVersion, at, staleRv });
}
