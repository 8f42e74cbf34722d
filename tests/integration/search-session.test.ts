// The vector search's settings preset on every connection (lib/db/client.ts searchSessionSettings): a
// search whose settings match runs as one statement, and must return exactly what the per-transaction
// path returns — unfiltered, filtered to a small collection (which needs the iterative scan to fill k),
// and with a candidate list other than the preset's (which falls back to the transaction).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres, searchSessionSettings, type Db } from "@/lib/db/client";
import { hybridSearch, type SearchRow } from "@/lib/retrieve/search";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

const PRESET = searchSessionSettings({ RETRIEVE_EF_SEARCH: 10 });
// Two handles on one database (HNSW is approximate: only the same graph gives the same answers).
let plain: TestDb;
let preset: Db;
let small: string;

// Deterministic unit vectors in 768 dimensions: chunk i points mostly along axis i % 64.
function vector(i: number): number[] {
  const v = Array.from({ length: 768 }, (_, d) => (d === i % 64 ? 1 : 0) + (((i * 31 + d * 17) % 97) / 97) * 0.05);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

async function load(db: Db): Promise<string> {
  const cols = [];
  for (const slug of ["big", "small"]) {
    const col = await db.prisma.collection.create({ data: { slug, name: slug } });
    const src = await db.prisma.source.create({ data: { collectionId: col.id, kind: "upload", name: slug } });
    const doc = await db.prisma.document.create({ data: { collectionId: col.id, sourceId: src.id, externalId: slug, title: slug, contentHash: slug } });
    cols.push({ col, doc });
  }
  // 400 chunks; every 25th (16 in all) belongs to the small collection.
  for (let i = 0; i < 400; i++) {
    const { col, doc } = cols[i % 25 === 0 ? 1 : 0]!;
    await db.sql.query(
      `INSERT INTO chunks (document_id, collection_id, position, text, token_count, content_hash, embedding)
       VALUES ($1::uuid, $2::uuid, $3, $4, 5, $5, $6::vector)`,
      [doc.id, col.id, i, `passage ${i} about ${i % 2 ? "boats" : "trains"}`, `h${i}`, `[${vector(i).join(",")}]`],
    );
  }
  return cols[1]!.col.id;
}

const shape = (rows: SearchRow[]) => rows.map((r) => [r.position, r.vectorRank, r.textRank, r.fusedRank]);

beforeAll(async () => {
  plain = await createTestDb();
  preset = await openPostgres(plain.url!, { poolSize: 3, sessionSettings: PRESET });
  small = await load(plain);
}, 120_000);
afterAll(async () => {
  await preset?.close();
  await plain?.drop();
});

describe("search settings preset per connection", () => {
  it("starts every connection of the handle with them", async () => {
    const rows = await Promise.all(
      Array.from({ length: 3 }, () =>
        preset.sql.query<{ ef: string; scan: string }>(`SELECT current_setting('hnsw.ef_search') AS ef, current_setting('hnsw.iterative_scan') AS scan`),
      ),
    );
    for (const [r] of rows) expect(r).toEqual({ ef: "10", scan: "relaxed_order" });
  });

  it("returns what the per-transaction path returns, with and without a collection filter", async () => {
    for (const q of [3, 17, 250]) {
      const base = { query: "passage about boats", embedding: vector(q), perStage: 10, efSearch: 10 };
      const all = [await hybridSearch(plain, { ...base, collectionIds: null }), await hybridSearch(preset, { ...base, collectionIds: null })];
      expect(shape(all[1]!)).toEqual(shape(all[0]!));
      const one = [await hybridSearch(plain, { ...base, collectionIds: [small] }), await hybridSearch(preset, { ...base, collectionIds: [small] })];
      expect(shape(one[1]!)).toEqual(shape(one[0]!));
      // Only 16 chunks are in the small collection, far from most queries: 10 of them still come back
      // (through the HNSW index, that is the iterative scan's doing: few are among its first 10 candidates).
      expect(one[1]!.filter((r) => r.vectorRank !== null)).toHaveLength(10);
      expect(one[1]!.every((r) => r.collectionId === small)).toBe(true);
    }
  });

  it("sets other values for one transaction when a search needs them", async () => {
    const base = { query: "trains", embedding: vector(5), collectionIds: null, perStage: 40, efSearch: 40 };
    const got = await hybridSearch(preset, base);
    expect(shape(got)).toEqual(shape(await hybridSearch(plain, base)));
    expect(got.filter((r) => r.vectorRank !== null)).toHaveLength(40);
    // …and the connection keeps its preset afterwards.
    const [r] = await preset.sql.query<{ ef: string }>(`SELECT current_setting('hnsw.ef_search') AS ef`);
    expect(r!.ef).toBe("10");
  });

  it("refuses a setting that is not a plain name and value", async () => {
    await expect(openPostgres("postgresql://127.0.0.1:1/none", { sessionSettings: { "hnsw.ef_search": "10 -c work_mem=1GB" } })).rejects.toThrow(
      /not a plain name and value/,
    );
  });
});
