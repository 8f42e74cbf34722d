// GET /v1/models — the collections the caller may read, as OpenAI models (README: "OpenAI-compatible API").
import { route } from "@/lib/http/route";
import { listModels, OPENAI_ROUTE } from "@/lib/openai";

export const dynamic = "force-dynamic";

export const GET = route({ permission: "ask", ...OPENAI_ROUTE }, ({ access }) => listModels(access));
