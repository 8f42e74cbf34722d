// The Insights figures' SQL: aggregates over a time range, each filtered in SQL to what the access
// context may read. `scope.all` is an admin (every row); otherwise `scope.readable` are the collections it
// reads: a row counts only when every collection it belongs to is one of them.
import type { SqlRunner } from "../db/sql-runner";

export interface Scope {
  all: boolean;
  readable: string[];
}

/** An answer that did not draw on the wiki; for rows logged before `covered` existed: no citation. */
const NOT_COVERED = `(q.covered = false OR (q.covered IS NULL AND q.status = 'ok' AND q.citations = '[]'::jsonb))`;

export function dailyQuestions(sql: SqlRunner, scope: Scope, from: Date, to: Date) {
  return sql.query<{ day: string; questions: number; not_covered: number }>(
    `SELECT to_char(date_trunc('day', q.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
            count(*)::int AS questions, count(*) FILTER (WHERE ${NOT_COVERED})::int AS not_covered
       FROM query_logs q
      WHERE q.created_at >= $1 AND q.created_at < $2 AND ($3::boolean OR q.collection_ids <@ $4::uuid[])
      GROUP BY 1 ORDER BY 1`,
    [from, to, scope.all, scope.readable],
  );
}

export function dailyFeedback(sql: SqlRunner, scope: Scope, from: Date, to: Date) {
  return sql.query<{ day: string; down: number; up: number }>(
    `SELECT to_char(date_trunc('day', f.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
            count(*) FILTER (WHERE f.rating < 0)::int AS down, count(*) FILTER (WHERE f.rating > 0)::int AS up
       FROM answer_feedback f LEFT JOIN query_logs q ON q.id = f.query_log_id
      WHERE f.created_at >= $1 AND f.created_at < $2 AND ($3::boolean OR (q.id IS NOT NULL AND q.collection_ids <@ $4::uuid[]))
      GROUP BY 1 ORDER BY 1`,
    [from, to, scope.all, scope.readable],
  );
}

/**
 * The most frequent questions the wiki did not cover (by their normalised text), from the logs whose
 * text the caller may read: all of them for an admin, otherwise the caller's own (`owner`), as
 * lib/evaluate/scope.ts queryLogReadable has it. Logs without text (LOG_QUERY_TEXT=false) are not listed.
 */
export function uncoveredTopics(
  sql: SqlRunner,
  scope: Scope,
  owner: { userId: string | null; apiKeyId: string | null },
  from: Date,
  to: Date,
  limit: number,
) {
  return sql.query<{ question: string; count: number; last_at: Date }>(
    `SELECT min(q.question) AS question, count(*)::int AS count, max(q.created_at) AS last_at
       FROM query_logs q
      WHERE q.created_at >= $1 AND q.created_at < $2 AND q.question IS NOT NULL AND ${NOT_COVERED}
        AND ($3::boolean OR (q.collection_ids <@ $4::uuid[] AND q.user_id = $5::uuid
             AND q.api_key_id IS NOT DISTINCT FROM $6::uuid))
      GROUP BY lower(btrim(regexp_replace(q.question, '\\s+', ' ', 'g')))
      ORDER BY count(*) DESC, max(q.created_at) DESC
      LIMIT $7`,
    [from, to, scope.all, scope.readable, owner.userId, owner.apiKeyId, limit],
  );
}

export function completedRuns(sql: SqlRunner, scope: Scope, from: Date, to: Date) {
  return sql.query<{ id: string; finished_at: Date; avg_hallucination: number | null; item_count: number; dataset: string | null }>(
    `SELECT r.id::text, r.finished_at, r.avg_hallucination, r.item_count,
            CASE WHEN $3::boolean OR d.collection_ids <@ $4::uuid[] THEN d.name END AS dataset
       FROM evaluation_runs r JOIN datasets d ON d.id = r.dataset_id
      WHERE r.status = 'completed' AND r.finished_at >= $1 AND r.finished_at < $2
        AND ($3::boolean OR r.collection_ids <@ $4::uuid[])
      ORDER BY r.finished_at LIMIT 500`,
    [from, to, scope.all, scope.readable],
  );
}

export function importCounts(sql: SqlRunner, scope: Scope, from: Date, to: Date) {
  return sql.query<{ status: string; n: number }>(
    `SELECT j.status, count(*)::int AS n
       FROM import_jobs j JOIN sources s ON s.id = j.source_id
      WHERE j.created_at >= $1 AND j.created_at < $2 AND ($3::boolean OR s.collection_id = ANY($4::uuid[]))
      GROUP BY j.status`,
    [from, to, scope.all, scope.readable],
  );
}

/** Backups concern the whole instance: only admins see them (the caller checks). */
export function backupCounts(sql: SqlRunner, from: Date, to: Date) {
  return sql.query<{ status: string; n: number }>(
    `SELECT b.status, count(*)::int AS n FROM backups b WHERE b.created_at >= $1 AND b.created_at < $2 GROUP BY b.status`,
    [from, to],
  );
}
