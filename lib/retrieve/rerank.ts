// Client of the rerank worker (workers/rerank.ts): POST {RERANK_URL}/rerank {query, documents, top_n}
// → {model, results: [{index, score}]}. The answer path never waits on it longer than RERANK_TIMEOUT_MS:
// when it is unset, down, slow or wrong, the fused order is kept and the status says why.
import { z } from "zod";
import { recordUnbudgetedCall } from "../usage/meter";

export type RerankStatus = "reranked" | "skipped" | "unavailable" | "disabled";

export type RerankOutcome =
  | { status: "reranked"; model: string; scores: number[]; ms: number }
  | { status: Exclude<RerankStatus, "reranked">; reason: string; ms: number };

const responseSchema = z.object({
  model: z.string().default("unknown"),
  results: z.array(z.object({ index: z.number().int().min(0), score: z.number() })),
});

export interface RerankClientOptions {
  url: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Scores every document against the query (higher = more relevant), index-aligned with `documents`. */
export async function rerank(query: string, documents: string[], opts: RerankClientOptions): Promise<RerankOutcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  if (!opts.url) return { status: "disabled", reason: "RERANK_URL is not set", ms: 0 };
  if (documents.length < 2) return { status: "skipped", reason: "fewer than two candidates", ms: 0 };
  const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])]);
  try {
    const res = await fetch(new URL("/rerank", opts.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, documents, top_n: documents.length }),
      signal,
    });
    if (!res.ok) {
      const text = (await res.text().catch(() => "")).slice(0, 200);
      return { status: "unavailable", reason: `rerank worker answered ${res.status}: ${text}`, ms: ms() };
    }
    const parsed = responseSchema.safeParse(await res.json());
    if (!parsed.success) return { status: "unavailable", reason: "rerank worker sent an unexpected response", ms: ms() };
    const scores = new Array<number>(documents.length).fill(Number.NEGATIVE_INFINITY);
    for (const r of parsed.data.results) if (r.index < documents.length) scores[r.index] = r.score;
    // In the usage ledger like every model call, with no tokens and no GPU-seconds: the cross-encoder runs on
    // the CPU beside Ollama, and no budget counts it (its time is in sot_model_duration_seconds{op="rerank"}).
    await recordUnbudgetedCall("rerank", { model: parsed.data.model, promptTokens: 0, completionTokens: 0, gpuSeconds: 0, loadSeconds: 0, ok: true });
    return { status: "reranked", model: parsed.data.model, scores, ms: ms() };
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string }; message?: string };
    const reason =
      e.name === "TimeoutError"
        ? `rerank worker did not answer within ${opts.timeoutMs} ms`
        : e.name === "AbortError"
          ? "aborted"
          : `rerank worker unreachable (${e.cause?.code ?? e.message ?? "error"})`;
    return { status: "unavailable", reason, ms: ms() };
  }
}
