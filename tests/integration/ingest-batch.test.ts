// Several documents per write transaction: one bad document is failed on its own, the others of its
// batch are written, and nothing is left half-written; BM25 postings match the chunks exactly.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";
import { ingestDocuments, type SourceDocument } from "@/lib/ingest/pipeline";
import { Llm } from "@/lib/llm";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeIngestTarget } from "@/tests/helpers/factories";
import { until } from "@/tests/helpers/until";

let db: TestDb;
let ollama: FakeOllama;
let llm: Llm;
let target: { sourceId: string; collectionId: string };

const doc = (id: string, extra: Partial<SourceDocument> = {}): SourceDocument => ({
  externalId: id,
  title: `Page ${id}`,
  markdown: `# Page ${id}\n\nThe ${id} gateway restarts nightly; operators check the ${id} gauges and record readings.`,
  ...extra,
});

async function state(externalIds: string[]) {
  return db.prisma.$queryRaw<Array<{ external_id: string; chunks: number; vectors: number; postings: number; lengths: number }>>`
    SELECT d.external_id,
           (SELECT count(*)::int FROM chunks c WHERE c.document_id = d.id) AS chunks,
           (SELECT count(*)::int FROM chunks c WHERE c.document_id = d.id AND c.embedding IS NOT NULL) AS vectors,
           (SELECT count(*)::int FROM chunk_terms t JOIN chunks c ON c.id = t.chunk_id WHERE c.document_id = d.id) AS postings,
           (SELECT count(*)::int FROM chunk_lengths l JOIN chunks c ON c.id = l.chunk_id WHERE c.document_id = d.id) AS lengths
    FROM documents d WHERE d.source_id = ${target.sourceId}::uuid AND d.external_id = ANY(${externalIds}::text[])
    ORDER BY d.external_id`;
}

beforeAll(async () => {
  db = await createTestDb();
  ollama = await startFakeOllama();
  llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url, OLLAMA_TIMEOUT_MS: "60000" }));
  target = await makeIngestTarget(db, { slug: "batch", name: "Batch", sourceName: "Uploads" });
});
afterAll(async () => {
  await ollama?.close();
  await db?.drop();
});

describe("ingest write batches", () => {
  it("a batch with one bad document: the others are written, the bad one is failed and absent", async () => {
    // The bad one routes to a collection that does not exist: its INSERT violates a foreign key,
    // which fails its whole batch transaction; each document is then written on its own.
    const docs = [doc("a1"), doc("a2"), doc("bad", { collectionId: randomUUID() }), doc("a3"), doc("a4")];
    const r = await ingestDocuments(db, target, docs, { llm, writeBatchDocs: 8, writers: 1 });
    expect(r.outcomes.map((o) => [o.externalId, o.status])).toEqual([
      ["a1", "created"],
      ["a2", "created"],
      ["bad", "failed"],
      ["a3", "created"],
      ["a4", "created"],
    ]);
    expect((r.outcomes[2] as { error: string }).error).toMatch(/foreign key/);
    const rows = await state(["a1", "a2", "bad", "a3", "a4"]);
    expect(rows.map((x) => x.external_id)).toEqual(["a1", "a2", "a3", "a4"]); // no row for the bad one
    for (const x of rows) {
      expect(x.chunks).toBe(1);
      expect(x.vectors).toBe(1);
      expect(x.lengths).toBe(1);
      expect(x.postings).toBeGreaterThan(5);
    }
    // Its chunks went nowhere either (no orphan chunks or postings in any collection).
    const [{ orphans }] = await db.prisma.$queryRaw<Array<{ orphans: number }>>`
      SELECT count(*)::int AS orphans FROM chunks c WHERE c.text LIKE '%bad gateway%'`;
    expect(orphans).toBe(0);
  });

  it("a bad document fails alone again after it is fixed, and the batch re-run writes nothing else", async () => {
    const calls = ollama.embedBatches.length;
    const docs = [doc("a1"), doc("a2"), doc("bad"), doc("a3"), doc("a4")];
    const r = await ingestDocuments(db, target, docs, { llm, writeBatchDocs: 8, writers: 2 });
    const status = Object.fromEntries(r.outcomes.map((o) => [o.externalId, o.status]));
    expect(status).toEqual({ a1: "unchanged", a2: "unchanged", bad: "created", a3: "unchanged", a4: "unchanged" });
    // The bad document's vector was computed in the failed run and is not stored anywhere: one call.
    expect(ollama.embedBatches.length).toBe(calls + 1);
    expect((await state(["bad"]))[0]).toMatchObject({ chunks: 1, vectors: 1, lengths: 1 });
  });

  it("the same page twice in one call: written one after the other, the later version wins", async () => {
    const first = doc("dup", { markdown: "# Dup\n\nFirst version of the duplicated page about turbines." });
    const second = doc("dup", { markdown: "# Dup\n\nSecond version of the duplicated page about compressors." });
    const r = await ingestDocuments(db, target, [first, doc("b1"), second], { llm, writeBatchDocs: 8 });
    expect(r.outcomes.map((o) => o.status)).toEqual(["created", "created", "updated"]);
    const texts = await db.prisma.$queryRaw<Array<{ text: string }>>`
      SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.external_id = 'dup'`;
    expect(texts.map((t) => t.text).join(" ")).toMatch(/Second version/);
    expect(texts.map((t) => t.text).join(" ")).not.toMatch(/First version/);
  });

  it("postings and lengths are exactly what the chunks' tsvectors give, for batched writes and edits", async () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      doc(`m${i}`, { markdown: `# Topic ${i}\n\n## Details\n\nItem ${i} covers valves, valve seats and seating of valves ${"pump ".repeat(i % 5)}.` }),
    );
    await ingestDocuments(db, target, many, { llm, writeBatchDocs: 7, writeBatchChunks: 9, writers: 3 });
    await ingestDocuments(db, target, many.slice(0, 10).map((d) => ({ ...d, markdown: `${d.markdown}\n\nEdited: flanges.` })), { llm });
    // The expected postings, recomputed from scratch with the definition of migration 20261122020000
    // (its original term-frequency aggregate, not the function the triggers call now).
    const diff = await db.prisma.$queryRaw<Array<{ n: number }>>`
      WITH t AS (
        SELECT c.id, c.collection_id, u.lexeme,
               (SELECT coalesce(sum(CASE WHEN w = 'A' THEN 2 ELSE 1 END), 0)::real FROM unnest(u.weights::text[]) AS w) AS tf
        FROM chunks c, unnest(c.tsv) AS u WHERE c.tsv IS NOT NULL
      ), l AS (SELECT id, collection_id, sum(tf)::real AS dl FROM t GROUP BY id, collection_id),
      expected AS (SELECT t.lexeme, t.id AS chunk_id, t.collection_id, t.tf, l.dl FROM t JOIN l USING (id)),
      actual AS (SELECT lexeme, chunk_id, collection_id, tf, dl FROM chunk_terms)
      SELECT (SELECT count(*)::int FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM actual) a)
           + (SELECT count(*)::int FROM (SELECT * FROM actual EXCEPT ALL SELECT * FROM expected) b) AS n`;
    expect(diff).toEqual([{ n: 0 }]);
    const lengths = await db.prisma.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM chunks c FULL JOIN chunk_lengths l ON l.chunk_id = c.id
      WHERE l.chunk_id IS NULL OR c.id IS NULL OR l.collection_id <> c.collection_id
         OR l.dl <> (SELECT sum(tf)::real FROM chunk_terms t WHERE t.chunk_id = c.id)`;
    expect(lengths).toEqual([{ n: 0 }]);
  });
  it("concurrent syncs of one page leave exactly one version of it, never both side by side", async () => {
    const version = (v: number) =>
      doc("raced", { markdown: Array.from({ length: 3 }, (_, s) => `## Part ${s}\n\nVersion ${v} of part ${s}: the gateway log rotates nightly.`).join("\n\n") });
    await ingestDocuments(db, target, [version(0)], { llm, writers: 1 });
    // Hold the page's lock from another connection so that both syncs queue behind it, then let go:
    // the second to get the lock must see what the first committed.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${target.sourceId}:raced`]);
    const syncs = [1, 2].map((v) => ingestDocuments(db, target, [version(v)], { llm, writers: 1 }));
    await until("both syncs to wait for the page's lock", async () => {
      const [{ waiting }] = (await holder.query(`SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rows;
      return waiting >= 2;
    });
    await holder.query("COMMIT");
    await holder.end();
    for (const r of await Promise.all(syncs)) expect(r.outcomes[0]!.status).toBe("updated");
    const rows = await db.prisma.$queryRaw<Array<{ position: number; text: string }>>`
      SELECT c.position, c.text FROM chunks c JOIN documents d ON d.id = c.document_id
      WHERE d.source_id = ${target.sourceId}::uuid AND d.external_id = 'raced' ORDER BY c.position`;
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.position)).size).toBe(rows.length); // no position twice
    const v = /Version (\d+)/.exec(rows.find((r) => r.text.includes("Version"))!.text)![1];
    for (const r of rows.filter((r) => r.text.includes("Version"))) expect(r.text).toContain(`Version ${v} `);
  });
});
