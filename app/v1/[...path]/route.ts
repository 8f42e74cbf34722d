// Any /v1 path no route serves (e.g. /v1/completions, /v1/responses): OpenAI's own 404, in its error shape.
import { route } from "@/lib/http/route";
import { OPENAI_ROUTE, OpenAiRequestError } from "@/lib/openai";

export const dynamic = "force-dynamic";

const notFound = route({ permission: "public", ...OPENAI_ROUTE }, async ({ request }) => {
  const path = new URL(request.url).pathname;
  throw new OpenAiRequestError(404, "not_found", `Invalid URL (${request.method} ${path}): SOT serves GET /v1/models, POST /v1/chat/completions and POST /v1/embeddings.`);
});
export const GET = notFound;
export const POST = notFound;
export const PUT = notFound;
export const PATCH = notFound;
export const DELETE = notFound;
