// Learning a collection's fusion weights (and candidates per stage) from an evaluation dataset's expected
// sources: plain RRF lets a weak half drag the fused list below its better half (on SciFact with a weak
// embedder, hybrid 0.748 nDCG@10 against full-text's 0.857), and which half is better differs by wiki.
//
// Each question is searched ONCE with the most candidates tried and every candidate of both stages kept;
// every configuration is then fused here, in memory, with the SQL statement's own formula and tie-break
// (score, then chunk id), so a grid of 33 configurations costs one search per question. A smaller
// candidate count is the same search cut at that rank: each stage's top c is the prefix of its top 2c.
import type { Db } from "../db/client";
import { getLlm, isLlmUnavailable } from "../llm";
import { documentsMatching } from "./queries";
import { RRF_K, hybridSearch, textQuery, type FusionWeights, type SearchRow } from "./search";

export interface TuningQuestion {
  question: string;
  /** Document ids, external ids, URLs or titles (as datasets' expected sources are written). */
  expected: readonly string[];
}

export interface FusionConfig extends FusionWeights {
  candidates: number;
}

export interface FusionScore extends FusionConfig {
  /** Mean nDCG@10 over the questions, by document (a document's best chunk counts). */
  ndcg: number;
  /** Share of questions with an expected document among the first `k` documents. */
  hitRate: number;
}

export interface TuningResult {
  questions: number;
  /** Questions left out: no expected source, or none of them in the searched collections. */
  skipped: number;
  k: number;
  embedder: "ok" | "unavailable";
  current: FusionScore;
  best: FusionScore;
  /** Each half of the questions scored with the configuration learned on the other half: what to expect on new questions. */
  heldOut: { current: number; learned: number };
  configs: FusionScore[];
}

/** One question's candidates: both stages' ranks for every chunk either stage found. */
export interface RankedQuestion {
  rows: Array<Pick<SearchRow, "chunkId" | "documentId" | "vectorRank" | "textRank">>;
  /** Whether a document is one of the expected ones. */
  relevant: (documentId: string) => boolean;
  /** Expected documents (the ideal ranking's length). */
  relevantCount: number;
}

/** Vector shares tried: 0 (full-text alone) … 0.5 (equal) … 1 (vector alone). */
export const VECTOR_SHARES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

/** A share as weights whose larger one is 1 (the fused order depends only on their ratio). */
export function weightsOfShare(share: number): FusionWeights {
  if (share <= 0) return { vector: 0, text: 1 };
  if (share >= 1) return { vector: 1, text: 0 };
  return share < 0.5 ? { vector: round(share / (1 - share)), text: 1 } : { vector: 1, text: round((1 - share) / share) };
}
const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** The documents in fused order (the statement's formula and tie-break), each at its best chunk's place. */
export function fusedDocuments(q: RankedQuestion, c: FusionConfig): string[] {
  const scored = q.rows
    .map((r) => {
      const vr = r.vectorRank !== null && r.vectorRank <= c.candidates ? r.vectorRank : null;
      const tr = r.textRank !== null && r.textRank <= c.candidates ? r.textRank : null;
      return { r, live: vr !== null || tr !== null, score: (vr !== null ? c.vector / (RRF_K + vr) : 0) + (tr !== null ? c.text / (RRF_K + tr) : 0) };
    })
    .filter((x) => x.live)
    .sort((a, b) => b.score - a.score || (a.r.chunkId < b.r.chunkId ? -1 : a.r.chunkId > b.r.chunkId ? 1 : 0));
  const seen = new Set<string>();
  const docs: string[] = [];
  for (const { r } of scored) if (!seen.has(r.documentId)) seen.add(r.documentId), docs.push(r.documentId);
  return docs;
}

export function ndcgAt10(docs: readonly string[], q: RankedQuestion): number {
  let dcg = 0;
  docs.slice(0, 10).forEach((d, i) => {
    if (q.relevant(d)) dcg += 1 / Math.log2(i + 2);
  });
  let idcg = 0;
  for (let i = 0; i < Math.min(10, q.relevantCount); i++) idcg += 1 / Math.log2(i + 2);
  return idcg ? dcg / idcg : 0;
}

export function scoreConfig(questions: readonly RankedQuestion[], c: FusionConfig, k: number): FusionScore {
  let ndcg = 0;
  let hits = 0;
  for (const q of questions) {
    const docs = fusedDocuments(q, c);
    ndcg += ndcgAt10(docs, q);
    if (docs.slice(0, k).some((d) => q.relevant(d))) hits++;
  }
  const n = Math.max(1, questions.length);
  return { ...c, ndcg: ndcg / n, hitRate: hits / n };
}

/** Candidate counts tried around the current one. */
export function candidateGrid(current: number): number[] {
  return [...new Set([Math.round(current / 2), current, current * 2].map((c) => Math.min(500, Math.max(5, c))))].sort((a, b) => a - b);
}

/**
 * The best configuration: highest nDCG@10, then hit rate; on a tie the current one (no change without
 * evidence), then the one nearest equal weights.
 */
export function pickBest(scores: readonly FusionScore[], current: FusionConfig): FusionScore {
  const same = (a: FusionConfig, b: FusionConfig) => a.vector === b.vector && a.text === b.text && a.candidates === b.candidates;
  const eps = 1e-9;
  return [...scores].sort(
    (a, b) =>
      b.ndcg - a.ndcg > eps || a.ndcg - b.ndcg > eps
        ? b.ndcg - a.ndcg
        : b.hitRate - a.hitRate > eps || a.hitRate - b.hitRate > eps
          ? b.hitRate - a.hitRate
          : Number(same(b, current)) - Number(same(a, current)) || Math.abs(a.vector - a.text) - Math.abs(b.vector - b.text),
  )[0]!;
}

/** Every configuration of the grid scored, the best, and a two-fold held-out figure. */
export function tuneOver(questions: readonly RankedQuestion[], current: FusionConfig, k: number): Omit<TuningResult, "questions" | "skipped" | "k" | "embedder"> {
  const grid: FusionConfig[] = [];
  for (const candidates of candidateGrid(current.candidates)) for (const share of VECTOR_SHARES) grid.push({ ...weightsOfShare(share), candidates });
  if (!grid.some((g) => g.vector === current.vector && g.text === current.text && g.candidates === current.candidates)) grid.push(current);
  const configs = grid.map((c) => scoreConfig(questions, c, k));
  const best = pickBest(configs, current);
  // Learn on one half, score on the other, both ways round.
  const halves = [questions.filter((_, i) => i % 2 === 0), questions.filter((_, i) => i % 2 === 1)];
  let learned = 0;
  let counted = 0;
  for (const [learn, test] of [
    [halves[0]!, halves[1]!],
    [halves[1]!, halves[0]!],
  ] as const) {
    if (!learn.length || !test.length) continue;
    const chosen = pickBest(grid.map((c) => scoreConfig(learn, c, k)), current);
    learned += scoreConfig(test, chosen, k).ndcg * test.length;
    counted += test.length;
  }
  const currentScore = configs.find((c) => c.vector === current.vector && c.text === current.text && c.candidates === current.candidates)!;
  return {
    current: currentScore,
    best,
    heldOut: { current: currentScore.ndcg, learned: counted ? learned / counted : best.ndcg },
    configs,
  };
}

/** Whether a document matches an expected source (id, external id, URL or title; case and spaces aside). */
function matcher(expected: readonly string[]) {
  const want = new Set(expected.map((e) => e.trim().toLowerCase()));
  return (doc: { id: string; externalId: string; url: string | null; title: string }) =>
    [doc.id, doc.externalId, doc.url, doc.title].some((v) => v != null && want.has(v.trim().toLowerCase()));
}

/**
 * Searches each question over `collectionIds` (the caller has checked they may be read) and learns the
 * fusion from the answers the dataset expects.
 */
export async function tuneFusion(
  db: Db,
  opts: { collectionIds: string[]; questions: readonly TuningQuestion[]; current: FusionConfig; k: number; efSearch: number; signal?: AbortSignal },
): Promise<TuningResult> {
  const llm = getLlm();
  const maxCandidates = Math.max(...candidateGrid(opts.current.candidates));
  let embedder: TuningResult["embedder"] = "ok";
  const searched: Array<{ rows: SearchRow[]; expected: readonly string[] }> = [];
  for (const q of opts.questions) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (q.expected.length === 0) continue;
    let embedding: number[] | null = null;
    if (embedder === "ok") {
      try {
        embedding = ((await llm.embed([q.question], "query")) as [number[]])[0];
      } catch (err) {
        if (!isLlmUnavailable(err)) throw err;
        embedder = "unavailable";
      }
    }
    const rows = await hybridSearch(db, {
      query: q.question,
      embedding,
      text: await textQuery(db, q.question),
      collectionIds: opts.collectionIds,
      perStage: maxCandidates,
      efSearch: Math.max(opts.efSearch, maxCandidates),
    });
    searched.push({ rows, expected: q.expected });
  }
  // The expected documents that exist in the searched collections: what a perfect ranking would list.
  const keys = [...new Set(searched.flatMap((s) => s.expected.map((e) => e.trim().toLowerCase())))];
  const existing = await documentsMatching(db, opts.collectionIds, keys);
  const questions: RankedQuestion[] = [];
  for (const s of searched) {
    const matches = matcher(s.expected);
    const relevantDocs = new Set(existing.filter(matches).map((d) => d.id));
    // An expected source that is not in these collections cannot teach their fusion anything.
    if (relevantDocs.size === 0) continue;
    questions.push({ rows: s.rows, relevant: (d) => relevantDocs.has(d), relevantCount: relevantDocs.size });
  }
  const asked = opts.questions.length;
  if (questions.length === 0) {
    const none = { ...opts.current, ndcg: 0, hitRate: 0 };
    return { questions: 0, skipped: asked, k: opts.k, embedder, current: none, best: none, heldOut: { current: 0, learned: 0 }, configs: [] };
  }
  return { questions: questions.length, skipped: asked - questions.length, k: opts.k, embedder, ...tuneOver(questions, opts.current, opts.k) };
}
