import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalTimeZone,
  CronSyntaxError,
  instantOfWallClock,
  nextCronRun,
  nextIntervalRun,
  parseCron,
  wallClock,
} from "@/lib/schedules/cron";

const next = (expr: string, tz: string, after: string, n = 1): string[] => {
  const spec = parseCron(expr);
  const out: string[] = [];
  let t = Date.parse(after);
  for (let i = 0; i < n; i++) {
    const r = nextCronRun(spec, tz, t);
    if (r == null) break;
    out.push(new Date(r).toISOString());
    t = r;
  }
  return out;
};

describe("parseCron", () => {
  it.each([
    ["61 * * * *", /minute field: 61 is out of range 0-59/],
    ["* 24 * * *", /hour field: 24 is out of range 0-23/],
    ["* * 0 * *", /day-of-month field: 0 is out of range 1-31/],
    ["* * * FOO *", /month field: "FOO" is not a number or a name/],
    ["* * * * 8", /day-of-week field: 8 is out of range 0-7/],
    ["*/0 * * * *", /minute field: step "0" must be a positive whole number/],
    ["5-1 * * * *", /minute field: range 5-1 runs backwards/],
    ["* * * *", /needs 5 fields .* got 4/],
    ["* * * * * *", /needs 5 fields .* got 6/],
    ["@sometimes", /unknown macro/],
  ])("refuses %s, naming the field", (expr, message) => {
    expect(() => parseCron(expr)).toThrow(CronSyntaxError);
    expect(() => parseCron(expr)).toThrow(message);
  });

  it("reads lists, ranges, steps, names, 7 = Sunday and macros", () => {
    const s = parseCron("0,30 9-17/4 * JAN-mar mon,Wed,7");
    expect(s.minutes.flatMap((v, i) => (v ? [i] : []))).toEqual([0, 30]);
    expect(s.hours.flatMap((v, i) => (v ? [i] : []))).toEqual([9, 13, 17]);
    expect(s.months.flatMap((v, i) => (v ? [i] : []))).toEqual([1, 2, 3]);
    expect(s.daysOfWeek.flatMap((v, i) => (v ? [i] : []))).toEqual([0, 1, 3]);
    expect(parseCron("5/20 * * * *").minutes.flatMap((v, i) => (v ? [i] : []))).toEqual([5, 25, 45]);
    expect(parseCron("@daily").source).toBe("@daily");
    expect(next("@weekly", "UTC", "2026-05-06T12:00:00Z")).toEqual(["2026-05-10T00:00:00.000Z"]);
  });
});

describe("canonicalTimeZone", () => {
  it("accepts IANA names and refuses others", () => {
    expect(canonicalTimeZone("Europe/Berlin")).toBe("Europe/Berlin");
    expect(canonicalTimeZone("UTC")).toBe("UTC");
    expect(canonicalTimeZone("Mars/Olympus")).toBeNull();
    expect(canonicalTimeZone("+01:00")).toBeNull();
    expect(canonicalTimeZone("")).toBeNull();
  });
});

describe("nextCronRun without daylight saving", () => {
  it("steps through minutes, hours and days in UTC", () => {
    expect(next("*/15 * * * *", "UTC", "2026-05-06T10:07:30Z", 3)).toEqual([
      "2026-05-06T10:15:00.000Z",
      "2026-05-06T10:30:00.000Z",
      "2026-05-06T10:45:00.000Z",
    ]);
    // "strictly after": exactly on a firing time gives the next one
    expect(next("*/15 * * * *", "UTC", "2026-05-06T10:15:00Z")).toEqual(["2026-05-06T10:30:00.000Z"]);
    // weekdays 09:00, from a Friday afternoon
    expect(next("0 9 * * 1-5", "UTC", "2026-05-08T15:00:00Z", 2)).toEqual(["2026-05-11T09:00:00.000Z", "2026-05-12T09:00:00.000Z"]);
  });

  it("uses half-hour offsets (Asia/Kolkata, +05:30)", () => {
    expect(next("0 0 * * *", "Asia/Kolkata", "2026-05-06T12:00:00Z")).toEqual(["2026-05-06T18:30:00.000Z"]);
  });

  it("ORs day-of-month and day-of-week when both are restricted (Vixie cron)", () => {
    // the 13th, or any Friday — May 2026: Fri 8th, Wed 13th, Fri 15th
    expect(next("0 0 13 * 5", "UTC", "2026-05-07T00:00:00Z", 3)).toEqual([
      "2026-05-08T00:00:00.000Z",
      "2026-05-13T00:00:00.000Z",
      "2026-05-15T00:00:00.000Z",
    ]);
    // "*/2" starts with * → AND: even-numbered days only... intersected with Fridays
    expect(next("0 0 */2 * 5", "UTC", "2026-05-07T00:00:00Z", 1)).toEqual(["2026-05-15T00:00:00.000Z"]);
  });

  it("finds 29 February and reports rules that never fire", () => {
    expect(next("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 2)).toEqual(["2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z"]);
    expect(nextCronRun(parseCron("0 0 30 2 *"), "UTC", Date.parse("2026-01-01T00:00:00Z"))).toBeNull();
  });
});

describe("nextCronRun across daylight-saving changes", () => {
  it("America/New_York spring forward: 02:30 does not exist → runs at 03:30 EDT, once", () => {
    expect(next("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 3)).toEqual([
      "2026-03-08T07:30:00.000Z", // 03:30 EDT (the clock jumped 02:00 → 03:00)
      "2026-03-09T06:30:00.000Z", // 02:30 EDT
      "2026-03-10T06:30:00.000Z",
    ]);
  });

  it("America/New_York fall back: 01:30 happens twice → runs once, at the first", () => {
    expect(next("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3)).toEqual([
      "2026-11-01T05:30:00.000Z", // 01:30 EDT; 01:30 EST (06:30Z) does not run again
      "2026-11-02T06:30:00.000Z", // 01:30 EST
      "2026-11-03T06:30:00.000Z",
    ]);
    // hourly: the repeated 01:00 does not run twice
    expect(next("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 3)).toEqual([
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T07:00:00.000Z", // 02:00 EST
      "2026-11-01T08:00:00.000Z",
    ]);
    // a schedule created during the repeated hour (01:20 EST) waits for the next new wall time
    expect(next("*/30 * * * *", "America/New_York", "2026-11-01T06:20:00Z")).toEqual(["2026-11-01T07:00:00.000Z"]);
  });

  it("Europe/Berlin: both changes, every 30 minutes and daily", () => {
    expect(next("*/30 * * * *", "Europe/Berlin", "2026-03-29T00:10:00Z", 4)).toEqual([
      "2026-03-29T00:30:00.000Z", // 01:30 CET
      "2026-03-29T01:00:00.000Z", // 02:00 does not exist → 03:00 CEST
      "2026-03-29T01:30:00.000Z", // 03:30 CEST
      "2026-03-29T02:00:00.000Z", // 04:00 CEST — no instant twice
    ]);
    expect(next("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2)).toEqual([
      "2026-10-25T00:30:00.000Z", // 02:30 CEST (first of two)
      "2026-10-26T01:30:00.000Z", // 02:30 CET
    ]);
  });

  it("Australia/Sydney (southern hemisphere): spring forward in October", () => {
    expect(next("30 2 * * *", "Australia/Sydney", "2026-10-03T00:00:00Z", 2)).toEqual([
      "2026-10-03T16:30:00.000Z", // Oct 4 02:30 does not exist → 03:30 AEDT
      "2026-10-04T15:30:00.000Z", // Oct 5 02:30 AEDT
    ]);
  });

  it("maps wall-clock times to instants: first occurrence in overlaps, shifted in gaps", () => {
    const ny = "America/New_York";
    expect(new Date(instantOfWallClock(Date.UTC(2026, 10, 1, 1, 30), ny)).toISOString()).toBe("2026-11-01T05:30:00.000Z");
    expect(new Date(instantOfWallClock(Date.UTC(2026, 2, 8, 2, 30), ny)).toISOString()).toBe("2026-03-08T07:30:00.000Z");
    expect(new Date(wallClock(Date.parse("2026-03-08T07:30:00Z"), ny)).toISOString()).toBe("2026-03-08T03:30:00.000Z");
  });
});

describe("nextCronRun agrees with a minute-by-minute scan", () => {
  const item = (min: number, max: number) =>
    fc.oneof(
      fc.constant("*"),
      fc.integer({ min, max }).map(String),
      fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.integer({ min: 1, max: Math.max(1, Math.floor((max - min) / 2)) }).map((s) => `*/${s}`),
    );
  const field = (min: number, max: number) => fc.array(item(min, max), { minLength: 1, maxLength: 3 }).map((a) => a.join(","));
  // Day fields kept loose so most rules fire within the scanned window.
  const expr = fc
    .tuple(field(0, 59), field(0, 23), fc.constantFrom("*", "*", "1-20", "*/3", "5,15,25"), fc.constant("*"), fc.constantFrom("*", "*", "1-5", "0,6", "3"))
    .map((p) => p.join(" "));
  const zones = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Sao_Paulo"];
  // Instants near the 2026 changes (and some anywhere in the year).
  const instants = fc.oneof(
    fc.constantFrom("2026-03-08T04:00:00Z", "2026-03-29T00:00:00Z", "2026-10-25T00:00:00Z", "2026-11-01T04:00:00Z", "2026-10-03T14:00:00Z")
      .chain((base) => fc.integer({ min: -36 * 60, max: 36 * 60 }).map((m) => Date.parse(base) + m * 60_000 + 17_000)),
    fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2026-12-31T00:00:00Z") }),
  );

  it("never skips a wall-clock firing and never fires at a repeated one (checked for random rules, zones, instants)", () => {
    fc.assert(
      fc.property(expr, fc.constantFrom(...zones), instants, (e, tz, after) => {
        const spec = parseCron(e);
        const r = nextCronRun(spec, tz, after);
        expect(r).not.toBeNull();
        expect(r!).toBeGreaterThan(after);
        const matches = (wall: number) => {
          const d = new Date(wall);
          const dom = spec.daysOfMonth[d.getUTCDate()];
          const dow = spec.daysOfWeek[d.getUTCDay()];
          const day = spec.domStar || spec.dowStar ? dom && dow : dom || dow;
          return spec.minutes[d.getUTCMinutes()] && spec.hours[d.getUTCHours()] && spec.months[d.getUTCMonth() + 1] && day;
        };
        // The result is the run instant of a matching wall-clock time...
        const scanEnd = Math.min(r!, after + 3 * 86_400_000);
        // ...and no earlier instant is the first occurrence of a matching wall-clock time.
        for (let t = Math.floor(after / 60_000) * 60_000 + 60_000; t < scanEnd; t += 60_000) {
          const wall = wallClock(t, tz);
          if (matches(wall) && instantOfWallClock(wall, tz) === t) {
            throw new Error(`${e} in ${tz} after ${new Date(after).toISOString()}: missed ${new Date(t).toISOString()}, gave ${new Date(r!).toISOString()}`);
          }
        }
        const wallR = wallClock(r!, tz);
        const isMatch = matches(wallR) && instantOfWallClock(wallR, tz) === r;
        // or, in a gap, a nonexistent matching time moved forward by the gap
        let shifted = false;
        for (let back = 15; back <= 120 && !isMatch && !shifted; back += 15) {
          const w = wallR - back * 60_000;
          shifted = matches(w) && wallClock(instantOfWallClock(w, tz), tz) !== w && instantOfWallClock(w, tz) === r;
        }
        expect(isMatch || shifted).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});

describe("nextIntervalRun", () => {
  it("keeps a fixed grid from the anchor", () => {
    const anchor = Date.parse("2026-05-06T10:00:00Z");
    expect(new Date(nextIntervalRun(anchor, 15, anchor)).toISOString()).toBe("2026-05-06T10:15:00.000Z");
    expect(new Date(nextIntervalRun(anchor, 15, Date.parse("2026-05-06T10:31:00Z"))).toISOString()).toBe("2026-05-06T10:45:00.000Z");
    // exactly on a grid point → the next one; long gaps skip missed slots
    expect(new Date(nextIntervalRun(anchor, 60, Date.parse("2026-05-06T13:00:00Z"))).toISOString()).toBe("2026-05-06T14:00:00.000Z");
    // intervals are real time: across a DST change 60 minutes stay 60 minutes
    expect(nextIntervalRun(anchor, 60, Date.parse("2026-11-01T05:30:00Z")) - Date.parse("2026-11-01T05:30:00Z")).toBe(30 * 60_000);
  });
});
