import { scrapeMetrics } from "@/lib/metrics";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/**
 * Prometheus metrics. Readable with `Authorization: Bearer $METRICS_TOKEN` (for the scraper) or by an
 * admin (session or API key with the admin scope); everyone else gets 401/403.
 */
export const GET = route({ permission: "public" }, async ({ db, access, request }) =>
  new Response(await scrapeMetrics(access, { db, authorization: request.headers.get("authorization") }), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
  }),
);
