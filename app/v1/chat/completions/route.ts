// POST /v1/chat/completions — ask the wiki through the OpenAI chat API: the same ask() pipeline as
// POST /api/evaluate, with citations as [n], url_citation annotations and the `sot` extension.
import { route } from "@/lib/http/route";
import { publicOrigin } from "@/lib/http/public-origin";
import { chatCompletion, openAiBody, OPENAI_ROUTE } from "@/lib/openai";

export const dynamic = "force-dynamic";

export const POST = route({ permission: "ask", body: openAiBody, maxBodyBytes: 4_000_000, ...OPENAI_ROUTE }, ({ access, body, request }) =>
  chatCompletion(access, body, { signal: request.signal, origin: publicOrigin(request) }),
);
