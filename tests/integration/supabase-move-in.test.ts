// Moving in from Supabase: exports made by pg_dump / psql from a Supabase-shaped database (vector in the
// `extensions` schema, 768-, 1536- and 3072-dimension embeddings), read by the real importer into the
// test database (PostgreSQL, or the embedded PGlite when TEST_DATABASE_URL is unset), embedded through
// the fake Ollama.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask } from "@/lib/answer";
import { systemContext, type AccessContext } from "@/lib/access/context";
import { getEvaluationRun, getRunDetail, startEvaluationRun } from "@/lib/evaluate/runs";
import { importScores, moveIn } from "@/lib/supabase-import";
import { makeFixture, type Fixture } from "@/tests/helpers/supabase-dumps";
import { contextOf, makePrincipal, startAskEnv, stopAskEnv } from "@/tests/integration/ask-fixtures";
import type { FakeOllama } from "@/tests/fakes/ollama";
import type { TestDb } from "@/tests/helpers/db";
import { makeCollection } from "@/tests/helpers/factories";

let env: { ollama: FakeOllama; db: TestDb };
let db: TestDb;
let f1536: Fixture;
let f768: Fixture;
let f3072: Fixture;
let collectionId: string;
let ctx: AccessContext;

const embedCalls = () => env.ollama.calls.filter((c) => c.path === "/api/embed").length;
const PAGES = 6;
const CHUNKS = PAGES * 3;

async function counts() {
  const [r] = await db.sql.query<{ docs: number; sources: number; jobs: number; staged: number; chunks: number }>(
    `SELECT (SELECT count(*)::int FROM documents) AS docs, (SELECT count(*)::int FROM sources WHERE kind = 'supabase') AS sources,
            (SELECT count(*)::int FROM import_jobs) AS jobs, (SELECT count(*)::int FROM supabase_import_rows) AS staged,
            (SELECT count(*)::int FROM chunks) AS chunks`,
  );
  return r;
}

beforeAll(async () => {
  env = await startAskEnv();
  db = env.db;
  [f1536, f768, f3072] = await Promise.all([makeFixture(1536), makeFixture(768), makeFixture(3072)]);
  const col = await makeCollection(db, { slug: "wiki", name: "Wiki" });
  collectionId = col.id;
  ctx = systemContext(db, "test move-in", [collectionId]);
}, 180_000);

afterAll(async () => {
  await Promise.all([f1536, f768, f3072].map((f) => f?.close()));
  await stopAskEnv(env);
});

describe("dry run", () => {
  it("reports rows, documents, empty and duplicate chunks, the dimension and a model guess, and writes nothing", async () => {
    const dump = f1536.dump("copy.sql", []);
    expect(readFileSync(dump, "utf8")).toMatch(/embedding extensions\.vector\(1536\)/);
    const r = await moveIn(ctx, { from: { path: dump }, collectionId, dryRun: true });
    expect(r).toMatchObject({
      dryRun: true,
      format: "sql",
      table: "public.wiki_chunks",
      rows: CHUNKS + 2,
      chunks: CHUNKS,
      emptyChunks: 1,
      duplicateChunks: 1,
      documents: PAGES,
      groupedBy: { "page id": PAGES, url: 0, title: 0, row: 0 },
      collection: { id: collectionId, slug: "wiki" },
    });
    expect(r.shape).toMatchObject({ content: "content", metadata: "metadata", embedding: "embedding", title: "metadata.title", url: "metadata.url", pageId: "metadata.page_id", heading: "metadata.heading", position: "metadata.chunk_index", updatedAt: "metadata.last_edited_time" });
    expect(r.embedding).toMatchObject({ dimension: 1536, rowsWithOtherDimension: 0, reused: false });
    expect(r.embedding.modelGuess).toMatch(/gemini-embedding-001/);
    expect(r.embedding.why).toMatch(/different spaces/);
    expect(await counts()).toMatchObject({ docs: 0, sources: 0, jobs: 0, staged: 0 });
    expect(embedCalls()).toBe(0);
  });

  it("reads INSERT dumps (plain, column-inserts, several rows per statement) of 768 and 3072 dimensions alike", async () => {
    const forms: Array<[Fixture, string[], number, RegExp]> = [
      [f768, ["--inserts"], 768, /text-embedding-004/],
      [f768, ["--column-inserts", "--rows-per-insert=4"], 768, /text-embedding-004/],
      [f3072, ["--column-inserts"], 3072, /gemini-embedding-001 at its full 3072/],
    ];
    for (const [fx, args, dim, model] of forms) {
      const dump = fx.dump(`ins-${args.join("")}.sql`, args);
      expect(readFileSync(dump, "utf8")).toMatch(/^INSERT INTO public\.wiki_chunks/m);
      const r = await moveIn(ctx, { from: { path: dump }, collectionId, dryRun: true });
      expect(r, args.join(" ")).toMatchObject({ rows: CHUNKS + 2, chunks: CHUNKS, documents: PAGES, emptyChunks: 1, duplicateChunks: 1 });
      expect(r.embedding.dimension).toBe(dim);
      expect(r.embedding.modelGuess).toMatch(model);
    }
  });

  it("reads a CSV export, with --map for columns it cannot guess", async () => {
    const csv = f768.csv("chunks.csv", "SELECT id, content, metadata, embedding FROM wiki_chunks");
    const r = await moveIn(ctx, { from: { path: csv }, collectionId, dryRun: true });
    expect(r).toMatchObject({ format: "csv", rows: CHUNKS + 2, documents: PAGES, chunks: CHUNKS });
    expect(r.embedding.dimension).toBe(768);
    const renamed = f768.csv("renamed.csv", "SELECT id, content AS body, metadata->>'title' AS headline, metadata->>'url' AS link, metadata FROM wiki_chunks");
    const m = await moveIn(ctx, { from: { path: renamed }, collectionId, dryRun: true, map: "content=body,title=headline,url=link,pageId=metadata.page_id" });
    expect(m.shape).toMatchObject({ content: "body", title: "headline", url: "link", pageId: "metadata.page_id" });
    expect(m.documents).toBe(PAGES);
    expect(m.sample[0].url).toMatch(/^https:\/\/www\.notion\.so\/kestrel\//);
    expect(await counts()).toMatchObject({ docs: 0, jobs: 0 });
  });
});

describe("malformed input gets an error naming the problem and the line, and writes nothing", () => {
  it("a truncated dump", async () => {
    const whole = readFileSync(f1536.dump("full.sql", []), "utf8");
    const cut = path.join(f1536.dir, "truncated.sql");
    const copyAt = whole.indexOf("COPY public.wiki_chunks");
    const middle = copyAt + Math.floor((whole.length - copyAt) / 2);
    writeFileSync(cut, whole.slice(0, middle));
    await expect(moveIn(ctx, { from: { path: cut }, collectionId })).rejects.toThrow(/^line \d+: a row of public\.wiki_chunks has \d+ fields where the COPY names 5 columns: the line is cut short/);
    writeFileSync(cut, whole.slice(0, whole.lastIndexOf("\n", middle) + 1));
    await expect(moveIn(ctx, { from: { path: cut }, collectionId })).rejects.toThrow(/^line \d+: the dump ends inside the data of public\.wiki_chunks .*truncated/);
    // Cut right after the data: pg_dump's closing line is missing.
    const afterData = whole.indexOf("\\.\n", copyAt) + 3;
    writeFileSync(cut, whole.slice(0, afterData));
    await expect(moveIn(ctx, { from: { path: cut }, collectionId })).rejects.toThrow(/^line \d+: the dump ends without pg_dump's closing line.*truncated/);
    expect(await counts()).toMatchObject({ docs: 0, sources: 0, jobs: 0, staged: 0 });
  });

  it("a dump of another table", async () => {
    const other = f1536.dump("profiles.sql", [], "public.profiles");
    await expect(moveIn(ctx, { from: { path: other }, collectionId })).rejects.toThrow(/^line \d+: the dump has no table with a vector column .*public\.profiles \(line \d+\)/);
    await expect(moveIn(ctx, { from: { path: other }, collectionId, table: "wiki_chunks" })).rejects.toThrow(/^line \d+: the dump has no rows of a table wiki_chunks: it holds public\.profiles/);
    expect(await counts()).toMatchObject({ docs: 0, sources: 0, jobs: 0, staged: 0 });
  });

  it("a binary pg_dump -Fc archive", async () => {
    const bin = f1536.dump("custom.dump", ["-Fc"]);
    await expect(moveIn(ctx, { from: { path: bin }, collectionId })).rejects.toThrow(/^line 1: this is a binary pg_dump archive \(custom format, -Fc\).*pg_restore --file/);
    expect(await counts()).toMatchObject({ docs: 0, sources: 0, jobs: 0 });
  });

  it("a CSV without a content column", async () => {
    const csv = f768.csv("no-content.csv", "SELECT id, metadata, embedding FROM wiki_chunks");
    await expect(moveIn(ctx, { from: { path: csv }, collectionId })).rejects.toThrow(/^line 1: no-content\.csv has no column with the chunks' text .*--map content=/);
    expect(await counts()).toMatchObject({ docs: 0, sources: 0, jobs: 0, staged: 0 });
  });
});

describe("import", () => {
  it("makes one document per old page, in order, keeping old ids and URLs; answers cite the original pages", async () => {
    const before = embedCalls();
    const r = await moveIn(ctx, { from: { path: f1536.dump("import.sql", []) }, collectionId });
    expect(r.job).toMatchObject({ status: "succeeded", found: PAGES, done: PAGES, unchanged: 0, failed: 0 });
    expect(embedCalls()).toBeGreaterThan(before);
    const docs = await db.prisma.document.findMany({ where: { collectionId }, include: { chunks: { orderBy: { position: "asc" } } } });
    expect(docs).toHaveLength(PAGES);
    for (const page of f1536.pages) {
      const d = docs.find((x) => x.externalId === `page:${page.pageId}`)!;
      expect(d, page.title).toBeDefined();
      expect(d).toMatchObject({ title: page.title, url: page.url });
      const props = d.properties as { importedFrom: string; oldIds: string[]; originalUrl: string; pageId: string };
      expect(props).toMatchObject({ importedFrom: "supabase", originalUrl: page.url, pageId: page.pageId });
      expect(props.oldIds).toHaveLength(3); // the repeated row and the empty row are not chunks of the page
      const text = d.chunks.map((c) => c.text).join("\n");
      const at = page.chunks.map((c) => text.indexOf(c.text.slice(0, 40)));
      expect(at.every((i) => i >= 0), `${page.title}: every old chunk is there`).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at); // in the old order, although the rows were not
      expect(d.chunks.every((c) => c.embeddingModel !== null)).toBe(true);
    }
    expect(await counts()).toMatchObject({ staged: 0 }); // the staged rows go once the job is done

    const viewer = await contextOf(db, await makePrincipal(db, "viewer"));
    const answer = await ask(viewer, { question: "How quickly must the on-call engineer acknowledge pages?" });
    const cited = answer.sources.filter((s) => s.cited);
    expect(cited.length).toBeGreaterThan(0);
    const onCall = f1536.pages.find((p) => p.title === "On-call handbook")!;
    expect(cited.some((s) => s.url?.startsWith(onCall.url))).toBe(true);
  });

  it("a second run changes nothing and makes no embedding call, from the dump or from its CSV", async () => {
    const before = embedCalls();
    const docsBefore = await db.sql.query<{ id: string; content_hash: string; updated_at: string }>(`SELECT id::text, content_hash, updated_at::text FROM documents ORDER BY id`);
    const r = await moveIn(ctx, { from: { path: f1536.dump("again.sql", []) }, collectionId });
    expect(r.job).toMatchObject({ status: "succeeded", done: PAGES, unchanged: PAGES, embeddedChunks: 0 });
    expect(embedCalls()).toBe(before);
    expect(await db.sql.query(`SELECT id::text, content_hash, updated_at::text FROM documents ORDER BY id`)).toEqual(docsBefore);
    expect(await counts()).toMatchObject({ docs: PAGES, sources: 1 });
  });
});

describe("a move-in killed midway", () => {
  it("completes when run again, without a duplicate, and a third run embeds nothing", async () => {
    const other = await makeCollection(db, { slug: "killed", name: "Killed" });
    const c2 = systemContext(db, "test move-in", [other.id]);
    const dump = f768.dump("kill.sql", []);
    class Killed extends Error {}
    // The run stops dead after its first group of pages, as a killed process would.
    await expect(
      moveIn(c2, { from: { path: dump }, collectionId: other.id }, { onGroup: () => { throw new Killed("killed"); } }),
    ).rejects.toBeInstanceOf(Killed);
    const partial = await db.prisma.document.count({ where: { collectionId: other.id } });
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(PAGES + 1);

    const r = await moveIn(c2, { from: { path: dump }, collectionId: other.id });
    expect(r.superseded).toBe(1);
    expect(r.job).toMatchObject({ status: "succeeded", done: PAGES, failed: 0 });
    expect(r.job!.unchanged).toBe(partial);
    const rows = await db.sql.query<{ external_id: string; n: number }>(
      `SELECT external_id, count(*)::int AS n FROM documents WHERE collection_id = $1::uuid GROUP BY external_id`,
      [other.id],
    );
    expect(rows).toHaveLength(PAGES);
    expect(rows.every((x) => x.n === 1)).toBe(true);
    const staged = await db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM supabase_import_rows`);
    expect(staged[0].n).toBe(0); // the killed run's rows went with its superseded job

    const before = embedCalls();
    const third = await moveIn(c2, { from: { path: dump }, collectionId: other.id });
    expect(third.job).toMatchObject({ unchanged: PAGES });
    expect(embedCalls()).toBe(before);
  });
});

describe("the old evaluation scores", () => {
  it("become a dataset and a completed baseline run that the first local run is compared with", async () => {
    const file = path.join(f1536.dir, "scores.csv");
    writeFileSync(
      file,
      [
        "question,output,score,time",
        '"How quickly must the on-call engineer acknowledge pages?","Within 5 minutes.",5,2026-10-01T09:00:00Z',
        '"How many days of paid holiday per year?","25 days.",3,2026-10-01T09:01:00Z',
        '"How many days of paid holiday per year?","27 days.",4,2026-10-02T09:01:00Z',
        '"When do production deploys happen?","Tuesdays and Thursdays.",5,2026-10-02T09:02:00Z',
      ].join("\n"),
    );
    const r = await importScores(ctx, { path: file, collectionIds: [collectionId] });
    expect(r).toMatchObject({ records: 4, items: 3, unchanged: false });
    expect(r.average).toBeCloseTo(4.25, 5);
    const again = await importScores(ctx, { path: file, collectionIds: [collectionId] });
    expect(again).toMatchObject({ unchanged: true, datasetId: r.datasetId, runId: r.runId });

    const evaluator = await contextOf(db, await makePrincipal(db, "evaluator"));
    const baseline = await getEvaluationRun(evaluator, r.runId!);
    expect(baseline).toMatchObject({ status: "completed", trigger: "import", avgHallucination: 4.25 });
    const run = await startEvaluationRun(evaluator, { datasetId: r.datasetId! }, { enqueueRun: async () => {} });
    expect(run.baselineRunId).toBe(r.runId);
    const detail = await getRunDetail(evaluator, run.id);
    expect(detail.baseline).toMatchObject({ id: r.runId, imported: true, avgHallucination: 4.25 });
    const holiday = detail.items.find((i) => i.question.startsWith("How many days"))!;
    expect(holiday.baseline?.hallucinationScore).toBe(3.5);
  });

  it("a score file with a bad score names the line", async () => {
    const file = path.join(f1536.dir, "bad-scores.csv");
    writeFileSync(file, "question,output,score\nWhat?,Nothing,4\nWhy?,Because,great\n");
    await expect(importScores(ctx, { path: file, collectionIds: [collectionId] })).rejects.toThrow(/bad-scores\.csv line 3: the score "great" is not a number from 1 to 5/);
  });
});
