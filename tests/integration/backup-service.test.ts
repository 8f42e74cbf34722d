// The backup service: a recorded backup runs to the end with progress and history, a second one is
// refused while the first is active, and a failing target is recorded with its message.
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBackupRecord, FolderTarget, getBackup, listBackups, runBackup, verifySnapshot } from "@/lib/backup";
import { kesFor } from "@/lib/backup/naming";
import { openPayloadKeys } from "@/lib/backup/payload-keys";
import type { SnapshotProgress } from "@/lib/backup/snapshot";
import { resetKes } from "@/lib/kes/client";
import { resetConfig } from "@/lib/config";
import { generateMasterKey, getKeyRing, resetKeyRing } from "@/lib/crypto/keys";
import type { AccessContext } from "@/lib/access/context";
import type { Db } from "@/lib/db/client";
import { ConflictError, ForbiddenError, NotFoundError } from "@/lib/errors";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { dropDatabases, migratedDb, seed, tempDir } from "@/tests/integration/backup-fixtures";

let db: Db;
let admin: AccessContext;
let folder: Awaited<ReturnType<typeof tempDir>>;
const saved = { ...process.env };

beforeAll(async () => {
  folder = await tempDir();
  const k = generateMasterKey();
  process.env.MASTER_KEYS = `${k.id}:${k.key.toString("base64")}`;
  process.env.DATA_DIR = folder.dir;
  delete process.env.DATABASE_URL;
  resetConfig();
  resetKeyRing();
  db = await migratedDb();
  await seed(db, await getKeyRing(), { documents: 4, chunksPerDoc: 2 });
  admin = await accessOf(db, await makeUser(db, "admin"));
});
afterAll(async () => {
  process.env = { ...saved };
  resetConfig();
  resetKeyRing();
  await db?.close();
  await dropDatabases();
  await folder?.cleanup();
});

describe("backup service", () => {
  it("records progress and the outcome; refuses a second backup while one is active", async () => {
    const target = new FolderTarget(path.join(folder.dir, "backups"));
    const id = await createBackupRecord(db, "manual", null, target);
    expect((await getBackup(admin, id)).status).toBe("queued");
    await expect(createBackupRecord(db, "schedule", null, target)).rejects.toThrow(ConflictError);

    const seen: SnapshotProgress[] = [];
    const view = await runBackup(id, { db, target, onProgress: (p) => seen.push(p) });
    expect(view.status).toBe("succeeded");
    expect(view.error).toBeNull();
    expect(view.snapshotId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(view.rowsDone).toBe(view.rowsTotal);
    expect(view.rowsTotal).toBeGreaterThanOrEqual(15);
    expect(view.objectsUploaded).toBe(view.objectsTotal);
    expect(view.bytesUploaded).toBeGreaterThan(0);
    expect(view.finishedAt).not.toBeNull();
    expect(seen.at(-1)?.rowsDone).toBe(view.rowsTotal);
    // Sealed under a data key of KES key "backups" (KES inside this process on the embedded default).
    const kes = await kesFor(db, await getKeyRing());
    await verifySnapshot({ target, ring: await openPayloadKeys(target, kes, null), snapshotId: view.snapshotId! });

    // Finished: a new one may start, and it is incremental.
    const id2 = await createBackupRecord(db, "schedule", "5f0b7c36-2c1e-4d3b-9a57-0b9d2c1d8e11", target);
    const v2 = await runBackup(id2, { db, target, now: new Date(Date.now() + 2000) });
    expect(v2.status).toBe("succeeded");
    // Only what changed since: the key service's audit entries for the first backup's keys.
    expect(v2.rowsDone).toBeLessThanOrEqual(6);
    expect(v2.objectsUploaded).toBeLessThanOrEqual(2);
    expect(v2.scheduleRunId).toBe("5f0b7c36-2c1e-4d3b-9a57-0b9d2c1d8e11");
    // Running it again is a no-op (already done).
    expect((await runBackup(id2, { db, target })).snapshotId).toBe(v2.snapshotId);
    expect((await listBackups(admin, { limit: 10 })).map((b) => b.id)).toEqual([id2, id]);
  });

  it("a backup whose worker died, or that no worker took, stops blocking new ones and says why", async () => {
    const target = new FolderTarget(path.join(folder.dir, "backups"));
    const [dead] = await db.sql.query<{ id: string }>(
      `INSERT INTO backups (trigger, target, status, phase, started_at, heartbeat_at) VALUES ('manual', 'x', 'running', 'reading', now() - interval '1 hour', now() - interval '11 minutes') RETURNING id::text`,
    );
    await expect(createBackupRecord(db, "manual", null, target)).resolves.toMatch(/^[0-9a-f-]{36}$/);
    const failed = await getBackup(admin, dead.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/stopped reporting/);
    // The one just created was never run: once old enough it is failed with a hint about the worker.
    await db.sql.query(`UPDATE backups SET created_at = now() - interval '11 minutes' WHERE status = 'queued'`);
    const third = await createBackupRecord(db, "manual", null, target);
    const old = (await listBackups(admin, { limit: 10 })).find((b) => b.status === "failed" && /No backup worker/.test(b.error ?? ""));
    expect(old).toBeDefined();
    await db.sql.query(`UPDATE backups SET status = 'failed', phase = 'done' WHERE id = $1::uuid`, [third]);
  });

  it("KES down: the backup fails with the reason and writes nothing to the target", async () => {
    const dir = path.join(folder.dir, "kes-down");
    const target = new FolderTarget(dir);
    Object.assign(process.env, { KES_URL: "http://127.0.0.1:9", KES_TOKEN: "t".repeat(32), KES_TIMEOUT_MS: "1000" });
    resetConfig();
    resetKes();
    try {
      const id = await createBackupRecord(db, "manual", null, target);
      const view = await runBackup(id, { db, target });
      expect(view.status).toBe("failed");
      expect(view.error).toMatch(/^The key service at http:\/\/127\.0\.0\.1:9 cannot be reached; nothing was encrypted or decrypted\.$/);
      expect(view.snapshotId).toBeNull();
      expect(await readdir(dir).catch(() => [])).toEqual([]);
    } finally {
      for (const k of ["KES_URL", "KES_TOKEN", "KES_TIMEOUT_MS"]) delete process.env[k];
      resetConfig();
      resetKes();
    }
  });

  it("a target that cannot be written records a failed backup with the reason", async () => {
    // A regular file where the backup folder should be: unwritable even for root.
    const file = path.join(folder.dir, "not-a-folder");
    await writeFile(file, "x");
    const target = new FolderTarget(file);
    const id = await createBackupRecord(db, "manual", null, target);
    const view = await runBackup(id, { db, target });
    expect(view.status).toBe("failed");
    expect(view.error).toMatch(/ENOTDIR|EEXIST/);
    expect(view.finishedAt).not.toBeNull();
    expect(view.snapshotId).toBeNull();
  });

  it("reads backups for admins only, and answers an id that names no backup with 404", async () => {
    const viewer = await accessOf(db, await makeUser(db, "viewer"));
    await expect(listBackups(viewer)).rejects.toThrow(ForbiddenError);
    const [any] = await listBackups(admin, { limit: 1 });
    await expect(getBackup(viewer, any!.id)).rejects.toThrow(ForbiddenError);
    await expect(getBackup(admin, "not-a-backup")).rejects.toThrow(NotFoundError);
    await expect(getBackup(admin, "00000000-0000-4000-8000-000000000000")).rejects.toThrow(NotFoundError);
    // The view's times are ISO strings (the same JSON the API sends), its byte counters numbers.
    expect(any!.createdAt).toBe(new Date(any!.createdAt).toISOString());
    expect(typeof any!.bytesTotal).toBe("number");
    await expect(listBackups(admin, { limit: 0 })).rejects.toThrow();
  });
});
