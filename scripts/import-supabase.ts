// `npm run import:supabase -- --from <export.sql | export.csv | postgres://…> [--table wiki_chunks]
//   [--collection slug] [--dry-run] [--map content=body,title=metadata.title] [--scores scores.csv] [--json]`
//
// Moves an old Supabase / Lovable wiki into SOT: reads the chunk table (plain-SQL pg_dump, CSV export or
// the live database, streamed), reports what it holds, and — without --dry-run — imports every old page
// as one document of the collection through the normal pipeline, embedding with the local model.
// Running it again is safe: what is already there is unchanged and costs no embedding call.
// --scores imports the old evaluation scores as a dataset plus a baseline run (see lib/supabase-import/scores.ts).
import { parseArgs } from "node:util";
import { systemContext } from "../lib/access/context";
import { audit } from "../lib/audit";
import { closeDb, getDb } from "../lib/db/client";
import { importScores, moveIn, redactUrl, type MoveInReport, type ScoresReport } from "../lib/supabase-import";

const USAGE =
  "usage: npm run import:supabase -- --from <export.sql|export.csv|postgres://…> [--table wiki_chunks] [--collection slug] " +
  "[--dry-run] [--map content=body,title=metadata.title] [--scores scores.csv|scores.json] [--json]";

const { values } = parseArgs({
  options: {
    from: { type: "string" },
    table: { type: "string" },
    collection: { type: "string", default: "wiki" },
    "dry-run": { type: "boolean", default: false },
    map: { type: "string" },
    scores: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help || (!values.from && !values.scores)) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}
const dryRun = values["dry-run"];
const slug = values.collection!;
if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) {
  console.error(`--collection ${slug}: a collection slug is lower-case letters, digits and dashes.`);
  process.exit(2);
}

const label = "import:supabase (command line)";
const isTty = process.stderr.isTTY;
let lastLine = "";
const progress = (text: string) => {
  if (isTty && !values.json) process.stderr.write(`\r${text}\u001b[K`);
  else if (text && text !== lastLine) process.stderr.write(`${text}\n`); // a log: one line per step
  lastLine = text;
};

try {
  const db = await getDb();
  let collection = await db.prisma.collection.findUnique({ where: { slug }, select: { id: true, slug: true, name: true } });
  if (!collection && !dryRun) {
    const name = slug.replace(/(^|-)(\w)/g, (_, d, c: string) => (d ? " " : "") + c.toUpperCase());
    collection = await db.prisma.collection.create({ data: { slug, name }, select: { id: true, slug: true, name: true } });
    await audit(db, null, "collection.create", `collection:${collection.id}`, { slug, by: label });
  }
  const ctx = systemContext(db, label, collection ? [collection.id] : []);
  const out: { moveIn?: MoveInReport; scores?: ScoresReport } = {};
  if (values.from) {
    const from = /^postgres(ql)?:\/\//.test(values.from) ? { url: values.from } : { path: values.from };
    out.moveIn = await moveIn(
      ctx,
      {
        from,
        table: values.table,
        map: values.map,
        dryRun,
        ...(collection ? { collectionId: collection.id } : { newCollection: { slug, name: slug } }),
      },
      {
        run: "inline",
        onProgress: (p) =>
          progress(p.phase === "read" ? `reading… ${p.rows} rows` : `importing… ${p.done}/${p.found} pages`),
      },
    );
    progress("");
  }
  if (values.scores) {
    out.scores = await importScores(ctx, { path: values.scores, collectionIds: collection ? [collection.id] : [], dryRun });
  }
  if (values.json) console.log(JSON.stringify(out, null, 2));
  else print(out, values.from ?? "");
} catch (err) {
  const e = err as { message: string; details?: unknown };
  console.error(`error: ${e.message}`);
  process.exitCode = 1;
} finally {
  await closeDb();
}

function print(out: { moveIn?: MoveInReport; scores?: ScoresReport }, from: string) {
  const r = out.moveIn;
  if (r) {
    const src = /^postgres/.test(from) ? redactUrl(from) : from;
    console.log(`${r.dryRun ? "Dry run (nothing written)" : "Imported"}: ${src} → collection ${r.collection.slug}${r.collection.id ? "" : " (would be created)"}`);
    console.log(`  table            ${r.table} (${r.format})`);
    console.log(`  columns          ${Object.entries(r.shape).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(", ")}`);
    console.log(`  rows             ${r.rows}`);
    console.log(`  chunks           ${r.chunks} (${r.emptyChunks} empty, ${r.duplicateChunks} duplicate: skipped)`);
    console.log(`  documents        ${r.documents} (by ${Object.entries(r.groupedBy).filter(([, n]) => n).map(([k, n]) => `${k}: ${n}`).join(", ")})`);
    console.log(`  embeddings       ${r.embedding.dimension ?? "none"}${r.embedding.dimension ? "-d" : ""}: ${r.embedding.modelGuess}`);
    console.log(`                   not reused — embedded again with ${r.embedding.localModel}. ${r.embedding.why}`);
    for (const s of r.sample) console.log(`  e.g.             ${s.title ?? "(no title)"} — ${s.url ?? "(no url)"} (${s.chunks} chunks)`);
    for (const w of r.warnings) console.log(`  warning          ${w}`);
    if (r.superseded) console.log(`  resumed          ${r.superseded} earlier unfinished move-in(s) closed; pages already imported are unchanged`);
    if (r.job) {
      const j = r.job;
      console.log(`  import job       ${j.id}: ${j.status} — ${j.done - j.unchanged} imported, ${j.unchanged} unchanged, ${j.failed} failed, ${j.embeddedChunks} chunks embedded`);
      for (const f of j.failures) console.log(`  failed           ${f.title ?? f.externalId}: ${f.error}`);
    }
  }
  const s = out.scores;
  if (s) {
    console.log(`${s.dryRun ? "Scores (dry run)" : "Scores imported"}: ${s.items} questions, ${s.scored} scored, average ${s.average?.toFixed(2) ?? "–"}`);
    if (s.datasetId) console.log(`  dataset ${s.datasetName} (${s.datasetId}), baseline run ${s.runId}: the next run of this dataset is compared with it`);
    for (const w of s.warnings) console.log(`  warning          ${w}`);
  }
}
