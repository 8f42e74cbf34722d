// Notifications end to end on PostgreSQL and the real job queue: targets configured by an admin (secrets
// encrypted at rest, never shown), events delivered by the `notify.deliver` job to a Discord-style
// receiver, a signed generic webhook and a real SMTP server (through nodemailer), retried when the far side
// fails — and no body ever carries text of a restricted collection (the canary of the leak test).
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { requestApproval, startEvaluationRunOrAskApproval } from "@/lib/approvals";
import { resetConfig } from "@/lib/config";
import { generateMasterKey, resetKeyRing } from "@/lib/crypto/keys";
import { ForbiddenError } from "@/lib/errors";
import { createDataset } from "@/lib/evaluate/datasets";
import { insightFigures } from "@/lib/insights/figures";
import { sendDigest } from "@/lib/insights/digest";
import type { JobQueue } from "@/lib/jobs/queue";
import { createTarget, deliverNotificationJob, listDeliveries, listTargets, notify, updateTarget, type NotificationEvent } from "@/lib/notify";
import { signWebhook } from "@/lib/notify/channels";
import { getExecutor } from "@/lib/schedules/engine";
import { createSchedule, getScheduleHistory, runScheduleNow } from "@/lib/schedules/service";
import { createScheduleBody } from "@/lib/schedules/rules";
import { parseWith } from "@/lib/http/route";
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from "@/tests/fakes/notify-receivers";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { newCanary } from "@/tests/helpers/canary";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { installQueue } from "@/tests/helpers/queue";
import { until } from "@/tests/helpers/until";

const saved = { ...process.env };
const item = (question: string, referenceAnswer: string | null = null) => ({ question, referenceAnswer, expectedSources: [] });
let db: TestDb;
let queue: JobQueue;
let admin: AccessContext;
let discord: HttpReceiver;
let hook: HttpReceiver;
let smtp: SmtpReceiver;
let signingSecret: string;
const targetIds: Record<string, string> = {};

const allDelivered = () => until("every delivery to end", async () => (await db.prisma.notificationDelivery.count({ where: { status: "queued" } })) === 0);

/** Everything the three receivers got, as text. */
function everythingReceived(): string {
  return [...discord.received, ...hook.received].map((r) => `${r.path}\n${JSON.stringify(r.headers)}\n${r.body}`).concat(smtp.mails.map((m) => m.raw)).join("\n\n");
}

beforeAll(async () => {
  const k = generateMasterKey();
  process.env.MASTER_KEYS = `${k.id}:${k.key.toString("base64")}`;
  process.env.OUTBOUND_ALLOW = "127.0.0.1";
  process.env.PUBLIC_URL = "https://sot.example.test";
  process.env.APPROVAL_RUN_ITEMS = "1";
  process.env.LOG_QUERY_TEXT = "true";
  resetConfig();
  resetKeyRing();
  db = await createTestDb();
  queue = await installQueue(db);
  await queue.work([deliverNotificationJob]);
  admin = await accessOf(db, await makeUser(db, "admin"));
  [discord, hook, smtp] = await Promise.all([startHttpReceiver(), startHttpReceiver(), startSmtpReceiver({ user: "sot", password: "smtp-pass-123" })]);
}, 120_000);

afterAll(async () => {
  await queue?.stop();
  await Promise.all([discord?.close(), hook?.close(), smtp?.close()]);
  await db?.drop();
  process.env = { ...saved };
  resetConfig();
  resetKeyRing();
});

describe("targets", () => {
  it("an admin configures Discord, a signed webhook and e-mail; secrets are encrypted at rest and never shown", async () => {
    const d = await createTarget(admin, { kind: "discord", name: "Ops channel", url: `${discord.url}/api/webhooks/123/discord-token-abc`, events: [] });
    const w = await createTarget(admin, { kind: "webhook", name: "Pager", url: `${hook.url}/hooks/sot?token=hook-token-xyz`, events: [] });
    const e = await createTarget(admin, {
      kind: "email",
      name: "Editors",
      host: smtp.host,
      port: smtp.port,
      secure: false,
      username: "sot",
      password: "smtp-pass-123",
      from: "sot@example.test",
      to: ["editors@example.test", "admin@example.test"],
      events: [],
    });
    expect(w.signingSecret).toMatch(/^whsec_/);
    signingSecret = w.signingSecret!;
    Object.assign(targetIds, { discord: d.id, webhook: w.id, email: e.id });
    expect(d.destination).toBe(new URL(discord.url).host);
    expect(e.destination).toBe(`2 recipients via ${smtp.host}:${smtp.port}`);

    const rows = await db.prisma.notificationTarget.findMany();
    const atRest = JSON.stringify(rows);
    for (const secret of ["discord-token-abc", "hook-token-xyz", "smtp-pass-123", signingSecret]) expect(atRest).not.toContain(secret);
    expect(rows.every((r) => r.secret.startsWith("sot:v2:kes:v1:secrets:"))).toBe(true);
    const shown = JSON.stringify(await listTargets(admin));
    for (const secret of ["discord-token-abc", "hook-token-xyz", "smtp-pass-123", signingSecret]) expect(shown).not.toContain(secret);
  });

  it("refuses non-admins and addresses the outbound guard does not allow", async () => {
    const viewer = await accessOf(db, await makeUser(db, "viewer"));
    await expect(listTargets(viewer)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(createTarget(viewer, { kind: "discord", name: "x", url: `${discord.url}/api/webhooks/1/x`, events: [] })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(createTarget(admin, { kind: "webhook", name: "metadata", url: "http://169.254.169.254/latest", events: [] })).rejects.toMatchObject({ status: 400 });
  });
});

describe("delivery", () => {
  it("delivers an event to every target: Discord text, a webhook signed with HMAC-SHA256, an e-mail through SMTP", async () => {
    const event: NotificationEvent = { kind: "backup.failed", backupId: "8a0c6c1e-3f7f-4b53-9d1e-3d6c1b0e6a11", trigger: "schedule" };
    expect(await notify(event, { db })).toHaveLength(3);
    await Promise.all([discord.waitFor(1), hook.waitFor(1), smtp.waitFor(1)]);

    expect(discord.received[0]!.path).toBe("/api/webhooks/123/discord-token-abc");
    const content = JSON.parse(discord.received[0]!.body) as { content: string; allowed_mentions: unknown };
    expect(content.content).toContain("**Backup failed**");
    expect(content.content).toContain("https://sot.example.test/admin/backups");
    expect(content.allowed_mentions).toEqual({ parse: [] });

    const req = hook.received[0]!;
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({ event: "backup.failed", backupId: event.backupId, trigger: "schedule", link: "https://sot.example.test/admin/backups" });
    expect(req.headers["x-sot-event"]).toBe("backup.failed");
    // What docs/approvals-notifications.md tells receivers to do: recompute the HMAC over "<t>.<raw body>".
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.headers["x-sot-signature"]!)!;
    expect(createHmac("sha256", signingSecret).update(`${t}.${req.body}`).digest("hex")).toBe(v1);
    expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(120);
    expect(signWebhook("another secret", req.body, new Date(Number(t) * 1000))).not.toBe(req.headers["x-sot-signature"]);

    const mail = smtp.mails[0]!;
    expect(mail.to.sort()).toEqual(["admin@example.test", "editors@example.test"]);
    expect(mail.raw).toMatch(/^Subject: Backup failed/m);
    expect(mail.raw).toContain("https://sot.example.test/admin/backups");

    await allDelivered();
    const deliveries = await listDeliveries(admin);
    expect(deliveries.filter((d) => d.eventKind === "backup.failed").map((d) => d.status)).toEqual(["sent", "sent", "sent"]);
  });

  it("retries a delivery the receiver refused, and records it sent once it went through", async () => {
    hook.status = 500;
    const before = hook.received.length;
    const [, webhookDelivery] = await notify({ kind: "import.failed", importJobId: "0d4b0a55-8a8e-4c0e-9d55-7a0c3f1f8f10", sourceId: "5b7b3c2e-1c54-4a53-8b8c-7f3f3f2b9a01", done: 3, failed: 2, trigger: "webhook" }, { db })
      .then(async (ids) => {
        const rows = await db.prisma.notificationDelivery.findMany({ where: { id: { in: ids } }, select: { id: true, targetId: true } });
        return [rows, rows.find((r) => r.targetId === targetIds.webhook)!.id] as const;
      });
    await until("a failed attempt", async () => ((await db.prisma.notificationDelivery.findUniqueOrThrow({ where: { id: webhookDelivery } })).attempts ?? 0) >= 1);
    const failing = await db.prisma.notificationDelivery.findUniqueOrThrow({ where: { id: webhookDelivery } });
    expect(failing).toMatchObject({ status: "queued", error: `${new URL(hook.url).host} answered HTTP 500` });
    hook.status = 204;
    await until("the retry to go through", async () => (await db.prisma.notificationDelivery.findUniqueOrThrow({ where: { id: webhookDelivery } })).status === "sent");
    expect(hook.received.length).toBe(before + 1);
  }, 90_000);

  it("a target receives only the kinds it chose; a disabled one nothing", async () => {
    await updateTarget(admin, targetIds.discord!, { events: ["digest"] });
    await updateTarget(admin, targetIds.email!, { enabled: false });
    const ids = await notify({ kind: "breaker.opened", model: "llama3.3:70b-instruct-q4_K_M", failures: 3, retryAt: new Date().toISOString() }, { db });
    const rows = await db.prisma.notificationDelivery.findMany({ where: { id: { in: ids } }, select: { targetId: true } });
    expect(rows.map((r) => r.targetId)).toEqual([targetIds.webhook]);
    await updateTarget(admin, targetIds.discord!, { events: [] });
    await updateTarget(admin, targetIds.email!, { enabled: true });
    await allDelivered();
  });

  it("refuses an event that carries anything but ids, counts and statuses", async () => {
    const smuggled = { kind: "backup.failed", backupId: "8a0c6c1e-3f7f-4b53-9d1e-3d6c1b0e6a11", trigger: "manual", error: "wiki text here" } as unknown as NotificationEvent;
    expect(await notify(smuggled, { db })).toEqual([]);
    const prose = { kind: "breaker.opened", model: "What is the vault code?", failures: 1, retryAt: new Date().toISOString() } as NotificationEvent;
    expect(await notify(prose, { db })).toEqual([]);
  });
});

describe("the digest schedule target", () => {
  it("a daily digest schedule sends the figures, as the user it runs as, to every target that takes digests", async () => {
    const before = hook.received.length;
    const schedule = await createSchedule(admin, parseWith(createScheduleBody, { name: "Daily digest", target: { kind: "digest", config: { period: "daily" } }, intervalMinutes: 1440 }, "body"));
    expect(schedule.target.summary).toBe("Daily digest to notification targets");
    await runScheduleNow(admin, schedule.id);
    await getExecutor(db).drain();
    const [run] = await getScheduleHistory(admin, schedule.id);
    expect(run).toMatchObject({ status: "succeeded", result: { kind: "notification_deliveries", id: "3" } });
    await allDelivered();
    const digest = hook.received.slice(before).map((r) => JSON.parse(r.body)).find((b) => b.event === "digest");
    expect(digest).toMatchObject({ period: "daily", title: "SOT daily digest", link: "https://sot.example.test/insights?days=1" });
    expect(typeof digest.questions).toBe("number");
    // A bad period is refused where the schedule is saved, naming the field.
    await expect((async () => createSchedule(admin, parseWith(createScheduleBody, { name: "Bad", target: { kind: "digest", config: { period: "hourly" } }, intervalMinutes: 60 }, "body")))()).rejects.toMatchObject({
      status: 400,
      details: expect.arrayContaining([expect.objectContaining({ path: "target.config.period" })]),
    });
  });
});

describe("no collection text in any notification", () => {
  it("approval, run, import and digest notifications about a restricted collection carry no canary", async () => {
    const canary = newCanary();
    // A restricted collection whose page, dataset, logged question and feedback carry the canary.
    const R = await db.prisma.collection.create({ data: { slug: `r-${canary.base}`, name: `Vault ${canary.tag("doc")}`, restricted: true } });
    const source = await db.prisma.source.create({ data: { collectionId: R.id, kind: "upload", name: `vault-${canary.tag("audit")}` } });
    await db.prisma.document.create({
      data: { collectionId: R.id, sourceId: source.id, externalId: `vault-${canary.tag("audit")}.md`, title: `Vault ${canary.tag("doc")}`, contentHash: "x" },
    });
    const member = await makeUser(db, "evaluator");
    await db.prisma.collectionMember.create({ data: { collectionId: R.id, userId: member.id } });
    const memberCtx = await accessOf(db, member);
    const log = await db.prisma.queryLog.create({
      data: { userId: member.id, question: `What is the vault code phrase (${canary.tag("log")})?`, questionSha256: "h", collectionIds: [R.id], status: "ok", covered: false },
    });
    await db.prisma.answerFeedback.create({ data: { queryLogId: log.id, userId: member.id, rating: -1, comment: canary.tag("fb"), question: canary.tag("log") } });
    const ds = await createDataset(memberCtx, {
      name: `Vault checks ${canary.tag("item")}`,
      collectionIds: [R.id],
      items: [item(`Vault code? ${canary.tag("item")}`, canary.tag("item")), item(`Who recites it? ${canary.tag("item")}`)],
    });

    const before = everythingReceived().length;
    // Events about R's data, raised the way the app raises them.
    const gated = await startEvaluationRunOrAskApproval(memberCtx, { datasetId: ds.id });
    if (gated.kind !== "approval") throw new Error("expected the run to wait for approval (APPROVAL_RUN_ITEMS=1)");
    await requestApproval(admin, "source.delete", { sourceId: source.id });
    await notify({ kind: "evaluation_run.finished", runId: "3f0d1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", status: "completed", itemCount: 2, errorCount: 0, avgHallucination: 2.5, target: 4, belowTarget: true }, { db });
    await notify({ kind: "import.failed", importJobId: "0d4b0a55-8a8e-4c0e-9d55-7a0c3f1f8f10", sourceId: source.id, done: 1, failed: 1, trigger: "manual" }, { db });
    expect((await sendDigest(admin, "weekly")).deliveries).toBe(3);
    await allDelivered();
    await Promise.all([discord.waitFor(discord.received.length), smtp.waitFor(smtp.mails.length)]);

    // The control: R's text is there to be leaked — an admin's Insights figures show the uncovered question.
    const figures = await insightFigures(admin, { days: 7 });
    expect(canary.find(JSON.stringify(figures))).toContain("log");
    expect(figures.notCovered).toBeGreaterThanOrEqual(1);
    expect(figures.thumbsDown).toBeGreaterThanOrEqual(1);

    const received = everythingReceived();
    expect(received.length).toBeGreaterThan(before);
    expect(received).toContain("SOT weekly digest");
    expect(received).toContain("Approval requested");
    expect(canary.find(received)).toEqual([]);
    // Nor does the database keep such text for later sending.
    expect(canary.find(JSON.stringify(await db.prisma.notificationDelivery.findMany({ select: { event: true } })))).toEqual([]);
  }, 90_000);
});
