// Rewrapping a cubby's values is a background job with progress: an admin starts it (one at a time per
// cubby), a real pg-boss worker runs it, every value ends under the current key version and still opens
// (never decrypted by the job), and the admin view follows it. Real PostgreSQL; KES embedded on it.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { resetConfig } from "@/lib/config";
import { adminKeyAction, adminListCubbies } from "@/lib/cubbies/admin";
import { insertCubby, writeItem } from "@/lib/cubbies/queries";
import { cubbyRewrapJob, getRewrap, runRewrap, startRewrap } from "@/lib/cubbies/rewrap";
import { itemContext } from "@/lib/cubbies/service";
import { getKes, resetKes } from "@/lib/kes/client";
import { trackedRuns } from "@/lib/jobs/tracked-run";
import type { JobQueue } from "@/lib/jobs/queue";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { installQueue, queuedJobs } from "@/tests/helpers/queue";
import { until } from "@/tests/helpers/until";

const N = 30;
let db: TestDb;
let queue: JobQueue;
let admin: AccessContext;
let cubbyId: string;

const versionOf = (ciphertext: string) => Number(ciphertext.split(":")[3]);

beforeAll(async () => {
  process.env.MASTER_KEYS = `rewrap:${randomBytes(32).toString("base64")}`;
  delete process.env.KES_URL;
  resetConfig();
  db = await createTestDb();
  queue = await installQueue(db);
  resetKes();
  admin = await accessOf(db, await makeUser(db, "admin"));
  const kes = await getKes();
  await kes.createKey("cubby.big");
  cubbyId = (await insertCubby(db.sql, "big", "agent:tester"))!;
  for (let i = 0; i < N; i++) {
    const json = JSON.stringify({ i, note: `value ${i}` });
    const ciphertext = await kes.encrypt(Buffer.from(json), { keyId: "cubby.big", context: itemContext(cubbyId, `k${i}`, 1) });
    await writeItem(db.sql, { cubbyId, key: `k${i}`, previous: 0, version: 1, ciphertext, size: json.length, updatedBy: "agent:tester" });
  }
}, 120_000);
afterAll(async () => {
  await queue?.stop();
  await db?.drop();
});

describe("cubby rewrap as a background job", () => {
  it("moves every value to the current key version in a worker, with progress, one run at a time", async () => {
    const rotated = await adminKeyAction(admin, "big", "rotate");
    expect(rotated.currentVersion).toBe(2);

    // Started from the admin action: queued, not done in the request.
    const started = await adminKeyAction(admin, "big", "rewrap");
    expect(started.rewrap).toMatchObject({ cubby: "big", status: "queued", itemsDone: 0, rewrapped: 0 });
    expect(await queuedJobs(db, cubbyRewrapJob.name)).toEqual([expect.objectContaining({ data: { rewrapId: started.rewrap!.id } })]);
    // A second one while it is queued: 409, saying so.
    await expect(startRewrap(admin, "big")).rejects.toMatchObject({ status: 409, message: expect.stringMatching(/already queued/) });
    // Only admins start or read them.
    const viewer = await accessOf(db, await makeUser(db, "viewer"));
    await expect(startRewrap(viewer, "big")).rejects.toMatchObject({ status: 403 });
    await expect(startRewrap(admin, "nothing-here")).rejects.toMatchObject({ status: 404 });

    await queue.work([cubbyRewrapJob]);
    const done = await until("the rewrap to succeed", async () => {
      const r = await getRewrap(admin, started.rewrap!.id);
      return r.status === "succeeded" || r.status === "failed" ? r : null;
    });
    expect(done).toMatchObject({ status: "succeeded", toVersion: 2, itemsTotal: N, itemsDone: N, rewrapped: N, error: null });

    const rows = await db.sql<{ key: string; version: number; ciphertext: string }>`SELECT key, version, ciphertext FROM cubby_items WHERE cubby_id = ${cubbyId}::uuid`;
    expect(rows.every((r) => versionOf(r.ciphertext) === 2)).toBe(true);
    // Still the same values (the job never decrypted them; they open with their context as before).
    const kes = await getKes();
    const k7 = rows.find((r) => r.key === "k7")!;
    expect(JSON.parse((await kes.decrypt(k7.ciphertext, { context: itemContext(cubbyId, "k7", k7.version) })).toString())).toEqual({ i: 7, note: "value 7" });

    // The admin view carries it; retiring the old version is now allowed.
    const [view] = (await adminListCubbies(admin)).filter((c) => c.name === "big");
    expect(view!.rewrap).toMatchObject({ id: started.rewrap!.id, status: "succeeded", rewrapped: N });
    expect(view!.itemsByKeyVersion).toEqual({ "2": N });
    await expect(adminKeyAction(admin, "big", "retire")).resolves.toMatchObject({ minDecryptionVersion: 2 });

    // The audit trail has its start and its end with the counts.
    const audit = await db.sql<{ action: string; details: { rewrapped?: number } }>`
      SELECT action, details FROM audit_log WHERE target = 'cubby:big' AND action LIKE 'cubby.rewrap%' ORDER BY at`;
    expect(audit.map((a) => a.action)).toEqual(["cubby.rewrap.start", "cubby.rewrap"]);
    expect(audit[1]!.details.rewrapped).toBe(N);
  });

  it("a cancelled run is not picked up; a run with nothing to move ends at once", async () => {
    await queue.stop();
    queue = await installQueue(db);
    const r = await startRewrap(admin, "big");
    expect(await trackedRuns("rewrap").cancel(db.sql, r.id, "stopped by a test")).toBe(true);
    expect(await runRewrap(db, r.id)).toBeNull();
    expect(await getRewrap(admin, r.id)).toMatchObject({ status: "failed", error: "Cancelled: stopped by a test" });

    const again = await startRewrap(admin, "big");
    expect(await runRewrap(db, again.id)).toMatchObject({ status: "succeeded", itemsDone: N, rewrapped: 0 });
  });
});
