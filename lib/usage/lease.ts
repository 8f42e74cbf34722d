// Budget leases: how a process reserves on budgets without a statement on the answer's path.
//
// A process takes a lease on a budget row: the statement that reserves a call's or an ask's maximum
// (leaseBudgets in queries.ts) also adds a slice to the row's `reserved` — never beyond what is left — and the
// process then hands out reservations for later work from that slice in memory. Everything given back goes
// through the writer (writer.ts): a call's settlement adds its real cost to `used` and takes the same amount
// off the lease's share of `reserved`, what it reserved beyond that returns to the slice; the unused slice is
// given back when the lease is idle or older than LEASE_MS, when the budget's window changes, when this
// process changes the budget, and at flushUsage() (shutdown, the end of a run).
//
// Bounds. Leases are reservations in the database, so across processes the sum of every lease and every
// reservation never exceeds a budget's limit. Slices are at most a quarter of what is left and none is taken
// once fewer than LEASE_MIN_CALLS calls' worth would be left: near its limit a budget is reserved on per call,
// by statement, exactly as without leases, so it is overshot by at most one call's maximum. Budget mode and
// the `budget` an answer reports come from the row as the lease's last statement saw it plus this process's
// own use since — so what other processes used (or an admin changed) shows here within LEASE_MS.
//
// Holders. What a process reserves stays in `reserved` until it gives it back, so a process that dies (killed,
// out of memory, its machine lost) would leave its slices and its calls' reservations there for good. Each
// database handle therefore registers a holder (a row in budget_holders, by the first statement that reserves),
// every reservation adds to the holder's holding of the budget and every release takes from it, and the holder
// beats every HOLDER_BEAT_MS. Any process's beat also reaps: a holder silent for HOLDER_DEAD_AFTER_S is taken
// for dead and what it held is taken off `reserved` for it. A release gives back at most what its holder still
// holds, so a process that was only stalled that long (and comes back) never gives back twice: it finds its
// holder gone (at its next beat, or when its next statement registers the holder afresh), drops its leases in
// memory, and its calls in flight release nothing more. At close, a process gives back what its holder holds.
import { randomUUID } from "node:crypto";
import type { Db } from "../db/client";
import { BudgetExhaustedError } from "../errors";
import { log } from "../log";
import { observeBudgetHoldersReaped } from "../metrics";
import { budgetName } from "./budget-check";
import { beatAndReapHolders, leaseBudgets, type BudgetRow, type LeaseRow, type SettlementPart } from "./queries";
import type { UsageScope } from "./scope";
import { enqueue, onSettled, retryOnConflict } from "./writer";

/** A lease hands out nothing once this old (since its last statement), and is given back. */
export const LEASE_MS = 1000;
/** The slice a lease keeps: this many of the calls it is for, or twice what it recently handed out. */
const WANT_CALLS = 16;
/** How often a process's holder beats (and reaps the dead). */
export const HOLDER_BEAT_MS = 10_000;
/** A holder silent this long is taken for dead, and what it held is given back for it. */
export const HOLDER_DEAD_AFTER_S = 60;

export interface Amounts {
  tokens: number;
  gpuSeconds: number;
}
const inMetric = (metric: string, a: Amounts) => (metric === "tokens" ? a.tokens : a.gpuSeconds);

export interface Lease {
  db: Db;
  id: string;
  metric: string;
  /** The window it was taken in: its calls count only in that window, and a new window ends it. */
  generation: number;
  /** Of the budget's `reserved`, what belongs to this lease (its settlements and its return take it back). */
  held: number;
  /** Of `held`, what calls and work in progress hold. */
  out: number;
  /** Given back: hands out nothing more, and what its holds still hold is released when they end. */
  closed: boolean;
  /** The row as the last statement on it saw it (after its own update). */
  row: BudgetRow;
  /** used + reserved then (this lease included): with `held` and `out` now, where the budget stands. */
  seen: number;
  refreshedAt: number;
  /** Handed out recently (halved at each statement on the lease): sizes the next slice. */
  handed: number;
  /** The registry's epoch when it was taken: a lease of an older epoch — or of a handle whose holder is retired —
   *  was given back for this process by another (its holder was taken for dead), and gives nothing back. */
  epoch: number;
}

/** A reservation handed out of a lease: what a call or a piece of work may still use of it. */
export interface Hold {
  lease: Lease;
  remaining: number;
}

interface WhoEntry {
  /** The budgets that apply, as the last statement for this principal found them. */
  ids: string[];
  readAt: number;
  /** When work last reserved out of the leases in memory (a lease in use is renewed, an idle one goes back). */
  usedAt: number;
  /** One call's (or ask's) maximum, for renewing. */
  unit: Amounts;
}
interface Registry {
  leases: Map<string, Lease>;
  whos: Map<string, WhoEntry>;
  /** A statement reserving for a principal's work, in flight: work arriving meanwhile waits for its lease. */
  taking: Map<string, Promise<unknown>>;
  /** The sweeper's renewal of the leases in use is in flight. */
  renewing: boolean;
  /** This handle's holder (see "Holders" above): its id, whether a statement registered it, and its beat. */
  holder: string;
  registered: boolean;
  epoch: number;
  beat: ReturnType<typeof setInterval> | null;
}

type Who = Pick<UsageScope, "userId" | "apiKeyId" | "agentId" | "scheduleId">;
const keyOf = (w: Who) => `${w.userId}|${w.apiKeyId}|${w.agentId}|${w.scheduleId}`;

// One registry per database handle (a second handle is what a second process has), per process.
const KEY = Symbol.for("sot.budgetLeases");
type Holder = typeof globalThis & { [KEY]?: Map<Db, Registry> };
const registries = () => ((globalThis as Holder)[KEY] ??= new Map());
function registry(db: Db): Registry {
  let r = registries().get(db);
  if (!r) {
    r = { leases: new Map(), whos: new Map(), taking: new Map(), renewing: false, holder: randomUUID(), registered: false, epoch: 0, beat: null };
    registries().set(db, r);
  }
  return r;
}

/** A release of `amount` of a lease, for the writer: out of its holder's holding (nothing once it lapsed). */
function partOf(l: Lease, amount: number): SettlementPart {
  return { id: l.id, generation: l.generation, holder: registries().get(l.db)?.holder ?? null, release: lapsed(l) ? 0 : amount };
}

const free = (l: Lease) => l.held - l.out;
const lapsed = (l: Lease) => registries().get(l.db)?.epoch !== l.epoch;
const usable = (l: Lease, now: number) => !l.closed && now - l.refreshedAt <= LEASE_MS && Date.now() < new Date(l.row.window_end).getTime();

function hold(l: Lease, amount: number): Hold {
  l.out += amount;
  l.handed += amount;
  return { lease: l, remaining: amount };
}

/** Gives a lease back: what no hold holds is released now, the rest as its holds end. */
function close(l: Lease): void {
  if (l.closed) return;
  l.closed = true;
  const reg = registry(l.db);
  if (reg.leases.get(l.id) === l) reg.leases.delete(l.id);
  const unused = free(l);
  if (unused > 0) {
    l.held -= unused;
    if (!lapsed(l)) enqueue(l.db, { scope: null, entry: null, parts: [partOf(l, unused)] });
  }
}

/**
 * Settles `amount` (in the lease's metric) of what a hold's call used: taken off the hold and off the lease's
 * share of `reserved` — the settlement gives it back of `reserved` as it adds the call's cost to `used`.
 */
export function useHold(h: Hold, amount: number): number {
  const d = Math.min(Math.max(amount, 0), h.remaining);
  h.remaining -= d;
  h.lease.out -= d;
  h.lease.held -= d;
  return d;
}

/** Ends a hold: what it still holds returns to its lease's slice, or is to be released when the lease was given back. */
export function endHold(h: Hold): number {
  const rest = h.remaining;
  h.remaining = 0;
  h.lease.out -= rest;
  if (!h.lease.closed) return 0;
  h.lease.held -= rest;
  return rest;
}

/**
 * A settlement's parts for these holds: `used` of each (per metric), and whether the holds end with it; and
 * whether it frees room on a budget now — what an ending hold of a closed lease (a reservation made per call
 * near the budget's limit) did not use goes back to the budget itself, where an open lease keeps it. The writer
 * lands such a settlement without waiting for its window.
 */
export function settleHolds(holds: Hold[], used: Amounts, end: boolean): { parts: SettlementPart[]; freesRoom: boolean } {
  let freesRoom = false;
  const parts = holds.map((h) => {
    const settled = useHold(h, inMetric(h.lease.metric, used));
    const rest = end ? endHold(h) : 0;
    freesRoom ||= rest > 0;
    return partOf(h.lease, settled + rest);
  });
  return { parts, freesRoom };
}

/**
 * Ends holds that settle nothing (work done, or a reservation refused elsewhere): what they held, to give back.
 * Only holds of closed leases give anything back (an open lease keeps it), so a release is always room freed on
 * a budget: the writer lands it without waiting for its window.
 */
export function releaseHolds(holds: Hold[]): SettlementPart[] {
  return holds.map((h) => partOf(h.lease, endHold(h))).filter((p) => p.release > 0);
}

/** A budget's state for budget mode and the payload: as last seen, plus this process's own use since, less `own`. */
function stateOf(l: Lease, own: number): BudgetRow {
  const total = l.seen - l.held + l.out - own;
  const used = Number(l.row.used);
  return { ...l.row, used, reserved: Math.max(0, total - used) };
}

function fromMemory(reg: Registry, key: string, need: Amounts, now: number): Hold[] | null {
  const entry = reg.whos.get(key);
  if (!entry || now - entry.readAt > LEASE_MS) return null;
  const leases: Lease[] = [];
  for (const id of entry.ids) {
    const l = reg.leases.get(id);
    if (!l || !usable(l, now) || free(l) < inMetric(l.metric, need)) return null;
    leases.push(l);
  }
  return leases.map((l) => hold(l, inMetric(l.metric, need)));
}

/** What to top each lease up by: sixteen calls' worth, or twice what it recently handed out, less what it has. */
function wantsFor(reg: Registry, ids: string[], unitOf: (id: string) => Amounts): { ids: string[]; amounts: number[]; units: number[] } {
  const out = { ids: [] as string[], amounts: [] as number[], units: [] as number[] };
  for (const id of ids) {
    const l = reg.leases.get(id);
    if (!l) continue;
    const unit = inMetric(l.metric, unitOf(id));
    out.ids.push(id);
    out.amounts.push(Math.max(0, Math.max(WANT_CALLS * unit, 2 * l.handed) - free(l)));
    out.units.push(unit);
  }
  return out;
}

/** Takes in what one statement did to a budget: the lease grows or starts, and the caller's hold of `need`. */
function absorb(db: Db, reg: Registry, r: LeaseRow, need: number, now: number): Hold | null {
  const current = reg.leases.get(r.id);
  if (current && (current.generation !== r.generation || !r.reserved_ok || !r.leasable)) close(current);
  if (!r.reserved_ok) return null;
  const granted = Number(r.granted);
  const seen = Number(r.used) + Number(r.reserved);
  const open = reg.leases.get(r.id);
  let l: Lease;
  if (open) {
    l = open;
    l.held += need + granted;
    Object.assign(l, { row: r, seen, refreshedAt: now, handed: l.handed / 2 });
  } else {
    // Too little left to lease: a reservation of this call alone, released as soon as it ends.
    l = { db, id: r.id, metric: r.metric, generation: r.generation, held: need + granted, out: 0, closed: !r.leasable, row: r, seen, refreshedAt: now, handed: 0, epoch: reg.epoch };
    if (!l.closed) {
      reg.leases.set(r.id, l);
      sweep();
    }
  }
  return need > 0 ? hold(l, need) : null;
}

async function viaStatement(db: Db, reg: Registry, key: string, w: Who, model: string | null, need: Amounts, unit: Amounts): Promise<LeaseRow[]> {
  const known = reg.whos.get(key)?.ids ?? [];
  const rows = await retryOnConflict(() =>
    leaseBudgets(db.sql, w, model, {
      need,
      unit,
      wants: wantsFor(reg, known, () => unit),
      defaultWant: { tokens: WANT_CALLS * unit.tokens, gpuSeconds: WANT_CALLS * unit.gpuSeconds },
      holder: reg.holder,
    }),
  );
  noteHolder(db, reg, rows);
  // An exempt model matches no budget: that says nothing about which budgets apply to the principal.
  if (model === null || rows.length > 0) {
    reg.whos.set(key, { ids: rows.map((r) => r.id), readAt: performance.now(), usedAt: reg.whos.get(key)?.usedAt ?? 0, unit });
  }
  return rows;
}

/** On use: tops the leases in use up off the caller's path when one has a quarter left (the sweeper renews them by age). */
function maybeRenew(db: Db, reg: Registry, key: string, now: number): void {
  const entry = reg.whos.get(key)!;
  entry.usedAt = now;
  const low = entry.ids.some((id) => {
    const l = reg.leases.get(id)!;
    return free(l) < Math.max(WANT_CALLS * inMetric(l.metric, entry.unit), 2 * l.handed) / 4;
  });
  if (low) renewInUse(db, reg);
}

/**
 * Renews every lease in use on a database handle — of every principal whose work reserved out of them since
 * their last statement — in one statement (so a row shared by many principals, the global budget's, is locked
 * once per renewal, not once per principal), and re-reads their rows: budget mode and the limits stay within
 * LEASE_MS of the database.
 */
function renewInUse(db: Db, reg: Registry): void {
  if (reg.renewing) return;
  const entries = [...reg.whos.entries()].filter(([, e]) => e.usedAt > e.readAt && e.ids.every((id) => reg.leases.has(id)));
  if (entries.length === 0) return;
  const unitOf = new Map<string, Amounts>();
  for (const [, e] of entries) {
    for (const id of e.ids) {
      const u = unitOf.get(id);
      unitOf.set(id, u ? { tokens: Math.max(u.tokens, e.unit.tokens), gpuSeconds: Math.max(u.gpuSeconds, e.unit.gpuSeconds) } : e.unit);
    }
  }
  if (unitOf.size === 0) {
    // Principals no budget applies to (as of the last statement): nothing to re-read; the index tells of new ones.
    for (const [, e] of entries) e.readAt = performance.now();
    return;
  }
  const zero = { tokens: 0, gpuSeconds: 0 };
  const wants = wantsFor(reg, [...unitOf.keys()], (id) => unitOf.get(id)!);
  const nobody = { userId: null, apiKeyId: null, agentId: null, scheduleId: null };
  reg.renewing = true;
  const sent = performance.now();
  void retryOnConflict(() => leaseBudgets(db.sql, nobody, null, { need: zero, unit: zero, wants, defaultWant: zero, renewOnly: true, holder: reg.holder }))
    .then((rows) => {
      noteHolder(db, reg, rows);
      const at = performance.now();
      for (const r of rows) absorb(db, reg, r, 0, at);
      const found = new Set(rows.map((r) => r.id));
      for (const [key, e] of entries) {
        if (reg.whos.get(key) !== e) continue;
        // A budget gone (deleted) leaves the principal's next work to find what applies by statement.
        if (e.ids.every((id) => found.has(id))) e.readAt = sent;
        else reg.whos.delete(key);
      }
    })
    .catch((err: Error) => log("warn", "budget lease renewal failed", { error: err.message }))
    .finally(() => (reg.renewing = false));
}

/** The budgets that exist changed (budget-index.ts saw it): which apply to whom is read again by statement. */
export function forgetPrincipals(db?: Db): void {
  for (const [d, reg] of registries()) if (!db || d === db) reg.whos.clear();
}

/**
 * Reserves `need` on every budget that applies to `scope` (for a call of `model`, or for work when null):
 * from this process's leases in memory when each has room for it, else by one statement that also takes or
 * tops up the leases. BudgetExhaustedError (naming the budget and when it resets) when one is used up.
 * Returns the holds, and each budget's state with `need` left out (work's own reservation is not use).
 */
export async function takeHolds(db: Db, scope: UsageScope, model: string | null, need: Amounts, unit: Amounts): Promise<{ holds: Hold[]; rows: BudgetRow[] }> {
  try {
    return await takeHoldsOnce(db, scope, model, need, unit);
  } catch (err) {
    // What a dead process held may be what fills the budget: give it back now rather than at the next beat.
    if (err instanceof BudgetExhaustedError && (await beat(db, registry(db))) > 0) return takeHoldsOnce(db, scope, model, need, unit);
    throw err;
  }
}

async function takeHoldsOnce(db: Db, scope: UsageScope, model: string | null, need: Amounts, unit: Amounts): Promise<{ holds: Hold[]; rows: BudgetRow[] }> {
  const reg = registry(db);
  const key = keyOf(scope);
  const served = () => {
    const mem = fromMemory(reg, key, need, performance.now());
    if (mem) maybeRenew(db, reg, key, performance.now());
    return mem && { holds: mem, rows: mem.map((h) => stateOf(h.lease, h.remaining)) };
  };
  const mem = served();
  if (mem) return mem;
  // Work arriving while a statement takes this principal's leases waits for it rather than racing it: the
  // leases it brings usually have room (and racing statements would each see the others' slices as used).
  const inFlight = reg.taking.get(key);
  if (inFlight) {
    await inFlight.catch(() => {});
    const after = served();
    if (after) return after;
  }
  const statement = viaStatement(db, reg, key, scope, model, need, unit);
  if (!inFlight) {
    reg.taking.set(key, statement);
    void statement.catch(() => {}).finally(() => reg.taking.get(key) === statement && reg.taking.delete(key));
  }
  const rows = await statement;
  const at = performance.now();
  const holds: Hold[] = [];
  for (const r of rows) {
    const h = absorb(db, reg, r, inMetric(r.metric, need), at);
    if (h) holds.push(h);
  }
  const refused = rows.find((r) => !r.reserved_ok);
  if (refused) {
    // What the other budgets took goes back the one way everything goes back: the writer.
    const parts = releaseHolds(holds);
    if (parts.length) enqueue(db, { scope: null, entry: null, parts }, { freesRoom: true });
    // This process's own leases are part of what the budget found reserved: while they have room, the work
    // runs out of them rather than being refused by them.
    const own = served();
    if (own) return own;
    throw new BudgetExhaustedError(budgetName(refused, scope), new Date(refused.window_end));
  }
  return { holds, rows: holds.map((h) => stateOf(h.lease, h.remaining)) };
}

/** After a statement that reserves: it registers the holder when it is not; afresh when it was means it was taken for dead. */
function noteHolder(db: Db, reg: Registry, rows: LeaseRow[]): void {
  if (!rows.some((r) => r.fresh_holder)) return;
  if (reg.registered) lapse(reg);
  reg.registered = true;
  if (!reg.beat) {
    reg.beat = setInterval(() => void beat(db, reg), HOLDER_BEAT_MS);
    reg.beat.unref?.();
  }
}

/** Another process gave back what this one held: its leases, and the holds out of them, give nothing more back. */
function lapse(reg: Registry): void {
  log("warn", "budget holder was taken for dead (the process was silent too long): its leases are dropped");
  reg.epoch++;
  for (const l of [...reg.leases.values()]) close(l);
  reg.whos.clear();
}

/** Beats for this handle's holder and reaps dead ones; returns what was given back for them. Never throws. */
async function beat(db: Db, reg: Registry): Promise<number> {
  try {
    const r = await beatAndReapHolders(db.sql, reg.holder, HOLDER_DEAD_AFTER_S);
    if (!r.alive && reg.registered) {
      lapse(reg);
      reg.registered = false;
    }
    if (r.reaped > 0) {
      observeBudgetHoldersReaped(r.reaped);
      log("warn", "budget reservations of stopped processes given back", { holders: r.reaped, givenBack: r.given_back });
    }
    return r.given_back;
  } catch (err) {
    const message = (err as Error).message;
    // The handle was closed without retireHolder (a test's own handle): nothing left to beat for.
    if (/calling end|closed/i.test(message)) stopBeat(reg);
    else log("warn", "budget holder beat failed", { error: message });
    return 0;
  }
}

function stopBeat(reg: Registry): void {
  if (reg.beat) clearInterval(reg.beat);
  reg.beat = null;
}

/**
 * Before a database handle closes (after flushUsage): gives back what its holder still holds — nothing, unless
 * work was cut off — and removes the holder, so nothing waits for it to be taken for dead.
 */
export async function retireHolder(db: Db): Promise<void> {
  const reg = registries().get(db);
  if (!reg) return;
  stopBeat(reg);
  registries().delete(db);
  if (reg.registered) await beatAndReapHolders(db.sql, reg.holder, HOLDER_DEAD_AFTER_S, true);
}

/** Gives back every lease (flushUsage, shutdown) — or those of one budget, which this process just changed. */
export function returnLeases(budgetId?: string): void {
  for (const reg of registries().values()) {
    for (const l of [...reg.leases.values()]) if (budgetId === undefined || l.id === budgetId) close(l);
    if (budgetId === undefined) reg.whos.clear();
  }
}

// A settlement that finds a budget in a newer window than a lease of it ends the lease (its calls count only
// in the window they were reserved in; the new window starts with its own lease).
onSettled((db, settled) => {
  const reg = registries().get(db);
  if (!reg) return;
  for (const s of settled) {
    const l = reg.leases.get(s.id);
    if (l && l.generation < Number(s.generation)) close(l);
  }
});

// Every quarter of LEASE_MS: leases in use since their last statement are renewed once half their lifetime old
// (so work arriving less than about a second apart keeps finding them), and expired ones — idle, or past the
// window end they were taken with — are given back.
let sweeper: ReturnType<typeof setInterval> | null = null;
function sweep(): void {
  if (sweeper) return;
  sweeper = setInterval(() => {
    const now = performance.now();
    let any = false;
    for (const [db, reg] of registries()) {
      let due = false;
      for (const [key, e] of reg.whos) {
        if (e.usedAt > e.readAt) due ||= now - e.readAt >= LEASE_MS / 2;
        else if (now - e.readAt > LEASE_MS) reg.whos.delete(key);
      }
      if (due) renewInUse(db, reg);
      for (const l of [...reg.leases.values()]) if (now - l.refreshedAt > LEASE_MS || Date.now() >= new Date(l.row.window_end).getTime()) close(l);
      any ||= reg.leases.size > 0;
    }
    if (!any) {
      clearInterval(sweeper!);
      sweeper = null;
    }
  }, LEASE_MS / 4);
  sweeper.unref?.();
}
