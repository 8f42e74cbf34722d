import { timingSafeEqual } from "node:crypto";
import { can } from "@/lib/auth/roles";
import { getConfig } from "@/lib/config";
import { ForbiddenError, UnauthorizedError } from "@/lib/errors";
import { renderMetrics } from "@/lib/metrics";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

function tokenMatches(header: string | null, token: string | undefined): boolean {
  if (!token || !header) return false;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Prometheus metrics. Readable with `Authorization: Bearer $METRICS_TOKEN` (for the scraper) or by an
 * admin (session or API key with the admin scope); everyone else gets 401/403.
 */
export const GET = route({ permission: "public" }, async ({ db, request, principal }) => {
  if (!tokenMatches(request.headers.get("authorization"), getConfig().METRICS_TOKEN)) {
    if (!principal) throw new UnauthorizedError("Send the metrics token (Authorization: Bearer …) or sign in as an admin.");
    if (!can(principal, "admin")) throw new ForbiddenError('Metrics need the "admin" permission or the metrics token.');
  }
  return new Response(await renderMetrics(db), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
  });
});
