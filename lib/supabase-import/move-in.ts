// Moving in from Supabase / Lovable: read an old chunk table (dump, CSV or live database) as a stream,
// report what it holds, and import it — each old page becomes one document of a collection, through
// the normal ingest pipeline. The old vectors are never reused (see `OLD_VECTORS_NOT_REUSED`).
//
// Nothing is written until the whole export has been read without error: the rows are staged under a
// new import job while they are read, and a problem anywhere (a truncated dump at its very end) drops
// the job and its rows again. The job then imports page by page and is resumable; a second move-in of
// the same export finds every page unchanged and makes no embedding call.
import { createHash } from "node:crypto";
import { assertWritable, requirePermission, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { getConfig } from "../config";
import { NotFoundError, UnprocessableError, ValidationError } from "../errors";
import { createImportJob, importJobView, runImportJob } from "../ingest/import-jobs";
import type { Llm } from "../llm";
import {
  createMoveInSource,
  deleteImportJob,
  deleteSourceIfEmpty,
  findMoveInSource,
  insertStagedRows,
  supersedeUnfinishedJobs,
  updateMoveInSourceConfig,
  type StagedRow,
} from "./queries";
import { openExport, type ExportInput, type ExportRow } from "./reader";
import { detectShape, documentKey, FIELDS, guessModel, makeRowReader, parseMap, type Field, type Shape } from "./shape";
import type { MoveInReport } from "./types";

export type { MoveInReport } from "./types";

export const OLD_VECTORS_NOT_REUSED =
  "The old vectors come from another embedding model. SOT searches with the local model's vectors, and vectors of two " +
  "models live in different spaces (even at the same dimension): mixed in one index they match nonsense without any error. " +
  "So every chunk is embedded again locally; the old vectors are read only for their dimension.";

/** Rows read before the shape is decided. */
const SAMPLE_ROWS = 200;
const STAGE_BATCH = 500;

export interface MoveInInput {
  from: ExportInput;
  /** Table to read (default: the one with a vector column, or wiki_chunks / documents). */
  table?: string;
  /** `content=body,title=metadata.title` */
  map?: string;
  /** The collection to fill; a dry run may name one that does not exist yet (`newCollection`). */
  collectionId?: string;
  newCollection?: { slug: string; name: string };
  dryRun?: boolean;
}


export interface MoveInOptions {
  llm?: Pick<Llm, "embed" | "models">;
  /** "inline": import now, in this process (the CLI); "queue": hand the job to the ingest workers (the web). */
  run?: "inline" | "queue";
  enqueue?: (jobId: string) => Promise<void>;
  /** Rows read so far (while reading) and pages imported (while importing). */
  onProgress?: (p: { phase: "read" | "import"; rows?: number; done?: number; found?: number }) => void | Promise<void>;
  /** Called after each imported group (tests stop a run midway with it). */
  onGroup?: (job: { id: string; done: number }) => void | Promise<void>;
}

export async function moveIn(ctx: AccessContext, input: MoveInInput, opts: MoveInOptions = {}): Promise<MoveInReport> {
  requirePermission(ctx, "import");
  const { db } = ctx;
  let collection: MoveInReport["collection"];
  if (input.collectionId) {
    assertWritable(ctx, input.collectionId);
    const found = await db.prisma.collection.findUnique({ where: { id: input.collectionId }, select: { id: true, slug: true, name: true } });
    if (!found) throw new NotFoundError("Collection");
    collection = found;
  } else if (input.newCollection && input.dryRun) {
    collection = { id: null, ...input.newCollection };
  } else {
    throw new ValidationError("A move-in needs the collection to fill (collectionId).");
  }
  const overrides = parseMap(input.map);
  const opened = await openExport(input.from, { table: input.table });
  let staging: { jobId: string; sourceId: string; createdSource: boolean } | null = null;
  try {
    // The shape from the first rows.
    const it = opened.rows[Symbol.asyncIterator]();
    const sample: ExportRow[] = [];
    while (sample.length < SAMPLE_ROWS) {
      const n = await it.next();
      if (n.done) break;
      sample.push(n.value);
    }
    const shape = detectShape(opened.table, sample, overrides);
    const toChunk = makeRowReader(opened.table, shape);

    let superseded = 0;
    if (!input.dryRun && collection.id) {
      let source = await findMoveInSource(db.sql, collection.id);
      const config = { table: opened.table.name, format: opened.format, shape: describeShape(shape) };
      const createdSource = !source;
      if (!source) source = await createMoveInSource(db.sql, collection.id, "Supabase move-in", config);
      else await updateMoveInSourceConfig(db.sql, source.id, config);
      superseded = await supersedeUnfinishedJobs(db.sql, source.id, "superseded: a later move-in read the export again");
      const job = await createImportJob(db, { sourceId: source.id, kind: "partial", trigger: "supabase", options: { table: opened.table.name } });
      staging = { jobId: job.id, sourceId: source.id, createdSource };
    }

    const stats = newStats();
    const seen = new Set<string>(); // page key + text digest: repeats within a page
    const docs = new Map<string, { title: string | null; url: string | null; chunks: number; by: keyof MoveInReport["groupedBy"] }>();
    let batch: StagedRow[] = [];
    let seq = 0;
    const flush = async () => {
      if (staging && batch.length) await insertStagedRows(db.sql, staging.jobId, batch);
      batch = [];
      await opts.onProgress?.({ phase: "read", rows: stats.rows });
    };
    const take = async (row: ExportRow) => {
      stats.rows++;
      const c = toChunk(row);
      if (c.dimension !== null) {
        if (stats.dimension === null) stats.dimension = c.dimension;
        else if (c.dimension !== stats.dimension) stats.otherDimension++;
      }
      if (!c.content.trim()) {
        stats.empty++;
        return;
      }
      const { key, by } = documentKey(c);
      const digest = createHash("sha1").update(c.content.trim()).digest("base64");
      if (seen.has(`${key}\u0000${digest}`)) {
        stats.duplicates++;
        return;
      }
      seen.add(`${key}\u0000${digest}`);
      stats.chunks++;
      const d = docs.get(key);
      if (d) {
        d.chunks++;
        d.title ??= c.title;
        d.url ??= c.url;
      } else docs.set(key, { title: c.title, url: c.url, chunks: 1, by });
      if (staging) {
        batch.push({ seq: seq++, docKey: key, position: c.position, oldId: c.oldId, title: c.title, url: c.url, pageId: c.pageId, heading: c.heading, updatedAt: c.updatedAt, content: c.content });
        if (batch.length >= STAGE_BATCH) await flush();
      }
    };
    for (const row of sample) await take(row);
    for (;;) {
      const n = await it.next();
      if (n.done) break;
      await take(n.value);
      if (!staging && stats.rows % 5000 === 0) await opts.onProgress?.({ phase: "read", rows: stats.rows });
    }
    await flush();
    if (stats.rows === 0) throw new UnprocessableError(`${opened.table.name} holds no rows: there is nothing to import.`);

    const groupedBy = { "page id": 0, url: 0, title: 0, row: 0 };
    for (const d of docs.values()) groupedBy[d.by]++;
    const warnings: string[] = [];
    if (stats.otherDimension) warnings.push(`${stats.otherDimension} rows have embeddings of another dimension than ${stats.dimension} (the export mixes models).`);
    if (groupedBy.row) warnings.push(`${groupedBy.row} rows have no page id, URL or title: each becomes a page of its own (name the field with --map pageId=…).`);
    if (!shape.url) warnings.push("No URL found: citations cannot link to the original pages (name it with --map url=…).");
    const report: MoveInReport = {
      dryRun: !!input.dryRun,
      format: opened.format,
      table: opened.table.name,
      shape: describeShape(shape),
      rows: stats.rows,
      chunks: stats.chunks,
      emptyChunks: stats.empty,
      duplicateChunks: stats.duplicates,
      documents: docs.size,
      groupedBy,
      embedding: {
        column: shape.embedding?.column ?? null,
        dimension: stats.dimension,
        rowsWithOtherDimension: stats.otherDimension,
        modelGuess: guessModel(stats.dimension),
        reused: false,
        why: OLD_VECTORS_NOT_REUSED,
        localModel: opts.llm?.models.embed ?? getConfig().OLLAMA_EMBED_MODEL,
      },
      collection,
      sample: [...docs.values()].slice(0, 5).map((d) => ({ title: d.title, url: d.url, chunks: d.chunks })),
      warnings,
      ...(superseded ? { superseded } : {}),
    };
    if (!staging) return report;

    const { jobId } = staging;
    await auditAs(ctx, "import.supabase", `collection:${collection.id}`, {
      jobId,
      table: report.table,
      format: report.format,
      rows: report.rows,
      documents: report.documents,
    });
    staging = null; // from here on the job stands: a failure leaves it to be resumed
    if (opts.run === "queue") {
      if (!opts.enqueue) throw new Error("moveIn: run: queue needs an enqueue function");
      await opts.enqueue(jobId);
      return { ...report, job: await importJobView(db, jobId) };
    }
    const job = await runImportJob(db, jobId, {
      llm: opts.llm,
      onProgress: async (p) => {
        await opts.onProgress?.({ phase: "import", done: p.done, found: report.documents });
        await opts.onGroup?.(p);
      },
    });
    return { ...report, job };
  } catch (err) {
    // Nothing of a failed read stays behind: the job (and with it every staged row) goes.
    if (staging) {
      await deleteImportJob(db.sql, staging.jobId).catch(() => {});
      if (staging.createdSource) await deleteSourceIfEmpty(db.sql, staging.sourceId).catch(() => {});
    }
    throw err;
  } finally {
    await opened.close();
  }
}

function newStats() {
  return { rows: 0, chunks: 0, empty: 0, duplicates: 0, dimension: null as number | null, otherDimension: 0 };
}

function describeShape(shape: Shape): Record<Field, string | null> {
  const out = {} as Record<Field, string | null>;
  for (const f of FIELDS) {
    const s = shape[f];
    out[f] = s ? [s.column, ...s.path].join(".") : null;
  }
  return out;
}
