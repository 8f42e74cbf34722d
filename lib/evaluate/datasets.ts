// Evaluation datasets: questions with optional reference answers and expected sources. Items live in
// immutable versions — every change writes a new version in one transaction — so a run can say exactly
// which questions it asked. Imports are all-or-nothing: one bad line rejects the whole file, with every
// problem listed by line.
//
// Scope (lib/evaluate/scope.ts): a dataset is bound to the collections its questions are asked over and
// is seen only by those who may read all of them; it has an owner, and only the owner or an admin may
// change it. Every function takes the caller's access context first.
import { z } from "zod";
import { readableCollections } from "../connect/collections";
import { pickReadable, requirePermission, type AccessContext } from "../access/context";
import type { Db } from "../db/client";
import type { Prisma } from "../db/generated/client";
import { ConflictError, ForbiddenError, NotFoundError, UnprocessableError, ValidationError } from "../errors";
import { CsvSyntaxError, parseCsv, toCsv, unescapeFormula } from "../csv";
import { datasetIdsReadable, lastReadableRunPerDataset, readableDatasetRow, readableLoggedQuestion, recentReadableQuestions, type DatasetRow } from "./queries";

export const MAX_DATASET_ITEMS = 5000;
export const MAX_IMPORT_BYTES = 5_000_000;
const MAX_REPORTED_PROBLEMS = 20;

export const datasetItemInput = z.object({
  question: z.string().trim().min(1, "question is empty").max(4000, "question is longer than 4000 characters"),
  referenceAnswer: z.string().trim().max(20000, "reference answer is longer than 20000 characters").nullish()
    .transform((v) => (v ? v : null)),
  expectedSources: z.array(z.string().trim().min(1).max(2000)).max(50, "more than 50 expected sources").default([]),
});
type DatasetItemData = z.output<typeof datasetItemInput>;

export const datasetNameSchema = z.string().trim().min(1, "name is empty").max(200, "name is longer than 200 characters");

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === "P2002" || /unique constraint/i.test((err as Error)?.message ?? "");
}

type Tx = Parameters<Parameters<Db["prisma"]["$transaction"]>[0]>[0];
type ItemWithLog = DatasetItemData & { sourceQueryLogId?: string | null };

async function writeVersion(tx: Tx, datasetId: string, version: number, items: ItemWithLog[], note: string, userId: string | null) {
  const v = await tx.datasetVersion.create({
    data: { datasetId, version, note, itemCount: items.length, createdById: userId },
    select: { id: true, version: true },
  });
  if (items.length > 0) {
    await tx.datasetItem.createMany({
      data: items.map((it, position) => ({
        datasetVersionId: v.id,
        position,
        question: it.question,
        referenceAnswer: it.referenceAnswer ?? null,
        expectedSources: it.expectedSources,
        sourceQueryLogId: it.sourceQueryLogId ?? null,
      })),
    });
  }
  return v;
}

function checkCount(n: number) {
  if (n > MAX_DATASET_ITEMS) throw new ValidationError(`A dataset holds at most ${MAX_DATASET_ITEMS} items (got ${n}).`);
}

/** The collections a dataset is bound to: the requested ones (all readable, else 403), or all the caller reads. */
function datasetCollections(ctx: AccessContext, requested: readonly string[] | undefined): string[] {
  return pickReadable(ctx, requested);
}

export interface DatasetInput {
  name: string;
  description?: string;
  items?: DatasetItemData[];
  /** Default: every collection the caller may read. */
  collectionIds?: string[];
}

/** A new dataset (version 1), owned by the caller (a key's datasets belong to the key's creator). */
export async function createDataset(ctx: AccessContext, input: DatasetInput) {
  requirePermission(ctx, "score");
  const items = input.items ?? [];
  checkCount(items.length);
  const collectionIds = datasetCollections(ctx, input.collectionIds);
  const userId = ctx.onBehalfOf;
  try {
    return await ctx.db.prisma.$transaction(async (tx) => {
      const ds = await tx.dataset.create({
        data: { name: input.name, description: input.description ?? "", currentVersion: 1, createdById: userId, ownerId: userId, collectionIds },
      });
      await writeVersion(tx, ds.id, 1, items, "created", userId);
      return { id: ds.id, name: ds.name, version: 1, itemCount: items.length, collectionIds };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`A dataset named "${input.name}" already exists.`);
    throw err;
  }
}

/** The dataset if the caller may see it; otherwise 404, as if it did not exist. */
async function readableDataset(ctx: AccessContext, datasetId: string): Promise<DatasetRow> {
  const row = await readableDatasetRow(ctx.db.sql, ctx, datasetId);
  if (!row) throw new NotFoundError(`Dataset ${datasetId}`);
  return row;
}

function canEdit(ctx: AccessContext, ds: Pick<DatasetRow, "ownerId">): boolean {
  return ctx.isAdmin || (ds.ownerId !== null && ds.ownerId === ctx.onBehalfOf);
}

/** The dataset if the caller may change it: 404 when they may not see it, 403 when it is not theirs. */
async function editableDataset(ctx: AccessContext, datasetId: string): Promise<DatasetRow> {
  requirePermission(ctx, "score");
  const ds = await readableDataset(ctx, datasetId);
  if (!canEdit(ctx, ds)) throw new ForbiddenError(`Only the owner of dataset "${ds.name}" or an admin may change it.`);
  return ds;
}

/** Writes a new version with these items (the previous versions stay for the runs that used them). */
async function writeNextVersion(db: Db, datasetId: string, items: ItemWithLog[], note: string, userId: string | null) {
  checkCount(items.length);
  return db.prisma.$transaction(async (tx) => {
    // The increment locks the dataset row, so concurrent edits get consecutive version numbers.
    const ds = await tx.dataset
      .update({ where: { id: datasetId }, data: { currentVersion: { increment: 1 } }, select: { currentVersion: true } })
      .catch((err: { code?: string }) => {
        if (err?.code === "P2025") throw new NotFoundError(`Dataset ${datasetId}`);
        throw err;
      });
    await writeVersion(tx, datasetId, ds.currentVersion, items, note, userId);
    return { id: datasetId, version: ds.currentVersion, itemCount: items.length };
  });
}

export interface DatasetUpdate {
  name?: string;
  description?: string;
  /** Replaces the items: a new version. */
  items?: DatasetItemData[];
  note?: string;
  /** Rebinds the dataset (runs already made keep theirs); each must be readable by the caller. */
  collectionIds?: string[];
}

/** PATCH: renames, describes, rebinds and/or writes a new version of the items; for the owner or an admin. */
export async function updateDataset(ctx: AccessContext, datasetId: string, input: DatasetUpdate) {
  await editableDataset(ctx, datasetId);
  const meta: Prisma.DatasetUpdateInput = {};
  if (input.name !== undefined) meta.name = input.name;
  if (input.description !== undefined) meta.description = input.description;
  if (input.collectionIds !== undefined) meta.collectionIds = datasetCollections(ctx, input.collectionIds);
  if (Object.keys(meta).length > 0) {
    try {
      await ctx.db.prisma.dataset.update({ where: { id: datasetId }, data: meta });
    } catch (err) {
      if ((err as { code?: string })?.code === "P2025") throw new NotFoundError(`Dataset ${datasetId}`);
      if (isUniqueViolation(err)) throw new ConflictError(`A dataset named "${input.name}" already exists.`);
      throw err;
    }
  }
  if (input.items) await writeNextVersion(ctx.db, datasetId, input.items, input.note ?? "edited", ctx.onBehalfOf);
  return getDataset(ctx, datasetId);
}

/** The datasets the caller may see, and how many others exist (counted, not shown). */
export async function listDatasets(ctx: AccessContext) {
  requirePermission(ctx, "score");
  const { db } = ctx;
  const { ids, hidden } = await datasetIdsReadable(db.sql, ctx);
  const rows = await db.prisma.dataset.findMany({
    where: { id: { in: ids } },
    orderBy: { name: "asc" },
    include: {
      versions: { orderBy: { version: "desc" }, take: 1, select: { version: true, itemCount: true, createdAt: true } },
      owner: { select: { email: true } },
    },
  });
  // The last run shown is the last one the caller may see.
  const lastRuns = await lastReadableRunPerDataset(db.sql, ctx, rows.map((d) => d.id));
  const lastBy = new Map(lastRuns.map((r) => [r.datasetId, r]));
  const datasets = rows.map((d) => {
    const last = lastBy.get(d.id);
    return {
      id: d.id,
      name: d.name,
      description: d.description,
      currentVersion: d.currentVersion,
      itemCount: d.versions[0]?.itemCount ?? 0,
      updatedAt: d.versions[0]?.createdAt ?? d.updatedAt,
      ownerId: d.ownerId,
      owner: d.owner?.email ?? null,
      collectionIds: d.collectionIds,
      canEdit: canEdit(ctx, d),
      lastRun: last ? { id: last.id, status: last.status, avgHallucination: last.avgHallucination, createdAt: last.createdAt } : null,
    };
  });
  return { datasets, hidden };
}

/** A dataset with the items of one version (default: the current one); 404 when the caller may not see it. */
export async function getDataset(ctx: AccessContext, datasetId: string, version?: number) {
  requirePermission(ctx, "score");
  const { db } = ctx;
  const ds = await readableDataset(ctx, datasetId);
  const v = await db.prisma.datasetVersion.findUnique({
    where: { datasetId_version: { datasetId, version: version ?? ds.currentVersion } },
    include: { items: { orderBy: { position: "asc" } } },
  });
  if (!v) throw new NotFoundError(`Version ${version} of dataset ${ds.name}`);
  const [versions, owner, collections] = await Promise.all([
    db.prisma.datasetVersion.findMany({
      where: { datasetId },
      orderBy: { version: "desc" },
      select: { version: true, note: true, itemCount: true, createdAt: true },
    }),
    ds.ownerId ? db.prisma.user.findUnique({ where: { id: ds.ownerId }, select: { email: true } }) : null,
    db.prisma.collection.findMany({ where: { id: { in: ds.collectionIds } }, orderBy: { name: "asc" }, select: { id: true, name: true } }),
  ]);
  return {
    id: ds.id,
    name: ds.name,
    description: ds.description,
    currentVersion: ds.currentVersion,
    ownerId: ds.ownerId,
    owner: owner?.email ?? null,
    collectionIds: ds.collectionIds,
    collections,
    canEdit: canEdit(ctx, ds),
    version: v.version,
    versionId: v.id,
    versions,
    items: v.items.map((it) => ({
      id: it.id,
      position: it.position,
      question: it.question,
      referenceAnswer: it.referenceAnswer,
      expectedSources: it.expectedSources,
      sourceQueryLogId: it.sourceQueryLogId,
    })),
  };
}

/**
 * Appends a logged question (from /api/evaluate) to a dataset as a new version. The log must be one the
 * caller may see, asked over collections the dataset is bound to (a question is collection data: it must
 * not become visible to people outside the collections it was asked over).
 */
export async function addQueryLogToDataset(ctx: AccessContext, datasetId: string, queryLogId: string) {
  const ds = await editableDataset(ctx, datasetId);
  const log = await readableLoggedQuestion(ctx.db.sql, ctx, queryLogId, ds.collectionIds);
  if (!log) throw new NotFoundError(`Query log ${queryLogId}`);
  if (!log.question) {
    throw new UnprocessableError("This logged question was stored as a hash only (LOG_QUERY_TEXT=false); it cannot be added to a dataset.");
  }
  if (!log.inside) {
    throw new UnprocessableError(
      `This question was asked over collections that dataset "${ds.name}" is not bound to; add it to a dataset bound to them.`,
      [{ path: "queryLogId", message: "asked over collections outside this dataset's" }],
    );
  }
  const current = await getDataset(ctx, datasetId);
  const items: ItemWithLog[] = current.items.map((it) => ({ ...it }));
  items.push({ question: log.question, referenceAnswer: null, expectedSources: [], sourceQueryLogId: queryLogId });
  return writeNextVersion(ctx.db, datasetId, items, "added a logged question", ctx.onBehalfOf);
}

/** Collections the caller may bind a dataset to (for the forms). */
export async function bindableCollections(ctx: AccessContext) {
  return readableCollections(ctx);
}

// ───────────── import / export ─────────────

export type DatasetFormat = "jsonl" | "csv";

export interface ImportProblem {
  line: number;
  message: string;
}

function fail(problems: ImportProblem[], total: number): never {
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS);
  throw new UnprocessableError(
    `The file was not imported: ${total} problem${total === 1 ? "" : "s"} (first: line ${shown[0]!.line}: ${shown[0]!.message}). Nothing was changed.`,
    shown.map((p) => ({ line: p.line, message: p.message })),
  );
}

function itemFrom(obj: Record<string, unknown>, line: number, problems: ImportProblem[]): DatasetItemData | null {
  const expected = obj.expectedSources ?? obj.expected_sources;
  const candidate = {
    question: obj.question,
    referenceAnswer: obj.referenceAnswer ?? obj.reference_answer ?? obj.reference ?? null,
    expectedSources:
      typeof expected === "string"
        ? expected.split(/[|\n]/).map((s) => s.trim()).filter(Boolean)
        : expected ?? [],
  };
  if (typeof candidate.question !== "string") {
    problems.push({ line, message: candidate.question === undefined ? "missing question" : "question must be text" });
    return null;
  }
  const r = datasetItemInput.safeParse(candidate);
  if (!r.success) {
    for (const issue of r.error.issues) problems.push({ line, message: `${issue.path.join(".")}: ${issue.message}` });
    return null;
  }
  return r.data;
}

/**
 * Parses a JSONL or CSV dataset file into items, or throws UnprocessableError listing every bad line.
 * JSONL: one object per line: {"question": "...", "reference_answer": "...", "expected_sources": ["..."]}.
 * CSV: a header row with `question` and optionally `reference_answer`, `expected_sources` (separated by |).
 */
export function parseDatasetFile(text: string, format: DatasetFormat): DatasetItemData[] {
  if (Buffer.byteLength(text, "utf8") > MAX_IMPORT_BYTES) {
    throw new ValidationError(`The file is larger than ${MAX_IMPORT_BYTES} bytes.`);
  }
  if (text.includes("\u0000")) throw new UnprocessableError("The file is binary, not text; export it as JSONL or CSV.");
  const problems: ImportProblem[] = [];
  const items: DatasetItemData[] = [];
  if (format === "jsonl") {
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, idx) => {
      const line = idx + 1;
      if (!raw.trim()) return;
      let obj: unknown;
      try {
        obj = JSON.parse(raw);
      } catch (err) {
        problems.push({ line, message: `not valid JSON (${(err as Error).message})` });
        return;
      }
      if (!obj || typeof obj !== "object" || Array.isArray(obj)) {
        problems.push({ line, message: "each line must be a JSON object with a question" });
        return;
      }
      const item = itemFrom(obj as Record<string, unknown>, line, problems);
      if (item) items.push(item);
    });
  } else {
    let rows;
    try {
      rows = parseCsv(text);
    } catch (err) {
      if (err instanceof CsvSyntaxError) fail([{ line: err.line, message: err.message.replace(/^line \d+: /, "") }], 1);
      throw err;
    }
    if (rows.length === 0) fail([{ line: 1, message: "the file is empty (expected a header row with a question column)" }], 1);
    const header = rows[0]!.fields.map((h) => h.trim().toLowerCase().replace(/[\s-]+/g, "_"));
    const known = new Set(["question", "reference_answer", "reference", "expected_sources"]);
    if (!header.includes("question")) {
      fail([{ line: rows[0]!.line, message: `the header has no "question" column (found: ${header.join(", ") || "nothing"})` }], 1);
    }
    const unknown = header.filter((h) => !known.has(h));
    if (unknown.length > 0) {
      fail([{ line: rows[0]!.line, message: `unknown column${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (known: question, reference_answer, expected_sources)` }], 1);
    }
    for (const row of rows.slice(1)) {
      if (row.fields.length !== header.length) {
        problems.push({ line: row.line, message: `has ${row.fields.length} fields, the header has ${header.length}` });
        continue;
      }
      // Cells exported by this app carry a formula-escaping apostrophe (lib/csv.ts): take it off.
      const obj = Object.fromEntries(header.map((h, i) => [h, unescapeFormula(row.fields[i]!)]));
      const item = itemFrom(obj, row.line, problems);
      if (item) items.push(item);
    }
  }
  if (problems.length > 0) fail(problems, problems.length);
  if (items.length === 0) fail([{ line: 1, message: "the file has no items" }], 1);
  checkCount(items.length);
  return items;
}

/**
 * Imports a file into a new dataset (`name`, bound to `collectionIds` or to every collection the caller
 * reads) or as a new version of an existing one (`datasetId`: its owner or an admin), replacing its items
 * or appending to them. The file is fully validated before anything is written; the write is one transaction.
 */
export async function importDataset(
  ctx: AccessContext,
  input: { format: DatasetFormat; text: string; datasetId?: string; name?: string; description?: string; mode?: "replace" | "append"; collectionIds?: string[] },
) {
  requirePermission(ctx, "score");
  const items = parseDatasetFile(input.text, input.format);
  if (input.datasetId) {
    await editableDataset(ctx, input.datasetId);
    const existing = input.mode === "append" ? (await getDataset(ctx, input.datasetId)).items : [];
    return writeNextVersion(ctx.db, input.datasetId, [...existing, ...items], `imported ${input.format.toUpperCase()} (${input.mode ?? "replace"})`, ctx.onBehalfOf);
  }
  if (!input.name) throw new ValidationError("Give a name for the new dataset, or the datasetId to import into.", [{ path: "name", message: "required" }]);
  return createDataset(ctx, { name: input.name, description: input.description, items, collectionIds: input.collectionIds });
}

/** A version of a dataset the caller may see, as a JSONL or CSV file. */
export async function exportDataset(ctx: AccessContext, datasetId: string, format: DatasetFormat, version?: number) {
  const ds = await getDataset(ctx, datasetId, version);
  const filename = `${ds.name.replace(/[^a-zA-Z0-9._-]+/g, "-")}-v${ds.version}.${format}`;
  if (format === "jsonl") {
    const body = ds.items
      .map((it) => JSON.stringify({ question: it.question, reference_answer: it.referenceAnswer, expected_sources: it.expectedSources }))
      .join("\n");
    return { filename, contentType: "application/x-ndjson; charset=utf-8", body: body ? body + "\n" : "" };
  }
  const body = toCsv(
    ["question", "reference_answer", "expected_sources"],
    ds.items.map((it) => [it.question, it.referenceAnswer ?? "", it.expectedSources.join("|")]),
  );
  return { filename, contentType: "text/csv; charset=utf-8", body };
}

/**
 * Recent logged questions (text kept) for "add to dataset": only logs the caller may see (their own,
 * unless an admin), and with `within`, only those asked over those collections.
 */
export async function recentLoggedQuestions(ctx: AccessContext, opts: { within?: readonly string[]; limit?: number } = {}) {
  requirePermission(ctx, "score");
  const logs = await recentReadableQuestions(ctx.db.sql, ctx, { within: opts.within, limit: opts.limit ?? 20 });
  return logs.map((l) => ({ id: l.id, question: l.question, at: l.createdAt.toISOString() }));
}
