// POST /api/evaluate — ask the wiki: a cited answer as Server-Sent Events (default) or one JSON
// document with `"stream": false`. Events and payload: README, section "Ask the wiki".
import { askHttp, askInputSchema } from "@/lib/answer";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

export const POST = route({ permission: "ask", body: askInputSchema }, ({ body, access, request }) =>
  askHttp(access, body, { signal: request.signal }),
);
