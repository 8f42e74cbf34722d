// Key rotation end to end: a key file gains a new current key; secrets in the database and backup
// objects are re-wrapped without re-encrypting payloads; a snapshot taken before the rotation still
// restores, with the old key present — and after re-wrapping, with the new key alone.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSnapshot, FolderTarget, loadManifest, restoreSnapshot, verifySnapshot } from "@/lib/backup";
import { objectKey, readObjectEnvelope } from "@/lib/backup/format";
import { parseConfig } from "@/lib/config";
import { loadKeyRing, ringFrom } from "@/lib/crypto/keys";
import { addMasterKey, rewrapBackups, rewrapDatabaseSecrets } from "@/lib/crypto/rotate";
import { decryptSecretWith, encryptSecretWith } from "@/lib/crypto/secrets";
import { openPostgres, type Db } from "@/lib/db/client";
import { createDatabase, dropDatabases, dumpAll, migratedDb, seed, tempDir, type Seeded } from "@/tests/integration/backup-fixtures";

let source: Db;
let seeded: Seeded;
let folder: Awaited<ReturnType<typeof tempDir>>;
let keyDir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  folder = await tempDir();
  keyDir = await tempDir();
  source = await migratedDb();
});
afterAll(async () => {
  await source?.close();
  await dropDatabases();
  await folder?.cleanup();
  await keyDir?.cleanup();
});

async function restoresIdentically(target: FolderTarget, ring: Parameters<typeof restoreSnapshot>[0]["ring"], snapshotId: string) {
  const url = await createDatabase("sot_bk_rot");
  await restoreSnapshot({ target, ring, db: { kind: "postgres", url }, snapshotId });
  const db = await openPostgres(url, { poolSize: 1 });
  try {
    return await dumpAll(db);
  } finally {
    await db.close();
  }
}

describe("master key rotation", () => {
  it("rotates a key file, re-wraps DB secrets and backups, and old snapshots keep restoring", async () => {
    const config = parseConfig({ DATA_DIR: keyDir.dir, MASTER_KEY_FILE: path.join(keyDir.dir, "keys") });
    // First key: created through the same path as `keys:rotate` on an empty file.
    const { ring: ring1 } = await addMasterKey(config);
    expect((await stat(path.join(keyDir.dir, "keys"))).mode & 0o777).toBe(0o600);
    const k1 = ring1.current;
    seeded = await seed(source, ring1);
    const webhook = encryptSecretWith(ring1, "webhook-verification-token");
    await source.sql.query(`UPDATE sources SET config = jsonb_build_object('note', 'clear'), name = 'Wiki' WHERE id = $1`, [seeded.sourceId]);

    const target = new FolderTarget(folder.dir);
    const old = await createSnapshot({ db: source, target, ring: ring1 });
    const before = await dumpAll(source);
    const someHash = (await loadManifest(target, ring1, old.snapshotId)).tables.find((t) => t.name === "chunks")!.objects[0][0];
    const oldObject = readObjectEnvelope(objectKey(someHash), (await target.get(objectKey(someHash)))!);

    // Rotate: k2 becomes current, k1 stays in the file.
    const { ring: ring2, added } = await addMasterKey(config);
    expect(ring2.current.id).toBe(added.id);
    expect(ring2.byId.has(k1.id)).toBe(true);
    const reloaded = await loadKeyRing(config);
    expect(reloaded.current.id).toBe(added.id);
    const file = await readFile(path.join(keyDir.dir, "keys"), "utf8");
    expect(file.indexOf(k1.id)).toBeLessThan(file.indexOf(added.id));

    // Old snapshot restores under the rotated ring (k1 still readable).
    expect(await restoresIdentically(target, ring2, old.snapshotId)).toEqual(before);

    // DB secrets re-wrapped: key id changes, payload does not, value still decrypts.
    const [{ c: beforeSecret }] = await source.sql.query<{ c: string }>(`SELECT secret_ciphertext AS c FROM sources WHERE id = $1`, [seeded.sourceId]);
    const r = await rewrapDatabaseSecrets(source, ring2);
    expect(r.columns).toEqual([{ table: "sources", column: "secret_ciphertext", rewrapped: 1 }]);
    const [{ c: afterSecret }] = await source.sql.query<{ c: string }>(`SELECT secret_ciphertext AS c FROM sources WHERE id = $1`, [seeded.sourceId]);
    expect(afterSecret.startsWith(`sot:v1:${added.id}:`)).toBe(true);
    expect(afterSecret.split(":").slice(4)).toEqual(beforeSecret.split(":").slice(4)); // nonce, ciphertext, tag unchanged
    expect(decryptSecretWith(ringFrom([added], { kind: "env" }), afterSecret)).toBe(seeded.secretPlain);
    expect((await rewrapDatabaseSecrets(source, ring2)).rewrapped).toBe(0); // idempotent
    expect(decryptSecretWith(ring2, webhook)).toBe("webhook-verification-token");

    // Backups re-wrapped: same ciphertext bytes, new key id; then k1 is no longer needed.
    const rb = await rewrapBackups(target, ring2);
    expect(rb.objects).toBe(old.objectsUploaded);
    expect(rb.manifests).toBe(1);
    const newObject = readObjectEnvelope(objectKey(someHash), (await target.get(objectKey(someHash)))!);
    expect(newObject.keyId).toBe(added.id);
    expect(newObject.ciphertext.equals(oldObject.ciphertext)).toBe(true);
    expect(newObject.tag.equals(oldObject.tag)).toBe(true);
    const onlyNew = ringFrom([added], { kind: "env" });
    await verifySnapshot({ target, ring: onlyNew, snapshotId: old.snapshotId });
    expect(await restoresIdentically(target, onlyNew, old.snapshotId)).toEqual(before);
    // …and without k2, the re-wrapped snapshot is refused by name.
    await expect(verifySnapshot({ target, ring: ringFrom([k1], { kind: "env" }), snapshotId: old.snapshotId })).rejects.toThrow(
      new RegExp(`master key "${added.id}", which is not configured`),
    );
  });
});
