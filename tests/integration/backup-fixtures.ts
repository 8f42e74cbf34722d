// Shared set-up for the backup/restore tests: throw-away PostgreSQL databases (migrated, or truly
// empty as a restore target), realistic rows in every table the wiki needs, and a generic
// table-by-table comparison of two databases read from the catalog (so new tables are compared too).
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { readCatalog, rowSelectSql, withTransaction } from "@/lib/backup/catalog";
import { generateMasterKey, ringFrom, type KeyRing, type MasterKey } from "@/lib/crypto/keys";
import { encryptSecretWith } from "@/lib/crypto/secrets";
import { openPostgres, type Db } from "@/lib/db/client";
import { inProcessTransport, KesClient } from "@/lib/kes/client";
import { serviceTable } from "@/lib/kes/protocol";

export const PG_ADMIN = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

function urlFor(name: string): string {
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return u.toString();
}

const created: string[] = [];

export async function createDatabase(prefix = "sot_bk"): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  created.push(name);
  return urlFor(name);
}

export async function dropDatabases(): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  try {
    for (const name of created.splice(0)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export async function migratedDb(): Promise<Db> {
  return openPostgres(await createDatabase(), { migrate: true, poolSize: 4 });
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "sot-backup-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function testRing(...keys: MasterKey[]): KeyRing {
  return ringFrom(keys.length ? keys : [generateMasterKey()], { kind: "env" });
}

function vector(seed: number): string {
  // Deterministic, awkward floats (negative, tiny, many digits) to prove vectors survive bit-exactly.
  const v = Array.from({ length: 768 }, (_, i) => Math.fround(Math.sin(seed * 7.31 + i * 0.013) / (1 + (i % 7)) + (i % 97 === 0 ? 1e-7 : 0)));
  return `[${v.join(",")}]`;
}

export interface Seeded {
  documentIds: string[];
  sourceId: string;
  secretPlain: string;
}

/** Wiki content and people: every table of the first data model gets rows. */
export async function seed(db: Db, ring: KeyRing, opts: { documents?: number; chunksPerDoc?: number } = {}): Promise<Seeded> {
  const docs = opts.documents ?? 6;
  const per = opts.chunksPerDoc ?? 3;
  const s = db.sql;
  const collectionId = randomUUID();
  const userId = randomUUID();
  const sourceId = randomUUID();
  const secretPlain = `secret_${randomBytes(8).toString("hex")}`;
  await s.query(`INSERT INTO collections (id, slug, name, description, restricted) VALUES ($1, 'eng', 'Engineering', 'Ünïcode – “quotes” \\ back\\slash', true)`, [collectionId]);
  await s.query(`INSERT INTO users (id, email, name, password_hash, role) VALUES ($1, 'ada@example.com', 'Ada', '$argon2id$v=19$m=19456,t=2,p=1$abc$def', 'admin')`, [userId]);
  await s.query(`INSERT INTO collection_members (collection_id, user_id) VALUES ($1, $2)`, [collectionId, userId]);
  await s.query(`INSERT INTO sources (id, collection_id, kind, name, config, secret_ciphertext) VALUES ($1, $2, 'notion', 'Wiki', $3::jsonb, $4)`, [
    sourceId,
    collectionId,
    JSON.stringify({ rootPages: ["a", "b"], nested: { n: 1.5, z: null } }),
    encryptSecretWith(ring, secretPlain),
  ]);
  const documentIds: string[] = [];
  for (let d = 0; d < docs; d++) {
    const docId = randomUUID();
    documentIds.push(docId);
    await s.query(
      `INSERT INTO documents (id, collection_id, source_id, external_id, url, title, breadcrumb, properties, content_hash, source_updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8::jsonb, $9, $10)`,
      [docId, collectionId, sourceId, `page-${d}`, d % 2 ? null : `https://notion.so/p${d}`, `Page ${d} "quoted"`, ["Root", `Sub ${d}`], JSON.stringify({ tags: ["x"] }), `hash-${d}`, new Date(Date.UTC(2026, 0, 1, 0, 0, d, 123))],
    );
    for (let c = 0; c < per; c++) {
      await s.query(
        `INSERT INTO chunks (id, document_id, collection_id, position, heading_path, anchor, text, token_count, content_hash, embedding_model, embedding)
         VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8, $9, 'nomic-embed-text', $10::vector)`,
        [randomUUID(), docId, collectionId, c, ["Root", `H${c}`], c ? `h-${c}` : null, `Chunk ${c} of page ${d}: deployments, tabs\tand newlines\n.`, 10 + c, `ch-${d}-${c}`, c === per - 1 && d === 0 ? null : vector(d * 100 + c)],
      );
    }
  }
  const keyId = randomUUID();
  await s.query(`INSERT INTO api_keys (id, name, prefix, key_hash, scopes, collection_ids, created_by_id) VALUES ($1, 'ci', 'sot_ab', $2, $3::text[], $4::uuid[], $5)`, [
    keyId,
    randomBytes(32).toString("hex"),
    ["ask", "score"],
    [collectionId],
    userId,
  ]);
  const logId = randomUUID();
  await s.query(`INSERT INTO query_logs (id, user_id, api_key_id, question, question_sha256, retrieved, timings) VALUES ($1, $2, $3, 'How do we deploy?', 'abc', $4::jsonb, $5::jsonb)`, [
    logId,
    userId,
    keyId,
    JSON.stringify([{ chunkId: "x", rank: 1, fusedScore: 0.0163934426 }]),
    JSON.stringify({ totalMs: 1234.5 }),
  ]);
  await s.query(`INSERT INTO scores (kind, status, query_log_id, user_id, hallucination_score, faithfulness) VALUES ('judge', 'ok', $1, $2, 4.25, 0.1 + 0.2)`, [logId, userId]);
  return { documentIds, sourceId, secretPlain };
}

/** Every backed-up table's rows (vectors and all) as JSON text, in primary-key order. */
export async function dumpAll(db: Db): Promise<Record<string, string[]>> {
  return withTransaction(db, "read", async (s) => {
    await s.query("SET LOCAL TIME ZONE 'UTC'");
    const out: Record<string, string[]> = {};
    for (const t of await readCatalog(s)) {
      // Vectors compared as text too (a second, independent reading of them).
      const vecs = t.columns.filter((c) => c.typname === "vector").map((c) => `t."${c.name}"::text`);
      const rows = await s.query<{ j: string; v: string | null }>(
        rowSelectSql(t).replace(" AS j FROM", `${vecs.length ? `, concat_ws('|', ${vecs.join(", ")})` : ", NULL"} AS v FROM`),
      );
      out[t.name] = rows.map((r) => `${r.j}${r.v ? `#${r.v}` : ""}`);
    }
    return out;
  });
}

export async function migrationNames(db: Db): Promise<string[]> {
  return (await db.sql.query<{ n: string }>(`SELECT migration_name AS n FROM _prisma_migrations ORDER BY 1`)).map((r) => r.n);
}

/** KES inside the test process on `db`, as the embedded default runs it: the backup's naming key comes from here. */
export function testKes(db: Db, ring: KeyRing): KesClient {
  const token = randomBytes(24).toString("base64url");
  return new KesClient(inProcessTransport({ db, ring, services: serviceTable(null, [["sot", token]]) }, token));
}
