// `npm run restore -- --snapshot <id|latest> [--target <DATABASE_URL>] [--force]`
// Restores into an empty database (refuses one holding rows unless --force), checking every object's
// tag and hash; all in one transaction, so a failure leaves the target as it was.
// Without --target: the configured database (DATABASE_URL, or the embedded one with the app stopped).
import { parseArgs } from "node:util";
import { restoreSnapshot } from "../lib/backup/restore";
import { openEmbedded } from "../lib/db/embedded";
import { bytes, main, printTables, setup } from "./backup-cli";

const { values } = parseArgs({
  options: { snapshot: { type: "string" }, target: { type: "string" }, force: { type: "boolean", default: false } },
});

await main(async () => {
  if (!values.snapshot) throw new Error("usage: npm run restore -- --snapshot <id|latest> [--target postgresql://…] [--force]");
  if (values.target && !/^postgres(ql)?:\/\//.test(values.target)) throw new Error("--target must be a postgresql:// URL");
  const { config, target, ring } = await setup();
  const url = values.target ?? config.DATABASE_URL;
  const embedded = url ? null : await openEmbedded(config.DATA_DIR);
  const started = Date.now();
  try {
    console.log(`restoring ${values.snapshot} from ${target.description} into ${url ? url.replace(/\/\/[^@/]*@/, "//***@") : `the embedded database in ${config.DATA_DIR}`}`);
    const r = await restoreSnapshot({
      target,
      ring,
      snapshotId: values.snapshot,
      force: values.force,
      concurrency: config.BACKUP_CONCURRENCY,
      db: url ? { kind: "postgres", url } : { kind: "pglite", pglite: embedded!.pglite },
    });
    console.log(`restored snapshot ${r.snapshotId} (taken ${r.createdAt}) at migration level ${r.migrations}: ${r.objects} objects verified (${bytes(r.bytes)}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    printTables(r.tables);
  } finally {
    if (embedded) {
      await embedded.pglite.close();
      embedded.release();
    }
  }
});
