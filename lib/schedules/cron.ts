// A 5-field cron parser and a deterministic, time-zone-aware "next run" calculator.
//
// Written here rather than taken from a library so that the daylight-saving rules are ours, stated
// once and tested exhaustively (tests/unit/schedule-cron.test.ts):
//
//   A cron expression names WALL-CLOCK times in the schedule's IANA time zone. Each matching wall-clock
//   time runs at most once:
//   - spring forward (a gap, e.g. 02:30 does not exist on that day): the time runs at the instant the
//     clock would show it had it not jumped, i.e. shifted forward by the gap (02:30 → 03:30). A daily job
//     is never silently skipped.
//   - fall back (an overlap, e.g. 01:30 happens twice): the time runs at its FIRST occurrence only. A
//     daily job never runs twice; sub-hourly jobs pause during the repeated hour.
//
// Field semantics follow Vixie cron (the one most people know): minute hour day-of-month month
// day-of-week; lists, ranges, steps, month and weekday names, 7 = Sunday; when BOTH day fields are
// restricted (neither starts with "*") a day matches if EITHER matches.

export interface CronSpec {
  source: string;
  minutes: boolean[]; // 60
  hours: boolean[]; // 24
  daysOfMonth: boolean[]; // index 1..31
  months: boolean[]; // index 1..12
  daysOfWeek: boolean[]; // index 0..6, Sunday = 0
  domStar: boolean;
  dowStar: boolean;
}

export class CronSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CronSyntaxError";
  }
}

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DOW_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesStart?: number;
}
const FIELDS: FieldDef[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES, namesStart: 1 },
  { name: "day-of-week", min: 0, max: 7, names: DOW_NAMES, namesStart: 0 },
];

function parseValue(raw: string, def: FieldDef): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < def.min || n > def.max) throw new CronSyntaxError(`${def.name} field: ${raw} is out of range ${def.min}-${def.max}`);
    return n;
  }
  const idx = def.names?.indexOf(raw.toUpperCase()) ?? -1;
  if (idx >= 0) return idx + (def.namesStart ?? 0);
  throw new CronSyntaxError(`${def.name} field: "${raw}" is not a number${def.names ? " or a name such as " + def.names[0] : ""}`);
}

function parseField(text: string, def: FieldDef): boolean[] {
  const out = new Array<boolean>(def.max + 1).fill(false);
  if (text === "") throw new CronSyntaxError(`${def.name} field is empty`);
  for (const item of text.split(",")) {
    const m = /^([^/]+)(?:\/(.+))?$/.exec(item);
    if (!m) throw new CronSyntaxError(`${def.name} field: "${item}" is not valid`);
    const [, rangePart, stepPart] = m;
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) < 1) {
        throw new CronSyntaxError(`${def.name} field: step "${stepPart}" must be a positive whole number`);
      }
      step = Number(stepPart);
    }
    let lo: number;
    let hi: number;
    if (rangePart === "*") {
      lo = def.min;
      hi = def.max;
    } else if (rangePart.includes("-")) {
      const parts = rangePart.split("-");
      if (parts.length !== 2) throw new CronSyntaxError(`${def.name} field: range "${rangePart}" is not valid`);
      lo = parseValue(parts[0], def);
      hi = parseValue(parts[1], def);
      if (lo > hi) throw new CronSyntaxError(`${def.name} field: range ${rangePart} runs backwards`);
    } else {
      lo = parseValue(rangePart, def);
      // "5/15" means "from 5, every 15" (a common extension); a bare value is just itself.
      hi = stepPart !== undefined ? def.max : lo;
    }
    for (let v = lo; v <= hi; v += step) out[v] = true;
  }
  return out;
}

/** Parses a 5-field cron expression (or @daily-style macro); throws CronSyntaxError naming the field. */
export function parseCron(expression: string): CronSpec {
  const source = expression.trim().replace(/\s+/g, " ");
  const expanded = MACROS[source.toLowerCase()] ?? source;
  if (expanded.startsWith("@")) throw new CronSyntaxError(`unknown macro "${source}" (use @hourly, @daily, @weekly, @monthly or @yearly)`);
  const parts = expanded.split(" ");
  if (parts.length !== 5) {
    throw new CronSyntaxError(`needs 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  }
  const [mi, ho, dom, mo, dow] = parts.map((p, i) => parseField(p, FIELDS[i]));
  const daysOfWeek = dow.slice(0, 7);
  if (dow[7]) daysOfWeek[0] = true;
  return {
    source,
    minutes: mi,
    hours: ho,
    daysOfMonth: dom,
    months: mo,
    daysOfWeek,
    domStar: parts[2].startsWith("*"),
    dowStar: parts[4].startsWith("*"),
  };
}

// ───────────────────────── time zones ─────────────────────────

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Canonical IANA name for a zone, or null when it is not one. Offsets such as "+01:00" are refused. */
export function canonicalTimeZone(name: string): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/.test(name)) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The wall-clock time of `ms` in `timeZone`, expressed as milliseconds of a UTC date with the same fields. */
export function wallClock(ms: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
}

function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000; // the formatter has second precision
  return wallClock(whole, timeZone) - whole;
}

/**
 * The instant at which the wall clock in `timeZone` shows `wall` (a UTC-fields date):
 * the first occurrence in an overlap, and shifted forward by the gap in a gap.
 */
export function instantOfWallClock(wall: number, timeZone: string): number {
  const DAY = 86_400_000;
  const before = offsetAt(wall - DAY, timeZone);
  const after = offsetAt(wall + DAY, timeZone);
  const candidates = [wall - before, wall - after].filter((t) => wallClock(t, timeZone) === wall);
  if (candidates.length > 0) return Math.min(...candidates);
  // A gap: use the offset in force before the jump, which lands the same distance past it.
  return wall - before;
}

// ───────────────────────── next run ─────────────────────────

function dayMatches(spec: CronSpec, d: Date): boolean {
  const dom = spec.daysOfMonth[d.getUTCDate()];
  const dow = spec.daysOfWeek[d.getUTCDay()];
  if (spec.domStar || spec.dowStar) return dom && dow;
  return dom || dow;
}

/** Far enough for "29 Feb on a Monday"-style rules (a 28-year calendar cycle would be exhaustive; 8 is plenty in practice). */
const SEARCH_YEARS = 8;

/**
 * The first instant strictly after `afterMs` at which the cron expression fires in `timeZone`,
 * or null when it never does within the search horizon (e.g. "0 0 30 2 *").
 */
export function nextCronRun(spec: CronSpec, timeZone: string, afterMs: number): number | null {
  // Start at the next whole minute of the local wall clock.
  let wall = Math.floor(wallClock(afterMs, timeZone) / 60_000) * 60_000 + 60_000;
  const limit = wall + SEARCH_YEARS * 366 * 86_400_000;
  while (wall <= limit) {
    const d = new Date(wall);
    if (!spec.months[d.getUTCMonth() + 1]) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      continue;
    }
    if (!dayMatches(spec, d)) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      continue;
    }
    if (!spec.hours[d.getUTCHours()]) {
      wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (!spec.minutes[d.getUTCMinutes()]) {
      wall += 60_000;
      continue;
    }
    const instant = instantOfWallClock(wall, timeZone);
    // In an overlap the first occurrence may already be behind us: that wall time has run; move on.
    if (instant > afterMs) return instant;
    wall += 60_000;
  }
  return null;
}

/** Interval rules run on a fixed grid from their anchor, so the times never drift. */
export function nextIntervalRun(anchorMs: number, minutes: number, afterMs: number): number {
  const period = minutes * 60_000;
  if (afterMs < anchorMs) return anchorMs;
  return anchorMs + (Math.floor((afterMs - anchorMs) / period) + 1) * period;
}
