import { z } from "zod";
import { route } from "@/lib/http/route";
import { receiveNotionWebhook } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/**
 * Notion webhook receiver (subscription URL: /api/notion/webhook?source=<source id>). Answers the
 * handshake, verifies X-Notion-Signature (401 otherwise), records and de-duplicates the event, and
 * leaves the fetching to a debounced job, so it answers within milliseconds.
 */
export const POST = route(
  { permission: "signature", query: z.object({ source: z.string().uuid() }).strict(), maxBodyBytes: 256_000 },
  async ({ db, query, rawBody, request }) => {
    const outcome = await receiveNotionWebhook(db, query.source, rawBody, request.headers.get("x-notion-signature"));
    return { ok: true, outcome: outcome.kind };
  },
);
