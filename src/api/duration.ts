// Durations in the API are Go duration strings ("30s", "5m", "1h30m"), the form Kubernetes users know
// from every other controller, and the form CEL's duration() parses on the API server.

/** Matches a duration the API accepts: one or more <number><unit> terms, units ms, s, m, h. */
export const DURATION_PATTERN = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";

const TERM = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const WHOLE = new RegExp(DURATION_PATTERN);

/** Milliseconds in a duration string such as "1h30m"; throws when the string is not a duration. */
export function parseDuration(text: string): number {
  if (!WHOLE.test(text)) {
    throw new Error(`"${text}" is not a duration: use a number and a unit (ms, s, m, h), for example 30s, 5m or 1h30m`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(TERM)) total += Number(amount) * UNIT_MS[unit!]!;
  return Math.round(total);
}

/** Milliseconds in the duration, or undefined when it is not one (for validators that report the pattern error separately). */
export function tryParseDuration(text: unknown): number | undefined {
  if (typeof text !== "string" || !WHOLE.test(text)) return undefined;
  return parseDuration(text);
}

/** The shortest Go-style string for a number of milliseconds: 90_000 → "1m30s", 500 → "500ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`cannot format ${ms} as a duration: it must be a finite, non-negative number of milliseconds`);
  if (ms === 0) return "0s";
  let rest = Math.round(ms);
  let out = "";
  for (const unit of ["h", "m", "s", "ms"] as const) {
    const size = UNIT_MS[unit]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
