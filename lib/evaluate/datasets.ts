// Evaluation datasets: questions with optional reference answers and expected sources. Items live in
// immutable versions — every change writes a new version in one transaction — so a run can say exactly
// which questions it asked. Imports are all-or-nothing: one bad line rejects the whole file, with every
// problem listed by line.
import { z } from "zod";
import type { Db } from "../db/client";
import { ConflictError, NotFoundError, UnprocessableError, ValidationError } from "../errors";
import { CsvSyntaxError, parseCsv, toCsv, unescapeFormula } from "../csv";

export const MAX_DATASET_ITEMS = 5000;
export const MAX_IMPORT_BYTES = 5_000_000;
const MAX_REPORTED_PROBLEMS = 20;

export const datasetItemInput = z.object({
  question: z.string().trim().min(1, "question is empty").max(4000, "question is longer than 4000 characters"),
  referenceAnswer: z.string().trim().max(20000, "reference answer is longer than 20000 characters").nullish()
    .transform((v) => (v ? v : null)),
  expectedSources: z.array(z.string().trim().min(1).max(2000)).max(50, "more than 50 expected sources").default([]),
});
export type DatasetItemInput = z.input<typeof datasetItemInput>;
type DatasetItemData = z.output<typeof datasetItemInput>;

export const datasetNameSchema = z.string().trim().min(1, "name is empty").max(200, "name is longer than 200 characters");

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === "P2002" || /unique constraint/i.test((err as Error)?.message ?? "");
}

type Tx = Parameters<Parameters<Db["prisma"]["$transaction"]>[0]>[0];

async function writeVersion(tx: Tx, datasetId: string, version: number, items: DatasetItemData[], note: string, userId: string | null) {
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
        sourceQueryLogId: (it as { sourceQueryLogId?: string | null }).sourceQueryLogId ?? null,
      })),
    });
  }
  return v;
}

function checkCount(n: number) {
  if (n > MAX_DATASET_ITEMS) throw new ValidationError(`A dataset holds at most ${MAX_DATASET_ITEMS} items (got ${n}).`);
}

export async function createDataset(
  db: Db,
  input: { name: string; description?: string; items?: DatasetItemData[] },
  userId: string | null,
) {
  const items = input.items ?? [];
  checkCount(items.length);
  try {
    return await db.prisma.$transaction(async (tx) => {
      const ds = await tx.dataset.create({
        data: { name: input.name, description: input.description ?? "", currentVersion: 1, createdById: userId },
      });
      await writeVersion(tx, ds.id, 1, items, "created", userId);
      return { id: ds.id, name: ds.name, version: 1, itemCount: items.length };
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`A dataset named "${input.name}" already exists.`);
    throw err;
  }
}

/** Writes a new version with these items (the previous versions stay for the runs that used them). */
export async function saveDatasetVersion(
  db: Db,
  datasetId: string,
  items: Array<DatasetItemData & { sourceQueryLogId?: string | null }>,
  note: string,
  userId: string | null,
) {
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

export async function updateDatasetMeta(db: Db, datasetId: string, input: { name?: string; description?: string }) {
  try {
    return await db.prisma.dataset.update({ where: { id: datasetId }, data: input, select: { id: true, name: true, description: true } });
  } catch (err) {
    if ((err as { code?: string })?.code === "P2025") throw new NotFoundError(`Dataset ${datasetId}`);
    if (isUniqueViolation(err)) throw new ConflictError(`A dataset named "${input.name}" already exists.`);
    throw err;
  }
}

export async function listDatasets(db: Db) {
  const rows = await db.prisma.dataset.findMany({
    orderBy: { name: "asc" },
    include: {
      versions: { orderBy: { version: "desc" }, take: 1, select: { version: true, itemCount: true, createdAt: true } },
      runs: { orderBy: { createdAt: "desc" }, take: 1, select: { id: true, status: true, avgHallucination: true, createdAt: true } },
    },
  });
  return rows.map((d) => ({
    id: d.id,
    name: d.name,
    description: d.description,
    currentVersion: d.currentVersion,
    itemCount: d.versions[0]?.itemCount ?? 0,
    updatedAt: d.versions[0]?.createdAt ?? d.updatedAt,
    lastRun: d.runs[0] ?? null,
  }));
}

/** A dataset with the items of one version (default: the current one). */
export async function getDataset(db: Db, datasetId: string, version?: number) {
  const ds = await db.prisma.dataset.findUnique({ where: { id: datasetId } });
  if (!ds) throw new NotFoundError(`Dataset ${datasetId}`);
  const v = await db.prisma.datasetVersion.findUnique({
    where: { datasetId_version: { datasetId, version: version ?? ds.currentVersion } },
    include: { items: { orderBy: { position: "asc" } } },
  });
  if (!v) throw new NotFoundError(`Version ${version} of dataset ${ds.name}`);
  const versions = await db.prisma.datasetVersion.findMany({
    where: { datasetId },
    orderBy: { version: "desc" },
    select: { version: true, note: true, itemCount: true, createdAt: true },
  });
  return {
    id: ds.id,
    name: ds.name,
    description: ds.description,
    currentVersion: ds.currentVersion,
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

/** Appends a logged question (from /api/evaluate) to a dataset as a new version. */
export async function addQueryLogToDataset(db: Db, datasetId: string, queryLogId: string, userId: string | null) {
  const log = await db.prisma.queryLog.findUnique({ where: { id: queryLogId }, select: { question: true, retrieved: true } });
  if (!log) throw new NotFoundError(`Query log ${queryLogId}`);
  if (!log.question) {
    throw new UnprocessableError("This logged question was stored as a hash only (LOG_QUERY_TEXT=false); it cannot be added to a dataset.");
  }
  const current = await getDataset(db, datasetId);
  const items = current.items.map((it) => ({ ...it }));
  items.push({
    id: "",
    position: items.length,
    question: log.question,
    referenceAnswer: null,
    expectedSources: [],
    sourceQueryLogId: queryLogId,
  });
  return saveDatasetVersion(db, datasetId, items, "added a logged question", userId);
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
 * Imports a file into a new dataset (`name`) or as a new version of an existing one (`datasetId`),
 * replacing its items or appending to them. The file is fully validated before anything is written,
 * and the write is one transaction.
 */
export async function importDataset(
  db: Db,
  input: { format: DatasetFormat; text: string; datasetId?: string; name?: string; description?: string; mode?: "replace" | "append" },
  userId: string | null,
) {
  const items = parseDatasetFile(input.text, input.format);
  if (input.datasetId) {
    const existing = input.mode === "append" ? (await getDataset(db, input.datasetId)).items : [];
    return saveDatasetVersion(db, input.datasetId, [...existing, ...items], `imported ${input.format.toUpperCase()} (${input.mode ?? "replace"})`, userId);
  }
  if (!input.name) throw new ValidationError("Give a name for the new dataset, or the datasetId to import into.", [{ path: "name", message: "required" }]);
  return createDataset(db, { name: input.name, description: input.description, items }, userId);
}

export async function exportDataset(db: Db, datasetId: string, format: DatasetFormat, version?: number) {
  const ds = await getDataset(db, datasetId, version);
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

/** Recent logged questions (text kept) for "add to dataset". */
export async function recentLoggedQuestions(db: Db, limit = 20) {
  const logs = await db.prisma.queryLog.findMany({
    where: { question: { not: null } },
    orderBy: { createdAt: "desc" },
    take: limit,
    select: { id: true, question: true, createdAt: true },
  });
  return logs.map((l) => ({ id: l.id, question: l.question!, at: l.createdAt.toISOString() }));
}
