import { z } from "zod";
import { assertReadable } from "@/lib/access/context";
import { NotFoundError } from "@/lib/errors";
import { route } from "@/lib/http/route";
import { clearWebhookVerificationToken, webhookVerificationToken } from "@/lib/ingest";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

/** The verification token Notion sent in the subscription handshake, for the admin to paste back into Notion. */
export const GET = route({ permission: "admin", params: z.object({ id: z.string().uuid() }) }, async ({ db, params, principal, access, requestId }) => {
  const source = await db.prisma.source.findUnique({ where: { id: params.id } });
  if (!source) throw new NotFoundError("Source");
  assertReadable(access, source.collectionId);
  const verificationToken = await webhookVerificationToken(db, source.id);
  await audit(db, principal, "source.webhook_token.view", `source:${source.id}`, {}, { requestId });
  return { verificationToken, webhookUrl: `/api/notion/webhook?source=${source.id}` };
});

/** Forgets the token so a new Notion subscription can complete its handshake (the old one stops verifying). */
export const DELETE = route({ permission: "admin", params: z.object({ id: z.string().uuid() }) }, async ({ db, params, principal, access, requestId }) => {
  const source = await db.prisma.source.findUnique({ where: { id: params.id } });
  if (!source) throw new NotFoundError("Source");
  assertReadable(access, source.collectionId);
  await clearWebhookVerificationToken(db, source.id);
  await audit(db, principal, "source.webhook_token.clear", `source:${source.id}`, {}, { requestId });
  return { ok: true };
});
