// Evaluation's SQL. Every statement that reads collection data puts the scope rule of lib/evaluate/scope.ts
// in its WHERE clause (the conditions below), so the database filters and rows are never read and dropped.
import type { AccessContext } from "../access/context";
import { SqlFragment, sqlFragment, type SqlRunner } from "../db/sql-runner";
import type { TargetKind } from "./annotations";

// ───────────── the scope rule, as SQL conditions ─────────────

const TRUE = sqlFragment`TRUE`;
const FALSE = sqlFragment`FALSE`;

/** `"alias"."column"` (aliases and columns are constants of this module, never input). */
function column(alias: string, name: string): SqlFragment {
  if (!/^[a-z_]+$/.test(alias)) throw new Error(`bad SQL alias ${alias}`);
  return new SqlFragment([`"${alias}"."${name}"`], []);
}

/** Every collection of the row (`alias.collection_ids`) is readable by the context. */
function boundToReadable(ctx: AccessContext, alias: string): SqlFragment {
  if (ctx.isAdmin) return TRUE;
  return sqlFragment`${column(alias, "collection_ids")} <@ ${ctx.readableIds}::uuid[]`;
}

/** A dataset (alias of `datasets`) the context may see. */
const datasetReadable = boundToReadable;
/** A run (alias of `evaluation_runs`) the context may see, and with it its items and their scores. */
const runReadable = boundToReadable;
/** An external output (alias of `external_outputs`) the context may see. */
const externalOutputReadable = boundToReadable;

/** A logged answer (alias of `query_logs`) the context may see: within its collections and its own. */
function queryLogReadable(ctx: AccessContext, alias: string): SqlFragment {
  if (ctx.isAdmin) return TRUE;
  const { userId, kind, apiKeyId } = ctx.principal;
  if (!userId) return FALSE;
  const key = kind === "api_key" ? apiKeyId : null;
  return sqlFragment`${column(alias, "collection_ids")} <@ ${ctx.readableIds}::uuid[]
    AND ${column(alias, "user_id")} = ${userId}::uuid
    AND ${key ? sqlFragment`${column(alias, "api_key_id")} = ${key}::uuid` : sqlFragment`${column(alias, "api_key_id")} IS NULL`}`;
}

// ───────────── metrics ─────────────

/** The last completed evaluation run's averages (for the metrics), or none. */
export function lastCompletedRunScores(
  sql: SqlRunner,
): Promise<Array<{ avg_hallucination: number | null; avg_faithfulness: number | null; finished_at: Date }>> {
  return sql<{ avg_hallucination: number | null; avg_faithfulness: number | null; finished_at: Date }>`
    SELECT avg_hallucination, avg_faithfulness, finished_at FROM evaluation_runs
    WHERE status = 'completed' AND avg_hallucination IS NOT NULL ORDER BY finished_at DESC NULLS LAST LIMIT 1`;
}

// ───────────── datasets ─────────────

export interface DatasetRow {
  id: string;
  name: string;
  description: string;
  currentVersion: number;
  ownerId: string | null;
  collectionIds: string[];
}

/** A dataset the context may see, or undefined. */
export async function readableDatasetRow(sql: SqlRunner, ctx: AccessContext, datasetId: string): Promise<DatasetRow | undefined> {
  const [row] = await sql<DatasetRow>`
    SELECT d.id, d.name, d.description, d.current_version AS "currentVersion", d.owner_id AS "ownerId", d.collection_ids AS "collectionIds"
    FROM datasets d
    WHERE d.id = ${datasetId}::uuid AND ${datasetReadable(ctx, "d")}`;
  return row;
}

/** The ids of the datasets the context may see, and how many others exist. */
export async function datasetIdsReadable(sql: SqlRunner, ctx: AccessContext): Promise<{ ids: string[]; hidden: number }> {
  const [visible, [{ hidden }]] = await Promise.all([
    sql<{ id: string }>`SELECT d.id FROM datasets d WHERE ${datasetReadable(ctx, "d")}`,
    sql<{ hidden: number }>`SELECT count(*)::int AS hidden FROM datasets d WHERE NOT (${datasetReadable(ctx, "d")})`,
  ]);
  return { ids: visible.map((v) => v.id), hidden };
}

/** The last run of each of these datasets that the context may see. */
export function lastReadableRunPerDataset(
  sql: SqlRunner,
  ctx: AccessContext,
  datasetIds: readonly string[],
): Promise<Array<{ id: string; datasetId: string; status: string; avgHallucination: number | null; createdAt: Date }>> {
  return sql`
    SELECT DISTINCT ON (r.dataset_id) r.id, r.dataset_id AS "datasetId", r.status, r.avg_hallucination AS "avgHallucination", r.created_at AS "createdAt"
    FROM evaluation_runs r
    WHERE r.dataset_id = ANY(${datasetIds}::uuid[]) AND ${runReadable(ctx, "r")}
    ORDER BY r.dataset_id, r.created_at DESC, r.id`;
}

/** A logged question the context may see, and whether it was asked within `collectionIds`; undefined when not seen. */
export async function readableLoggedQuestion(
  sql: SqlRunner,
  ctx: AccessContext,
  queryLogId: string,
  collectionIds: readonly string[],
): Promise<{ question: string | null; inside: boolean } | undefined> {
  const [row] = await sql<{ question: string | null; inside: boolean }>`
    SELECT q.question, q.collection_ids <@ ${collectionIds}::uuid[] AS inside
    FROM query_logs q
    WHERE q.id = ${queryLogId}::uuid AND ${queryLogReadable(ctx, "q")}`;
  return row;
}

/** Recent logged questions (text kept) the context may see, newest first; with `within`, only those asked within it. */
export function recentReadableQuestions(
  sql: SqlRunner,
  ctx: AccessContext,
  opts: { within?: readonly string[]; limit: number },
): Promise<Array<{ id: string; question: string; createdAt: Date }>> {
  const within = opts.within ? sqlFragment`AND q.collection_ids <@ ${[...opts.within]}::uuid[]` : sqlFragment``;
  return sql`
    SELECT q.id, q.question, q.created_at AS "createdAt"
    FROM query_logs q
    WHERE q.question IS NOT NULL AND ${queryLogReadable(ctx, "q")} ${within}
    ORDER BY q.created_at DESC, q.id
    LIMIT ${opts.limit}`;
}

// ───────────── runs ─────────────

/** Whether the run exists and the context may see it. */
export async function runIsReadable(sql: SqlRunner, ctx: AccessContext, runId: string): Promise<boolean> {
  const rows = await sql<{ id: string }>`
    SELECT r.id FROM evaluation_runs r WHERE r.id = ${runId}::uuid AND ${runReadable(ctx, "r")}`;
  return rows.length > 0;
}

/** The dataset's latest completed run bound to collections within `collectionIds` (a default baseline). */
export async function latestCompletedRunWithin(sql: SqlRunner, datasetId: string, collectionIds: readonly string[]): Promise<string | null> {
  const [last] = await sql<{ id: string }>`
    SELECT r.id FROM evaluation_runs r
    WHERE r.dataset_id = ${datasetId}::uuid AND r.status = 'completed' AND r.collection_ids <@ ${collectionIds}::uuid[]
    ORDER BY r.created_at DESC, r.id LIMIT 1`;
  return last?.id ?? null;
}

/** The ids of the runs the context may see (newest first, optionally of one dataset), and how many others exist. */
export async function runIdsReadable(
  sql: SqlRunner,
  ctx: AccessContext,
  opts: { datasetId?: string; limit: number },
): Promise<{ ids: string[]; hidden: number }> {
  const ofDataset = opts.datasetId ? sqlFragment`AND r.dataset_id = ${opts.datasetId}::uuid` : sqlFragment``;
  const [visible, [{ hidden }]] = await Promise.all([
    sql<{ id: string }>`
      SELECT r.id FROM evaluation_runs r WHERE ${runReadable(ctx, "r")} ${ofDataset}
      ORDER BY r.created_at DESC, r.id LIMIT ${opts.limit}`,
    sql<{ hidden: number }>`
      SELECT count(*)::int AS hidden FROM evaluation_runs r WHERE NOT (${runReadable(ctx, "r")}) ${ofDataset}`,
  ]);
  return { ids: visible.map((v) => v.id), hidden };
}

/** The newest completed runs the context may see with their average hallucination score, newest first. */
export function completedRunAverages(
  sql: SqlRunner,
  ctx: AccessContext,
  opts: { datasetId?: string; limit: number },
): Promise<Array<{ id: string; at: Date; avg: number; dataset: string }>> {
  const ofDataset = opts.datasetId ? sqlFragment`AND r.dataset_id = ${opts.datasetId}::uuid` : sqlFragment``;
  return sql`
    SELECT r.id, r.created_at AS at, r.avg_hallucination AS avg, d.name AS dataset
    FROM evaluation_runs r JOIN datasets d ON d.id = r.dataset_id
    WHERE r.status = 'completed' AND r.avg_hallucination IS NOT NULL AND ${runReadable(ctx, "r")} ${ofDataset}
    ORDER BY r.created_at DESC, r.id
    LIMIT ${opts.limit}`;
}

// ───────────── human scores ─────────────

/**
 * Every answer waiting for a human score that the context may read and the evaluator has not skipped, as
 * (kind, id, created_at). One statement, so the count and the pick agree.
 */
function waitingSql(ctx: AccessContext, userId: string): SqlFragment {
  return sqlFragment`
    SELECT 'run_item' AS kind, 0 AS kind_order, ri.id, ri.created_at, ri.position
    FROM run_items ri JOIN evaluation_runs r ON r.id = ri.run_id
    WHERE ri.status = 'ok' AND ri.answer IS NOT NULL AND ${runReadable(ctx, "r")}
      AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.run_item_id = ri.id AND s.kind = 'human')
      AND NOT EXISTS (SELECT 1 FROM annotation_skips k WHERE k.user_id = ${userId}::uuid AND k.target_kind = 'run_item' AND k.target_id = ri.id)
    UNION ALL
    SELECT 'external_output', 1, eo.id, eo.created_at, 0
    FROM external_outputs eo
    WHERE ${externalOutputReadable(ctx, "eo")}
      AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.external_output_id = eo.id AND s.kind = 'human')
      AND NOT EXISTS (SELECT 1 FROM annotation_skips k WHERE k.user_id = ${userId}::uuid AND k.target_kind = 'external_output' AND k.target_id = eo.id)
    UNION ALL
    SELECT 'query_log', 2, q.id, q.created_at, 0
    FROM query_logs q
    WHERE q.answer IS NOT NULL AND q.question IS NOT NULL AND ${queryLogReadable(ctx, "q")}
      AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.query_log_id = q.id AND s.kind = 'human')
      AND NOT EXISTS (SELECT 1 FROM annotation_skips k WHERE k.user_id = ${userId}::uuid AND k.target_kind = 'query_log' AND k.target_id = q.id)`;
}

/** The evaluator's next waiting answer (newest first) and how many are waiting, or undefined. */
export async function nextWaitingAnswer(
  sql: SqlRunner,
  ctx: AccessContext,
  userId: string,
): Promise<{ kind: TargetKind; id: string; remaining: number } | undefined> {
  const [next] = await sql<{ kind: TargetKind; id: string; remaining: number }>`
    SELECT w.kind, w.id, (count(*) OVER ())::int AS remaining
    FROM (${waitingSql(ctx, userId)}) w
    ORDER BY w.created_at DESC, w.kind_order, w.position
    LIMIT 1`;
  return next;
}

/**
 * A score target the context may read: its status ('ok' for external outputs and logged answers, the item's
 * status for a run item), or null when there is none it may read.
 */
export async function readableTargetStatus(sql: SqlRunner, ctx: AccessContext, kind: TargetKind, id: string): Promise<string | null> {
  const found =
    kind === "run_item"
      ? await sql<{ status: string }>`
          SELECT ri.status FROM run_items ri JOIN evaluation_runs r ON r.id = ri.run_id
          WHERE ri.id = ${id}::uuid AND ${runReadable(ctx, "r")}`
      : kind === "external_output"
        ? await sql<{ status: string }>`
            SELECT 'ok' AS status FROM external_outputs eo WHERE eo.id = ${id}::uuid AND ${externalOutputReadable(ctx, "eo")}`
        : await sql<{ status: string }>`
            SELECT 'ok' AS status FROM query_logs q WHERE q.id = ${id}::uuid AND ${queryLogReadable(ctx, "q")}`;
  return found[0]?.status ?? null;
}

export interface ScoreOfAnswerRow {
  kind: string;
  score: number;
  runItemId: string | null;
  externalOutputId: string | null;
  queryLogId: string | null;
  question: string | null;
  runId: string | null;
}

/** Every ok score of an answer the context may read, newest first (for judge-vs-human agreement). */
export function readableAnswerScores(sql: SqlRunner, ctx: AccessContext): Promise<ScoreOfAnswerRow[]> {
  return sql<ScoreOfAnswerRow>`
    SELECT s.kind, s.hallucination_score AS score, s.run_item_id AS "runItemId", s.external_output_id AS "externalOutputId",
           s.query_log_id AS "queryLogId", COALESCE(ri.question, eo.question, q.question) AS question, ri.run_id AS "runId"
    FROM scores s
    LEFT JOIN run_items ri ON ri.id = s.run_item_id
    LEFT JOIN evaluation_runs r ON r.id = ri.run_id
    LEFT JOIN external_outputs eo ON eo.id = s.external_output_id
    LEFT JOIN query_logs q ON q.id = s.query_log_id
    WHERE s.status = 'ok' AND s.hallucination_score IS NOT NULL AND (
      (s.run_item_id IS NOT NULL AND ${runReadable(ctx, "r")})
      OR (s.external_output_id IS NOT NULL AND ${externalOutputReadable(ctx, "eo")})
      OR (s.query_log_id IS NOT NULL AND ${queryLogReadable(ctx, "q")}))
    ORDER BY s.created_at DESC, s.id`;
}
