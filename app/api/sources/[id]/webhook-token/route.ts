import { z } from "zod";
import { assertReadable } from "@/lib/access/context";
import { NotFoundError } from "@/lib/errors";
import { route } from "@/lib/http/route";
import { clearWebhookVerificationToken, openWebhookHandshake, webhookState } from "@/lib/ingest";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

const webhookUrl = (sourceId: string) => `/api/notion/webhook?source=${sourceId}`;

/** The webhook's state: the verification token Notion sent in the handshake (to paste back into Notion), whether a handshake is awaited. */
export const GET = route({ permission: "admin", params: z.object({ id: z.string().uuid() }) }, async ({ db, params, principal, access, requestId }) => {
  const source = await db.prisma.source.findUnique({ where: { id: params.id } });
  if (!source) throw new NotFoundError("Source");
  assertReadable(access, source.collectionId);
  const state = await webhookState(db, source.id);
  await audit(db, principal, "source.webhook_token.view", `source:${source.id}`, {}, { requestId });
  return { ...state, webhookUrl: webhookUrl(source.id) };
});

/** Awaits Notion's subscription handshake for 15 minutes: only then is a verification token accepted (once). */
export const POST = route({ permission: "admin", params: z.object({ id: z.string().uuid() }) }, async ({ db, params, principal, access, requestId }) => {
  const source = await db.prisma.source.findUnique({ where: { id: params.id } });
  if (!source) throw new NotFoundError("Source");
  assertReadable(access, source.collectionId);
  const { awaitingHandshakeUntil } = await openWebhookHandshake(db, source.id);
  await audit(db, principal, "source.webhook_handshake.open", `source:${source.id}`, { until: awaitingHandshakeUntil.toISOString() }, { requestId });
  return { awaitingHandshakeUntil, webhookUrl: webhookUrl(source.id) };
});

/** Forgets the token: events stop verifying until an admin awaits a new handshake and Notion completes it. */
export const DELETE = route({ permission: "admin", params: z.object({ id: z.string().uuid() }) }, async ({ db, params, principal, access, requestId }) => {
  const source = await db.prisma.source.findUnique({ where: { id: params.id } });
  if (!source) throw new NotFoundError("Source");
  assertReadable(access, source.collectionId);
  await clearWebhookVerificationToken(db, source.id);
  await audit(db, principal, "source.webhook_token.clear", `source:${source.id}`, {}, { requestId });
  return { ok: true };
});
