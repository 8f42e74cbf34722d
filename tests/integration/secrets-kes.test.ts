// Secrets at rest through KES as its own process (workers/kes.ts, spawned with the only master key): this
// process — the web and worker code — holds no master key, stores a Notion source's token sealed for its
// row, reads it back, refuses a ciphertext moved to another row, converts a secret written before KES
// (sot:v1:, made with the old code) without ever seeing it in KES's place, and fails cleanly when KES is down.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { generateMasterKey, getKeyRing, KeyConfigError, resetKeyRing, ringFrom } from "@/lib/crypto/keys";
import { encryptSecretWith } from "@/lib/crypto/secrets";
import { createNotionSource, readNotionSecrets } from "@/lib/ingest/notion";
import { resetKes } from "@/lib/kes/client";
import { upgradeLegacySecrets } from "@/lib/secrets";
import { createTestDb, testServerUrl, type TestDb } from "@/tests/helpers/db";
import { makeCollection } from "@/tests/helpers/factories";
import { startKesProcess, type KesProcess } from "@/tests/helpers/kes-process";

let db: TestDb;
let dir: string;
let kes: KesProcess;
let collectionId: string;
const master = generateMasterKey();
const saved = { ...process.env };

const stored = async (id: string) =>
  (await db.sql<{ c: string | null }>`SELECT secret_ciphertext AS c FROM sources WHERE id = ${id}::uuid`)[0]!.c!;

/** A source row written the way the code before KES wrote it: the legacy envelope under KES's master key. */
async function legacySource(token: string): Promise<string> {
  const row = await db.prisma.source.create({
    data: { collectionId, kind: "notion", name: `Legacy ${randomBytes(3).toString("hex")}`, config: {}, secretCiphertext: encryptSecretWith(ringFrom([master], { kind: "env" }), JSON.stringify({ token })) },
  });
  return row.id;
}

beforeAll(async () => {
  db = await createTestDb();
  setDb(db);
  dir = mkdtempSync(path.join(tmpdir(), "sot-secrets-kes-"));
  // KES shares the database on PostgreSQL; without one it keeps its own embedded database.
  kes = await startKesProcess({
    databaseUrl: testServerUrl() ? db.url : undefined,
    services: ["sot"],
    dataDir: path.join(dir, "kes"),
    env: { MASTER_KEYS: `${master.id}:${master.key.toString("base64")}` },
  });
  for (const k of ["MASTER_KEYS", "MASTER_KEY_FILE"]) delete process.env[k];
  Object.assign(process.env, {
    KES_URL: kes.url,
    KES_TOKEN: kes.tokens.sot,
    KES_TIMEOUT_MS: "30000", // a fresh KES process on a shared machine
    DATA_DIR: path.join(dir, "app"),
    DATABASE_URL: db.url ?? "postgresql://nobody@127.0.0.1:1/none",
    AUTH_SECRET: randomBytes(32).toString("hex"),
  });
  resetConfig();
  resetKes();
  resetKeyRing();
  collectionId = (await makeCollection(db)).id;
}, 300_000);

afterAll(async () => {
  await kes?.stop();
  process.env = { ...saved };
  resetConfig();
  resetKes();
  resetKeyRing();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("secrets at rest through KES", () => {
  it("this process has no master key: a Notion token is sealed by KES for its row and read back", async () => {
    await expect(getKeyRing()).rejects.toThrow(KeyConfigError);
    const token = `secret_${randomBytes(12).toString("hex")}`;
    const src = await createNotionSource(db, { collectionId, name: "Wiki", token });
    const c = await stored(src.id);
    expect(c).toMatch(/^sot:v2:kes:v1:secrets:1:[A-Za-z0-9_-]+~[A-Za-z0-9_-]+$/);
    expect(c).not.toContain(token);
    expect((await readNotionSecrets({ id: src.id, secretCiphertext: c })).token).toBe(token);
    if (testServerUrl()) {
      // KES (sharing the database) made key "secrets" on first use, owned by this service, and audited the data key.
      expect((await db.sql<{ owner: string }>`SELECT owner FROM kes_keys WHERE name = 'secrets'`)[0]?.owner).toBe("service:sot");
      const audits = await db.sql<{ action: string }>`SELECT action FROM audit_log WHERE target = 'kes-key:secrets' ORDER BY at`;
      expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(["kes.create", "kes.generate", "kes.decrypt"]));
    }
    expect(kes.output()).not.toContain(token);
  });

  it("a ciphertext copied into another source's row does not decrypt, and says so", async () => {
    const a = await createNotionSource(db, { collectionId, name: "A", token: "token-of-a-0000000000" });
    const b = await createNotionSource(db, { collectionId, name: "B", token: "token-of-b-0000000000" });
    const ca = await stored(a.id);
    const cb = await stored(b.id);
    await db.sql`UPDATE sources SET secret_ciphertext = CASE id WHEN ${a.id}::uuid THEN ${cb} ELSE ${ca} END WHERE id IN (${a.id}::uuid, ${b.id}::uuid)`;
    const err = await readNotionSecrets({ id: a.id, secretCiphertext: await stored(a.id) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 422, code: "secret_mismatch" });
    expect((err as Error).message).toContain(`sources row ${a.id}`);
    expect((err as Error).message).toMatch(/copied from another row or altered/);
    expect((err as Error).message).not.toContain("token-of");
    await expect(readNotionSecrets({ id: b.id, secretCiphertext: await stored(b.id) })).rejects.toMatchObject({ status: 422 });
    // In its own row it still reads.
    expect((await readNotionSecrets({ id: a.id, secretCiphertext: ca })).token).toBe("token-of-a-0000000000");
  });

  it("a secret written before KES (sot:v1:) reads through KES and is converted for its row", async () => {
    const id = await legacySource("legacy-token-123456");
    const v1 = await stored(id);
    expect(v1.startsWith(`sot:v1:${master.id}:`)).toBe(true);
    // Read as it is: KES re-seals it for this row (the plaintext never leaves KES until this row's decrypt).
    expect((await readNotionSecrets({ id, secretCiphertext: v1 })).token).toBe("legacy-token-123456");
    expect(await stored(id)).toBe(v1); // reading converts nothing in the database

    const r = await upgradeLegacySecrets(db);
    expect(r.converted).toBe(1);
    expect(r.fields).toEqual([{ table: "sources", field: "secret_ciphertext", converted: 1 }]);
    const v2 = await stored(id);
    expect(v2).toMatch(/^sot:v2:kes:v1:secrets:/);
    expect((await readNotionSecrets({ id, secretCiphertext: v2 })).token).toBe("legacy-token-123456");
    // Now bound to its row: moved elsewhere it fails like any other.
    const other = await createNotionSource(db, { collectionId, name: "Other", token: "other-token-000000000" });
    await expect(readNotionSecrets({ id: other.id, secretCiphertext: v2 })).rejects.toMatchObject({ status: 422, code: "secret_mismatch" });
    // Nothing legacy is left; a second run converts nothing.
    expect((await upgradeLegacySecrets(db)).converted).toBe(0);

    // A legacy value under a master key KES does not hold is refused by KES with the reason.
    const foreign = encryptSecretWith(ringFrom([generateMasterKey()], { kind: "env" }), JSON.stringify({ token: "x" }));
    await expect(readNotionSecrets({ id, secretCiphertext: foreign })).rejects.toMatchObject({ status: 422 });
    await expect(readNotionSecrets({ id, secretCiphertext: foreign })).rejects.toThrow(/legacy secret does not open with KES's master keys/);
  });

  it("KES down: a clear 503, and nothing is written", async () => {
    const legacy = await legacySource("still-legacy-000000");
    const before = await db.prisma.source.count();
    await kes.stop();
    const err = await createNotionSource(db, { collectionId, name: "While down", token: "never-stored-000000" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: "kes_unavailable" });
    expect((err as Error).message).toMatch(/key service .* cannot be reached; nothing was encrypted or decrypted/);
    expect(await db.prisma.source.count()).toBe(before);
    await expect(readNotionSecrets({ id: legacy, secretCiphertext: await stored(legacy) })).rejects.toMatchObject({ status: 503 });
    // The conversion stops at the first row and leaves it as it was (still legacy, still readable later).
    const v1 = await stored(legacy);
    await expect(upgradeLegacySecrets(db)).rejects.toMatchObject({ status: 503 });
    expect(await stored(legacy)).toBe(v1);
  });
});
