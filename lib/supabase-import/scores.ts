// The old evaluation history (scores of Supabase's `output-evaluate`: question, output, score, time)
// as an evaluation dataset plus one completed "imported" run holding the old outputs and scores. That
// run is the dataset's latest completed run, so the first local run of the dataset takes it as its
// baseline: the run page shows the old average beside the new one, question by question.
//
// Importing the same file again changes nothing (the dataset is named after the file and found again).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { requirePermission, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { CsvSyntaxError, parseCsv } from "../csv";
import { UnprocessableError, ValidationError } from "../errors";
import { MAX_DATASET_ITEMS } from "../evaluate/datasets";

export const IMPORTED_JUDGE = "supabase output-evaluate (imported)";
const MAX_SCORES_BYTES = 20_000_000;

export interface ScoreRecord {
  line: number;
  question: string;
  output: string | null;
  score: number;
  time: Date | null;
}

export interface ScoresReport {
  dryRun: boolean;
  /** Score records read. */
  records: number;
  /** Distinct questions (dataset items). */
  items: number;
  scored: number;
  /** Mean of every old score: the figure the new system is held to. */
  average: number | null;
  datasetId: string | null;
  datasetName: string;
  runId: string | null;
  unchanged: boolean;
  warnings: string[];
}

const KEYS = {
  question: ["question", "query", "input", "prompt", "user_question"],
  output: ["output", "answer", "response", "completion", "model_output"],
  score: ["score", "hallucination_score", "hallucinationscore", "rating", "faithfulness_score", "overall_score"],
  time: ["time", "created_at", "createdat", "timestamp", "evaluated_at", "date"],
};
const pick = (names: string[], wanted: string[]) => {
  const lower = names.map((n) => n.toLowerCase().trim());
  for (const w of wanted) {
    const i = lower.indexOf(w);
    if (i >= 0) return i;
  }
  return -1;
};

/** Reads a CSV (header row) or JSON (array, or one object per line) export of old scores. */
export function parseScores(text: string, fileName: string): ScoreRecord[] {
  const trimmed = text.replace(/^\uFEFF/, "").trimStart();
  let header: string[];
  let rows: Array<{ line: number; get: (i: number) => unknown }>;
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let objects: Array<{ line: number; value: Record<string, unknown> }>;
    if (trimmed.startsWith("[")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(trimmed);
      } catch (err) {
        throw new UnprocessableError(`${fileName}: not valid JSON (${(err as Error).message}).`, { line: 1 });
      }
      if (!Array.isArray(parsed)) throw new UnprocessableError(`${fileName}: expected an array of score records.`);
      objects = parsed.map((value, i) => ({ line: i + 1, value: value as Record<string, unknown> }));
    } else {
      objects = [];
      text.split("\n").forEach((l, i) => {
        if (!l.trim()) return;
        try {
          objects.push({ line: i + 1, value: JSON.parse(l) });
        } catch {
          throw new UnprocessableError(`${fileName} line ${i + 1}: not a JSON object.`, { line: i + 1 });
        }
      });
    }
    header = [...new Set(objects.flatMap((o) => (o.value && typeof o.value === "object" ? Object.keys(o.value) : [])))];
    rows = objects.map((o) => ({ line: o.line, get: (i: number) => (i < 0 ? undefined : o.value?.[header[i]]) }));
  } else {
    let csv;
    try {
      csv = parseCsv(text);
    } catch (err) {
      if (err instanceof CsvSyntaxError) throw new UnprocessableError(`${fileName} ${err.message}`, { line: err.line });
      throw err;
    }
    if (csv.length === 0) throw new UnprocessableError(`${fileName}: the file is empty.`);
    header = csv[0].fields;
    rows = csv.slice(1).map((r) => ({ line: r.line, get: (i: number) => (i < 0 ? undefined : r.fields[i]) }));
  }
  const col = { question: pick(header, KEYS.question), output: pick(header, KEYS.output), score: pick(header, KEYS.score), time: pick(header, KEYS.time) };
  if (col.question < 0 || col.score < 0) {
    throw new UnprocessableError(
      `${fileName} line 1: needs a question and a score column (found ${header.join(", ") || "none"}; expected e.g. question, output, score, time).`,
      { line: 1 },
    );
  }
  const out: ScoreRecord[] = [];
  for (const r of rows) {
    const q = String(r.get(col.question) ?? "").trim();
    const rawScore = r.get(col.score);
    const score = typeof rawScore === "number" ? rawScore : Number(String(rawScore ?? "").trim());
    if (!q) throw new UnprocessableError(`${fileName} line ${r.line}: the question is empty.`, { line: r.line });
    if (rawScore === "" || rawScore === null || rawScore === undefined || !Number.isFinite(score) || score < 1 || score > 5) {
      throw new UnprocessableError(`${fileName} line ${r.line}: the score "${String(rawScore ?? "")}" is not a number from 1 to 5.`, { line: r.line });
    }
    const t = r.get(col.time);
    const time = t ? new Date(String(t)) : null;
    if (time && Number.isNaN(time.getTime())) throw new UnprocessableError(`${fileName} line ${r.line}: the time "${String(t)}" is not a date.`, { line: r.line });
    const o = r.get(col.output);
    out.push({ line: r.line, question: q, output: o === undefined || o === null || o === "" ? null : String(o), score, time });
  }
  return out;
}

export async function importScores(
  ctx: AccessContext,
  input: { path: string; collectionIds: string[]; dryRun?: boolean; datasetName?: string },
): Promise<ScoresReport> {
  requirePermission(ctx, "import");
  for (const id of input.collectionIds) if (!ctx.writableIds.includes(id)) throw new ValidationError("The scores' collections must be ones you may write.");
  const fileName = path.basename(input.path);
  const buf = await readFile(input.path).catch((err) => {
    throw new ValidationError(`--scores ${input.path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}.`);
  });
  if (buf.length > MAX_SCORES_BYTES) throw new ValidationError(`${fileName} is larger than ${MAX_SCORES_BYTES / 1e6} MB.`);
  const records = parseScores(buf.toString("utf8"), fileName);
  if (records.length === 0) throw new UnprocessableError(`${fileName}: no score records.`);

  // One dataset item per question; its baseline item keeps the latest output and the mean of its scores.
  const byQuestion = new Map<string, ScoreRecord[]>();
  for (const r of records) byQuestion.set(r.question, [...(byQuestion.get(r.question) ?? []), r]);
  const items = [...byQuestion.entries()].map(([question, rs]) => {
    const latest = [...rs].sort((a, b) => (a.time?.getTime() ?? 0) - (b.time?.getTime() ?? 0)).pop()!;
    return { question, output: latest.output, time: latest.time, score: rs.reduce((a, r) => a + r.score, 0) / rs.length };
  });
  if (items.length > MAX_DATASET_ITEMS) throw new ValidationError(`${fileName} has ${items.length} questions; a dataset holds at most ${MAX_DATASET_ITEMS}.`);
  const average = records.reduce((a, r) => a + r.score, 0) / records.length;
  const datasetName = input.datasetName ?? `Supabase baseline (${fileName})`;
  const warnings: string[] = [];
  if (byQuestion.size < records.length) warnings.push(`${records.length - byQuestion.size} records repeat a question: each question's scores are averaged, its latest output kept.`);
  const base: ScoresReport = { dryRun: !!input.dryRun, records: records.length, items: items.length, scored: records.length, average, datasetId: null, datasetName, runId: null, unchanged: false, warnings };

  const { db } = ctx;
  const existing = await db.prisma.dataset.findUnique({ where: { name: datasetName }, select: { id: true, runs: { where: { trigger: "import" }, select: { id: true }, take: 1 } } });
  if (existing) return { ...base, datasetId: existing.id, runId: existing.runs[0]?.id ?? null, unchanged: true };
  if (input.dryRun) return base;

  const times = records.map((r) => r.time).filter((t): t is Date => !!t);
  const first = times.length ? new Date(Math.min(...times.map((t) => t.getTime()))) : new Date();
  const last = times.length ? new Date(Math.max(...times.map((t) => t.getTime()))) : new Date();
  const ids = await db.prisma.$transaction(async (tx) => {
    const ds = await tx.dataset.create({
      data: {
        name: datasetName,
        description: `Questions of the old system's evaluation history (${records.length} scores, average ${average.toFixed(2)}), imported from ${fileName}.`,
        collectionIds: input.collectionIds,
      },
    });
    const version = await tx.datasetVersion.create({ data: { datasetId: ds.id, version: 1, note: "imported", itemCount: items.length } });
    await tx.datasetItem.createMany({ data: items.map((it, position) => ({ datasetVersionId: version.id, position, question: it.question })) });
    const run = await tx.evaluationRun.create({
      data: {
        datasetId: ds.id,
        datasetVersionId: version.id,
        status: "completed",
        trigger: "import",
        judgeModel: IMPORTED_JUDGE,
        promptVersion: "imported",
        concurrency: 1,
        topK: 0,
        itemCount: items.length,
        doneCount: items.length,
        avgHallucination: average,
        collectionIds: input.collectionIds,
        createdAt: first,
        startedAt: first,
        finishedAt: last,
      },
    });
    const datasetItems = await tx.datasetItem.findMany({ where: { datasetVersionId: version.id }, select: { id: true, position: true } });
    const itemIds = new Map(datasetItems.map((d) => [d.position, d.id]));
    for (const [position, it] of items.entries()) {
      const ri = await tx.runItem.create({
        data: { runId: run.id, datasetItemId: itemIds.get(position)!, position, question: it.question, status: "ok", answer: it.output, finishedAt: it.time ?? last },
      });
      await tx.score.create({
        data: { kind: "judge", status: "ok", runItemId: ri.id, hallucinationScore: it.score, judgeModel: IMPORTED_JUDGE, promptVersion: "imported", createdAt: it.time ?? last },
      });
    }
    return { datasetId: ds.id, runId: run.id };
  });
  await auditAs(ctx, "import.supabase-scores", `dataset:${ids.datasetId}`, { records: records.length, average: Number(average.toFixed(3)) });
  return { ...base, ...ids };
}
