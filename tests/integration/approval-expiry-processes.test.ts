// Expiry with two real scheduler processes (workers/scheduler.ts, spawned as children) sweeping one
// PostgreSQL database: every request past its time becomes "expired" exactly once — one audit entry and
// one notification each — and an expired request can no longer be approved or carried out.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { decideApproval, requestApproval, runApproved } from "@/lib/approvals";
import { resetConfig } from "@/lib/config";
import { generateMasterKey, resetKeyRing } from "@/lib/crypto/keys";
import { ConflictError } from "@/lib/errors";
import { createTarget } from "@/lib/notify";
import { startHttpReceiver, type HttpReceiver } from "@/tests/fakes/notify-receivers";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { installQueue } from "@/tests/helpers/queue";
import { spawnScheduler, type SchedulerProcess as Proc } from "@/tests/helpers/scheduler-process";
import type { JobQueue } from "@/lib/jobs/queue";

const REQUESTS = 60;

const saved = { ...process.env };
let db: TestDb;
let queue: JobQueue;
let requester: AccessContext;
let approver: AccessContext;
let receiver: HttpReceiver;
let procs: Proc[] = [];

beforeAll(async () => {
  const k = generateMasterKey();
  process.env.MASTER_KEYS = `${k.id}:${k.key.toString("base64")}`;
  process.env.OUTBOUND_ALLOW = "127.0.0.1";
  resetConfig();
  resetKeyRing();
  db = await createTestDb();
  if (!db.url) throw new Error("This test runs several processes on one database: set TEST_DATABASE_URL.");
  queue = await installQueue(db);
  requester = await accessOf(db, await makeUser(db, "admin"));
  approver = await accessOf(db, await makeUser(db, "admin"));
  receiver = await startHttpReceiver();
  await createTarget(approver, { kind: "webhook", name: "expiry watcher", url: `${receiver.url}/expired`, events: ["approval.decided"] });
  procs = await Promise.all([spawnScheduler(db.url, { SCHEDULER_POLL_MS: "50" }), spawnScheduler(db.url, { SCHEDULER_POLL_MS: "50" })]);
}, 180_000);

afterAll(async () => {
  for (const p of procs) p.child.kill("SIGTERM");
  expect(await Promise.all(procs.map((p) => p.exited))).toEqual(procs.map(() => 0));
  await queue?.stop();
  await receiver?.close();
  await db?.drop();
  process.env = { ...saved };
  resetConfig();
  resetKeyRing();
});

it("two scheduler processes expire each overdue request exactly once, and it fails closed", async () => {
  const pending: string[] = [];
  for (let i = 0; i < REQUESTS; i++) pending.push((await requestApproval(requester, "kes.key.shred", { keyName: `tenant-${i}` })).id);
  const approved = (await requestApproval(requester, "kes.key.rotate", { keyName: "tenant-approved" })).id;
  await decideApproval(approver, approved, { decision: "approve", comment: "rotate tonight" });
  const all = [...pending, approved];

  // Every request falls due at the same moment, with both processes polling every 50 ms.
  await db.prisma.approval.updateMany({ where: { id: { in: all } }, data: { expiresAt: new Date(Date.now() - 1000) } });
  const end = Date.now() + 60_000;
  while ((await db.prisma.approval.count({ where: { id: { in: all }, status: "expired" } })) < all.length) {
    if (Date.now() > end) throw new Error(`not every request expired:\n${procs.map((p) => p.output.slice(-2000)).join("\n")}`);
    await sleep(100);
  }
  const expiredDeliveries = () => db.prisma.notificationDelivery.count({ where: { eventKind: "approval.decided", event: { path: ["status"], equals: "expired" } } });
  while ((await expiredDeliveries()) < all.length) {
    if (Date.now() > end) throw new Error(`not every expiry was notified:\n${procs.map((p) => p.output.slice(-2000)).join("\n")}`);
    await sleep(100);
  }
  await sleep(500); // more polls by both: nothing more happens

  const audits = await db.prisma.auditLog.groupBy({ by: ["target"], where: { action: "approval.expire" }, _count: { _all: true } });
  expect(audits).toHaveLength(all.length);
  expect(audits.every((a) => a._count._all === 1)).toBe(true);
  const deliveries = await db.prisma.notificationDelivery.findMany({ where: { eventKind: "approval.decided" }, select: { event: true } });
  const expiredEvents = deliveries.map((d) => d.event as { approvalId: string; status: string }).filter((e) => e.status === "expired");
  expect(expiredEvents).toHaveLength(all.length);
  expect(new Set(expiredEvents.map((e) => e.approvalId)).size).toBe(all.length);
  // Each process logs how many requests its sweeps expired: together, exactly one per request.
  const swept = procs.map((p) =>
    [...p.output.matchAll(/"msg":"approval requests expired","count":(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0),
  );
  expect(swept.reduce((a, b) => a + b, 0)).toBe(all.length);

  // Fails closed: an expired request cannot be approved, and the approved one cannot be carried out.
  await expect(decideApproval(approver, pending[0]!, { decision: "approve", comment: "too late" })).rejects.toBeInstanceOf(ConflictError);
  let ran = false;
  await expect(
    runApproved(db, { approvalId: approved, action: "kes.key.rotate", args: { keyName: "tenant-approved" }, executedBy: "test" }, async () => {
      ran = true;
    }),
  ).rejects.toThrow(/expired/);
  expect(ran).toBe(false);
}, 180_000);
