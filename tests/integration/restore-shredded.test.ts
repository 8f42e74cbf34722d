// A shred holds for backups too, and a restore says which cubbies came back unreadable: restoring (over
// the database that saw the shred) a snapshot taken before it shreds the key again; a snapshot taken
// after it restores the values as they are, unreadable. Real PostgreSQL, folder target, KES on the
// database as the embedded default runs it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSnapshot, FolderTarget, restoreSnapshot } from "@/lib/backup";
import { adminUnreadableCubbies } from "@/lib/cubbies/admin";
import { insertCubby, writeItem } from "@/lib/cubbies/queries";
import { itemContext } from "@/lib/cubbies/service";
import { openPostgres, type Db } from "@/lib/db/client";
import type { KesClient } from "@/lib/kes/client";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createDatabase, dropDatabases, migratedDb, tempDir, testKes, testRing } from "@/tests/integration/backup-fixtures";

const ring = testRing();
let source: Db;
let kes: KesClient;
let folder: Awaited<ReturnType<typeof tempDir>>;
let target: FolderTarget;
const opened: Db[] = [];
const ids: Record<string, string> = {};

async function cubbyWithValue(name: string, value: unknown): Promise<void> {
  await kes.createKey(`cubby.${name}`);
  const id = (await insertCubby(source.sql, name, "agent:tester"))!;
  ids[name] = id;
  const ciphertext = await kes.encrypt(Buffer.from(JSON.stringify(value)), { keyId: `cubby.${name}`, context: itemContext(id, "state", 1) });
  await writeItem(source.sql, { cubbyId: id, key: "state", previous: 0, version: 1, ciphertext, size: 10, updatedBy: "agent:tester" });
}

async function valueIn(db: Db, name: string): Promise<unknown> {
  const [row] = await db.sql<{ ciphertext: string }>`SELECT i.ciphertext FROM cubby_items i JOIN cubbies c ON c.id = i.cubby_id WHERE c.name = ${name}`;
  const plain = await testKes(db, ring).decrypt(row!.ciphertext, { context: itemContext(ids[name]!, "state", 1) });
  return JSON.parse(plain.toString("utf8"));
}

beforeAll(async () => {
  source = await migratedDb();
  kes = testKes(source, ring);
  folder = await tempDir();
  target = new FolderTarget(folder.dir);
  await cubbyWithValue("notes", { secret: "N-1" });
  await cubbyWithValue("kept", { fine: true });
}, 120_000);
afterAll(async () => {
  await Promise.all([source, ...opened].map((d) => d?.close()));
  await dropDatabases();
  await folder?.cleanup();
});

describe("restoring values of a shredded cubby", () => {
  it("a snapshot from before the shred, restored over the database that saw it, shreds the key again and names the cubby", async () => {
    const before = await createSnapshot({ db: source, target, ring, kes });
    await kes.shred("cubby.notes");

    const r = await restoreSnapshot({ target, ring, db: { kind: "postgres", url: source.url! }, snapshotId: before.snapshotId, force: true });
    expect(r.reshreddedKeys).toEqual(["cubby.notes"]);
    expect(r.unreadableCubbies).toEqual([{ name: "notes", items: 1 }]);

    const db = await openPostgres(source.url!, { poolSize: 2 });
    opened.push(db);
    // The restored ciphertext is there, and never opens again; the other cubby is untouched.
    await expect(valueIn(db, "notes")).rejects.toMatchObject({ status: 410, code: "key_shredded" });
    expect(await valueIn(db, "kept")).toEqual({ fine: true });
    const [{ n }] = await db.sql<{ n: number }>`SELECT count(*)::int AS n FROM kes_key_versions v JOIN kes_keys k ON k.id = v.key_id WHERE k.name = 'cubby.notes' AND v.material IS NOT NULL`;
    expect(n).toBe(0);
    // The backup page's list (admins only).
    const admin = await makeUser(db, "admin");
    expect(await adminUnreadableCubbies(await accessOf(db, admin))).toEqual([{ name: "notes", items: 1 }]);
    const viewer = await makeUser(db, "viewer");
    await expect(adminUnreadableCubbies(await accessOf(db, viewer))).rejects.toMatchObject({ status: 403 });
  });

  it("a snapshot from after the shred, restored into an empty database, names the cubby too", async () => {
    const after = await createSnapshot({ db: source, target, ring, kes });
    const url = await createDatabase("sot_bk_shred");
    const r = await restoreSnapshot({ target, ring, db: { kind: "postgres", url }, snapshotId: after.snapshotId });
    expect(r.reshreddedKeys).toEqual([]);
    expect(r.unreadableCubbies).toEqual([{ name: "notes", items: 1 }]);
    const db = await openPostgres(url, { poolSize: 2 });
    opened.push(db);
    await expect(valueIn(db, "notes")).rejects.toMatchObject({ status: 410 });
    expect(await valueIn(db, "kept")).toEqual({ fine: true });
  });
});
