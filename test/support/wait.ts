// Polling with a deadline: the one way tests wait for the cluster or a controller to converge.
// On timeout the error says what was awaited and the last thing seen, so a failure explains itself.
import { setTimeout as sleep } from "node:timers/promises";

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Calls `probe` until it returns a value other than undefined/false/null, and returns that value.
 * A thrown error counts as "not yet" (and is reported if the deadline passes).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = "nothing yet";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as T;
      last = value;
    } catch (err) {
      last = err instanceof Error ? `error: ${err.message}` : err;
    }
    if (Date.now() >= deadline) {
      const seen = typeof last === "string" ? last : JSON.stringify(last);
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(1)}s waiting for ${what}; last seen: ${seen}`);
    }
    await sleep(intervalMs);
  }
}
