import { randomBytes, randomUUID } from "node:crypto";
import { signWebhookPayload } from "@notionhq/client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseConfig, resetConfig } from "../../lib/config";
import { createNotionSource } from "../../lib/ingest/notion";
import { clearWebhookVerificationToken, flushNotionWebhooks, receiveNotionWebhook } from "../../lib/ingest/notion-webhook";
import { Llm } from "../../lib/llm";
import { nid, startFakeNotion, type FakeNotion } from "../fakes/notion";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama";
import { createTestDb, type TestDb } from "../helpers/db";

let db: TestDb;
let notion: FakeNotion;
let ollama: FakeOllama;
let llm: Llm;
let sourceId: string;
const VERIFY = "secret_verification_token_abc123";
const PAGE = nid(1);
const DS = nid(5, "dsds");
const DBID = nid(6, "dbdb");

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
    ],
    databases: [{ id: DBID, title: "Tracker", parentPageId: PAGE, dataSources: [{ id: DS, name: "Tracker" }] }],
  });
  ollama = await startFakeOllama();
  process.env.NOTION_API_URL = notion.url;
  process.env.NOTION_REQUESTS_PER_SECOND = "50";
  process.env.NOTION_WEBHOOK_DEBOUNCE_SECONDS = "30";
  process.env.MASTER_KEYS = `wh:${randomBytes(32).toString("base64")}`;
  resetConfig();
  llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
  db = await createTestDb();
  const col = await db.prisma.collection.create({ data: { slug: "w", name: "W" } });
  sourceId = (await createNotionSource(db, { collectionId: col.id, name: "Notion", token: notion.token })).id;
});
afterAll(async () => {
  await notion?.close();
  await ollama?.close();
  await db?.drop();
});
beforeEach(async () => {
  await db.prisma.notionPendingEntity.deleteMany();
});

describe("Notion webhook receiver", () => {
  it("rejects events before the handshake, then stores the handshake token encrypted", async () => {
    const body = event("page.created", PAGE, new Date());
    await expect(receiveNotionWebhook(db, sourceId, body, await signWebhookPayload({ body, verificationToken: VERIFY }))).rejects.toMatchObject({ status: 401 });
    expect(await receiveNotionWebhook(db, sourceId, JSON.stringify({ verification_token: VERIFY }), null)).toEqual({ kind: "handshake" });
    const row = await db.prisma.source.findUniqueOrThrow({ where: { id: sourceId } });
    expect(row.secretCiphertext).not.toContain(VERIFY);
    // A second, unsigned handshake cannot replace the token.
    await expect(receiveNotionWebhook(db, sourceId, JSON.stringify({ verification_token: "secret_attacker_token" }), null)).rejects.toMatchObject({ status: 401 });
  });

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

  it("handles data source events: new rows come in, removed rows leave", async () => {
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
    await signed(event("data_source.deleted", DS, new Date()));
    await makeDue();
    await flushNotionWebhooks(db, { llm });
    expect(await liveTitles()).not.toContain("Row B");
  });

  it("after the admin clears the token, a new subscription's handshake is accepted and the old token stops verifying", async () => {
    await clearWebhookVerificationToken(db, sourceId);
    const body = event("page.content_updated", PAGE, new Date());
    await expect(signed(body)).rejects.toMatchObject({ status: 401 });
    expect(await receiveNotionWebhook(db, sourceId, JSON.stringify({ verification_token: "secret_new_subscription" }), null)).toEqual({ kind: "handshake" });
    const sig = await signWebhookPayload({ body, verificationToken: "secret_new_subscription" });
    expect((await receiveNotionWebhook(db, sourceId, body, sig)).kind).toBe("queued");
    // Back to the original token for the remaining tests.
    await clearWebhookVerificationToken(db, sourceId);
    await receiveNotionWebhook(db, sourceId, JSON.stringify({ verification_token: VERIFY }), null);
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
