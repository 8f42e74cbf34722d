// The SQL of the usage ledger and the budgets. Every statement that changes several budgets locks them in id
// order first (`ORDER BY id FOR UPDATE`): a call reserves on its user's budget and the global one while
// other calls settle on them, and any other order deadlocks under concurrency.
// The two statements of the model-call path (reserve or take a lease before — none while the process's lease
// has room —, settle + ledger row after, off the caller's path) are one round trip each; everything else
// serves the admin page, the API and the window reset.
import type { SqlRunner } from "../db/sql-runner";
import type { UsageScope } from "./scope";

export interface BudgetRow {
  id: string;
  scope_kind: string;
  scope_id: string;
  metric: string;
  period: string;
  limit_value: number;
  mode_threshold: number;
  used: number;
  reserved: number;
  generation: number;
  window_start: Date;
  window_end: Date;
  updated_at: Date;
}

export interface ReservationRow extends BudgetRow {
  /** Whether this budget took the reservation (it had room). */
  reserved_ok: boolean;
}

/**
 * The two statements on the model-call path commit without waiting for the WAL flush (synchronous_commit
 * off for their own transaction only): each is atomic all the same, and a database crash can lose at most
 * the last fraction of a second of ledger rows and settlements — where waiting for the flush while holding
 * a budget's row lock (the global budget's is shared by every call) made every call wait for every other.
 * The CTE must be referenced (CROSS JOIN / FROM async_commit) so that it runs.
 */
const ASYNC_COMMIT = `async_commit AS (SELECT set_config('synchronous_commit', 'off', true) AS sc)`;

type Who = Pick<UsageScope, "userId" | "apiKeyId" | "agentId" | "scheduleId">;

const BUDGET_COLUMNS = `b.id::text, b.scope_kind, b.scope_id, b.metric, b.period, b.limit_value, b.mode_threshold,
  b.used, b.reserved, b.generation, b.window_start, b.window_end, b.updated_at`;

// The budgets that apply to a principal: everyone's, its user's (a key acts for its creator), its key's,
// its agent's and its schedule's.
const APPLICABLE = `(b.scope_kind = 'global'
    OR (b.scope_kind = 'user' AND b.scope_id = $1::text)
    OR (b.scope_kind = 'api_key' AND b.scope_id = $2::text)
    OR (b.scope_kind = 'agent' AND b.scope_id = $3::text)
    OR (b.scope_kind = 'schedule' AND b.scope_id = $4::text))`;

const who = (w: Who) => [w.userId, w.apiKeyId, w.agentId, w.scheduleId];

/** How many calls' worth must be left after a lease's slice for a budget to be leased at all (lease.ts). */
export const LEASE_MIN_CALLS = 4;

export interface LeaseRequest {
  /** Reserved for the caller's own call or work now (0 when only renewing leases). */
  need: { tokens: number; gpuSeconds: number };
  /** One call's maximum: a budget is leased only while LEASE_MIN_CALLS of them are left after the slice. */
  unit: { tokens: number; gpuSeconds: number };
  /** The slice wanted on top of `need`, per budget already leased (ids; amounts and one call's maximum in its metric) … */
  wants: { ids: string[]; amounts: number[]; units: number[] };
  /** … and on any other (a budget this process has not leased yet). */
  defaultWant: { tokens: number; gpuSeconds: number };
  /** Renew exactly the budgets in `wants` (whoever's they are) instead of those that apply to `w`. */
  renewOnly?: boolean;
  /** The process's holder (lease.ts): what is taken is recorded as held by it. */
  holder: string;
}

export interface LeaseRow extends ReservationRow {
  /** Whether enough is left to lease (false: the reservation is per call, released as soon as the call ends). */
  leasable: boolean;
  /** The slice reserved beyond `need`. */
  granted: number;
  /** The holder was registered by this statement: if the process had registered it before, it was taken for dead. */
  fresh_holder: boolean;
}

/**
 * Reserves `need` on every budget that applies and still has room (used + reserved below its limit), and on
 * each also a slice for this process to hand out in memory (lease.ts): at most the slice wanted and at most a
 * quarter of what is left after `need`, and none once fewer than LEASE_MIN_CALLS calls' worth would be left —
 * so slices shrink as a budget nears its limit and near it every call reserves by statement, as concurrent
 * callers queue on the row lock and each sees the others' reservations and leases: a budget is overshot by at
 * most one call's estimate, across any number of processes. Returns every applicable budget with whether it
 * took the reservation; the caller gives back what was taken when one refused. With `renewOnly` it renews the
 * given budgets (a process's leases in use, whoever's they are) instead, reserving nothing for a caller.
 *
 * `matched` locks the rows and, under READ COMMITTED, returns their latest version once it has the lock, so
 * the room the slice is sized from is the room at the moment of the update.
 */
export function leaseBudgets(sql: SqlRunner, w: Who, model: string | null, r: LeaseRequest): Promise<LeaseRow[]> {
  return sql.query<LeaseRow>(
    `WITH ${ASYNC_COMMIT}, matched AS (
       SELECT b.id, b.metric, b.limit_value - b.used - b.reserved AS room FROM budgets b
       WHERE CASE WHEN $14::bool THEN b.id = ANY($10::uuid[])
                  ELSE ${APPLICABLE} AND NOT EXISTS (SELECT 1 FROM budget_exempt_models e WHERE e.model = $5::text) END
       ORDER BY b.id FOR UPDATE
     ), sized AS (
       SELECT m.id, m.room, x.need, l.leasable,
              CASE WHEN l.leasable THEN LEAST(GREATEST(x.want, 0), (m.room - x.need) / ${LEASE_MIN_CALLS}) ELSE 0 END AS slice
       FROM matched m
       LEFT JOIN unnest($10::uuid[], $11::float8[], $15::float8[]) AS wa(id, amount, unit) ON wa.id = m.id
       CROSS JOIN LATERAL (SELECT CASE m.metric WHEN 'tokens' THEN $6::float8 ELSE $7::float8 END AS need,
                                  COALESCE(wa.unit, CASE m.metric WHEN 'tokens' THEN $8::float8 ELSE $9::float8 END) AS unit,
                                  COALESCE(wa.amount, CASE m.metric WHEN 'tokens' THEN $12::float8 ELSE $13::float8 END) AS want) x
       CROSS JOIN LATERAL (SELECT x.unit > 0 AND m.room - x.need >= ${LEASE_MIN_CALLS} * x.unit AS leasable) l
     ), taken AS (
       UPDATE budgets b SET reserved = b.reserved + s.need + s.slice
       FROM sized s WHERE b.id = s.id AND s.room > 0
       RETURNING b.id, b.used, b.reserved, b.generation, s.slice, s.leasable, s.need + s.slice AS added
     ), holder AS (
       -- Whatever is taken is held by this process's holder (registered here if it is not: xmax = 0 then).
       INSERT INTO budget_holders AS h (id) SELECT $16::uuid WHERE EXISTS (SELECT 1 FROM taken WHERE added > 0)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
       RETURNING h.id, (h.xmax = 0) AS fresh
     ), holding AS (
       INSERT INTO budget_holdings AS g (holder_id, budget_id, held)
       SELECT h.id, t.id, t.added FROM taken t CROSS JOIN holder h WHERE t.added > 0
       ON CONFLICT (holder_id, budget_id) DO UPDATE SET held = g.held + EXCLUDED.held
     )
     SELECT ${BUDGET_COLUMNS.replace("b.used, b.reserved, b.generation", "COALESCE(t.used, b.used) AS used, COALESCE(t.reserved, b.reserved) AS reserved, COALESCE(t.generation, b.generation) AS generation")},
            t.id IS NOT NULL AS reserved_ok, COALESCE(t.leasable, false) AS leasable, COALESCE(t.slice, 0)::float8 AS granted,
            COALESCE((SELECT fresh FROM holder), false) AS fresh_holder
     FROM budgets b JOIN matched m ON m.id = b.id LEFT JOIN taken t ON t.id = b.id CROSS JOIN async_commit`,
    [...who(w), model, r.need.tokens, r.need.gpuSeconds, r.unit.tokens, r.unit.gpuSeconds, r.wants.ids, r.wants.amounts, r.defaultWant.tokens, r.defaultWant.gpuSeconds,
     r.renewOnly ?? false, r.wants.units, r.holder],
    // Prepared: planning this statement cost more than running it (docs/benchmarks.md, "Guardrails").
    { prepare: true },
  );
}

export interface LedgerEntry {
  model: string;
  op: string;
  promptTokens: number;
  completionTokens: number;
  gpuSeconds: number;
  loadSeconds: number;
  ok: boolean;
}

/** A budget the settlement changed: what it had used before and after, to tell when it crossed a line. */
export interface SettledBudget {
  id: string;
  metric: string;
  limit_value: number;
  mode_threshold: number;
  used_before: number;
  used_after: number;
  /** The budget's window now (a lease of an older one is given back). */
  generation: number;
}

/** One call's settlement (its ledger row, its real cost, its reservation given back), or a bare release (`entry` null). */
export interface Settlement {
  /** Whose call it was (for the ledger row; unused by a bare release). */
  scope: Pick<UsageScope, "principalKind" | "userId" | "apiKeyId" | "agentId" | "scheduleId" | "evaluationRunId" | "importJobId" | "label"> | null;
  entry: LedgerEntry | null;
  /** The budgets it settles on. */
  parts: SettlementPart[];
}

/**
 * A settlement's part on one budget: the window (generation) its call was reserved in — the call's cost is
 * added to `used` only while the window is still that one — and what it gives back of `reserved`, in the
 * budget's metric, out of what `holder` holds of it.
 */
export interface SettlementPart {
  id: string;
  generation: number;
  /** Null when the lease lapsed (then `release` is 0). */
  holder: string | null;
  release: number;
}

/**
 * Settles any number of calls and releases in one statement (group commit: the writer in writer.ts sends
 * what queued while the previous statement ran): each part's `release` is taken off `reserved`, each call's
 * real cost is added to the budgets whose window is still the one it was reserved in (`generation`) unless
 * its model is exempt, and the calls' ledger rows are written. Each budget is updated once, under its lock, with the
 * batch's sum, and returned with its use before and after: exactly one statement sees a budget cross its
 * threshold or its limit in a window.
 */
export async function settleBatch(sql: SqlRunner, items: Settlement[]): Promise<SettledBudget[]> {
  const calls = items.filter((i) => i.entry);
  const c = (f: (i: Settlement, e: LedgerEntry) => unknown) => calls.map((i) => f(i, i.entry!));
  // One row per (settlement, budget): the call it belongs to (0 for a release), the budget, the generation.
  const part = { call: [] as number[], id: [] as string[], gen: [] as number[], release: [] as number[], holder: [] as Array<string | null> };
  let n = 0;
  for (const i of items) {
    const call = i.entry ? ++n : 0;
    for (const p of i.parts) {
      part.call.push(call);
      part.id.push(p.id);
      part.gen.push(p.generation);
      part.release.push(p.release);
      part.holder.push(p.holder);
    }
  }
  const added = `(SELECT COALESCE(sum(CASE b.metric WHEN 'tokens' THEN u.t ELSE u.g END), 0) FROM unnest(x.gens, x.add_tokens, x.add_gpu) AS u(gen, t, g) WHERE u.gen = b.generation)`;
  const rows = await sql.query<SettledBudget & { id: string | null }>(
    `WITH ${ASYNC_COMMIT},
     calls AS (
       SELECT c.*, NOT EXISTS (SELECT 1 FROM budget_exempt_models e WHERE e.model = c.model) AS counted
       FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::bool[], $6::float8[], $7::float8[], $8::text[], $9::uuid[], $10::uuid[],
                   $11::text[], $12::uuid[], $13::uuid[], $14::uuid[], $15::text[])
            WITH ORDINALITY AS c(model, op, prompt_tokens, completion_tokens, ok, gpu_seconds, load_seconds, principal_kind, user_id, api_key_id,
                                 agent_id, schedule_id, evaluation_run_id, import_job_id, label, n)
     ),
     parts AS (
       SELECT p.id, p.gen, p.res, p.holder,
              CASE WHEN c.counted THEN c.prompt_tokens + c.completion_tokens ELSE 0 END AS add_tokens,
              CASE WHEN c.counted THEN c.gpu_seconds ELSE 0 END AS add_gpu
       FROM unnest($16::int[], $17::uuid[], $18::int[], $19::float8[], $20::uuid[]) AS p(call, id, gen, res, holder)
       LEFT JOIN calls c ON c.n = p.call
     ),
     x AS (
       SELECT id, array_agg(gen) AS gens,
              array_agg(COALESCE(add_tokens, 0)::float8) AS add_tokens, array_agg(COALESCE(add_gpu, 0)::float8) AS add_gpu
       FROM parts GROUP BY id
     ),
     -- Every budget row is locked (in id order) before any holding: holdings change only under their budget's
     -- lock (here, in the lease statement and in the reap), so the two kinds of lock never wait on each other
     -- in a cycle. The array makes the locking one step, run before the first row is updated.
     locked AS (SELECT ARRAY(SELECT id FROM budgets WHERE id IN (SELECT id FROM x) ORDER BY id FOR UPDATE) AS ids),
     -- A release gives back at most what its holder still holds: nothing once the holder was taken for dead
     -- and what it held was given back for it (reapBudgetHolders). The column 'released' is set from the holding as
     -- it is once locked (the statement's snapshot may be older), and read back.
     asked AS (SELECT holder, id, sum(res) AS res FROM parts WHERE res > 0 GROUP BY holder, id),
     released AS (
       UPDATE budget_holdings g SET released = LEAST(a.res, g.held), held = GREATEST(g.held - a.res, 0)
       FROM asked a
       WHERE g.holder_id = a.holder AND g.budget_id = a.id AND g.budget_id = ANY ((SELECT ids FROM locked)::uuid[])
       RETURNING g.budget_id AS id, g.released AS res
     ),
     given AS (SELECT id, sum(res) AS res FROM released GROUP BY id),
     settled AS (
       UPDATE budgets b SET
         reserved = GREATEST(b.reserved - COALESCE((SELECT g.res FROM given g WHERE g.id = b.id), 0), 0),
         used = b.used + ${added}
       FROM x
       WHERE b.id = x.id AND b.id = ANY ((SELECT ids FROM locked)::uuid[])
       RETURNING b.id::text AS id, b.metric, b.limit_value, b.mode_threshold, b.used - ${added} AS used_before, b.used AS used_after, b.generation
     ),
     recorded AS (
       INSERT INTO model_usage (model, op, prompt_tokens, completion_tokens, gpu_seconds, load_seconds, ok, principal_kind,
                                user_id, api_key_id, agent_id, schedule_id, evaluation_run_id, import_job_id, label)
       SELECT model, op, prompt_tokens, completion_tokens, gpu_seconds, load_seconds, ok, principal_kind,
              user_id, api_key_id, agent_id, schedule_id, evaluation_run_id, import_job_id, label
       FROM calls ORDER BY n
       RETURNING 1
     )
     -- async_commit on the outer side: it runs even when nothing is settled.
     SELECT s.* FROM async_commit LEFT JOIN settled s ON true CROSS JOIN (SELECT count(*) FROM recorded) written`,
    [
      c((_, e) => e.model), c((_, e) => e.op), c((_, e) => e.promptTokens), c((_, e) => e.completionTokens), c((_, e) => e.ok),
      c((_, e) => e.gpuSeconds), c((_, e) => e.loadSeconds), c((i) => i.scope?.principalKind), c((i) => i.scope?.userId), c((i) => i.scope?.apiKeyId),
      c((i) => i.scope?.agentId), c((i) => i.scope?.scheduleId), c((i) => i.scope?.evaluationRunId), c((i) => i.scope?.importJobId),
      c((i) => (i.scope?.principalKind === "system" ? i.scope.label : null)),
      part.call, part.id, part.gen, part.release, part.holder,
    ],
    { prepare: true },
  );
  return rows.filter((r) => r.id !== null);
}

// ── holders (lease.ts, "Holders") ──

export interface HolderBeat {
  /** This process's holder is still registered (false: it was taken for dead, or it has taken nothing yet). */
  alive: boolean;
  /** Holders given back for (their processes stopped beating). */
  reaped: number;
  /** What they held in all, taken off the budgets' `reserved`. */
  given_back: number;
}

/**
 * The holders' heartbeat and reap, in one statement: refreshes this process's holder, and gives back what every
 * holder silent for over `deadAfterSeconds` held — or, with `self`, what this process's own holder holds (its
 * database is closing) — off each budget's `reserved`, deleting the holders and their holdings. Budgets are
 * locked in id order before any holder or holding, as in settleBatch; a holder that beats meanwhile is spared
 * (the delete re-checks its heartbeat once it has the row).
 */
export async function beatAndReapHolders(sql: SqlRunner, holder: string, deadAfterSeconds: number, self = false): Promise<HolderBeat> {
  const [row] = await sql.query<HolderBeat>(
    `WITH beat AS (UPDATE budget_holders SET heartbeat_at = now() WHERE id = $1::uuid AND NOT $3::bool RETURNING id),
     candidates AS (
       SELECT id FROM budget_holders
       WHERE (heartbeat_at < now() - make_interval(secs => $2::float8) AND id <> $1::uuid) OR ($3::bool AND id = $1::uuid)
     ),
     locked AS (
       SELECT ARRAY(SELECT b.id FROM budgets b
                    WHERE b.id IN (SELECT g.budget_id FROM budget_holdings g WHERE g.holder_id IN (SELECT id FROM candidates))
                    ORDER BY b.id FOR UPDATE) AS ids
     ),
     dead AS (
       DELETE FROM budget_holders h
       WHERE h.id IN (SELECT id FROM candidates) AND cardinality((SELECT ids FROM locked)) >= 0
         AND (h.heartbeat_at < now() - make_interval(secs => $2::float8) OR ($3::bool AND h.id = $1::uuid))
       RETURNING h.id
     ),
     gone AS (DELETE FROM budget_holdings g USING dead d WHERE g.holder_id = d.id RETURNING g.budget_id, g.held),
     sums AS (SELECT budget_id, sum(held) AS held FROM gone GROUP BY budget_id),
     given AS (UPDATE budgets b SET reserved = GREATEST(b.reserved - s.held, 0) FROM sums s WHERE b.id = s.budget_id RETURNING s.held)
     SELECT EXISTS (SELECT 1 FROM beat) AS alive, (SELECT count(*) FROM dead)::int AS reaped,
            COALESCE((SELECT sum(held) FROM given), 0)::float8 AS given_back`,
    [holder, deadAfterSeconds, self],
  );
  return { alive: row!.alive, reaped: Number(row!.reaped), given_back: Number(row!.given_back) };
}

// ── admin: budgets ──

export function listBudgetRows(sql: SqlRunner): Promise<BudgetRow[]> {
  return sql.query<BudgetRow>(`SELECT ${BUDGET_COLUMNS} FROM budgets b ORDER BY b.scope_kind, b.scope_id, b.metric, b.period`);
}

/**
 * Creates or changes a budget. A change of metric or period starts a new window with nothing used (old
 * usage never counts against it); a change of the limit or threshold keeps the window and its use.
 */
export async function upsertBudget(
  sql: SqlRunner,
  b: { scopeKind: string; scopeId: string; metric: string; period: string; limit: number; modeThreshold: number; createdById: string | null; timeZone: string },
): Promise<{ row: BudgetRow; created: boolean }> {
  const [row] = await sql.query<BudgetRow & { created: boolean }>(
    `INSERT INTO budgets AS b (scope_kind, scope_id, metric, period, limit_value, mode_threshold, window_start, window_end, created_by_id)
     SELECT $1, $2, $3, $4::text, $5, $6, w.s, w.e, $7::uuid
     FROM (SELECT CASE $4::text WHEN 'day' THEN date_trunc('day', now(), $8::text) ELSE date_trunc('month', now(), $8::text) END AS s,
                  CASE $4::text WHEN 'day' THEN ((date_trunc('day', now(), $8::text) AT TIME ZONE $8::text) + interval '1 day') AT TIME ZONE $8::text
                                ELSE ((date_trunc('month', now(), $8::text) AT TIME ZONE $8::text) + interval '1 month') AT TIME ZONE $8::text END AS e) w
     ON CONFLICT (scope_kind, scope_id, metric, period) DO UPDATE
       SET limit_value = EXCLUDED.limit_value, mode_threshold = EXCLUDED.mode_threshold, updated_at = now()
     RETURNING ${BUDGET_COLUMNS}, (xmax = 0) AS created`,
    [b.scopeKind, b.scopeId, b.metric, b.period, b.limit, b.modeThreshold, b.createdById, b.timeZone],
  );
  return { row: row!, created: row!.created };
}

/** Starts a new window now for a budget (an admin's reset): nothing used, a new generation. */
export async function restartBudgetWindow(sql: SqlRunner, id: string, timeZone: string): Promise<BudgetRow | null> {
  const [row] = await sql.query<BudgetRow>(
    `UPDATE budgets b SET used = 0, generation = b.generation + 1, updated_at = now(),
       window_start = CASE b.period WHEN 'day' THEN date_trunc('day', now(), $2::text) ELSE date_trunc('month', now(), $2::text) END,
       window_end = CASE b.period WHEN 'day' THEN ((date_trunc('day', now(), $2::text) AT TIME ZONE $2::text) + interval '1 day') AT TIME ZONE $2::text
                    ELSE ((date_trunc('month', now(), $2::text) AT TIME ZONE $2::text) + interval '1 month') AT TIME ZONE $2::text END
     WHERE b.id = $1::uuid RETURNING ${BUDGET_COLUMNS}`,
    [id, timeZone],
  );
  return row ?? null;
}

export async function deleteBudget(sql: SqlRunner, id: string): Promise<BudgetRow | null> {
  const [row] = await sql.query<BudgetRow>(`DELETE FROM budgets b WHERE b.id = $1::uuid RETURNING ${BUDGET_COLUMNS}`, [id]);
  return row ?? null;
}

/**
 * Closes every window that has ended: records it in budget_windows and moves the budget to the window
 * containing now, with nothing used and a new generation. One statement per call, guarded by
 * `window_end <= now()` under the row lock: two scheduler processes close a window exactly once.
 */
export function closeEndedWindows(sql: SqlRunner, timeZone: string): Promise<Array<{ id: string; used: number; window_start: Date }>> {
  return sql.query(
    `WITH closed AS (
       UPDATE budgets b SET used = 0, generation = b.generation + 1, updated_at = now(),
         window_start = CASE b.period WHEN 'day' THEN date_trunc('day', now(), $1::text) ELSE date_trunc('month', now(), $1::text) END,
         window_end = CASE b.period WHEN 'day' THEN ((date_trunc('day', now(), $1::text) AT TIME ZONE $1::text) + interval '1 day') AT TIME ZONE $1::text
                      ELSE ((date_trunc('month', now(), $1::text) AT TIME ZONE $1::text) + interval '1 month') AT TIME ZONE $1::text END
       FROM (SELECT id, used AS old_used, window_start AS old_start, window_end AS old_end FROM budgets WHERE window_end <= now() FOR UPDATE) o
       WHERE b.id = o.id AND b.window_end <= now()
       RETURNING b.id, o.old_used, o.old_start, o.old_end, b.limit_value
     )
     INSERT INTO budget_windows (budget_id, window_start, window_end, used, limit_value)
     SELECT id, old_start, old_end, old_used, limit_value FROM closed
     ON CONFLICT DO NOTHING
     RETURNING budget_id::text AS id, used, window_start`,
    [timeZone],
  );
}

export function exemptModels(sql: SqlRunner): Promise<Array<{ model: string; created_at: Date }>> {
  return sql.query(`SELECT model, created_at FROM budget_exempt_models ORDER BY model`);
}

export async function setModelExempt(sql: SqlRunner, model: string, exempt: boolean, by: string | null): Promise<boolean> {
  const rows = exempt
    ? await sql.query(`INSERT INTO budget_exempt_models (model, created_by_id) VALUES ($1, $2::uuid) ON CONFLICT DO NOTHING RETURNING model`, [model, by])
    : await sql.query(`DELETE FROM budget_exempt_models WHERE model = $1 RETURNING model`, [model]);
  return rows.length > 0;
}

// ── admin: totals ──

export function usageByDay(sql: SqlRunner, days: number, timeZone: string) {
  return sql.query<{ day: string; model: string; calls: number; prompt: number; completion: number; gpu: number }>(
    `SELECT to_char(date_trunc('day', at, $2::text), 'YYYY-MM-DD') AS day, model, count(*)::int AS calls,
            COALESCE(sum(prompt_tokens), 0)::float8 AS prompt, COALESCE(sum(completion_tokens), 0)::float8 AS completion,
            COALESCE(sum(gpu_seconds), 0)::float8 AS gpu
     FROM model_usage WHERE at >= date_trunc('day', now(), $2::text) - (($1::int - 1) * interval '1 day')
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [days, timeZone],
  );
}

export function usageByPrincipal(sql: SqlRunner, days: number, timeZone: string) {
  return sql.query<{
    principal_kind: string; user_id: string | null; api_key_id: string | null; label: string | null; user_email: string | null; key_name: string | null;
    calls: number; tokens: number; gpu: number; evaluation_calls: number; import_calls: number; schedule_calls: number;
  }>(
    `SELECT u.principal_kind, u.user_id::text, u.api_key_id::text, u.label, us.email AS user_email, k.name AS key_name,
            count(*)::int AS calls, COALESCE(sum(u.prompt_tokens + u.completion_tokens), 0)::float8 AS tokens,
            COALESCE(sum(u.gpu_seconds), 0)::float8 AS gpu,
            count(u.evaluation_run_id)::int AS evaluation_calls, count(u.import_job_id)::int AS import_calls,
            count(u.schedule_id)::int AS schedule_calls
     FROM model_usage u
     LEFT JOIN users us ON us.id = u.user_id
     LEFT JOIN api_keys k ON k.id = u.api_key_id
     WHERE u.at >= date_trunc('day', now(), $2::text) - (($1::int - 1) * interval '1 day')
     GROUP BY u.principal_kind, u.user_id, u.api_key_id, u.label, us.email, k.name
     ORDER BY gpu DESC, tokens DESC`,
    [days, timeZone],
  );
}

export function usageTotals(sql: SqlRunner, days: number, timeZone: string) {
  return sql.query<{ calls: number; prompt: number; completion: number; gpu: number; load: number }>(
    `SELECT count(*)::int AS calls, COALESCE(sum(prompt_tokens), 0)::float8 AS prompt, COALESCE(sum(completion_tokens), 0)::float8 AS completion,
            COALESCE(sum(gpu_seconds), 0)::float8 AS gpu, COALESCE(sum(load_seconds), 0)::float8 AS load
     FROM model_usage WHERE at >= date_trunc('day', now(), $2::text) - (($1::int - 1) * interval '1 day')`,
    [days, timeZone],
  );
}

/** Sums by model and op over the whole ledger (what the Prometheus counters are compared with). */
export function ledgerSums(sql: SqlRunner) {
  return sql.query<{ model: string; op: string; calls: number; prompt: number; completion: number; gpu: number }>(
    `SELECT model, op, count(*)::int AS calls, COALESCE(sum(prompt_tokens), 0)::float8 AS prompt,
            COALESCE(sum(completion_tokens), 0)::float8 AS completion, COALESCE(sum(gpu_seconds), 0)::float8 AS gpu
     FROM model_usage GROUP BY model, op ORDER BY model, op`,
  );
}

/** Names for budget scopes: users' e-mails, keys' and schedules' names. */
export function scopeLabels(sql: SqlRunner, ids: { users: string[]; keys: string[]; schedules: string[] }) {
  return sql.query<{ kind: string; id: string; label: string }>(
    `SELECT 'user' AS kind, id::text, email AS label FROM users WHERE id::text = ANY($1::text[])
     UNION ALL SELECT 'api_key', id::text, name FROM api_keys WHERE id::text = ANY($2::text[])
     UNION ALL SELECT 'schedule', id::text, name FROM schedules WHERE id::text = ANY($3::text[])`,
    [ids.users, ids.keys, ids.schedules],
  );
}

/** Budgets by scope kind, metric and period: how many there are, in budget mode, and used up (for /api/metrics). */
export function budgetStateCounts(sql: SqlRunner) {
  return sql.query<{ scope_kind: string; metric: string; period: string; total: number; budget_mode: number; exhausted: number }>(
    `SELECT scope_kind, metric, period, count(*)::int AS total,
            count(*) FILTER (WHERE used + reserved >= limit_value * mode_threshold AND used + reserved < limit_value)::int AS budget_mode,
            count(*) FILTER (WHERE used + reserved >= limit_value)::int AS exhausted
     FROM budgets GROUP BY scope_kind, metric, period ORDER BY 1, 2, 3`,
  );
}

/** Whose budgets exist (for the budget index in budget-index.ts): one row per scope with at least one budget. */
export function budgetScopes(sql: SqlRunner): Promise<Array<{ scope_kind: string; scope_id: string }>> {
  return sql.query(`SELECT DISTINCT scope_kind, scope_id FROM budgets`);
}
