import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidWindowError, syncAllowed, syncGate, windowState, WindowReasons, type SyncWindow } from "../../../src/policy/windows.js";
import { CronExpressionParser } from "cron-parser";
import { Reasons } from "../../../src/api/constants.js";
import { parseDuration } from "../../../src/api/duration.js";

const at = (iso: string) => new Date(iso);
const iso = (d: Date | undefined) => d?.toISOString();

describe("windowState without windows", () => {
  it("allows everything, has no next change, and says so", () => {
    for (const ws of [undefined, []]) {
      const s = windowState(ws, at("2026-03-02T10:00:00Z"));
      assert.equal(s.automatedAllowed, true);
      assert.equal(s.manualAllowed, true);
      assert.equal(s.reason, Reasons.noWindows);
      assert.equal(s.nextChange, undefined);
      assert.deepEqual(s.open, []);
      assert.match(s.message, /no sync windows/);
    }
  });
});

describe("deny windows (UTC)", () => {
  const nightly: SyncWindow[] = [{ kind: "deny", schedule: "0 22 * * *", duration: "8h" }];

  it("blocks automated and manual syncs while open and says when they are next allowed", () => {
    const s = windowState(nightly, at("2026-03-02T23:00:00Z"));
    assert.equal(s.automatedAllowed, false);
    assert.equal(s.manualAllowed, false);
    assert.equal(s.reason, Reasons.inDenyWindow);
    assert.equal(iso(s.nextChange), "2026-03-03T06:00:00.000Z");
    assert.equal(s.open.length, 1);
    assert.equal(iso(s.open[0]!.openedAt), "2026-03-02T22:00:00.000Z");
    assert.equal(iso(s.open[0]!.closesAt), "2026-03-03T06:00:00.000Z");
    assert.equal(s.open[0]!.timeZone, "UTC");
    assert.match(s.message, /blocked by deny window 0 \("0 22 \* \* \*" UTC, 8h\); manual syncs are blocked too; automated syncs are next allowed at 2026-03-03T06:00:00.000Z/);
  });

  it("allows syncs outside the window until it next opens", () => {
    const s = windowState(nightly, at("2026-03-02T12:00:00Z"));
    assert.equal(s.automatedAllowed, true);
    assert.equal(s.manualAllowed, true);
    assert.equal(s.reason, WindowReasons.outsideDenyWindows);
    assert.equal(iso(s.nextChange), "2026-03-02T22:00:00.000Z");
    assert.deepEqual(s.open, []);
  });

  it("is open at the instant the schedule fires and closed at the instant the duration ends", () => {
    assert.equal(windowState(nightly, at("2026-03-02T22:00:00Z")).automatedAllowed, false);
    assert.equal(windowState(nightly, at("2026-03-02T21:59:59.999Z")).automatedAllowed, true);
    assert.equal(windowState(nightly, at("2026-03-03T05:59:59.999Z")).automatedAllowed, false);
    const closed = windowState(nightly, at("2026-03-03T06:00:00Z"));
    assert.equal(closed.automatedAllowed, true);
    assert.equal(iso(closed.nextChange), "2026-03-03T22:00:00.000Z");
  });

  it("lets manual syncs through a deny window with manualSync", () => {
    const s = windowState([{ ...nightly[0]!, manualSync: true }], at("2026-03-02T23:00:00Z"));
    assert.equal(s.automatedAllowed, false);
    assert.equal(s.manualAllowed, true);
    assert.equal(syncAllowed(s, "manual"), true);
    assert.equal(syncAllowed(s, "auto"), false);
    assert.match(s.message, /manual syncs are allowed/);
  });

  it("blocks manual syncs when any open deny window lacks manualSync", () => {
    const s = windowState(
      [
        { kind: "deny", schedule: "0 22 * * *", duration: "8h", manualSync: true },
        { kind: "deny", schedule: "0 20 * * *", duration: "4h" },
      ],
      at("2026-03-02T23:00:00Z"),
    );
    assert.equal(s.manualAllowed, false);
    assert.deepEqual(s.open.map((o) => o.index), [0, 1]);
    // Only the second has closed at 00:00; the first still blocks until 06:00.
    assert.equal(iso(s.nextChange), "2026-03-03T06:00:00.000Z");
  });

  it("a manualSync deny window does not open manual syncs that another closed window would not block", () => {
    const s = windowState([{ kind: "deny", schedule: "0 22 * * *", duration: "8h", manualSync: false }], at("2026-03-02T12:00:00Z"));
    assert.equal(s.manualAllowed, true);
  });
});

describe("allow windows", () => {
  const office: SyncWindow[] = [{ kind: "allow", schedule: "0 9 * * 1-5", duration: "8h" }];

  it("restrict automated syncs to their open time", () => {
    const inside = windowState(office, at("2026-03-06T10:00:00Z")); // Friday
    assert.equal(inside.automatedAllowed, true);
    assert.equal(inside.reason, Reasons.inAllowWindow);
    assert.equal(iso(inside.nextChange), "2026-03-06T17:00:00.000Z");
    assert.match(inside.message, /inside allow window 0 .*allowed until 2026-03-06T17:00:00.000Z/);

    const weekend = windowState(office, at("2026-03-07T12:00:00Z")); // Saturday
    assert.equal(weekend.automatedAllowed, false);
    assert.equal(weekend.manualAllowed, false);
    assert.equal(weekend.reason, Reasons.outsideAllowWindows);
    assert.equal(iso(weekend.nextChange), "2026-03-09T09:00:00.000Z"); // Monday
  });

  it("let manual syncs through outside their time when an allow window has manualSync", () => {
    const s = windowState([...office, { kind: "allow", schedule: "0 1 * * 0", duration: "1h", manualSync: true }], at("2026-03-07T12:00:00Z"));
    assert.equal(s.automatedAllowed, false);
    assert.equal(s.manualAllowed, true);
    assert.equal(iso(s.nextChange), "2026-03-08T01:00:00.000Z"); // the Sunday window opens first
  });

  it("back-to-back allow windows count as one: the next change is the end of the second", () => {
    const s = windowState(
      [
        { kind: "allow", schedule: "0 9 * * *", duration: "4h" },
        { kind: "allow", schedule: "0 13 * * *", duration: "4h" },
      ],
      at("2026-03-02T10:00:00Z"),
    );
    assert.equal(s.automatedAllowed, true);
    assert.equal(iso(s.nextChange), "2026-03-02T17:00:00.000Z");
  });

  it("repeated fires of one schedule keep the window open until the last one's duration ends", () => {
    const s = windowState([{ kind: "allow", schedule: "0 9-11 * * *", duration: "90m" }], at("2026-03-02T09:30:00Z"));
    assert.equal(iso(s.open[0]!.openedAt), "2026-03-02T09:00:00.000Z");
    assert.equal(iso(s.open[0]!.closesAt), "2026-03-02T12:30:00.000Z");
    assert.equal(iso(s.nextChange), "2026-03-02T12:30:00.000Z");
  });
});

describe("deny and allow together", () => {
  const ws: SyncWindow[] = [
    { kind: "allow", schedule: "0 8 * * *", duration: "10h" }, // 08:00–18:00
    { kind: "deny", schedule: "0 12 * * *", duration: "1h" }, // 12:00–13:00 lunch freeze
  ];

  it("deny wins where they overlap", () => {
    const s = windowState(ws, at("2026-03-02T12:30:00Z"));
    assert.equal(s.automatedAllowed, false);
    assert.equal(s.reason, Reasons.inDenyWindow);
    assert.deepEqual(s.open.map((o) => o.kind).sort(), ["allow", "deny"]);
    assert.equal(iso(s.nextChange), "2026-03-02T13:00:00.000Z");
  });

  it("the next change is found across several boundaries", () => {
    assert.equal(iso(windowState(ws, at("2026-03-02T09:00:00Z")).nextChange), "2026-03-02T12:00:00.000Z");
    assert.equal(iso(windowState(ws, at("2026-03-02T13:00:00Z")).nextChange), "2026-03-02T18:00:00.000Z");
    const night = windowState(ws, at("2026-03-02T20:00:00Z"));
    assert.equal(night.reason, Reasons.outsideAllowWindows);
    assert.equal(iso(night.nextChange), "2026-03-03T08:00:00.000Z");
  });

  it("skips boundaries that do not flip the answer (a deny window wholly outside the allow windows)", () => {
    const s = windowState(
      [
        { kind: "allow", schedule: "0 8 * * *", duration: "2h" },
        { kind: "deny", schedule: "0 20 * * *", duration: "1h" },
      ],
      at("2026-03-02T11:00:00Z"),
    );
    assert.equal(s.automatedAllowed, false);
    assert.equal(iso(s.nextChange), "2026-03-03T08:00:00.000Z");
  });
});

describe("time zones and DST", () => {
  it("reads the schedule in the window's time zone", () => {
    const ny: SyncWindow[] = [{ kind: "deny", schedule: "0 22 * * *", duration: "2h", timeZone: "America/New_York" }];
    // 22:00 EST (UTC−5) on 2 March is 03:00 UTC on 3 March.
    assert.equal(windowState(ny, at("2026-03-03T02:59:00Z")).automatedAllowed, true);
    const s = windowState(ny, at("2026-03-03T03:30:00Z"));
    assert.equal(s.automatedAllowed, false);
    assert.equal(iso(s.open[0]!.openedAt), "2026-03-03T03:00:00.000Z");
    assert.equal(s.open[0]!.timeZone, "America/New_York");
    const tokyo = windowState([{ kind: "allow", schedule: "0 9 * * *", duration: "1h", timeZone: "Asia/Tokyo" }], at("2026-03-02T00:30:00Z"));
    assert.equal(tokyo.automatedAllowed, true); // 09:30 JST
    assert.equal(iso(tokyo.nextChange), "2026-03-02T01:00:00.000Z");
    const kolkata = windowState([{ kind: "allow", schedule: "30 9 * * *", duration: "1h", timeZone: "Asia/Kolkata" }], at("2026-03-02T00:00:00Z"));
    assert.equal(iso(kolkata.nextChange), "2026-03-02T04:00:00.000Z"); // 09:30 IST = 04:00 UTC
  });

  it("follows local time across the spring-forward change (Europe/Paris, 29 March 2026)", () => {
    const ws: SyncWindow[] = [{ kind: "allow", schedule: "0 9 * * *", duration: "1h", timeZone: "Europe/Paris" }];
    // 09:00 CET = 08:00 UTC before the change, 09:00 CEST = 07:00 UTC after it.
    assert.equal(iso(windowState(ws, at("2026-03-28T10:00:00Z")).nextChange), "2026-03-29T07:00:00.000Z");
    assert.equal(iso(windowState(ws, at("2026-03-27T12:00:00Z")).nextChange), "2026-03-28T08:00:00.000Z");
  });

  it("a schedule in the skipped hour fires once, just after the gap", () => {
    const ws: SyncWindow[] = [{ kind: "deny", schedule: "30 2 * * *", duration: "30m", timeZone: "Europe/Paris" }];
    // 02:30 does not exist on 29 March 2026; the window opens at 03:30 CEST = 01:30 UTC.
    const s = windowState(ws, at("2026-03-29T00:00:00Z"));
    assert.equal(iso(s.nextChange), "2026-03-29T01:30:00.000Z");
    assert.equal(windowState(ws, at("2026-03-29T01:45:00Z")).automatedAllowed, false);
  });

  it("a schedule in the repeated hour fires once, at its first occurrence (fall back, 25 October 2026)", () => {
    const ws: SyncWindow[] = [{ kind: "deny", schedule: "30 2 * * *", duration: "30m", timeZone: "Europe/Paris" }];
    // 02:30 CEST = 00:30 UTC; the second 02:30 (CET, 01:30 UTC) does not open it again.
    assert.equal(windowState(ws, at("2026-10-25T00:45:00Z")).automatedAllowed, false);
    const after = windowState(ws, at("2026-10-25T01:45:00Z"));
    assert.equal(after.automatedAllowed, true);
    assert.equal(iso(after.nextChange), "2026-10-26T01:30:00.000Z"); // 02:30 CET the next day
  });

  it("durations are elapsed time: a window spanning the fall-back change lasts its duration in UTC", () => {
    const ws: SyncWindow[] = [{ kind: "deny", schedule: "0 1 * * *", duration: "3h", timeZone: "Europe/Paris" }];
    // Opens 01:00 CEST = 23:00 UTC on 24 October, closes 3 hours later at 02:00 UTC (03:00 CET).
    const s = windowState(ws, at("2026-10-25T00:00:00Z"));
    assert.equal(iso(s.open[0]!.openedAt), "2026-10-24T23:00:00.000Z");
    assert.equal(iso(s.nextChange), "2026-10-25T02:00:00.000Z");
  });

  it("US daylight saving moves a weekday window by an hour in UTC (America/Los_Angeles, 8 March 2026)", () => {
    const ws: SyncWindow[] = [{ kind: "allow", schedule: "0 9 * * 1-5", duration: "8h", timeZone: "America/Los_Angeles" }];
    assert.equal(iso(windowState(ws, at("2026-03-06T12:00:00Z")).nextChange), "2026-03-06T17:00:00.000Z"); // Fri 09:00 PST
    assert.equal(iso(windowState(ws, at("2026-03-07T12:00:00Z")).nextChange), "2026-03-09T16:00:00.000Z"); // Mon 09:00 PDT
  });
});

describe("bounds and errors", () => {
  it("an always-open window has no next change within the bound, and the verdict does not depend on the bound", () => {
    const s = windowState([{ kind: "deny", schedule: "*/10 * * * *", duration: "15m" }], at("2026-03-02T10:05:00Z"), { maxSteps: 50 });
    assert.equal(s.automatedAllowed, false);
    assert.equal(s.reason, Reasons.inDenyWindow);
    assert.equal(s.nextChange, undefined);
    assert.equal(s.open[0]!.closesAt, undefined);
    assert.match(s.message, /not allowed again within the search horizon/);
  });

  it("a schedule that next fires beyond the horizon gives no next change", () => {
    const s = windowState([{ kind: "deny", schedule: "0 0 29 2 *", duration: "1h" }], at("2026-03-02T00:00:00Z"));
    assert.equal(s.automatedAllowed, true);
    assert.equal(s.nextChange, undefined);
    const near = windowState([{ kind: "deny", schedule: "0 0 29 2 *", duration: "1h" }], at("2026-03-02T00:00:00Z"), { horizonMs: 800 * 86_400_000 });
    assert.equal(iso(near.nextChange), "2028-02-29T00:00:00.000Z");
  });

  it("a yearly window is found within the default horizon", () => {
    const s = windowState([{ kind: "deny", schedule: "@yearly", duration: "24h" }], at("2026-01-02T00:00:00Z"));
    assert.equal(iso(s.nextChange), "2027-01-01T00:00:00.000Z");
  });

  it("a window that cannot be read is an InvalidWindowError naming its index", () => {
    const bad: SyncWindow[][] = [
      [{ kind: "deny", schedule: "0 22 * * *", duration: "8h" }, { kind: "deny", schedule: "not cron", duration: "1h" }],
      [{ kind: "deny", schedule: "0 22 * * *", duration: "8h" }, { kind: "deny", schedule: "0 1 * * *", duration: "1h", timeZone: "Mars/Olympus" }],
      [{ kind: "deny", schedule: "0 22 * * *", duration: "8h" }, { kind: "deny", schedule: "0 1 * * *", duration: "soon" }],
    ];
    for (const ws of bad) {
      assert.throws(() => windowState(ws, at("2026-03-02T00:00:00Z")), (err: unknown) => err instanceof InvalidWindowError && err.index === 1 && /spec\.windows\[1\]/.test(err.message));
    }
  });

  it("accepts a numeric instant as well as a Date", () => {
    const ws: SyncWindow[] = [{ kind: "deny", schedule: "0 22 * * *", duration: "8h" }];
    assert.deepEqual(windowState(ws, Date.parse("2026-03-02T23:00:00Z")), windowState(ws, at("2026-03-02T23:00:00Z")));
  });
});

describe("consistency around DST changes", () => {
  // The reference: one forward walk of the schedule from a day before, as a long-running cron would fire.
  function referenceFires(schedule: string, timeZone: string, from: number, until: number): number[] {
    const expr = CronExpressionParser.parse(schedule, { tz: timeZone, currentDate: new Date(from) });
    const out: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const f = expr.next().getTime();
      if (f > until) break;
      out.push(f);
    }
    return out;
  }

  const cases = [
    { timeZone: "Europe/Paris", change: "2026-03-29T01:00:00Z" },
    { timeZone: "Europe/Paris", change: "2026-10-25T01:00:00Z" },
    { timeZone: "America/New_York", change: "2026-03-08T07:00:00Z" },
    { timeZone: "America/New_York", change: "2026-11-01T06:00:00Z" },
  ];
  const schedules = [
    { schedule: "30 2 * * *", duration: "30m" },
    { schedule: "0 * * * *", duration: "20m" },
    { schedule: "*/20 1-3 * * *", duration: "45m" },
    { schedule: "15 1 * * *", duration: "2h" },
  ];

  for (const { timeZone, change } of cases) {
    it(`open-ness and the next change agree with a forward walk of the schedule at every instant near ${timeZone} ${change}`, () => {
      const c = Date.parse(change);
      for (const { schedule, duration } of schedules) {
        const d = parseDuration(duration);
        const fires = referenceFires(schedule, timeZone, c - 2 * 86_400_000, c + 3 * 86_400_000);
        for (let t = c - 6 * 3_600_000; t <= c + 6 * 3_600_000; t += 13 * 60_000) {
          const expectedOpen = fires.some((f) => f <= t && t < f + d);
          // The next flip: the end of the merged run when open, the next fire when closed.
          let expectedNext: number | undefined;
          if (expectedOpen) {
            let end = Math.max(...fires.filter((f) => f <= t && t < f + d).map((f) => f + d));
            for (const f of fires) if (f > t && f <= end) end = Math.max(end, f + d);
            expectedNext = end;
          } else expectedNext = fires.find((f) => f > t);
          const s = windowState([{ kind: "deny", schedule, duration, timeZone }], t);
          const where = `${schedule} (${duration}) in ${timeZone} at ${new Date(t).toISOString()}`;
          assert.equal(!s.automatedAllowed, expectedOpen, `open-ness of ${where}`);
          assert.equal(s.nextChange?.getTime(), expectedNext, `next change of ${where}`);
        }
      }
    });
  }

  it("a zone cron-parser cannot walk (Lord Howe's 30-minute shift) is an InvalidWindowError that names it, not a hang", () => {
    assert.throws(
      () => windowState([{ kind: "deny", schedule: "0 * * * *", duration: "30m", timeZone: "Australia/Lord_Howe" }], Date.parse("2026-04-04T13:00:00Z")),
      (err: unknown) => err instanceof InvalidWindowError && /cannot compute when schedule "0 \* \* \* \*" fires in Australia\/Lord_Howe/.test(err.message),
    );
  });
});

describe("syncGate", () => {
  const deny: SyncWindow[] = [{ kind: "deny", schedule: "0 22 * * *", duration: "8h", manualSync: true }];

  it("lets everything through with no windows or outside a deny window", () => {
    assert.deepEqual(syncGate([], at("2026-03-02T23:00:00Z"), "auto"), { allowed: true });
    assert.deepEqual(syncGate(deny, at("2026-03-02T12:00:00Z"), "auto"), { allowed: true });
  });

  it("blocks automated syncs and self-heal in a deny window with SyncWindowClosed, naming the window and when to retry", () => {
    const g = syncGate(deny, at("2026-03-02T23:00:00Z"), "auto");
    assert.equal(g.allowed, false);
    if (g.allowed) return;
    assert.equal(g.reason, "SyncWindowClosed");
    assert.equal(g.retryAt?.toISOString(), "2026-03-03T06:00:00.000Z");
    assert.match(g.message, /^automated sync \(or self-heal\) blocked by deny window 0 .*next allowed at 2026-03-03T06:00:00.000Z$/);
  });

  it("lets a manual sync through a manualSync window, and blocks it outside allow windows without manualSync", () => {
    assert.deepEqual(syncGate(deny, at("2026-03-02T23:00:00Z"), "manual"), { allowed: true });
    const g = syncGate([{ kind: "allow", schedule: "0 9 * * 1-5", duration: "8h" }], at("2026-03-07T12:00:00Z"), "manual");
    assert.equal(g.allowed, false);
    if (!g.allowed) assert.match(g.message, /^manual sync blocked by the allow windows, none of which is open; automated syncs are next allowed at 2026-03-09T09:00:00.000Z$/);
  });
});
