// The LLM judge's contract: the prompt, the JSON schema handed to Ollama's `format`, and strict validation
// of what comes back. Nothing here talks to Ollama (see judge.ts), so all of it is testable on its own.
import { z } from "zod";
import { normaliseVerdicts, repairJudgeReply } from "./judge-repair";
import { VERDICTS, type JudgedClaim, type ReferenceClaim } from "./scoring-rule";

/** Bumped whenever the prompt or schema changes; stored with every judge score. */
export const JUDGE_PROMPT_VERSION = "judge-v1";

/** Long outputs and passages are cut so the prompt fits the judge's context window. */
export const MAX_OUTPUT_CHARS = 8000;
export const MAX_PASSAGE_CHARS = 2500;
export const MAX_PASSAGES = 12;

export interface Passage {
  text: string;
  title?: string | null;
  url?: string | null;
}

export interface JudgeInput {
  question: string;
  output: string;
  passages: Passage[];
  reference?: string | null;
}

/** JSON schema for Ollama structured output (`format`). Mirrors `judgeOutputSchema` below. */
export function judgeJsonSchema(maxClaims: number, withReference: boolean): Record<string, unknown> {
  const claim = {
    type: "object",
    properties: {
      claim: { type: "string" },
      verdict: { type: "string", enum: [...VERDICTS] },
      passage: { type: ["integer", "null"] },
      reason: { type: "string" },
      relevant: { type: "boolean" },
    },
    required: ["claim", "verdict", "passage", "reason", "relevant"],
  };
  const properties: Record<string, unknown> = { claims: { type: "array", items: claim, maxItems: maxClaims } };
  const required = ["claims"];
  if (withReference) {
    properties.reference_claims = {
      type: "array",
      maxItems: maxClaims,
      items: {
        type: "object",
        properties: {
          claim: { type: "string" },
          in_sources: { type: "boolean" },
          passage: { type: ["integer", "null"] },
          reason: { type: "string" },
        },
        required: ["claim", "in_sources", "passage", "reason"],
      },
    };
    required.push("reference_claims");
  }
  return { type: "object", properties, required };
}

const SYSTEM = (maxClaims: number, withReference: boolean) =>
  [
    "You are a strict fact-checking judge. You check an OUTPUT against numbered source PASSAGES.",
    `1. List the factual claims the OUTPUT makes, at most ${maxClaims}, most important first. One claim per fact; skip greetings, hedges and opinions.`,
    '2. For each claim give a verdict: "supported" (a passage states it), "contradicted" (a passage states the opposite), or "not_found" (no passage states it or its opposite). Judge only against the passages, never your own knowledge.',
    "3. Give the number of the passage you rely on (null for not_found), a one-sentence reason, and whether the claim is relevant to the QUESTION.",
    withReference
      ? `4. Also list the factual claims of the REFERENCE answer (at most ${maxClaims}) and say for each whether the passages contain it (in_sources).`
      : "",
    "Reply with JSON only, matching the schema.",
  ]
    .filter(Boolean)
    .join("\n");

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)} […]`;
}

/** The judge's messages. Delimited sections so neither the model nor a test fake has to guess boundaries. */
export function buildJudgeMessages(input: JudgeInput, maxClaims: number) {
  const withReference = Boolean(input.reference && input.reference.trim());
  const passages = input.passages.slice(0, MAX_PASSAGES);
  const parts = [
    `<question>\n${input.question.trim()}\n</question>`,
    ...passages.map(
      (p, i) => `<passage n=${i + 1}${p.title ? ` title=${JSON.stringify(p.title)}` : ""}>\n${cut(p.text.trim(), MAX_PASSAGE_CHARS)}\n</passage>`,
    ),
    passages.length === 0 ? "(no passages)" : "",
    `<output>\n${cut(input.output.trim(), MAX_OUTPUT_CHARS)}\n</output>`,
    withReference ? `<reference>\n${cut(input.reference!.trim(), MAX_OUTPUT_CHARS)}\n</reference>` : "",
  ].filter(Boolean);
  return {
    messages: [
      { role: "system" as const, content: SYSTEM(maxClaims, withReference) },
      { role: "user" as const, content: parts.join("\n\n") },
    ],
    schema: judgeJsonSchema(maxClaims, withReference),
    withReference,
    passageCount: passages.length,
  };
}

/** A follow-up turn telling the judge what was wrong with its last reply. A retry that repeats the same
 *  request would, at temperature 0 (greedy decoding, where the seed hardly matters), return the same broken
 *  text; the attempt number keeps two repair turns from ever being identical either. */
export function repairMessage(problem: string, attempt: number) {
  return {
    role: "user" as const,
    content: `Your reply was not valid: ${problem}. Reply again with JSON only, exactly matching the schema (attempt ${attempt}).`,
  };
}

const claimSchema = z.object({
  claim: z.string().trim().min(1, "claim text is empty"),
  verdict: z.enum(VERDICTS),
  passage: z.number().int().nullable().optional(),
  reason: z.string().default(""),
  relevant: z.boolean().default(true),
});
const referenceClaimSchema = z.object({
  claim: z.string().trim().min(1, "claim text is empty"),
  in_sources: z.boolean(),
  passage: z.number().int().nullable().optional(),
  reason: z.string().default(""),
});
const judgeOutputSchema = z.object({
  claims: z.array(claimSchema),
  reference_claims: z.array(referenceClaimSchema).optional(),
});

export type ParsedJudgeOutput =
  | {
      ok: true;
      claims: JudgedClaim[];
      referenceClaims: ReferenceClaim[] | null;
      truncated: boolean;
      /** Present when the reply was cut off and only its whole claims were kept (judge-repair.ts). */
      cutOff?: true;
    }
  | { ok: false; problem: string };

/**
 * Validates the judge's raw text. Claims beyond the cap are dropped (`truncated`); a cited passage number
 * that does not exist becomes null rather than failing the whole reply.
 */
export function parseJudgeOutput(
  raw: string,
  opts: { maxClaims: number; passageCount: number; withReference: boolean },
): ParsedJudgeOutput {
  let text = raw.trim();
  // Some models wrap JSON in a Markdown fence even under `format`; that much is harmless to undo.
  const fence = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(text);
  if (fence) text = fence[1]!;
  let json: unknown;
  let cutOff = false;
  try {
    json = JSON.parse(text);
    normaliseVerdicts(json);
  } catch (err) {
    const repaired = repairJudgeReply(text);
    if (!repaired) return { ok: false, problem: `not JSON (${(err as Error).message})` };
    json = repaired.value;
    cutOff = repaired.cutOff;
  }
  const parsed = judgeOutputSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    return { ok: false, problem: `${first.path.join(".") || "(root)"}: ${first.message}` };
  }
  if (opts.withReference && !parsed.data.reference_claims) {
    return { ok: false, problem: "reference_claims: missing although a reference answer was given" };
  }
  const validPassage = (p: number | null | undefined) => (p != null && p >= 1 && p <= opts.passageCount ? p : null);
  const all = parsed.data.claims;
  const claims: JudgedClaim[] = all.slice(0, opts.maxClaims).map((c) => ({
    claim: c.claim,
    verdict: c.verdict,
    passage: validPassage(c.passage),
    reason: c.reason,
    relevant: c.relevant,
  }));
  const refAll = parsed.data.reference_claims;
  const referenceClaims: ReferenceClaim[] | null =
    opts.withReference && refAll
      ? refAll.slice(0, opts.maxClaims).map((c) => ({
          claim: c.claim,
          inSources: c.in_sources,
          passage: validPassage(c.passage),
          reason: c.reason,
        }))
      : null;
  return {
    ok: true,
    claims,
    referenceClaims,
    truncated: cutOff || all.length > opts.maxClaims || (refAll?.length ?? 0) > opts.maxClaims,
    ...(cutOff ? { cutOff: true as const } : {}),
  };
}
