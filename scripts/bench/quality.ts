// npm run bench:quality — retrieval quality on SciFact (training claims): nDCG@10 and Recall@100 for
// full-text only (our BM25 in PostgreSQL), vector only (the configured embedder, or the fake hashed-word
// embedder when no Ollama is reachable), hybrid (RRF), hybrid with weighted fusion learned on half of the
// claims and scored on the other half, a plain in-memory BM25 reference computed in the
// same run (k1 0.9, b 0.4, Lucene's English stop words, Porter stemming), and two naive PostgreSQL
// full-text baselines for scale.
//
// Options (environment): BENCH_DATABASE_URL (default local PostgreSQL), BENCH_EMBEDDER=fake|ollama
// (default: ollama when OLLAMA_HOST answers with the embedding model, else fake), SCIFACT_DIR.
import { readFileSync } from "node:fs";
import path from "node:path";
import { stemmer } from "stemmer";
import { resetConfig } from "@/lib/config";
import { getLlm, resetLlm } from "@/lib/llm";
import { scoreConfig, tuneOver, type RankedQuestion } from "@/lib/retrieve/fusion-tuning";
import { BM25_B, BM25_K1, hybridSearch, type SearchRow } from "@/lib/retrieve/search";
import { startFakeOllama } from "@/tests/fakes/ollama";
import { fmt, loadChunks, machine, scratchDb } from "./lib";

/** PostgreSQL's ts_rank_cd over websearch_to_tsquery (every word required), the usual naive full-text search. */
const NAIVE_WEBSEARCH = `SELECT d.external_id AS e FROM chunks c JOIN documents d ON d.id = c.document_id, (SELECT websearch_to_tsquery('english', $1) AS tq) q
  WHERE c.tsv @@ q.tq ORDER BY ts_rank_cd(c.tsv, q.tq) DESC LIMIT 100`;
/** The same ranking with the question's lexemes OR-ed, as BM25 reads them. */
const NAIVE_OR = `SELECT d.external_id AS e FROM chunks c JOIN documents d ON d.id = c.document_id,
  (SELECT (SELECT coalesce(string_agg(quote_literal(l), ' | '), '')::tsquery FROM unnest(tsvector_to_array(to_tsvector('english', $1))) l) AS tq) q
  WHERE c.tsv @@ q.tq ORDER BY ts_rank_cd(c.tsv, q.tq) DESC LIMIT 100`;

const DIR = process.env.SCIFACT_DIR ?? path.resolve(process.cwd(), "../shared/data/scifact");
const jsonl = (f: string) =>
  readFileSync(path.join(DIR, f), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const corpus: Array<{ _id: string; title: string; text: string }> = jsonl("corpus.jsonl");
const queries: Array<{ _id: string; text: string }> = jsonl("queries-train.jsonl");
const qrels = new Map<string, Set<string>>();
for (const line of readFileSync(path.join(DIR, "qrels-train.tsv"), "utf8").split("\n").slice(1)) {
  const [q, d, s] = line.split("\t");
  if (!q || !d || Number(s) <= 0) continue;
  if (!qrels.has(q)) qrels.set(q, new Set());
  qrels.get(q)!.add(d);
}
const judged = queries.filter((q) => qrels.has(q._id));

function ndcgAt10(ranked: string[], rel: Set<string>): number {
  let dcg = 0;
  ranked.slice(0, 10).forEach((id, i) => {
    if (rel.has(id)) dcg += 1 / Math.log2(i + 2);
  });
  let idcg = 0;
  for (let i = 0; i < Math.min(10, rel.size); i++) idcg += 1 / Math.log2(i + 2);
  return idcg ? dcg / idcg : 0;
}
const recallAt100 = (ranked: string[], rel: Set<string>) => ranked.slice(0, 100).filter((id) => rel.has(id)).length / rel.size;

// ── the in-memory reference ──
const LUCENE_STOP = new Set(
  "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with".split(" "),
);
const analyze = (t: string) => (t.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => !LUCENE_STOP.has(w)).map((w) => stemmer(w));

function referenceBm25() {
  const docs = corpus.map((d) => analyze(`${d.title} ${d.text}`));
  const df = new Map<string, number>();
  const tfs = docs.map((toks) => {
    const tf = new Map<string, number>();
    for (const t of toks) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const t of tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
    return tf;
  });
  const N = docs.length;
  const avgdl = docs.reduce((s, d) => s + d.length, 0) / N;
  return (q: string): string[] => {
    const terms = analyze(q);
    const scores: Array<[number, number]> = [];
    tfs.forEach((tf, i) => {
      let s = 0;
      for (const t of terms) {
        const f = tf.get(t);
        if (!f) continue;
        const n = df.get(t)!;
        s += Math.log(1 + (N - n + 0.5) / (n + 0.5)) * ((f * (BM25_K1 + 1)) / (f + BM25_K1 * (1 - BM25_B + (BM25_B * docs[i]!.length) / avgdl)));
      }
      if (s > 0) scores.push([i, s]);
    });
    return scores.sort((a, b) => b[1] - a[1]).slice(0, 100).map(([i]) => corpus[i]!._id);
  };
}

async function main() {
  console.log(`bench:quality — SciFact training claims (${judged.length} judged queries, ${corpus.length} abstracts)`);
  console.log(machine());

  // Embedder: the configured Ollama when it has the model, else the fake hashed-word embedder.
  let fake: Awaited<ReturnType<typeof startFakeOllama>> | null = null;
  let embedderLabel = `ollama ${process.env.OLLAMA_EMBED_MODEL ?? "nomic-embed-text"}`;
  const wanted = process.env.BENCH_EMBEDDER;
  const status = wanted === "fake" ? null : await getLlm().status();
  if (wanted === "fake" || !status?.reachable || status.missing.includes(getLlm().models.embed)) {
    fake = await startFakeOllama();
    process.env.OLLAMA_HOST = fake.url;
    resetConfig();
    resetLlm();
    embedderLabel = "FAKE hashed-word embedder (tests/fakes/ollama.ts; no Ollama reachable) — vector figures are not a real model's";
  }
  console.log(`embedder: ${embedderLabel}`);

  const { db, drop } = await scratchDb("quality");
  try {
    const t0 = performance.now();
    const embeddings: number[][] = [];
    for (let i = 0; i < corpus.length; i += 64) {
      const part = corpus.slice(i, i + 64);
      embeddings.push(...(await getLlm().embed(part.map((d) => `${d.title}\n${d.text}`), "document")));
    }
    const tEmbed = performance.now() - t0;
    await loadChunks(
      db,
      corpus.map((d, i) => ({ externalId: d._id, title: d.title, text: d.text, embedding: embeddings[i]! })),
    );
    await db.prisma.$executeRawUnsafe("ANALYZE");
    console.log(`load: embedded in ${(tEmbed / 1000).toFixed(1)} s, indexed in ${((performance.now() - t0 - tEmbed) / 1000).toFixed(1)} s`);

    const extId = new Map<string, string>();
    for (const d of await db.prisma.document.findMany({ select: { id: true, externalId: true } })) extId.set(d.id, d.externalId);
    const ref = referenceBm25();

    const systems = ["BM25 reference (in memory)", "full-text: our BM25 in PostgreSQL", "vector only", "hybrid (RRF)", "naive: websearch_to_tsquery + ts_rank_cd", "naive: OR-ed lexemes + ts_rank_cd"] as const;
    const sums = new Map<string, { ndcg: number; recall: number }>(systems.map((s) => [s, { ndcg: 0, recall: 0 }]));
    const add = (s: string, ranked: string[], rel: Set<string>) => {
      const x = sums.get(s)!;
      x.ndcg += ndcgAt10(ranked, rel);
      x.recall += recallAt100(ranked, rel);
    };
    const latencies: number[] = [];
    /** Every query's candidates of both stages, for weighted fusion learned on one half and scored on the other. */
    const ranked: RankedQuestion[] = [];
    for (const q of judged) {
      const rel = qrels.get(q._id)!;
      add(systems[0], ref(q.text), rel);
      const [embedding] = await getLlm().embed([q.text], "query");
      const s0 = performance.now();
      const rows = await hybridSearch(db, { query: q.text, embedding: embedding!, collectionIds: null, perStage: 100, efSearch: 200 });
      latencies.push(performance.now() - s0);
      const ids = (list: SearchRow[]) => list.map((r) => extId.get(r.documentId)!);
      const by = (key: "textRank" | "vectorRank") => ids(rows.filter((r) => r[key] !== null).sort((a, b) => a[key]! - b[key]!));
      add(systems[1], by("textRank"), rel);
      add(systems[2], by("vectorRank"), rel);
      add(systems[3], ids(rows), rel);
      ranked.push({ rows, relevant: (documentId) => rel.has(extId.get(documentId)!), relevantCount: rel.size });
      // PostgreSQL's own full-text ranking, with the two ways of reading the question (constant statements).
      const naive = async (statement: string) => (await db.prisma.$queryRawUnsafe<Array<{ e: string }>>(statement, q.text)).map((r) => r.e);
      add(systems[4], await naive(NAIVE_WEBSEARCH), rel);
      add(
        systems[5],
        await naive(NAIVE_OR),
        rel,
      );
    }
    console.log(`\n${"system".padEnd(48)} nDCG@10  Recall@100`);
    for (const s of systems) {
      const x = sums.get(s)!;
      console.log(`${s.padEnd(48)} ${fmt(x.ndcg / judged.length).padStart(7)}  ${fmt(x.recall / judged.length).padStart(10)}`);
    }
    // Weighted fusion (lib/retrieve/fusion-tuning.ts): weights and candidates learned on the even-numbered
    // claims, every system scored on the odd-numbered ones, which the learning never saw.
    const learnHalf = ranked.filter((_, i) => i % 2 === 0);
    const testHalf = ranked.filter((_, i) => i % 2 === 1);
    const equal = { vector: 1, text: 1, candidates: 100 };
    const learned = tuneOver(learnHalf, equal, 10).best;
    const onTest = (c: { vector: number; text: number; candidates: number }) => scoreConfig(testHalf, c, 10).ndcg;
    const held = {
      text: onTest({ vector: 0, text: 1, candidates: 100 }),
      vector: onTest({ vector: 1, text: 0, candidates: 100 }),
      rrf: onTest(equal),
      learned: onTest(learned),
    };
    console.log(`\nweighted fusion, learned on ${learnHalf.length} claims and scored on the other ${testHalf.length} (nDCG@10 by document):`);
    console.log(`  learned: vector ${learned.vector} · text ${learned.text}, ${learned.candidates} candidates per stage`);
    console.log(`  full-text ${fmt(held.text)} · vector ${fmt(held.vector)} · hybrid (RRF) ${fmt(held.rrf)} · hybrid (weighted, learned) ${fmt(held.learned)}`);
    const met = held.learned >= held.text - 1e-9 && held.learned >= held.vector - 1e-9;
    console.log(`  target: weighted hybrid ≥ full-text alone and ≥ vector alone on the held-apart claims: ${met ? "met" : "NOT met"}`);
    latencies.sort((a, b) => a - b);
    console.log(`\nhybrid query latency over ${corpus.length} chunks (perStage 100): p50 ${fmt(latencies[Math.floor(latencies.length / 2)]!, 1)} ms`);
  } finally {
    await drop();
    await fake?.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
