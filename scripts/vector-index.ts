// `npm run vector-index`: the HNSW vector index as built (graph parameters, size, validity) against the
// settings (VECTOR_INDEX_M, VECTOR_INDEX_EF_CONSTRUCTION), and any build running now.
// `npm run vector-index -- --rebuild`: builds it anew with the settings beside the old one, printing
// PostgreSQL's progress; searches and writes go on throughout (lib/ingest/vector-index.ts). Needs
// PostgreSQL (DATABASE_URL). At a million chunks building the index took about half an hour on two cores
// (m 32, with maintenance_work_mem 6 GB): docs/scale.md. One rebuild runs at a time.
import { parseArgs } from "node:util";
import { closeDb, getDb } from "../lib/db/client";
import { buildProgressLabel, graphLabel, rebuildVectorIndex, vectorIndexStatus } from "../lib/ingest/vector-index";
import { formatBytes } from "../lib/units";
import { main } from "./backup-cli";

const { values } = parseArgs({ options: { rebuild: { type: "boolean", default: false } } });

await main(async () => {
  const db = await getDb();
  try {
    const status = await vectorIndexStatus(db);
    const b = status.built;
    console.log(
      b
        ? `vector index: HNSW, ${graphLabel(b)}, ${formatBytes(b.bytes)}${b.valid ? "" : " (INVALID: a build failed or is running; the next import or --rebuild repairs it)"}`
        : "vector index: none (searches read every row until it is built; the next import or --rebuild builds it)",
    );
    console.log(`settings:     ${graphLabel(status.configured)}${status.matchesSettings ? "" : " — differ from the index: run with --rebuild to apply them"}`);
    if (status.building) console.log(`building now: ${buildProgressLabel(status.building)}`);
    if (!values.rebuild) return;
    console.log(`rebuilding with ${graphLabel(status.configured)} beside the old index (searches keep using it until the new one is ready)…`);
    const done = await rebuildVectorIndex(db, {
      onProgress: (p) => console.log(`  ${buildProgressLabel(p)}`),
    });
    console.log(`rebuilt in ${(done.ms / 1000).toFixed(0)} s: ${graphLabel(done)}`);
  } finally {
    await closeDb();
  }
});
