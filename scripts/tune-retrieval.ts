// `npm run tune:retrieval -- --dataset <name or id> --collection <slug> [--as admin@example.com] [--save]`:
// learns a collection's fusion weights and candidates per stage from an evaluation dataset's expected
// sources (lib/retrieve/fusion-tuning.ts) and prints every configuration tried; --save stores the best.
// It acts as an administrator (--as, or the only one there is), so the audit log says who changed it.
import { parseArgs } from "node:util";
import { accessContextFor, userPrincipal } from "../lib/access/context";
import { closeDb, getDb } from "../lib/db/client";
import { learnCollectionFusion, saveCollectionFusionSettings } from "../lib/retrieve/fusion-settings";
import { tuningSummary } from "../lib/retrieve/fusion-summary";

const { values } = parseArgs({
  options: { dataset: { type: "string" }, collection: { type: "string" }, as: { type: "string" }, save: { type: "boolean", default: false } },
});
if (!values.dataset || !values.collection) {
  console.error("usage: npm run tune:retrieval -- --dataset <name or id> --collection <slug> [--as admin@example.com] [--save]");
  process.exit(2);
}
const f3 = (x: number) => x.toFixed(3);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const db = await getDb();
try {
  const admins = await db.prisma.user.findMany({ where: { role: "admin", disabledAt: null, ...(values.as ? { email: values.as.toLowerCase() } : {}) }, select: { id: true, email: true } });
  if (admins.length !== 1) {
    throw new Error(values.as ? `No active administrator ${values.as}.` : `There are ${admins.length} administrators: say which one acts with --as <e-mail>.`);
  }
  const ctx = await accessContextFor(db, (await userPrincipal(db, admins[0]!.id))!);
  const collection = await db.prisma.collection.findUnique({ where: { slug: values.collection }, select: { id: true } });
  if (!collection) throw new Error(`No collection with the slug "${values.collection}".`);
  const isId = /^[0-9a-f-]{36}$/i.test(values.dataset);
  const dataset = await db.prisma.dataset.findFirst({ where: isId ? { id: values.dataset } : { name: values.dataset }, select: { id: true } });
  if (!dataset) throw new Error(`No dataset "${values.dataset}".`);

  const r = await learnCollectionFusion(ctx, { collectionId: collection.id, datasetId: dataset.id });
  console.log(`${r.dataset.name} (version ${r.dataset.version}) over ${r.collection.name}: ${r.questions} questions${r.skipped ? `, ${r.skipped} left out (no expected source in the collection)` : ""}`);
  if (r.embedder === "unavailable") console.log("The embedding model is not reachable: only full-text rankings were compared.");
  if (r.questions === 0) throw new Error("Nothing to learn from.");
  console.log(`\n${"vector".padStart(7)} ${"text".padStart(7)} ${"cand.".padStart(6)} ${"nDCG@10".padStart(8)} ${`hit@${r.k}`.padStart(7)}`);
  for (const c of [...r.configs].sort((a, b) => a.candidates - b.candidates || b.vector - a.vector || a.text - b.text)) {
    const marks = [c === r.best && "best", c.vector === r.current.vector && c.text === r.current.text && c.candidates === r.current.candidates && "now"].filter(Boolean);
    const mark = marks.length ? `  ← ${marks.join(", ")}` : "";
    console.log(`${String(c.vector).padStart(7)} ${String(c.text).padStart(7)} ${String(c.candidates).padStart(6)} ${f3(c.ndcg).padStart(8)} ${pct(c.hitRate).padStart(7)}${mark}`);
  }
  console.log(`\nnow:     nDCG@10 ${f3(r.current.ndcg)}, hit rate ${pct(r.current.hitRate)}`);
  console.log(`learned: nDCG@10 ${f3(r.best.ndcg)}, hit rate ${pct(r.best.hitRate)} (vector ${r.best.vector}, text ${r.best.text}, ${r.best.candidates} candidates)`);
  console.log(`held-out halves (learned on one, scored on the other): ${f3(r.heldOut.current)} → ${f3(r.heldOut.learned)}`);
  if (values.save) {
    await saveCollectionFusionSettings(ctx, {
      collectionId: collection.id,
      vectorWeight: r.best.vector,
      textWeight: r.best.text,
      candidates: r.best.candidates,
      tuning: tuningSummary(r),
    });
    console.log("saved: every web process uses it within 30 seconds");
  } else {
    console.log("not saved (add --save)");
  }
} catch (err) {
  const e = err as { message: string; details?: unknown };
  console.error(e.message, e.details ? JSON.stringify(e.details) : "");
  process.exitCode = 1;
} finally {
  await closeDb();
}
