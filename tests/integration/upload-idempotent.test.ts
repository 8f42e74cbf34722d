// Uploads are idempotent: a file is a document of its collection keyed by its name (or the path given
// with it); uploading it again updates it or reports it unchanged, never a duplicate; the files of one
// request are written together or not at all; one upload source per collection, also for databases
// that already had several (the migration merges them).
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";
import { ingestUploads } from "@/lib/ingest";
import { ingestDocuments } from "@/lib/ingest/pipeline";
import { Llm } from "@/lib/llm";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { beforeMigration, createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeCollection } from "@/tests/helpers/factories";

const MIGRATIONS_DIR = path.resolve(import.meta.dirname, "..", "..", "prisma", "migrations");
let db: TestDb;
let ollama: FakeOllama;
let llm: Llm;
let collectionId: string;
const enc = (s: string) => new TextEncoder().encode(s);
const page = (title: string, body: string) => `# ${title}\n\n${body}\n`;

beforeAll(async () => {
  db = await createTestDb();
  ollama = await startFakeOllama();
  llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url, OLLAMA_TIMEOUT_MS: "60000" }));
  collectionId = (await makeCollection(db, { slug: "handbook", name: "Handbook" })).id;
});

afterAll(async () => {
  await ollama.close();
  await db.drop();
});

describe("uploading the same files again", () => {
  it("creates, then reports unchanged, then updates only what changed; keys by the path given with a file", async () => {
    const files = [
      { name: "travel.md", bytes: enc(page("Travel", "Book trains for trips under 600 km.")) },
      { name: "teams/oncall.md", bytes: enc(page("On-call", "Acknowledge pages within 5 minutes.")) },
      { name: "legal/oncall.md", bytes: enc(page("Legal on-call", "Legal questions go to the legal desk.")) },
    ];
    const first = await ingestUploads(db, { collectionId, files, llm });
    expect(first.files.map((f) => [f.file, f.status])).toEqual([
      ["travel.md", "created"],
      ["teams/oncall.md", "created"],
      ["legal/oncall.md", "created"],
    ]);
    const calls = ollama.embedBatches.length;
    const again = await ingestUploads(db, { collectionId, files, llm });
    expect(again.sourceId).toBe(first.sourceId);
    expect(again.files.map((f) => f.status)).toEqual(["unchanged", "unchanged", "unchanged"]);
    expect(ollama.embedBatches.length).toBe(calls);
    const edited = await ingestUploads(db, {
      collectionId,
      files: [files[0], { name: "teams/oncall.md", bytes: enc(page("On-call", "Acknowledge pages within 10 minutes.")) }],
      llm,
    });
    expect(edited.files.map((f) => [f.file, f.status])).toEqual([
      ["travel.md", "unchanged"],
      ["teams/oncall.md", "updated"],
    ]);
    const docs = await db.prisma.document.findMany({ where: { collectionId }, orderBy: { externalId: "asc" } });
    expect(docs.map((d) => d.externalId)).toEqual(["legal/oncall.md", "teams/oncall.md", "travel.md"]);
    expect(await db.prisma.source.count({ where: { collectionId, kind: "upload" } })).toBe(1);
  });

  it("two first uploads into a new collection at once share its one upload source", async () => {
    const fresh = (await makeCollection(db, { slug: "fresh", name: "Fresh" })).id;
    const [a, b] = await Promise.all([
      ingestUploads(db, { collectionId: fresh, files: [{ name: "a.md", bytes: enc(page("A", "Alpha text.")) }], llm }),
      ingestUploads(db, { collectionId: fresh, files: [{ name: "b.md", bytes: enc(page("B", "Beta text.")) }], llm }),
    ]);
    expect(a.sourceId).toBe(b.sourceId);
    expect(await db.prisma.source.count({ where: { collectionId: fresh, kind: "upload" } })).toBe(1);
  });
});

describe("all or nothing", () => {
  it("an atomic ingest with one document that cannot be written writes none of them", async () => {
    const source = await db.prisma.source.findFirstOrThrow({ where: { collectionId, kind: "upload" } });
    const docs = [
      { externalId: "good-1.md", title: "Good", markdown: page("Good", "Fine text one.") },
      // A collection that does not exist: its write fails (foreign key).
      { externalId: "bad.md", title: "Bad", markdown: page("Bad", "Nowhere to go."), collectionId: "00000000-0000-4000-8000-00000000dead" },
      { externalId: "good-2.md", title: "Good 2", markdown: page("Good 2", "Fine text two.") },
    ];
    await expect(ingestDocuments(db, { sourceId: source.id, collectionId }, docs, { llm, atomic: true })).rejects.toThrow(/foreign key|violates/);
    expect(await db.prisma.document.count({ where: { externalId: { in: ["good-1.md", "good-2.md", "bad.md"] } } })).toBe(0);
    // Without it, one bad document fails alone (how imports work).
    const r = await ingestDocuments(db, { sourceId: source.id, collectionId }, docs, { llm });
    expect(r.outcomes.map((o) => [o.externalId, o.status]).sort()).toEqual([
      ["bad.md", "failed"],
      ["good-1.md", "created"],
      ["good-2.md", "created"],
    ]);
  });
});

describe("the migration to one upload source per collection", () => {
  it("merges existing upload sources: one copy of each file (the latest), the demo source left alone", async () => {
    const before = await beforeMigration("_one_upload_source");
    const { sql } = before;
    try {
      const C = "00000000-0000-4000-8000-0000000000c1";
      const S = (n: number) => `00000000-0000-4000-8000-00000000005${n}`;
      await sql.exec(`
        INSERT INTO collections (id, slug, name) VALUES ('${C}', 'one', 'One');
        INSERT INTO sources (id, collection_id, kind, name, config, created_at, updated_at) VALUES
          ('${S(1)}', '${C}', 'upload', 'Uploads', '{}', '2026-01-01', now()),
          ('${S(2)}', '${C}', 'upload', 'Uploads', '{}', '2026-01-02', now()),
          ('${S(3)}', '${C}', 'upload', 'Uploads', '{}', '2026-01-03', now()),
          ('${S(4)}', '${C}', 'upload', 'Demo', '{"demo": true}', '2026-01-04', now());
        INSERT INTO documents (source_id, collection_id, external_id, title, content_hash, updated_at) VALUES
          ('${S(1)}', '${C}', 'a.md', 'A old', 'h1', '2026-02-01'),
          ('${S(2)}', '${C}', 'a.md', 'A new', 'h2', '2026-03-01'),
          ('${S(3)}', '${C}', 'a.md', 'A mid', 'h3', '2026-02-15'),
          ('${S(2)}', '${C}', 'b.md', 'B', 'h4', '2026-03-01'),
          ('${S(3)}', '${C}', 'c.md', 'C', 'h5', '2026-03-01'),
          ('${S(4)}', '${C}', 'a.md', 'Demo A', 'h6', '2026-03-01');`);
      await before.applyIt();
      const sources = await sql.query<{ id: string; name: string }>(`SELECT id::text, name FROM sources ORDER BY created_at`);
      expect(sources.map((s) => s.id)).toEqual([S(1), S(4)]);
      const docs = await sql.query<{ source_id: string; external_id: string; title: string }>(
        `SELECT source_id::text, external_id, title FROM documents ORDER BY source_id, external_id`,
      );
      expect(docs).toEqual([
        { source_id: S(1), external_id: "a.md", title: "A new" },
        { source_id: S(1), external_id: "b.md", title: "B" },
        { source_id: S(1), external_id: "c.md", title: "C" },
        { source_id: S(4), external_id: "a.md", title: "Demo A" },
      ]);
      await expect(sql.query(`INSERT INTO sources (collection_id, kind, name, updated_at) VALUES ('${C}', 'upload', 'Uploads', now())`)).rejects.toThrow(
        /sources_one_upload_per_collection/,
      );
    } finally {
      await before.close();
    }
  });
});
