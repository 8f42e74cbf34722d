import { randomBytes, randomUUID } from "node:crypto";
import { signWebhookPayload } from "@notionhq/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseConfig, resetConfig } from "@/lib/config";
import { createNotionSource, readNotionSecrets } from "@/lib/ingest/notion";
import {
  clearWebhookVerificationToken,
  flushNotionWebhooks,
  openWebhookHandshake,
  receiveNotionWebhook,
  webhookState,
} from "@/lib/ingest/notion-webhook";
import { Llm } from "@/lib/llm";
import { nid, startFakeNotion, type FakeNotion } from "@/tests/fakes/notion";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { installQueue, queuedJobs } from "@/tests/helpers/queue";
import { makeCollection } from "@/tests/helpers/factories";
import type { JobQueue } from "@/lib/jobs/queue";

let db: TestDb;
let queue: JobQueue;
let notion: FakeNotion;
let ollama: FakeOllama;
let llm: Llm;
let sourceId: string;
let collectionId: string;
const VERIFY = "secret_verification_token_abc123";
const PAGE = nid(1);
const DS = nid(5, "d5d5");
const DBID = nid(6, "dbdb");
const INSIDE = nid(2); // beneath PAGE
const OUTSIDE = nid(3); // elsewhere in the workspace
const OUTSIDE_DB = nid(7, "dbdb");
const OUTSIDE_DS = nid(8, "d5d5");

function event(type: string, entityId: string, at: Date, entityType = type.split(".")[0]) {
  return JSON.stringify({
    id: randomUUID(),
    timestamp: at.toISOString(),
    workspace_id: "ws",
    subscription_id: "sub",
    integration_id: "int",
    type,
    authors: [{ id: "u1", type: "person" }],
    attempt_number: 1,
    api_version: "2025-09-03",
    entity: { id: entityId, type: entityType },
    data: {},
  });
}
const handshake = (token: string, source = sourceId) => receiveNotionWebhook(db, source, JSON.stringify({ verification_token: token }), null);
const signed = async (body: string) => receiveNotionWebhook(db, sourceId, body, await signWebhookPayload({ body, verificationToken: VERIFY }));
const pending = () => db.prisma.notionPendingEntity.findMany({ where: { sourceId } });
const makeDue = () => db.prisma.$executeRaw`UPDATE notion_pending_entities SET due_at = now() - interval '1 second'`;
const liveTitles = async () =>
  (await db.prisma.document.findMany({ where: { sourceId, deletedAt: null }, orderBy: { title: "asc" } })).map((d) => d.title);

beforeAll(async () => {
  notion = await startFakeNotion({
    pages: [
      { id: PAGE, title: "Runbook", parent: { type: "workspace" }, markdown: "Restart the gateway." },
      { id: nid(50), title: "Row A", parent: { type: "data_source_id", data_source_id: DS, database_id: DBID }, markdown: "Row A text." },
      { id: INSIDE, title: "Inside", parent: { type: "page_id", page_id: PAGE }, nestedIn: "column", markdown: "Beneath the root." },
      { id: OUTSIDE, title: "Outside", parent: { type: "workspace" }, markdown: "Elsewhere in the workspace." },
      { id: nid(60), title: "Outside row", parent: { type: "data_source_id", data_source_id: OUTSIDE_DS, database_id: OUTSIDE_DB }, markdown: "A row elsewhere." },
    ],
    databases: [
      { id: DBID, title: "Tracker", parentPageId: PAGE, dataSources: [{ id: DS, name: "Tracker" }] },
      { id: OUTSIDE_DB, title: "Elsewhere", parentPageId: OUTSIDE, dataSources: [{ id: OUTSIDE_DS, name: "Elsewhere" }] },
    ],
  });
  ollama = await startFakeOllama();
  process.env.NOTION_API_URL = notion.url;
  process.env.NOTION_REQUESTS_PER_SECOND = "50";
  process.env.NOTION_WEBHOOK_DEBOUNCE_SECONDS = "30";
  process.env.MASTER_KEYS = `wh:${randomBytes(32).toString("base64")}`;
  resetConfig();
  llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
  db = await createTestDb();
  queue = await installQueue(db); // the receiver queues the flush job for real; no worker runs it here
  collectionId = (await makeCollection(db, { slug: "w", name: "W" })).id;
  sourceId = (await createNotionSource(db, { collectionId, name: "Notion", token: notion.token })).id;
});
afterAll(async () => {
  await queue?.stop();
  await notion?.close();
  await ollama?.close();
  await db?.drop();
});
beforeEach(async () => {
  await db.prisma.notionPendingEntity.deleteMany();
});

describe("the webhook handshake (only while an admin awaits it)", () => {
  it("refuses a handshake nobody opened, and events before any handshake", async () => {
    const body = event("page.created", PAGE, new Date());
    await expect(receiveNotionWebhook(db, sourceId, body, await signWebhookPayload({ body, verificationToken: VERIFY }))).rejects.toMatchObject({ status: 401 });
    await expect(handshake("secret_attacker_token")).rejects.toMatchObject({ status: 403, message: expect.stringMatching(/not awaiting a webhook handshake/) });
    expect(await webhookState(db, sourceId)).toEqual({ verificationToken: null, verifiedAt: null, awaitingHandshakeUntil: null });
  });

  it("accepts one handshake while open (15 minutes), stores its token encrypted, and closes", async () => {
    const { awaitingHandshakeUntil } = await openWebhookHandshake(db, sourceId);
    expect(awaitingHandshakeUntil.getTime() - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(awaitingHandshakeUntil.getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    expect(await handshake(VERIFY)).toEqual({ kind: "handshake" });
    const row = await db.prisma.source.findUniqueOrThrow({ where: { id: sourceId } });
    expect(row.secretCiphertext).not.toContain(VERIFY);
    expect(row.webhookHandshakeUntil).toBeNull();
    expect((await webhookState(db, sourceId)).verificationToken).toBe(VERIFY);
    // Closed after one: a second handshake cannot replace the token.
    await expect(handshake("secret_attacker_token")).rejects.toMatchObject({ status: 403 });
    expect((await webhookState(db, sourceId)).verificationToken).toBe(VERIFY);
  });

  it("refuses a handshake after the window expired", async () => {
    const other = (await createNotionSource(db, { collectionId, name: "Expired", token: notion.token })).id;
    await openWebhookHandshake(db, other);
    await db.prisma.$executeRaw`UPDATE sources SET webhook_handshake_until = now() - interval '1 second' WHERE id = ${other}::uuid`;
    await expect(handshake("secret_late_token_123", other)).rejects.toMatchObject({ status: 403 });
    expect((await webhookState(db, other)).verificationToken).toBeNull();
  });

  it("of two concurrent handshakes, exactly one wins", async () => {
    for (let round = 0; round < 5; round++) {
      const other = (await createNotionSource(db, { collectionId, name: `Race ${round}`, token: notion.token })).id;
      await openWebhookHandshake(db, other);
      const results = await Promise.allSettled([handshake("secret_first_contender", other), handshake("secret_second_contender", other)]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toMatchObject({ status: 403 });
      const winner = results[0]!.status === "fulfilled" ? "secret_first_contender" : "secret_second_contender";
      expect((await webhookState(db, other)).verificationToken).toBe(winner);
      // The integration token survived the race untouched.
      const secrets = await readNotionSecrets(await db.prisma.source.findUniqueOrThrow({ where: { id: other } }));
      expect(secrets.token).toBe(notion.token);
    }
  });
});

describe("Notion webhook receiver", () => {
  it("verifies X-Notion-Signature with the SDK's signing scheme: bad, missing or foreign signatures are 401", async () => {
    const body = event("page.content_updated", PAGE, new Date());
    await expect(receiveNotionWebhook(db, sourceId, body, null)).rejects.toMatchObject({ status: 401 });
    await expect(receiveNotionWebhook(db, sourceId, body, "sha256=" + "0".repeat(64))).rejects.toMatchObject({ status: 401 });
    const foreign = await signWebhookPayload({ body, verificationToken: "secret_other_subscription" });
    await expect(receiveNotionWebhook(db, sourceId, body, foreign)).rejects.toMatchObject({ status: 401 });
    // A body altered after signing fails too.
    const sig = await signWebhookPayload({ body, verificationToken: VERIFY });
    await expect(receiveNotionWebhook(db, sourceId, body.replace("content_updated", "deleted"), sig)).rejects.toMatchObject({ status: 401 });
    expect((await receiveNotionWebhook(db, sourceId, body, sig)).kind).toBe("queued");
  });

  it("de-duplicates a replayed event, ignores unknown event types, rejects malformed events with 400", async () => {
    const body = event("page.properties_updated", PAGE, new Date());
    expect((await signed(body)).kind).toBe("queued");
    expect((await signed(body)).kind).toBe("duplicate");
    expect(await signed(event("comment.created", PAGE, new Date(), "comment"))).toMatchObject({ kind: "ignored" });
    await expect(signed(JSON.stringify({ id: "x", type: "page.created" }))).rejects.toMatchObject({ status: 400 });
    await expect(signed("not json")).rejects.toMatchObject({ status: 400 });
  });

  it("debounces a burst for one page into one fetch after the window", async () => {
    const t = Date.now();
    for (let i = 0; i < 5; i++) await signed(event("page.content_updated", PAGE, new Date(t + i * 100)));
    const rows = await pending();
    expect(rows).toHaveLength(1);
    expect(rows[0].dueAt.getTime()).toBeGreaterThan(Date.now() + 15_000); // the 30 s debounce, not yet over
    // The receiver itself queued the flush (one at a time: the job is "stately").
    expect((await queuedJobs(db, "ingest.notion-webhook")).filter((j) => j.state === "created")).toHaveLength(1);
    // Not due yet: nothing happens.
    expect(await flushNotionWebhooks(db, { llm })).toMatchObject({ processed: 0 });
    expect((await flushNotionWebhooks(db, { llm })).nextDueInMs).toBeGreaterThan(10_000);
    await makeDue();
    const before = notion.requests.filter((r) => r.path.endsWith("/markdown")).length;
    expect(await flushNotionWebhooks(db, { llm })).toMatchObject({ processed: 1, failed: 0, nextDueInMs: null });
    expect(notion.requests.filter((r) => r.path.endsWith("/markdown")).length - before).toBe(1);
    expect(await liveTitles()).toContain("Runbook");
  });

  it("tolerates out-of-order delivery: the newest event wins and the page's current state is fetched", async () => {
    const t = Date.now();
    notion.updatePage(PAGE, { inTrash: true });
    await signed(event("page.deleted", PAGE, new Date(t)));
    await signed(event("page.content_updated", PAGE, new Date(t - 60_000))); // older, delivered late
    expect((await pending())[0].lastEventType).toBe("page.deleted");
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    expect(await liveTitles()).not.toContain("Runbook");
    // Undeleted: it comes back.
    notion.updatePage(PAGE, { inTrash: false, markdown: "Restart the gateway, then the broker." });
    await signed(event("page.undeleted", PAGE, new Date(t + 1000)));
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    expect(await liveTitles()).toContain("Runbook");
    const chunk = await db.prisma.chunk.findFirstOrThrow({ where: { document: { externalId: PAGE } } });
    expect(chunk.text).toContain("then the broker");
  });

  it("handles data source events: new rows come in, removed rows leave (confirmed), a deleted event is confirmed", async () => {
    await signed(event("data_source.content_updated", DS, new Date()));
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    expect(await liveTitles()).toContain("Row A");
    notion.upsertPage({ id: nid(51), title: "Row B", parent: { type: "data_source_id", data_source_id: DS, database_id: DBID }, markdown: "Row B text." });
    notion.updatePage(nid(50), { inTrash: true });
    await signed(event("data_source.content_updated", DS, new Date()));
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    const titles = await liveTitles();
    expect(titles).toContain("Row B");
    expect(titles).not.toContain("Row A");
    // Notion still serves the data source: a deletion event removes nothing.
    await signed(event("data_source.deleted", DS, new Date()));
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    expect(await liveTitles()).toContain("Row B");
    // Now it is in the trash: the event is confirmed and its rows leave.
    notion.databases.get(DBID)!.inTrash = true;
    await signed(event("data_source.deleted", DS, new Date()));
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    expect(await liveTitles()).not.toContain("Row B");
    notion.databases.get(DBID)!.inTrash = false;
  });

  it("a deleted event for a page Notion still serves deletes nothing", async () => {
    await signed(event("page.content_updated", PAGE, new Date()));
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    expect(await liveTitles()).toContain("Runbook");
    await signed(event("page.deleted", PAGE, new Date()));
    await makeDue();
    expect(await flushNotionWebhooks(db, { llm })).toMatchObject({ processed: 1, failed: 0 });
    expect(await liveTitles()).toContain("Runbook");
  });

  it("a content event for a page that is gone removes nothing (only a confirmed deletion or a full sync does)", async () => {
    notion.updatePage(PAGE, { inTrash: true });
    await signed(event("page.content_updated", PAGE, new Date()));
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    expect(await liveTitles()).toContain("Runbook");
    notion.updatePage(PAGE, { inTrash: false });
  });

  it("stays inside the source's configured roots: an event for a page outside them imports nothing", async () => {
    const rooted = (await createNotionSource(db, { collectionId, name: "Rooted", token: notion.token, rootPageIds: [PAGE] })).id;
    await openWebhookHandshake(db, rooted);
    await handshake(VERIFY, rooted);
    const send = async (body: string) => receiveNotionWebhook(db, rooted, body, await signWebhookPayload({ body, verificationToken: VERIFY }));
    const liveIn = async () => (await db.prisma.document.findMany({ where: { sourceId: rooted, deletedAt: null } })).map((d) => d.externalId).sort();
    await send(event("page.created", OUTSIDE, new Date()));
    await send(event("page.created", INSIDE, new Date()));
    await send(event("data_source.content_updated", OUTSIDE_DS, new Date()));
    await makeDue();
    expect(await flushNotionWebhooks(db, { llm })).toMatchObject({ processed: 3, failed: 0 });
    expect(await liveIn()).toEqual([INSIDE]);
    // Rows of a data source inside the roots come in.
    await send(event("data_source.content_updated", DS, new Date()));
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    expect(await liveIn()).toEqual([INSIDE, nid(51)].sort()); // Row B (Row A is in the trash by now)
  });

  it("a new subscription: the admin opens a handshake, the old token verifies until the new one replaces it", async () => {
    await openWebhookHandshake(db, sourceId);
    const body = event("page.content_updated", PAGE, new Date());
    expect((await signed(body)).kind).toBe("queued");
    expect(await handshake("secret_new_subscription")).toEqual({ kind: "handshake" });
    await expect(signed(event("page.content_updated", PAGE, new Date()))).rejects.toMatchObject({ status: 401 });
    const other = event("page.content_updated", PAGE, new Date());
    expect((await receiveNotionWebhook(db, sourceId, other, await signWebhookPayload({ body: other, verificationToken: "secret_new_subscription" }))).kind).toBe("queued");
    // Clearing the token stops events until the next handshake; back to the original one for the rest.
    await clearWebhookVerificationToken(db, sourceId);
    expect((await webhookState(db, sourceId)).verifiedAt).toBeNull();
    await expect(receiveNotionWebhook(db, sourceId, other, await signWebhookPayload({ body: other, verificationToken: "secret_new_subscription" }))).rejects.toMatchObject({ status: 401 });
    await openWebhookHandshake(db, sourceId);
    await handshake(VERIFY);
  });

  it("a sync that fails goes back in the queue instead of being lost", async () => {
    notion.throttle(10, 429); // outlasts the SDK's 5 retries
    await signed(event("page.content_updated", PAGE, new Date()));
    await makeDue();
    const r = await flushNotionWebhooks(db, { llm });
    notion.throttle(0);
    expect(r.failed).toBe(1);
    expect(await pending()).toHaveLength(1);
  }, 60_000);
});
