// POST /api/feedback — thumbs up/down (+ reason) on an answer, by its query log id.
// GET /api/feedback?format=json|csv|jsonl — admins list or export all feedback.
import { z } from "zod";
import { feedbackInputSchema, feedbackToCsv, feedbackToJsonl, listFeedback, submitFeedback } from "@/lib/answer";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

export const POST = route({ permission: "ask", body: feedbackInputSchema }, ({ access, body }) => submitFeedback(access, body));

export const GET = route(
  {
    permission: "admin",
    query: z.object({
      format: z.enum(["json", "csv", "jsonl"]).default("json"),
      rating: z.enum(["1", "-1"]).optional(),
      limit: z.coerce.number().int().min(1).max(100000).default(10000),
    }),
  },
  async ({ access, query }) => {
    const rows = await listFeedback(access, { limit: query.limit, rating: query.rating ? (Number(query.rating) as 1 | -1) : undefined });
    if (query.format === "json") return { feedback: rows };
    const csv = query.format === "csv";
    return new Response(csv ? feedbackToCsv(rows) : feedbackToJsonl(rows), {
      headers: {
        "content-type": csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
        "content-disposition": `attachment; filename="feedback.${query.format}"`,
      },
    });
  },
);
