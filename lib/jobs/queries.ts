// The SQL of tracked runs (tracked-run.ts): the same few statements over each run table. Table and column
// names come only from the constant descriptions in tracked-run.ts (TrackedTable), never from input;
// every value is a parameter.
import type { SqlRunner } from "../db/sql-runner";

/** What the statements need to know about a run table (see TRACKED_TABLES in tracked-run.ts). */
export interface RunTableSql {
  table: string;
  /** The column a live run refreshes (null: the table has none; such runs cannot be failed as stale). */
  heartbeat: string | null;
  /** Columns a progress report may set. */
  progressColumns: readonly string[];
  /** Whether the table has started_at / finished_at. */
  startedAt: boolean;
}

const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return `"${name}"`;
};

const beat = (t: RunTableSql) => (t.heartbeat ? `, ${ident(t.heartbeat)} = now()` : "");

/** status ∈ `from` → 'running' (with started_at kept when resuming); false when the run was not in one of them. */
export async function claimRun(sql: SqlRunner, t: RunTableSql, id: string, from: readonly string[], set: Record<string, unknown> = {}): Promise<boolean> {
  const params: unknown[] = [id, from];
  const extra = Object.entries(set).map(([col, v]) => {
    if (!t.progressColumns.includes(col)) throw new Error(`${t.table}.${col} is not a progress column`);
    params.push(v);
    return `, ${ident(col)} = $${params.length}`;
  });
  const rows = await sql.query(
    `UPDATE ${ident(t.table)} SET status = 'running'${beat(t)}${t.startedAt ? ", started_at = COALESCE(started_at, now())" : ""}${extra.join("")}
     WHERE id = $1::uuid AND status = ANY($2::text[]) RETURNING id`,
    params,
  );
  return rows.length > 0;
}

/** Refreshes the heartbeat of the runs still running; returns those ids (a cancelled run is not among them). */
export async function heartbeatRuns(sql: SqlRunner, t: RunTableSql, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await sql.query<{ id: string }>(
    t.heartbeat
      ? `UPDATE ${ident(t.table)} SET ${ident(t.heartbeat)} = now() WHERE id = ANY($1::uuid[]) AND status = 'running' RETURNING id::text`
      : `SELECT id::text FROM ${ident(t.table)} WHERE id = ANY($1::uuid[]) AND status = 'running'`,
    [ids],
  );
  return rows.map((r) => r.id);
}

/** Sets progress columns (and the heartbeat) of a running run; false when it is no longer running. */
export async function recordRunProgress(sql: SqlRunner, t: RunTableSql, id: string, fields: Record<string, unknown>): Promise<boolean> {
  const params: unknown[] = [id];
  const sets = Object.entries(fields).map(([col, v]) => {
    if (!t.progressColumns.includes(col)) throw new Error(`${t.table}.${col} is not a progress column`);
    params.push(v);
    return `${ident(col)} = $${params.length}`;
  });
  const rows = await sql.query(
    sets.length || t.heartbeat
      ? `UPDATE ${ident(t.table)} SET ${[...sets, ...(t.heartbeat ? [`${ident(t.heartbeat)} = now()`] : [])].join(", ")} WHERE id = $1::uuid AND status = 'running' RETURNING id`
      : `SELECT id FROM ${ident(t.table)} WHERE id = $1::uuid AND status = 'running'`,
    params,
  );
  return rows.length > 0;
}

/**
 * Ends a run that is in one of `from`: status, error, finished_at and any progress columns, in one
 * statement. False when it had ended already (a reaper or a cancel came first): the first end wins.
 */
export async function endRun(
  sql: SqlRunner,
  t: RunTableSql,
  id: string,
  end: { status: string; error: string | null; from: readonly string[]; fields?: Record<string, unknown> },
): Promise<boolean> {
  const params: unknown[] = [id, end.status, end.error, end.from];
  const extra = Object.entries(end.fields ?? {}).map(([col, v]) => {
    if (!t.progressColumns.includes(col)) throw new Error(`${t.table}.${col} is not a progress column`);
    params.push(v);
    return `, ${ident(col)} = $${params.length}`;
  });
  const rows = await sql.query(
    `UPDATE ${ident(t.table)} SET status = $2, error = $3::text, finished_at = now()${beat(t)}${extra.join("")}
     WHERE id = $1::uuid AND status = ANY($4::text[]) RETURNING id`,
    params,
  );
  return rows.length > 0;
}

/**
 * Fails the runs in `status` whose `since` column is older than `olderThanMs` (a worker that stopped
 * reporting, or a queued run no worker took); returns their ids.
 */
export async function failStaleRuns(
  sql: SqlRunner,
  t: RunTableSql,
  opts: { status: "running" | "queued"; since: "heartbeat" | "created_at"; olderThanMs: number; error: string; fields?: Record<string, unknown> },
): Promise<string[]> {
  const params: unknown[] = [opts.status, opts.olderThanMs, opts.error];
  const extra = Object.entries(opts.fields ?? {}).map(([col, v]) => {
    if (!t.progressColumns.includes(col)) throw new Error(`${t.table}.${col} is not a progress column`);
    params.push(v);
    return `, ${ident(col)} = $${params.length}`;
  });
  if (opts.since === "heartbeat" && !t.heartbeat) throw new Error(`${t.table} has no heartbeat: its runs cannot be failed as stale`);
  const since = opts.since === "heartbeat" ? ident(t.heartbeat!) : "created_at";
  const rows = await sql.query<{ id: string }>(
    `UPDATE ${ident(t.table)} SET status = 'failed', finished_at = now(), error = $3${extra.join("")}
     WHERE status = $1 AND ${since} < now() - ($2::int * interval '1 millisecond') RETURNING id::text`,
    params,
  );
  return rows.map((r) => r.id);
}

/**
 * A stopped run back to 'queued' for a resume, once (stopped → queued is a compare-and-set): its error and
 * finish time cleared, and `set` (progress columns, e.g. counters starting again) applied.
 */
export async function reopenRun(sql: SqlRunner, t: RunTableSql, id: string, set: Record<string, unknown> = {}): Promise<boolean> {
  const params: unknown[] = [id];
  const extra = Object.entries(set).map(([col, v]) => {
    if (!t.progressColumns.includes(col)) throw new Error(`${t.table}.${col} is not a progress column`);
    params.push(v);
    return `, ${ident(col)} = $${params.length}`;
  });
  const rows = await sql.query(
    `UPDATE ${ident(t.table)} SET status = 'queued', error = NULL${t.startedAt ? ", finished_at = NULL" : ""}${extra.join("")}
     WHERE id = $1::uuid AND status = 'stopped' RETURNING id`,
    params,
  );
  return rows.length > 0;
}
