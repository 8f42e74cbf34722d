// Every SQL statement of the Supabase move-in, through db.sql (parameters as $n, never interpolated).
import type { SqlRunner } from "../db/sql-runner";

type Sql = Pick<SqlRunner, "query">;

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * The rows of a table of the OLD database (a live Supabase export source), every column as text, read
 * through a read-only cursor 500 rows at a time: never the whole table at once. `tableSql` is the
 * table's name as PostgreSQL itself quoted it (quote_ident); the column names are quoted here.
 */
export async function* readOldTable(client: { query: (q: string | { text: string; rowMode: "array" }) => Promise<{ rows: unknown[] }> }, columns: string[], tableSql: string): AsyncGenerator<Array<string | null>> {
  const select = columns.map((c) => `${quoteIdent(c)}::text`).join(", ");
  await client.query("BEGIN READ ONLY");
  await client.query(`DECLARE sot_move_in NO SCROLL CURSOR FOR SELECT ${select} FROM ${tableSql}`);
  for (;;) {
    const batch = await client.query({ text: "FETCH 500 FROM sot_move_in", rowMode: "array" });
    if (batch.rows.length === 0) break;
    yield* batch.rows as Array<Array<string | null>>;
  }
  await client.query("COMMIT");
}

export interface StagedRow {
  seq: number;
  docKey: string;
  position: number | null;
  oldId: string | null;
  title: string | null;
  url: string | null;
  pageId: string | null;
  heading: string | null;
  updatedAt: string | null;
  content: string;
}

/** One statement for a batch of rows. */
export async function insertStagedRows(sql: Sql, jobId: string, rows: StagedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql.query(
    `INSERT INTO supabase_import_rows (job_id, seq, doc_key, position, old_id, title, url, page_id, heading, source_updated_at, content)
     SELECT $1::uuid, r.seq, r.doc_key, r.position, r.old_id, r.title, r.url, r.page_id, r.heading, r.updated_at, r.content
     FROM jsonb_to_recordset($2::jsonb) AS r(seq int, doc_key text, position float8, old_id text, title text, url text, page_id text,
          heading text, updated_at timestamptz, content text)`,
    [
      jobId,
      JSON.stringify(
        rows.map((r) => ({
          seq: r.seq,
          doc_key: r.docKey,
          position: r.position,
          old_id: r.oldId,
          title: r.title,
          url: r.url,
          page_id: r.pageId,
          heading: r.heading,
          updated_at: r.updatedAt,
          content: r.content,
        })),
      ),
    ],
  );
}

/** The old pages of a job, each with a title to show while it is imported. */
export async function stagedDocuments(sql: Sql, jobId: string): Promise<Array<{ docKey: string; title: string | null }>> {
  const rows = await sql.query<{ doc_key: string; title: string | null }>(
    `SELECT doc_key, max(title) AS title FROM supabase_import_rows WHERE job_id = $1::uuid GROUP BY doc_key ORDER BY doc_key`,
    [jobId],
  );
  return rows.map((r) => ({ docKey: r.doc_key, title: r.title }));
}

/** One old page's rows in their order: position, then old id (numerically when numeric), then file order. */
export async function stagedChunks(sql: Sql, jobId: string, docKey: string): Promise<StagedRow[]> {
  const rows = await sql.query<{
    seq: number;
    doc_key: string;
    position: number | null;
    old_id: string | null;
    title: string | null;
    url: string | null;
    page_id: string | null;
    heading: string | null;
    updated_at: string | null;
    content: string;
  }>(
    `SELECT seq, doc_key, position, old_id, title, url, page_id, heading, to_char(source_updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at, content
     FROM supabase_import_rows WHERE job_id = $1::uuid AND doc_key = $2
     ORDER BY position NULLS LAST,
              CASE WHEN old_id ~ '^[0-9]{1,18}$' THEN old_id::bigint END NULLS LAST, old_id, seq`,
    [jobId, docKey],
  );
  return rows.map((r) => ({
    seq: r.seq,
    docKey: r.doc_key,
    position: r.position,
    oldId: r.old_id,
    title: r.title,
    url: r.url,
    pageId: r.page_id,
    heading: r.heading,
    updatedAt: r.updated_at,
    content: r.content,
  }));
}

export async function countStagedRows(sql: Sql, jobId: string): Promise<number> {
  const [r] = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM supabase_import_rows WHERE job_id = $1::uuid`, [jobId]);
  return r.n;
}

/** Done with a job's rows: they are a copy of what its documents now hold. */
export async function deleteStagedRows(sql: Sql, jobId: string): Promise<void> {
  await sql.query(`DELETE FROM supabase_import_rows WHERE job_id = $1::uuid`, [jobId]);
}

/**
 * Earlier move-ins of a source that never finished (a killed import, a run cut short): their jobs are
 * closed and their rows dropped, since the new run reads the export again from the start.
 */
export async function supersedeUnfinishedJobs(sql: Sql, sourceId: string, reason: string): Promise<number> {
  const rows = await sql.query<{ id: string }>(
    `UPDATE import_jobs SET status = 'failed', error = $2, finished_at = now(), updated_at = now()
     WHERE source_id = $1::uuid AND status IN ('queued', 'running') RETURNING id::text AS id`,
    [sourceId, reason],
  );
  if (rows.length) await sql.query(`DELETE FROM supabase_import_rows WHERE job_id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
  return rows.length;
}

export async function findMoveInSource(sql: Sql, collectionId: string): Promise<{ id: string } | null> {
  const [r] = await sql.query<{ id: string }>(
    `SELECT id::text AS id FROM sources WHERE collection_id = $1::uuid AND kind = 'supabase' ORDER BY created_at LIMIT 1`,
    [collectionId],
  );
  return r ?? null;
}

export async function createMoveInSource(sql: Sql, collectionId: string, name: string, config: Record<string, unknown>): Promise<{ id: string }> {
  const [r] = await sql.query<{ id: string }>(
    `INSERT INTO sources (collection_id, kind, name, config, updated_at) VALUES ($1::uuid, 'supabase', $2, $3::jsonb, now()) RETURNING id::text AS id`,
    [collectionId, name, JSON.stringify(config)],
  );
  return r;
}

export async function updateMoveInSourceConfig(sql: Sql, sourceId: string, config: Record<string, unknown>): Promise<void> {
  await sql.query(`UPDATE sources SET config = $2::jsonb, updated_at = now() WHERE id = $1::uuid`, [sourceId, JSON.stringify(config)]);
}

export async function deleteImportJob(sql: Sql, jobId: string): Promise<void> {
  await sql.query(`DELETE FROM import_jobs WHERE id = $1::uuid`, [jobId]);
}

export async function deleteSourceIfEmpty(sql: Sql, sourceId: string): Promise<void> {
  await sql.query(
    `DELETE FROM sources s WHERE s.id = $1::uuid AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.source_id = s.id)
       AND NOT EXISTS (SELECT 1 FROM import_jobs j WHERE j.source_id = s.id)`,
    [sourceId],
  );
}
