// Sync windows: whether automated (and manual) syncs may happen at a given instant, and when that answer next
// changes. Pure functions of the windows and an injected instant, so the controllers and the tests agree.
//
// Semantics (Argo CD's, with real time zones): a window is open from each time its cron schedule fires (read in its
// IANA time zone, DST included) for `duration`, half-open [fire, fire + duration). With no windows everything is
// allowed. An open deny window blocks automated syncs (deny wins over allow); if any allow window exists, automated
// syncs happen only while an allow window is open. Self-heal is an automated sync. Manual syncs are allowed unless
// automated ones are blocked, and then only when the blocking windows say `manualSync: true`: every open deny
// window, or — outside all allow windows — any allow window.
import { CronExpressionParser, type CronExpression } from "cron-parser";
import { Reasons } from "../api/constants.js";
import { parseDuration } from "../api/duration.js";
import { SyncPolicyDefaults } from "../api/syncpolicy.js";

/** One entry of SyncPolicy.spec.windows (timeZone and manualSync may be absent: defaults apply). */
export interface SyncWindow {
  kind: "allow" | "deny";
  schedule: string;
  duration: string;
  timeZone?: string;
  manualSync?: boolean;
}

/** Why automated syncs are (not) allowed: the WindowOpen condition's reason. */
export const WindowReasons = {
  noWindows: Reasons.noWindows,
  inAllowWindow: Reasons.inAllowWindow,
  inDenyWindow: Reasons.inDenyWindow,
  outsideAllowWindows: Reasons.outsideAllowWindows,
  /** Only deny windows exist and none is open. Not in src/api Reasons yet (see the report to the lead). */
  outsideDenyWindows: "OutsideDenyWindows",
} as const;
export type WindowReason = (typeof WindowReasons)[keyof typeof WindowReasons];

export interface OpenWindow {
  /** Position in spec.windows. */
  index: number;
  kind: "allow" | "deny";
  schedule: string;
  timeZone: string;
  duration: string;
  manualSync: boolean;
  /** When the schedule fired to open the window now (the earliest fire whose duration still covers now). */
  openedAt: Date;
  /** When the window closes, counting later fires that keep it open (undefined: not within the search bound). */
  closesAt: Date | undefined;
}

export interface WindowState {
  open: OpenWindow[];
  /** Automated syncs (including self-heal) may run now. */
  automatedAllowed: boolean;
  /** Manual syncs (delivery.mooring.dev/sync-requested-at) may run now. */
  manualAllowed: boolean;
  reason: WindowReason;
  /** One sentence for the WindowOpen condition's message. */
  message: string;
  /** The next instant automatedAllowed flips; undefined with no windows or when no flip is found within the bound. */
  nextChange: Date | undefined;
}

export interface WindowSearchBounds {
  /** How far ahead nextChange is searched (default 400 days: a yearly schedule is always found). */
  horizonMs?: number;
  /** Upper bound on cron evaluations per call, so a pathological schedule cannot stall a reconcile (default 5000). */
  maxSteps?: number;
}

const DAY = 86_400_000;
const DEFAULT_HORIZON = 400 * DAY;
const DEFAULT_MAX_STEPS = 5_000;
/** DST changes shift local time by at most 2 h anywhere; 3 h either side is "near" one. */
const NEAR_DST = 3 * 3_600_000;
/** A walk is continued for a query at most this far past its last fire; further, a new walk is cheaper. */
const WALK_REUSE = 6 * 3_600_000;

/** A window whose schedule, time zone or duration cannot be read (assertValid normally catches this first). */
export class InvalidWindowError extends Error {
  constructor(
    readonly index: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`spec.windows[${index}]: ${message}`, options);
    this.name = "InvalidWindowError";
  }
}

class BudgetExhausted extends Error {}

/** A compiled window: cron queries in its time zone, counted against a shared step budget. */
class Timeline {
  readonly durationMs: number;
  readonly timeZone: string;
  private readonly expr: CronExpression;
  private readonly offsetFormat: Intl.DateTimeFormat;
  /** A forward walk of the schedule from `anchor`: every fire in (anchor, last of fires], in order. */
  private walk: { anchor: number; fires: number[] } | undefined;

  constructor(
    readonly index: number,
    readonly window: SyncWindow,
    private readonly budget: { steps: number },
  ) {
    this.timeZone = window.timeZone ?? SyncPolicyDefaults.windowTimeZone;
    try {
      this.offsetFormat = new Intl.DateTimeFormat("en-US", { timeZone: this.timeZone, timeZoneName: "longOffset" });
    } catch (err) {
      throw new InvalidWindowError(index, `timeZone "${this.timeZone}" is not an IANA time zone name such as UTC or Europe/Paris`, { cause: err });
    }
    try {
      this.durationMs = parseDuration(window.duration);
    } catch (err) {
      throw new InvalidWindowError(index, (err as Error).message, { cause: err });
    }
    if (this.durationMs <= 0) throw new InvalidWindowError(index, `duration "${window.duration}" must be longer than zero`);
    try {
      this.expr = CronExpressionParser.parse(window.schedule, { tz: this.timeZone, strict: false });
    } catch (err) {
      throw new InvalidWindowError(index, `schedule "${window.schedule}" is not a valid cron expression (${(err as Error).message})`, { cause: err });
    }
  }

  /** The UTC offset the time zone has at t ("GMT+02:00"), to spot DST changes. */
  private offsetAt(t: number): string {
    return this.offsetFormat.formatToParts(t).find((p) => p.type === "timeZoneName")?.value ?? "";
  }

  /** One step of the current walk; cron-parser throws only when it cannot compute a date (a library limit). */
  private step(): number {
    if (--this.budget.steps < 0) throw new BudgetExhausted();
    try {
      return this.expr.next().getTime();
    } catch (err) {
      throw new InvalidWindowError(this.index, `cannot compute when schedule "${this.window.schedule}" fires in ${this.timeZone}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * The first fire strictly after t. cron-parser's answer depends on where it starts near a DST change (from inside
   * the repeated hour it fires that hour again; from just after a spring gap it misses the shifted fire), while a
   * walk forward from a point away from any change is consistent. So answers come from a walk: one that started at
   * or before t is continued; otherwise a new one starts at t, or 6 h earlier within 3 h of a change. Queries mostly
   * move forward in time, so most cost one cron step.
   */
  fireAfter(t: number): number {
    let w = this.walk;
    const last = w ? (w.fires[w.fires.length - 1] ?? w.anchor) : undefined;
    if (!w || last === undefined || t < w.anchor || t - last > WALK_REUSE) {
      const near = this.timeZone !== "UTC" && this.offsetAt(t - NEAR_DST) !== this.offsetAt(t + NEAR_DST);
      const anchor = near ? t - 2 * NEAR_DST : t;
      this.expr.reset(new Date(anchor));
      w = this.walk = { anchor, fires: [] };
    }
    const known = w.fires.find((f) => f > t);
    if (known !== undefined) return known;
    for (;;) {
      const f = this.step();
      w.fires.push(f);
      if (w.fires.length > 256) w.anchor = w.fires.splice(0, 128).pop()!;
      if (f > t) return f;
    }
  }

  /**
   * The earliest fire whose window covers t (a fire in (t − duration, t]), if the window is open at t. Only next()
   * is used: cron-parser's prev() disagrees with next() around DST changes (it skips the spring gap's shifted fire
   * and sees the repeated autumn hour twice), and one direction keeps every answer consistent.
   */
  openedBy(t: number): number | undefined {
    const f = this.fireAfter(t - this.durationMs);
    return f <= t ? f : undefined;
  }

  /**
   * End of the open run that `fire` starts: each later fire before the close keeps the window open (a fire exactly
   * at the close re-opens it at the same instant, so there is no observable gap). Undefined: open past `until`.
   */
  runEnd(fire: number, until: number): number | undefined {
    let end = fire + this.durationMs;
    let last = fire;
    while (end <= until) {
      const f = this.fireAfter(last);
      if (f > end) return end;
      last = f;
      end = f + this.durationMs;
    }
    return undefined;
  }
}

/** The state of one window over time, advanced interval by interval: [start, end), end undefined = past the horizon. */
interface Cursor {
  t: Timeline;
  /** Current or next open run; undefined when it never opens again within the horizon. */
  run: { start: number; end: number | undefined } | undefined;
}

function nextRun(t: Timeline, after: number, horizon: number): Cursor["run"] {
  const start = t.fireAfter(after - 1); // a fire exactly at `after` counts
  if (start > horizon) return undefined;
  return { start, end: t.runEnd(start, horizon) };
}

interface Verdict {
  automatedAllowed: boolean;
  manualAllowed: boolean;
  reason: WindowReason;
}

function verdict(windows: readonly SyncWindow[], openIdx: readonly number[]): Verdict {
  if (windows.length === 0) return { automatedAllowed: true, manualAllowed: true, reason: WindowReasons.noWindows };
  const open = openIdx.map((i) => windows[i]!);
  const openDeny = open.filter((w) => w.kind === "deny");
  if (openDeny.length > 0) return { automatedAllowed: false, manualAllowed: openDeny.every((w) => w.manualSync === true), reason: WindowReasons.inDenyWindow };
  if (open.some((w) => w.kind === "allow")) return { automatedAllowed: true, manualAllowed: true, reason: WindowReasons.inAllowWindow };
  const allows = windows.filter((w) => w.kind === "allow");
  if (allows.length > 0) return { automatedAllowed: false, manualAllowed: allows.some((w) => w.manualSync === true), reason: WindowReasons.outsideAllowWindows };
  return { automatedAllowed: true, manualAllowed: true, reason: WindowReasons.outsideDenyWindows };
}

/** A short description of a window for messages: deny window 0 ("0 22 * * 1-5" UTC, 8h). */
export function describeWindow(w: SyncWindow, index: number): string {
  return `${w.kind} window ${index} ("${w.schedule}" ${w.timeZone ?? SyncPolicyDefaults.windowTimeZone}, ${w.duration})`;
}

function messageOf(windows: readonly SyncWindow[], v: Verdict, open: readonly OpenWindow[], next: Date | undefined): string {
  const manual = v.manualAllowed ? "manual syncs are allowed" : "manual syncs are blocked too";
  const nextAllowed = next ? `automated syncs are next allowed at ${next.toISOString()}` : "automated syncs are not allowed again within the search horizon";
  const allowedUntil = next ? `automated syncs are allowed until ${next.toISOString()}` : "automated syncs are allowed with no change within the search horizon";
  const list = (kind: "allow" | "deny") => open.filter((o) => o.kind === kind).map((o) => describeWindow(o, o.index)).join(", ");
  switch (v.reason) {
    case WindowReasons.noWindows:
      return "no sync windows: syncs may happen at any time";
    case WindowReasons.inDenyWindow:
      return `automated syncs are blocked by ${list("deny")}; ${manual}; ${nextAllowed}`;
    case WindowReasons.inAllowWindow:
      return `inside ${list("allow")}; ${allowedUntil}`;
    case WindowReasons.outsideAllowWindows:
      return `automated syncs are blocked outside the allow windows (${windows.filter((w) => w.kind === "allow").length} defined); ${manual}; ${nextAllowed}`;
    case WindowReasons.outsideDenyWindows:
      return `no deny window is open; ${allowedUntil}`;
  }
}

/**
 * The sync-window state at `now`: which windows are open, whether automated and manual syncs may run, why, and
 * the next instant the automated answer flips (searched up to a bound; undefined when none is found).
 * Throws InvalidWindowError for a window that cannot be read (validate the SyncPolicy first).
 */
export function windowState(windows: readonly SyncWindow[] | undefined, now: Date | number, bounds: WindowSearchBounds = {}): WindowState {
  const list = windows ?? [];
  const t0 = typeof now === "number" ? now : now.getTime();
  if (list.length === 0) {
    const v = verdict(list, []);
    return { open: [], ...v, message: messageOf(list, v, [], undefined), nextChange: undefined };
  }
  const horizon = t0 + (bounds.horizonMs ?? DEFAULT_HORIZON);
  const budget = { steps: Infinity };
  const timelines = list.map((w, i) => new Timeline(i, w, budget));

  // Which windows are open now is decided first, outside the step budget: the verdict must never depend on it.
  const opened = timelines.map((t) => t.openedBy(t0));
  budget.steps = bounds.maxSteps ?? DEFAULT_MAX_STEPS;
  const cursors: Cursor[] = timelines.map((t, i) => ({ t, run: opened[i] === undefined ? undefined : { start: opened[i]!, end: undefined } }));
  let exhausted = false;
  try {
    for (const c of cursors) {
      if (c.run) c.run.end = c.t.runEnd(c.run.start, horizon);
      else c.run = nextRun(c.t, t0 + 1, horizon);
    }
  } catch (err) {
    if (!(err instanceof BudgetExhausted)) throw err;
    exhausted = true;
  }
  const open: OpenWindow[] = cursors
    .filter((c, i) => opened[i] !== undefined && c.run)
    .map(({ t, run }) => ({
      index: t.index,
      kind: t.window.kind,
      schedule: t.window.schedule,
      timeZone: t.timeZone,
      duration: t.window.duration,
      manualSync: t.window.manualSync === true,
      openedAt: new Date(run!.start),
      closesAt: run!.end === undefined ? undefined : new Date(run!.end),
    }));
  const v = verdict(list, open.map((o) => o.index));
  const nextChange = exhausted ? undefined : findNextChange(list, cursors, t0, horizon, v.automatedAllowed);
  return { open, ...v, message: messageOf(list, v, open, nextChange), nextChange };
}

/** Sweeps the windows' boundaries in time order until the automated answer differs from `current`. */
function findNextChange(windows: readonly SyncWindow[], cursors: Cursor[], t0: number, horizon: number, current: boolean): Date | undefined {
  try {
    for (;;) {
      // The next boundary after t0: a run that starts later, or the end of a current run.
      let at = Infinity;
      for (const c of cursors) {
        if (!c.run) continue;
        if (c.run.start > t0) at = Math.min(at, c.run.start);
        else if (c.run.end !== undefined) at = Math.min(at, c.run.end);
      }
      if (!Number.isFinite(at) || at > horizon) return undefined;
      // Advance runs that ended at `at` to their next run (which may start at `at` itself).
      for (const c of cursors) {
        if (c.run && c.run.start <= t0 && c.run.end === at) c.run = nextRun(c.t, at, horizon);
      }
      const openIdx = cursors.filter((c) => c.run && c.run.start <= at && (c.run.end === undefined || at < c.run.end)).map((c) => c.t.index);
      if (verdict(windows, openIdx).automatedAllowed !== current) return new Date(at);
      t0 = at;
    }
  } catch (err) {
    if (err instanceof BudgetExhausted) return undefined;
    throw err;
  }
}

/** Whether a sync of this kind may start now. Self-heal and automated syncs are "auto". */
export function syncAllowed(state: Pick<WindowState, "automatedAllowed" | "manualAllowed">, initiatedBy: "auto" | "manual"): boolean {
  return initiatedBy === "manual" ? state.manualAllowed : state.automatedAllowed;
}

export type SyncGate = { allowed: true } | { allowed: false; reason: typeof Reasons.syncWindowClosed; message: string; retryAt: Date | undefined };

/**
 * The question the apply controller asks before a sync: may a sync started this way run now? When not, the
 * Application's condition gets reason SyncWindowClosed and this message, and it is requeued at `retryAt` (when
 * automated syncs are next allowed; for a manual sync that a window blocks, the same instant is the earliest change).
 */
export function syncGate(windows: readonly SyncWindow[] | undefined, now: Date | number, initiatedBy: "auto" | "manual"): SyncGate {
  const s = windowState(windows, now);
  if (syncAllowed(s, initiatedBy)) return { allowed: true };
  const what = initiatedBy === "manual" ? "manual sync" : "automated sync (or self-heal)";
  const when = s.nextChange ? `; automated syncs are next allowed at ${s.nextChange.toISOString()}` : "";
  const blockers = s.reason === WindowReasons.inDenyWindow
    ? s.open.filter((o) => o.kind === "deny").map((o) => describeWindow(o, o.index)).join(", ")
    : "the allow windows, none of which is open";
  return { allowed: false, reason: Reasons.syncWindowClosed, message: `${what} blocked by ${blockers}${when}`, retryAt: s.nextChange };
}
