// The Notion webhook receiver's rules. The route hands over the raw body and the X-Notion-Signature
// header; this module answers fast and leaves the work to a job:
//
// - Handshake: the first POST of a subscription carries {verification_token}. It is accepted only while
//   an admin has opened the source's handshake (Sources page, or POST /api/sources/<id>/webhook-token;
//   open for 15 minutes), and taken with one compare-and-set UPDATE that also closes it, so of two
//   concurrent handshakes exactly one wins. It is stored encrypted on the source and shown to admins
//   (Notion asks for it back to verify: a token someone else slipped in would not verify there).
// - Every other delivery must carry `sha256=` + HMAC-SHA256(raw body, verification token), checked
//   with the SDK's constant-time verifier; anything else is 401.
// - De-duplication by event id (Notion redelivers), debounce per entity (a burst of edits to one page
//   is one fetch, NOTION_WEBHOOK_DEBOUNCE_SECONDS after the last event), and tolerance of
//   out-of-order delivery: events are only signals — the flush fetches the page's current state —
//   and the newest event timestamp per entity decides what the entity's last known event was.
// - What a flush may do: add and update pages inside the source's configured roots (an event for a
//   page outside them imports nothing); remove only after a deletion event that Notion confirms (the
//   page is not found or in the trash). An event is a signal, never proof.
import { verifyWebhookSignature } from "@notionhq/client";
import { z } from "zod";
import { assertReadable, requireAdmin, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { getConfig } from "../config";
import { getDb, type Db } from "../db/client";
import { defineJob, enqueue } from "../jobs/queue";
import { encryptSecret, sourceSecretRef } from "../secrets";
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError, zodIssuesToDetails } from "../errors";
import type { Llm } from "../llm";
import { log } from "../log";
import {
  readNotionSecrets,
  removeConfirmedDataSource,
  removeConfirmedPage,
  syncNotionDataSource,
  syncNotionDatabase,
  syncNotionPage,
  writeNotionSecrets,
} from "./notion";
import {
  insertWebhookEvent,
  msUntilNextDue,
  openHandshakeWindow,
  requeueEntityLater,
  takeDueEntities,
  takeHandshake,
  upsertPendingEntity,
} from "./queries";

/** How long a handshake opened by an admin stays open. */
export const HANDSHAKE_WINDOW_MINUTES = 15;

export const HANDLED_EVENTS = new Set([
  "page.created",
  "page.content_updated",
  "page.properties_updated",
  "page.moved",
  "page.deleted",
  "page.undeleted",
  "page.locked",
  "page.unlocked",
  "data_source.created",
  "data_source.content_updated",
  "data_source.schema_updated",
  "data_source.moved",
  "data_source.deleted",
  "data_source.undeleted",
  "database.created",
  "database.content_updated",
  "database.schema_updated",
  "database.moved",
  "database.deleted",
  "database.undeleted",
]);

const eventSchema = z.object({
  id: z.string().min(1),
  timestamp: z.string().datetime({ offset: true }),
  type: z.string().min(1),
  entity: z.object({ id: z.string().min(1), type: z.string().min(1) }).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

export type WebhookOutcome =
  | { kind: "handshake" }
  | { kind: "duplicate"; eventId: string }
  | { kind: "ignored"; eventId: string; reason: string }
  | { kind: "queued"; eventId: string; entityId: string; dueAt: Date };

/** Verifies and records one delivery. Throws 401 for a bad signature, 400 for a malformed body. */
export async function receiveNotionWebhook(db: Db, sourceId: string, rawBody: string, signature: string | null): Promise<WebhookOutcome> {
  const source = await db.prisma.source.findUnique({ where: { id: sourceId } });
  if (!source || source.kind !== "notion") throw new NotFoundError("Notion source");
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    throw new ValidationError("The webhook body is not JSON.");
  }

  if (body && typeof body === "object" && "verification_token" in body && Object.keys(body).length === 1) {
    const token = (body as { verification_token: unknown }).verification_token;
    if (typeof token !== "string" || token.length < 8 || token.length > 500) throw new ValidationError("verification_token must be a string of 8 to 500 characters.");
    await acceptHandshake(db, sourceId, token);
    return { kind: "handshake" };
  }

  const secrets = await readNotionSecrets(source);
  if (!secrets.webhookVerificationToken) throw new UnauthorizedError("No webhook subscription is verified for this source yet.");
  const ok = await verifyWebhookSignature({ body: rawBody, signature, verificationToken: secrets.webhookVerificationToken });
  if (!ok) throw new UnauthorizedError("Invalid X-Notion-Signature.");

  const parsed = eventSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError("The webhook event is malformed.", zodIssuesToDetails(parsed.error.issues));
  const ev = parsed.data;
  const eventAt = new Date(ev.timestamp);

  const inserted = await insertWebhookEvent(db.sql, {
    id: ev.id,
    sourceId,
    type: ev.type,
    entityId: ev.entity?.id ?? null,
    entityType: ev.entity?.type ?? null,
    eventAt,
  });
  if (!inserted) return { kind: "duplicate", eventId: ev.id };
  if (!HANDLED_EVENTS.has(ev.type) || !ev.entity) return { kind: "ignored", eventId: ev.id, reason: `event type ${ev.type} is not used` };
  if (ev.type === "page.locked" || ev.type === "page.unlocked") return { kind: "ignored", eventId: ev.id, reason: "locking does not change content" };

  const debounce = getConfig().NOTION_WEBHOOK_DEBOUNCE_SECONDS;
  const dueAt = await upsertPendingEntity(db.sql, {
    sourceId,
    entityId: ev.entity.id,
    entityType: ev.entity.type,
    eventAt,
    eventType: ev.type,
    debounceSeconds: debounce,
  });
  await requestFlush(Math.max(0, dueAt.getTime() - Date.now()));
  return { kind: "queued", eventId: ev.id, entityId: ev.entity.id, dueAt };
}

export interface FlushResult {
  processed: number;
  failed: number;
  /** Milliseconds until the next pending entity is due, or null when none is left. */
  nextDueInMs: number | null;
}

/** Handles every entity whose debounce has passed: fetches its current state and syncs it. */
export async function flushNotionWebhooks(db: Db, opts: { llm?: Pick<Llm, "embed" | "models"> } = {}): Promise<FlushResult> {
  const out: FlushResult = { processed: 0, failed: 0, nextDueInMs: null };
  for (;;) {
    const due = await takeDueEntities(db.sql, 20);
    if (due.length === 0) break;
    for (const e of due) {
      try {
        if (e.entity_type === "page") {
          if (e.last_event_type === "page.deleted") await removeConfirmedPage(db, e.source_id, e.entity_id, opts);
          else await syncNotionPage(db, e.source_id, e.entity_id, opts);
        } else if (e.entity_type === "data_source") {
          if (e.last_event_type === "data_source.deleted") await removeConfirmedDataSource(db, e.source_id, e.entity_id, "data_source", opts);
          else await syncNotionDataSource(db, e.source_id, e.entity_id, opts);
        } else if (e.entity_type === "database") {
          if (e.last_event_type === "database.deleted") await removeConfirmedDataSource(db, e.source_id, e.entity_id, "database", opts);
          else await syncNotionDatabase(db, e.source_id, e.entity_id, opts);
        }
        out.processed++;
      } catch (err) {
        out.failed++;
        log("warn", "notion webhook sync failed; retrying later", { sourceId: e.source_id, entityId: e.entity_id, error: (err as Error).message });
        await requeueEntityLater(db.sql, e);
      }
    }
  }
  const nextMs = await msUntilNextDue(db.sql);
  out.nextDueInMs = nextMs === null ? null : Math.max(0, nextMs);
  return out;
}

/** The job that syncs the entities whose debounce has passed (ingest.notion-webhook). */
export const notionWebhookJob = defineJob<Record<string, never>>({
  name: "ingest.notion-webhook",
  policy: "stately",
  retryLimit: 3,
  retryDelaySeconds: 5,
  async handler() {
    const db = await getDb();
    const r = await flushNotionWebhooks(db);
    // Come back when the next entity is due, but within 5 s at most: while this follow-up waits in the
    // queue, new events cannot queue another flush (one queued at a time), so it must not sleep long.
    if (r.nextDueInMs !== null) await enqueue(notionWebhookJob, {}, { startAfter: Math.min(5, Math.max(1, Math.ceil(r.nextDueInMs / 1000))) });
  },
});

/** Queues the flush for when the entity is due. The event is stored either way: a later flush takes it. */
async function requestFlush(delayMs: number): Promise<void> {
  await enqueue(notionWebhookJob, {}, { startAfter: Math.max(1, Math.ceil(delayMs / 1000)) }).catch((err) =>
    log("warn", "could not enqueue the notion webhook flush", { error: (err as Error).message }),
  );
}

/**
 * Takes a handshake's token, only while the source awaits one: one UPDATE compares the awaiting state
 * and the secrets it read, sets the token and closes the handshake. Of two concurrent handshakes the
 * second finds it closed and is refused. (A change of the secrets in between — an admin editing the
 * source — makes the compare fail too; then it reads again.)
 */
async function acceptHandshake(db: Db, sourceId: string, token: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const source = await db.prisma.source.findUnique({ where: { id: sourceId } });
    if (!source || source.kind !== "notion") throw new NotFoundError("Notion source");
    if (!source.webhookHandshakeUntil || source.webhookHandshakeUntil.getTime() <= Date.now()) break;
    const secrets = await readNotionSecrets(source);
    const ciphertext = await encryptSecret(JSON.stringify({ ...secrets, webhookVerificationToken: token }), sourceSecretRef(sourceId));
    if (await takeHandshake(db.sql, sourceId, ciphertext, source.secretCiphertext)) {
      log("info", "notion webhook handshake stored", { sourceId });
      return;
    }
  }
  log("warn", "notion webhook handshake refused: the source is not awaiting one", { sourceId });
  throw new ForbiddenError(
    `This source is not awaiting a webhook handshake. An admin opens one for ${HANDSHAKE_WINDOW_MINUTES} minutes on the Sources page ("Await webhook handshake"); then Notion's verification request is accepted once.`,
  );
}

export interface WebhookState {
  /** The token captured by the handshake, for admins to paste into Notion (null: none yet). */
  verificationToken: string | null;
  verifiedAt: Date | null;
  /** Until when a handshake is accepted (null: none is open). */
  awaitingHandshakeUntil: Date | null;
}

/** The source's webhook state, with the verification token (admins only: the route decides). */
export async function webhookState(db: Db, sourceId: string): Promise<WebhookState> {
  const source = await db.prisma.source.findUnique({ where: { id: sourceId } });
  if (!source || source.kind !== "notion") throw new NotFoundError("Notion source");
  const open = source.webhookHandshakeUntil && source.webhookHandshakeUntil.getTime() > Date.now() ? source.webhookHandshakeUntil : null;
  return {
    verificationToken: (await readNotionSecrets(source)).webhookVerificationToken ?? null,
    verifiedAt: source.webhookVerifiedAt,
    awaitingHandshakeUntil: open,
  };
}

/** The verification token captured by the handshake, for admins to paste into Notion. */
export async function webhookVerificationToken(db: Db, sourceId: string): Promise<string | null> {
  return (await webhookState(db, sourceId)).verificationToken;
}

/**
 * Opens the source's handshake for 15 minutes (admin action): Notion's next verification request is
 * accepted, once. The current token, if any, keeps verifying events until a handshake replaces it.
 */
export async function openWebhookHandshake(db: Db, sourceId: string): Promise<{ awaitingHandshakeUntil: Date }> {
  const until = await openHandshakeWindow(db.sql, sourceId, HANDSHAKE_WINDOW_MINUTES);
  if (!until) throw new NotFoundError("Notion source");
  log("info", "notion webhook handshake opened", { sourceId, until: until.toISOString() });
  return { awaitingHandshakeUntil: until };
}

/** Forgets the verification token (admin action): events stop verifying until a new handshake. */
export async function clearWebhookVerificationToken(db: Db, sourceId: string): Promise<void> {
  const source = await db.prisma.source.findUnique({ where: { id: sourceId } });
  if (!source || source.kind !== "notion") throw new NotFoundError("Notion source");
  const { webhookVerificationToken: _dropped, ...rest } = await readNotionSecrets(source);
  await writeNotionSecrets(db, sourceId, rest);
  await db.prisma.source.update({ where: { id: sourceId }, data: { webhookVerifiedAt: null } });
  log("info", "notion webhook verification token cleared", { sourceId });
}

/** The source, when this administrator may see it (404 otherwise, like a source that does not exist). */
async function adminSource(ctx: AccessContext, sourceId: string) {
  requireAdmin(ctx);
  const source = await ctx.db.prisma.source.findUnique({ where: { id: sourceId } });
  if (!source) throw new NotFoundError("Source");
  assertReadable(ctx, source.collectionId);
  return source;
}

/** The webhook's state with its verification token, for an administrator to paste into Notion; audited. */
export async function viewWebhookState(ctx: AccessContext, sourceId: string): Promise<WebhookState> {
  const source = await adminSource(ctx, sourceId);
  const state = await webhookState(ctx.db, source.id);
  await auditAs(ctx, "source.webhook_token.view", `source:${source.id}`);
  return state;
}

/** Awaits Notion's subscription handshake for 15 minutes (admin action); audited. */
export async function awaitWebhookHandshake(ctx: AccessContext, sourceId: string): Promise<{ awaitingHandshakeUntil: Date }> {
  const source = await adminSource(ctx, sourceId);
  const opened = await openWebhookHandshake(ctx.db, source.id);
  await auditAs(ctx, "source.webhook_handshake.open", `source:${source.id}`, { until: opened.awaitingHandshakeUntil.toISOString() });
  return opened;
}

/** Forgets the verification token: events stop verifying until a new handshake (admin action); audited. */
export async function forgetWebhookToken(ctx: AccessContext, sourceId: string): Promise<void> {
  const source = await adminSource(ctx, sourceId);
  await clearWebhookVerificationToken(ctx.db, source.id);
  await auditAs(ctx, "source.webhook_token.clear", `source:${source.id}`);
}
