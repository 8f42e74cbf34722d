import { z } from "zod";
import { route } from "@/lib/http/route";
import { awaitWebhookHandshake, forgetWebhookToken, viewWebhookState } from "@/lib/ingest";

export const dynamic = "force-dynamic";

const webhookUrl = (sourceId: string) => `/api/notion/webhook?source=${sourceId}`;
const params = z.object({ id: z.string().uuid() });

/** The webhook's state: the verification token Notion sent in the handshake (to paste back into Notion), whether a handshake is awaited. */
export const GET = route({ permission: "admin", params }, async ({ params, access }) => ({
  ...(await viewWebhookState(access, params.id)),
  webhookUrl: webhookUrl(params.id),
}));

/** Awaits Notion's subscription handshake for 15 minutes: only then is a verification token accepted (once). */
export const POST = route({ permission: "admin", params }, async ({ params, access }) => ({
  ...(await awaitWebhookHandshake(access, params.id)),
  webhookUrl: webhookUrl(params.id),
}));

/** Forgets the token: events stop verifying until an admin awaits a new handshake and Notion completes it. */
export const DELETE = route({ permission: "admin", params }, async ({ params, access }) => {
  await forgetWebhookToken(access, params.id);
  return { ok: true };
});
