// Datasets on a real database: versions, import of good and broken files (clear errors, nothing
// half-imported), export round trip, adding a logged question. As an evaluator, through their access context.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { parseCsv } from "@/lib/csv";
import { AppError } from "@/lib/errors";
import { addQueryLogToDataset, createDataset, exportDataset, getDataset, importDataset, updateDataset } from "@/lib/evaluate/datasets";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

let db: TestDb;
let ctx: AccessContext;
beforeAll(async () => {
  db = await createTestDb();
  ctx = await accessOf(db, await makeUser(db, "evaluator"));
});
afterAll(async () => {
  await db?.drop();
});

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

const counts = async () => ({
  datasets: await db.prisma.dataset.count(),
  versions: await db.prisma.datasetVersion.count(),
  items: await db.prisma.datasetItem.count(),
});

describe("dataset import", () => {
  it("imports JSONL into a new dataset, version 1, in file order", async () => {
    const text = [
      JSON.stringify({ question: "How do I reset my VPN token?", reference_answer: "Use the self-service portal.", expected_sources: ["VPN"] }),
      "",
      JSON.stringify({ question: "Who approves expenses?", expectedSources: "Finance|Expenses" }),
    ].join("\n");
    const r = await importDataset(ctx, { format: "jsonl", text, name: "Core questions" });
    expect(r).toMatchObject({ version: 1, itemCount: 2 });
    const ds = await getDataset(ctx, r.id);
    expect(ds.items.map((i) => [i.question, i.referenceAnswer, i.expectedSources])).toEqual([
      ["How do I reset my VPN token?", "Use the self-service portal.", ["VPN"]],
      ["Who approves expenses?", null, ["Finance", "Expenses"]],
    ]);
  });

  it("rejects a JSONL file with bad lines, naming every line, and writes nothing", async () => {
    const before = await counts();
    const text = [
      JSON.stringify({ question: "Fine question?" }),
      '{"question": "unterminated',
      JSON.stringify({ reference_answer: "no question here" }),
      JSON.stringify({ question: "   " }),
      "[1, 2]",
    ].join("\n");
    const err = await rejection(importDataset(ctx, { format: "jsonl", text, name: "Broken" }));
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/not imported: 4 problems .*Nothing was changed/);
    expect(err.details).toEqual([
      { line: 2, message: expect.stringMatching(/^not valid JSON/) },
      { line: 3, message: "missing question" },
      { line: 4, message: "question: question is empty" },
      { line: 5, message: "each line must be a JSON object with a question" },
    ]);
    expect(await counts()).toEqual(before);
  });

  it("imports CSV with quoted fields, commas and newlines inside quotes", async () => {
    const text =
      'question,reference_answer,expected_sources\r\n' +
      '"Where is the office, exactly?","Building 2,\nfloor 3",Office|Maps\r\n' +
      'Plain question,,\r\n';
    const r = await importDataset(ctx, { format: "csv", text, name: "CSV set" });
    const ds = await getDataset(ctx, r.id);
    expect(ds.items.map((i) => [i.question, i.referenceAnswer, i.expectedSources])).toEqual([
      ["Where is the office, exactly?", "Building 2,\nfloor 3", ["Office", "Maps"]],
      ["Plain question", null, []],
    ]);
  });

  it("rejects broken CSV files with a clear reason and writes nothing", async () => {
    const before = await counts();
    const cases: Array<[string, RegExp]> = [
      ["q,answer\nx,y\n", /no "question" column/],
      ["question,colour\nx,red\n", /unknown column colour/],
      ['question\n"never closed\n', /line 2: a quoted field is never closed/],
      ["question,reference_answer\nonly one field\nok,fine\n", /line 2: has 1 fields, the header has 2/],
      ["", /the file is empty/],
      ["question\n", /no items/],
    ];
    for (const [text, pattern] of cases) {
      const err = await rejection(importDataset(ctx, { format: "csv", text, name: "Broken CSV" }));
      expect(err.status).toBe(422);
      expect(err.message).toMatch(pattern);
    }
    expect(await counts()).toEqual(before);
  });

  it("a failed import into an existing dataset leaves its current version untouched", async () => {
    const ds = await createDataset(ctx, { name: "Stable", items: [{ question: "Q1?", referenceAnswer: null, expectedSources: [] }] });
    const err = await rejection(importDataset(ctx, { format: "jsonl", text: "{bad", datasetId: ds.id }));
    expect(err.status).toBe(422);
    const after = await getDataset(ctx, ds.id);
    expect(after.currentVersion).toBe(1);
    expect(after.items.map((i) => i.question)).toEqual(["Q1?"]);
  });
});

describe("dataset versions", () => {
  it("every change writes a new version; old versions keep their items", async () => {
    const ds = await createDataset(ctx, { name: "Versioned", items: [{ question: "A?", referenceAnswer: null, expectedSources: [] }] });
    const v2 = await updateDataset(ctx, ds.id, { items: [{ question: "A?", referenceAnswer: "a", expectedSources: [] }, { question: "B?", referenceAnswer: null, expectedSources: [] }], note: "edit" });
    expect(v2.currentVersion).toBe(2);
    const v3 = await importDataset(ctx, { format: "jsonl", text: JSON.stringify({ question: "C?" }), datasetId: ds.id, mode: "append" });
    expect(v3.version).toBe(3);
    expect((await getDataset(ctx, ds.id)).items.map((i) => i.question)).toEqual(["A?", "B?", "C?"]);
    expect((await getDataset(ctx, ds.id, 1)).items.map((i) => i.question)).toEqual(["A?"]);
    expect((await getDataset(ctx, ds.id)).versions.map((v) => v.version)).toEqual([3, 2, 1]);
  });

  it("concurrent edits get distinct consecutive versions", async () => {
    const ds = await createDataset(ctx, { name: "Concurrent", items: [] });
    await Promise.all(
      [1, 2, 3].map((i) => updateDataset(ctx, ds.id, { items: [{ question: `Q${i}?`, referenceAnswer: null, expectedSources: [] }], note: `edit ${i}` })),
    );
    const after = await getDataset(ctx, ds.id);
    expect(after.versions.map((v) => v.version)).toEqual([4, 3, 2, 1]);
    expect(new Set(after.versions.slice(0, 3).map((v) => v.note))).toEqual(new Set(["edit 1", "edit 2", "edit 3"]));
  });

  it("a duplicate name is a conflict", async () => {
    await createDataset(ctx, { name: "Twice" });
    const err = await rejection(createDataset(ctx, { name: "Twice" }));
    expect(err.status).toBe(409);
  });

  it("exports JSONL and CSV that import back to the same items", async () => {
    const items = [
      { question: 'He said "hi", then left?', referenceAnswer: "Line one\nline two", expectedSources: ["Doc A", "https://wiki/x"] },
      { question: "Second?", referenceAnswer: null, expectedSources: [] },
    ];
    const ds = await createDataset(ctx, { name: "Round trip", items });
    for (const format of ["jsonl", "csv"] as const) {
      const out = await exportDataset(ctx, ds.id, format);
      expect(out.filename).toBe(`Round-trip-v1.${format}`);
      const back = await importDataset(ctx, { format, text: out.body, name: `Round trip back ${format}` });
      const got = await getDataset(ctx, back.id);
      expect(got.items.map((i) => ({ question: i.question, referenceAnswer: i.referenceAnswer, expectedSources: i.expectedSources }))).toEqual(items);
    }
  });

  it("exports CSV with spreadsheet formulas defused, and imports it back to the same text", async () => {
    const items = [
      { question: '=HYPERLINK("http://evil.example","open")', referenceAnswer: "+1 and -1", expectedSources: ["@doc"] },
      { question: "'=already quoted?", referenceAnswer: null, expectedSources: [] },
    ];
    const ds = await createDataset(ctx, { name: "Formulas", items });
    const out = await exportDataset(ctx, ds.id, "csv");
    expect(out.body.split("\r\n")[1]).toMatch(/^"'=HYPERLINK\(""http:\/\/evil\.example"",""open""\)",/);
    const cells = parseCsv(out.body).slice(1).map((r) => r.fields);
    expect(cells[0]![0]).toBe(`'=HYPERLINK("http://evil.example","open")`);
    expect(cells[0]![1]).toBe("'+1 and -1");
    expect(cells[0]![2]).toBe("'@doc");
    expect(cells[1]![0]).toBe("''=already quoted?");
    const back = await getDataset(ctx, (await importDataset(ctx, { format: "csv", text: out.body, name: "Formulas back" })).id);
    expect(back.items.map((i) => ({ question: i.question, referenceAnswer: i.referenceAnswer, expectedSources: i.expectedSources }))).toEqual(items);
  });

  it("adds a logged question as a new version, and refuses one stored only as a hash", async () => {
    const ds = await createDataset(ctx, { name: "From logs" });
    const mine = { userId: ctx.principal.userId };
    const log = await db.prisma.queryLog.create({ data: { ...mine, question: "What is the holiday policy?", questionSha256: "x" } });
    const r = await addQueryLogToDataset(ctx, ds.id, log.id);
    expect(r.version).toBe(2);
    const got = await getDataset(ctx, ds.id);
    expect(got.items).toMatchObject([{ question: "What is the holiday policy?", sourceQueryLogId: log.id }]);
    const hashed = await db.prisma.queryLog.create({ data: { ...mine, question: null, questionSha256: "y" } });
    expect((await rejection(addQueryLogToDataset(ctx, ds.id, hashed.id))).status).toBe(422);
  });
});
