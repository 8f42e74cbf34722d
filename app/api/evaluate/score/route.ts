import { route } from "@/lib/http/route";
import { scoreOutput } from "@/lib/evaluate/judge";
import { scoreBody } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** Scores an output with the LLM judge (the old `output-evaluate`): every claim with its verdict and reason. */
export const POST = route({ permission: "score", body: scoreBody, maxBodyBytes: 2_000_000 }, async ({ access, body }) =>
  scoreOutput(access, body),
);
