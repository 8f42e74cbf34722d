// A fake LLM judge for the fake Ollama's `onChat` hook: verdict JSON derived deterministically from the
// judge prompt (so re-scoring gives identical results), and malformed output on demand.
//
// Claims are the output's sentences. A claim is "supported" when at least 60% of its words occur in one
// passage, "contradicted" when that passage matches but exactly one of the two is negated (not/never/no),
// and "not_found" otherwise. It is relevant when it shares a word with the question.
import { createHash } from "node:crypto";
import { words, type ChatHandler, type FakeChatRequest } from "@/tests/fakes/ollama";

export const JUDGE_MARKER = "You are a strict fact-checking judge";

export interface FakeJudgeOptions {
  /** Share of judge calls (0–1) answered with malformed JSON, chosen by a hash of the whole request. */
  malformedShare?: number;
  /** Or decide per call (index counts judge calls only). */
  malformed?: (req: FakeChatRequest, judgeCallIndex: number) => boolean;
  /** Called for every judge request (to count calls or inspect options). */
  onCall?: (req: FakeChatRequest) => void;
}

/** The malformed replies the fake gives (also the judge repair's unit-test samples). */
export const MALFORMED_JUDGE_REPLIES = [
  '{"claims": [{"claim": "Backups run nightly", "verdict": "supported"', // cut off
  "Sure! Here are the claims: 1. Backups run nightly (supported).", // prose
  '{"claims": [{"claim": "x", "verdict": "probably", "passage": 1, "reason": "", "relevant": true}]}', // bad enum
  '{"verdicts": []}', // wrong shape
];

const NEGATION = /\b(not|never|no|cannot|isn't|doesn't|don't|won't)\b/i;

function section(prompt: string, tag: string): string | null {
  const m = new RegExp(`<${tag}>\\n([\\s\\S]*?)\\n</${tag}>`).exec(prompt);
  return m ? m[1]! : null;
}

function sentences(text: string): string[] {
  return text
    .replace(/\s*\[\d+\]/g, "")
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => words(s).length > 0);
}

export function judgeVerdicts(prompt: string, maxClaims: number) {
  const passages = [...prompt.matchAll(/<passage n=(\d+)[^>]*>\n([\s\S]*?)\n<\/passage>/g)].map((m) => ({
    n: Number(m[1]),
    text: m[2]!,
    words: new Set(words(m[2]!)),
  }));
  const question = new Set(words(section(prompt, "question") ?? ""));
  const judge = (sentence: string) => {
    const w = words(sentence);
    let best: (typeof passages)[number] | null = null;
    let bestCover = 0;
    for (const p of passages) {
      const cover = w.filter((x) => p.words.has(x)).length / w.length;
      if (cover > bestCover) [best, bestCover] = [p, cover];
    }
    return { best: bestCover >= 0.6 ? best : null, w };
  };
  const claims = sentences(section(prompt, "output") ?? "")
    .slice(0, maxClaims)
    .map((s) => {
      const { best, w } = judge(s);
      let verdict: "supported" | "contradicted" | "not_found" = "not_found";
      if (best) {
        const passageSentence = best.text.split(/(?<=[.!?])\s+/).find((ps) => w.some((x) => words(ps).includes(x))) ?? best.text;
        verdict = NEGATION.test(s) !== NEGATION.test(passageSentence) ? "contradicted" : "supported";
      }
      return {
        claim: s,
        verdict,
        passage: best ? best.n : null,
        reason: best ? `Passage ${best.n} ${verdict === "supported" ? "states this" : "states the opposite"}.` : "No passage mentions this.",
        relevant: w.some((x) => question.has(x)),
      };
    });
  const reference = section(prompt, "reference");
  return {
    claims,
    ...(reference !== null && {
      reference_claims: sentences(reference)
        .slice(0, maxClaims)
        .map((s) => {
          const { best } = judge(s);
          return { claim: s, in_sources: best !== null, passage: best?.n ?? null, reason: best ? `In passage ${best.n}.` : "Not in the passages." };
        }),
    }),
  };
}

/** An `onChat` handler: answers judge requests, leaves every other chat to the fake's default. */
export function fakeJudge(opts: FakeJudgeOptions = {}): ChatHandler & { judgeCalls: () => number } {
  let judgeIndex = 0;
  const handler = ((req: FakeChatRequest): string | undefined => {
    const system = req.messages.find((m) => m.role === "system")?.content ?? "";
    if (!system.startsWith(JUDGE_MARKER)) return undefined;
    const index = judgeIndex++;
    opts.onCall?.(req);
    const digest = createHash("sha256").update(JSON.stringify(req.messages)).digest();
    const draw = digest.readUInt32BE(0) / 0x1_0000_0000;
    if (opts.malformed?.(req, index) || (opts.malformedShare !== undefined && draw < opts.malformedShare)) {
      return MALFORMED_JUDGE_REPLIES[digest[4]! % MALFORMED_JUDGE_REPLIES.length]!;
    }
    const maxClaims = Number(/at most (\d+)/.exec(system)?.[1] ?? 20);
    const userPrompt = req.messages.find((m) => m.role === "user")?.content ?? "";
    return JSON.stringify(judgeVerdicts(userPrompt, maxClaims));
  }) as unknown as ChatHandler & { judgeCalls: () => number };
  handler.judgeCalls = () => judgeIndex;
  return handler;
}
