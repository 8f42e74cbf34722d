// npm run bench:judge — the LLM judge's robustness and the evaluation run's own overhead, with the fake
// Ollama: a 200-item dataset over the demo wiki runs through the real ask pipeline and the judge, while
// the fake judge returns malformed JSON for a fixed share of calls (BENCH_MALFORMED, default 0.2).
// Prints: the raw malformed share, the unparseable rate after retries (target < 1%), whether re-scoring the
// same items gives identical scores (target ≥ 95%), and items/s of the run's own overhead (the fake models
// answer instantly, so this is retrieval SQL, prompt building, parsing and writes).
//
// Options (environment): BENCH_DATABASE_URL (default local PostgreSQL), BENCH_ITEMS (200),
// BENCH_MALFORMED (0.2), EVAL_RUN_CONCURRENCY (2), EVAL_JUDGE_RETRIES (3).
import { randomBytes } from "node:crypto";
import { accessContextFor, userPrincipal } from "@/lib/access/context";
import { createUser } from "@/lib/auth/users";
import { resetConfig, getConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { createDataset } from "@/lib/evaluate/datasets";
import { getEvaluationRun, processEvaluationRun, startEvaluationRun } from "@/lib/evaluate/runs";
import { seedDemoWiki } from "@/lib/ingest";
import { closeQueue } from "@/lib/jobs/queue";
import { getLlm, resetLlm } from "@/lib/llm";
import { fakeJudge } from "@/tests/fakes/judge-fake";
import { startFakeOllama } from "@/tests/fakes/ollama";
import { machine, scratchDb } from "./lib";

const ITEMS = Number(process.env.BENCH_ITEMS ?? 200);
const MALFORMED = Number(process.env.BENCH_MALFORMED ?? 0.2);

async function main() {
  console.log(machine());
  let judgeCalls = 0;
  let malformedCalls = 0;
  const judge = fakeJudge({ malformedShare: MALFORMED });
  const ollama = await startFakeOllama({
    onChat: (req, i) => {
      const out = judge(req, i);
      if (out !== undefined) {
        judgeCalls++;
        try {
          JSON.parse(out as string);
          if (!/"claims"/.test(out as string) || /"probably"/.test(out as string)) malformedCalls++;
        } catch {
          malformedCalls++;
        }
      }
      return out;
    },
  });
  process.env.OLLAMA_HOST = ollama.url;
  process.env.LOG_LEVEL = "error";
  resetConfig();
  resetLlm();
  const { db, drop } = await scratchDb("judge");
  setDb(db);
  try {
    await seedDemoWiki(db, { llm: getLlm() });
    // Questions built from the wiki's own headings, so answers and verdicts vary like real ones.
    const chunks = await db.prisma.chunk.findMany({
      orderBy: [{ documentId: "asc" }, { position: "asc" }],
      select: { headingPath: true, text: true, document: { select: { title: true } } },
    });
    const items = Array.from({ length: ITEMS }, (_, i) => {
      const c = chunks[i % chunks.length]!;
      const topic = c.headingPath.at(-1) ?? c.document.title;
      const words = c.text.split(/\s+/).slice(3 + (i % 5), 9 + (i % 5)).join(" ");
      return {
        question: `What does the wiki say about ${topic.toLowerCase()} (${words})?`,
        referenceAnswer: i % 4 === 0 ? c.text.split(/(?<=\.)\s/)[0]!.slice(0, 300) : null,
        expectedSources: [c.document.title],
      };
    });
    // Runs ask as a person: an evaluator who reads the demo wiki.
    const evaluator = await createUser(db, { email: "bench@example.test", password: randomBytes(16).toString("hex"), role: "evaluator", name: "bench" });
    const ctx = await accessContextFor(db, (await userPrincipal(db, evaluator.id))!);
    const ds = await createDataset(ctx, { name: "bench", items });

    const runOnce = async () => {
      const { id } = await startEvaluationRun(ctx, { datasetId: ds.id, trigger: "manual" });
      const t = performance.now();
      await processEvaluationRun(db, id);
      const seconds = (performance.now() - t) / 1000;
      const run = (await getEvaluationRun(ctx, id))!;
      const rows = await db.prisma.runItem.findMany({
        where: { runId: id },
        orderBy: { position: "asc" },
        select: { status: true, scores: { where: { kind: "judge" }, select: { status: true, hallucinationScore: true, claims: true, error: true } } },
      });
      return { id, seconds, run, rows };
    };

    const a = await runOnce();
    const callsFirst = judgeCalls;
    const malformedFirst = malformedCalls;
    const b = await runOnce();

    const unparseable = (r: typeof a) => r.rows.filter((x) => x.scores[0]?.status === "error").length;
    const itemErrors = (r: typeof a) => r.rows.filter((x) => x.status === "error").length;
    let identical = 0;
    for (let i = 0; i < ITEMS; i++) {
      const x = a.rows[i]!.scores[0];
      const y = b.rows[i]!.scores[0];
      if (x && y && x.status === y.status && x.hallucinationScore === y.hallucinationScore && JSON.stringify(x.claims) === JSON.stringify(y.claims)) identical++;
    }
    const cfg = getConfig();
    const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(2)}%`;
    console.log(`items: ${ITEMS} · concurrency ${cfg.EVAL_RUN_CONCURRENCY} · judge retries ${cfg.EVAL_JUDGE_RETRIES} · malformed share asked ${MALFORMED}`);
    console.log(`judge calls (run 1): ${callsFirst} for ${ITEMS} items · malformed replies: ${malformedFirst} (${pct(malformedFirst, callsFirst)})`);
    console.log(`unparseable after retries: run 1 ${unparseable(a)}/${ITEMS} (${pct(unparseable(a), ITEMS)}), run 2 ${unparseable(b)}/${ITEMS} (${pct(unparseable(b), ITEMS)})   target < 1%`);
    for (const [name, r] of [["run 1", a], ["run 2", b]] as const) {
      for (const x of r.rows) if (x.scores[0]?.status === "error") console.log(`  ${name} unparseable: ${x.scores[0].error}`);
    }
    console.log(`pipeline errors (not the judge): run 1 ${itemErrors(a)}, run 2 ${itemErrors(b)}`);
    console.log(`re-score identity: ${identical}/${ITEMS} items with identical score and claims (${pct(identical, ITEMS)})   target ≥ 95%`);
    console.log(`average hallucination score: run 1 ${a.run.avgHallucination?.toFixed(3)}, run 2 ${b.run.avgHallucination?.toFixed(3)} · retrieval hit ${pct(Math.round((a.run.retrievalHitRate ?? 0) * ITEMS), ITEMS)}`);
    console.log(`run overhead: run 1 ${(ITEMS / a.seconds).toFixed(1)} items/s (${a.seconds.toFixed(1)} s), run 2 ${(ITEMS / b.seconds).toFixed(1)} items/s (${b.seconds.toFixed(1)} s)`);
  } finally {
    await closeQueue(); // the runs' jobs were queued on the scratch database
    await drop();
    await ollama.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
