// POST /v1/embeddings — vectors from the model SOT indexes the wiki with, in OpenAI's shape.
import { route } from "@/lib/http/route";
import { createEmbeddings, openAiBody, OPENAI_ROUTE } from "@/lib/openai";

export const dynamic = "force-dynamic";

export const POST = route({ permission: "ask", body: openAiBody, maxBodyBytes: 4_000_000, ...OPENAI_ROUTE }, ({ body }) => createEmbeddings(body));
