// BM25 in SQL against an oracle computed here from the same postings: exact scores and order, the
// common-term path (long posting lists only added to the best candidates), and the all-common fallback.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BM25_B, BM25_K1, commonDf, commonLexemeFrequencies, corpusStats, hybridSearch, queryTerms } from "@/lib/retrieve/search";
import { queryLexemes } from "@/lib/retrieve/queries";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeDocument, makeIngestTarget } from "@/tests/helpers/factories";

let db: TestDb;
const ids: Record<string, string> = {};

async function oracle(query: string) {
  const { n, avgdl } = await corpusStats(db, true);
  const terms = await db.prisma.$queryRaw<Array<{ lexeme: string; qtf: number }>>`
    SELECT lexeme, cardinality(positions)::int AS qtf FROM unnest(to_tsvector('english', ${query}))`;
  const scores = new Map<string, number>();
  for (const t of terms) {
    const posts = await db.prisma.$queryRaw<Array<{ chunk_id: string; tf: number; dl: number }>>`
      SELECT chunk_id::text, tf, dl FROM chunk_terms WHERE lexeme = ${t.lexeme}`;
    const idf = Math.log(1 + (n - posts.length + 0.5) / (posts.length + 0.5));
    for (const p of posts) {
      const s = t.qtf * idf * ((p.tf * (BM25_K1 + 1)) / (p.tf + BM25_K1 * (1 - BM25_B + (BM25_B * p.dl) / avgdl)));
      scores.set(p.chunk_id, (scores.get(p.chunk_id) ?? 0) + s);
    }
  }
  return scores;
}

/** A collection with one source and one document, for chunks inserted directly. */
async function oneDocument(target: TestDb) {
  const where = await makeIngestTarget(target, { slug: "c", name: "c" });
  const doc = await makeDocument(target, { ...where, externalId: "d", title: "Doc" });
  return { col: { id: where.collectionId }, doc };
}

beforeAll(async () => {
  db = await createTestDb();
  const { col, doc } = await oneDocument(db);
  // 1,100 filler chunks share "widget" (a common term: longer than commonDf(n) postings).
  await db.prisma.$executeRaw`
    INSERT INTO chunks (document_id, collection_id, position, text, token_count, content_hash)
    SELECT ${doc.id}::uuid, ${col.id}::uuid, g, 'widget filler number ' || g || CASE WHEN g % 7 = 0 THEN ' gadget gadget' ELSE '' END, 5, 'h' || g
    FROM generate_series(1, 1100) g`;
  const add = async (name: string, text: string, heading: string[] = []) => {
    const [r] = await db.prisma.$queryRaw<Array<{ id: string }>>`
      INSERT INTO chunks (document_id, collection_id, position, heading_path, text, token_count, content_hash)
      VALUES (${doc.id}::uuid, ${col.id}::uuid, 5000, ${heading}::text[], ${text}, 5, ${name}) RETURNING id::text`;
    ids[name] = r!.id;
  };
  await add("both", "The widget zebra guide: a widget for every zebra.");
  await add("rare", "Zebra crossings are painted white.");
  await add("heading", "Painted lines and crossings.", ["Zebra crossings"]);
}, 120_000);
afterAll(() => db.drop());

describe("BM25 in PostgreSQL", () => {
  it("scores exactly like BM25 over the same postings, in the same order", async () => {
    const q = "gadget zebra crossings painted";
    const expected = await oracle(q);
    const rows = await hybridSearch(db, { query: q, embedding: null, collectionIds: null, perStage: 20, efSearch: 40 });
    const got = rows.filter((r) => r.textRank !== null);
    expect(got.length).toBe(20);
    const best = [...expected.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 20);
    expect(got.map((r) => r.chunkId)).toEqual(best.map(([id]) => id));
    for (const r of got) expect(r.textScore).toBeCloseTo(expected.get(r.chunkId)!, 9);
    // A heading occurrence counts twice: the chunk titled "Zebra crossings" beats the one that only says it.
    expect(got.findIndex((r) => r.chunkId === ids.heading)).toBeLessThan(got.findIndex((r) => r.chunkId === ids.rare));
  });

  it("counts a word as common above 2% of the chunks, at least 1,000 postings, at most RETRIEVE_COMMON_POSTINGS_MAX when set", () => {
    expect(commonDf(10_000)).toBe(1000);
    expect(commonDf(100_000)).toBe(2000);
    expect(commonDf(1_000_000)).toBe(20_000); // no bound by default
    expect(commonDf(1_000_000, 5000)).toBe(5000);
    expect(commonDf(100_000, 5000)).toBe(2000);
    expect(commonDf(1_000_000, 500)).toBe(1000);
  });

  it("adds a common term's weight to the candidates of the rarer terms instead of reading its whole posting list", async () => {
    const { n } = await corpusStats(db, true);
    const terms = await queryTerms(db, "widget zebra", n);
    expect(terms.find((t) => t.lexeme === "widget")).toMatchObject({ common: true, df: 1101 });
    expect(terms.find((t) => t.lexeme === "zebra")).toMatchObject({ common: false, df: 3 });
    expect(commonDf(n)).toBeLessThan(1101);

    const expected = await oracle("widget zebra");
    const rows = await hybridSearch(db, { query: "widget zebra", embedding: null, collectionIds: null, perStage: 10, efSearch: 40 });
    const text = rows.filter((r) => r.textRank !== null);
    expect(text[0]!.chunkId).toBe(ids.both);
    expect(text[0]!.textScore).toBeCloseTo(expected.get(ids.both)!, 9); // the common term's share is included
    // Only chunks holding a rarer term are candidates when there is one.
    expect(text.map((r) => r.chunkId).sort()).toEqual([ids.both, ids.heading, ids.rare].sort());
  });

  it("keeps BM25's exact top k when candidates outnumber the common-term pool", async () => {
    // "gadget" is in 157 filler chunks (a rarer term), "widget" in all of them (common): with perStage 5
    // at most 30 candidates get the common term added; the bound decides which ones may matter.
    const q = "gadget widget";
    const expected = await oracle(q);
    const rows = await hybridSearch(db, { query: q, embedding: null, collectionIds: null, perStage: 5, efSearch: 40 });
    const best = [...expected.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
    expect(rows.map((r) => r.chunkId)).toEqual(best.map(([id]) => id));
    rows.forEach((r, i) => expect(r.textScore).toBeCloseTo(best[i]![1], 9));
  });

  it("joins only the best `limit` rows to their chunks and pages, in the same order", async () => {
    const q = "gadget zebra crossings painted";
    const all = await hybridSearch(db, { query: q, embedding: null, collectionIds: null, perStage: 20, efSearch: 40 });
    const top = await hybridSearch(db, { query: q, embedding: null, collectionIds: null, perStage: 20, efSearch: 40, limit: 4 });
    expect(top).toEqual(all.slice(0, 4));
  });

  it("narrows by the rarest term when all the query's terms are common (one term: exact)", async () => {
    const { n } = await corpusStats(db, true);
    const terms = await queryTerms(db, "widget", n);
    expect(terms).toEqual([expect.objectContaining({ lexeme: "widget", common: false })]);
    const two = await queryTerms(db, "widget filler", n);
    expect(two.map((t) => t.common).sort()).toEqual([false, true]);
    const rows = await hybridSearch(db, { query: "widget", embedding: null, collectionIds: null, perStage: 5, efSearch: 40 });
    expect(rows[0]!.chunkId).toBe(ids.both); // tf 2 in a short chunk
  });

  it("returns nothing for a question of stop words only, and nothing for an empty collection list", async () => {
    expect(await hybridSearch(db, { query: "what is the", embedding: null, collectionIds: null, perStage: 5, efSearch: 40 })).toEqual([]);
    expect(await hybridSearch(db, { query: "zebra", embedding: null, collectionIds: [], perStage: 5, efSearch: 40 })).toEqual([]);
  });
});

describe("common terms' frequencies from the planner's statistics", () => {
  let fresh: TestDb;
  beforeAll(async () => {
    fresh = await createTestDb();
    const { col, doc } = await oneDocument(fresh);
    // "sprocket" in 60% of 3,000 chunks, "gear" in every 100th.
    await fresh.prisma.$executeRaw`
      INSERT INTO chunks (document_id, collection_id, position, text, token_count, content_hash)
      SELECT ${doc.id}::uuid, ${col.id}::uuid, g,
        CASE WHEN g % 5 < 3 THEN 'sprocket ' ELSE '' END || 'item ' || g || CASE WHEN g % 100 = 0 THEN ' gear' ELSE '' END, 4, 'h' || g
      FROM generate_series(1, 3000) g`;
    await fresh.sql.exec(`ANALYZE chunks`);
  }, 120_000);
  afterAll(() => fresh?.drop());

  it("estimates a common term's document frequency from ANALYZE's lexeme statistics, close to the count", async () => {
    const { n } = await corpusStats(fresh, true);
    const [{ exact }] = await fresh.sql.query<{ exact: number }>(`SELECT count(*)::int AS exact FROM chunk_terms WHERE lexeme = 'sprocket'`);
    expect(exact).toBe(1800);
    // No counting scan of the long posting list: the fraction comes from pg_stats.
    expect((await commonLexemeFrequencies(fresh)).get("sprocket")).toBeCloseTo(0.6, 2);
    const terms = await queryTerms(fresh, "sprocket gear", n);
    const sprocket = terms.find((t) => t.lexeme === "sprocket")!;
    expect(sprocket.common).toBe(true);
    expect(Math.abs(sprocket.df - exact) / exact).toBeLessThan(0.02);
    expect(terms.find((t) => t.lexeme === "gear")).toMatchObject({ common: false, df: 30 });
    const rows = await hybridSearch(fresh, { query: "sprocket gear", embedding: null, collectionIds: null, perStage: 5, efSearch: 40 });
    // Chunks with both words first (g % 100 = 0 and g % 5 < 3: every 100th is g % 5 = 0).
    expect(rows).toHaveLength(5);
    for (const r of rows) expect(r.text).toMatch(/^sprocket item \d+ gear$/);
  });

  it("does not count the postings of a word ANALYZE already knows to be common", async () => {
    const { n } = await corpusStats(fresh, true);
    // The index entries a statement reads: the backend's not yet reported statistics before and after it,
    // in one transaction (they are only reported, and reset, when a transaction ends).
    const entriesRead = (known: string[]) =>
      fresh.sql.transaction(async (tx) => {
        const read = async () =>
          (await tx.query<{ read: number }>(`SELECT pg_stat_get_xact_tuples_returned('chunk_terms_pkey'::regclass)::int AS read`))[0]!.read;
        const before = await read();
        await queryLexemes(tx, "sprocket gear", commonDf(n) + 1, known);
        return (await read()) - before;
      });
    // Counted, "sprocket" alone reads the cap's worth of entries (1,001) besides "gear"'s 30 …
    expect(await entriesRead([])).toBeGreaterThan(1000);
    // … and queryTerms knows from pg_stats that it is common, so nothing of its list is read.
    expect(await entriesRead(["sprocket"])).toBeLessThan(100);
    const terms = await queryTerms(fresh, "sprocket gear", n);
    expect(terms.find((t) => t.lexeme === "sprocket")).toMatchObject({ common: true });
    expect(terms.find((t) => t.lexeme === "gear")).toMatchObject({ common: false, df: 30 });
  });
});
