// `npm run restore -- --snapshot <id|latest> [--target <DATABASE_URL>] [--force --approval <id>]`
// Restores into an empty database (refuses one holding rows unless --force), checking every object's
// tag and hash; all in one transaction, so a failure leaves the target as it was. Restoring over data
// (--force) waits for approval: an admin asks for `backup.restore` with { snapshotId } (POST
// /api/approvals on the app whose database is the target), another approves, and this runs once with
// --approval <id> and exactly that snapshot id (lib/approvals). An empty database (disaster recovery)
// needs none: there is nothing to lose and no one to ask.
// Without --target: the configured database (DATABASE_URL, or the embedded one with the app stopped).
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { runApproved } from "../lib/approvals";
import { kesFor } from "../lib/backup/naming";
import { restoreSnapshot } from "../lib/backup/restore";
import { processKeyRing } from "../lib/backup/service";
import { getConfig } from "../lib/config";
import { openPostgres, usePglite, type Db } from "../lib/db/client";
import { openEmbedded } from "../lib/db/embedded";
import { closeQueue } from "../lib/jobs/queue";
import { main, printTables, setup } from "./backup-cli";
import { formatBytes } from "../lib/units";

const { values } = parseArgs({
  options: { snapshot: { type: "string" }, target: { type: "string" }, force: { type: "boolean", default: false }, approval: { type: "string" } },
});

await main(async () => {
  if (!values.snapshot) throw new Error("usage: npm run restore -- --snapshot <id|latest> [--target postgresql://…] [--force]");
  if (values.target && !/^postgres(ql)?:\/\//.test(values.target)) throw new Error("--target must be a postgresql:// URL");
  if (values.force && !values.approval) {
    throw new Error(
      `Restoring over a database that holds data waits for approval. An admin asks for it (POST /api/approvals with {"action":"backup.restore","args":{"snapshotId":"${values.snapshot}"}}), ` +
        "another admin approves it on Admin → Approvals, then run this again with --approval <request id>.",
    );
  }
  const url = values.target ?? getConfig().DATABASE_URL;
  // The embedded database is opened once: KES (inside this process on the embedded default) reads its keys
  // from it before the restore replaces it.
  const embedded = url ? null : await openEmbedded(getConfig().DATA_DIR);
  const started = Date.now();
  try {
    const embeddedDb = embedded ? await usePglite(embedded.pglite) : null;
    const { config, target, ring } = await setup(embeddedDb ? await kesFor(embeddedDb, await processKeyRing()) : undefined);
    console.log(`restoring ${values.snapshot} from ${target.description} into ${url ? url.replace(/\/\/[^@/]*@/, "//***@") : `the embedded database in ${config.DATA_DIR}`}`);
    const restore = () =>
      restoreSnapshot({
        target,
        ring,
        snapshotId: values.snapshot!,
        force: values.force,
        concurrency: config.BACKUP_CONCURRENCY,
        db: url ? { kind: "postgres", url } : { kind: "pglite", pglite: embedded!.pglite },
      });
    let r: Awaited<ReturnType<typeof restore>>;
    if (values.force) {
      // The approval lives in the database about to be replaced: claimed there (once) before anything is overwritten.
      const approvals: Db = url ? await openPostgres(url, { poolSize: 2 }) : embeddedDb!;
      try {
        const args = { snapshotId: values.snapshot! };
        let restored: Awaited<ReturnType<typeof restore>> | undefined;
        await runApproved(approvals, { approvalId: values.approval!, action: "backup.restore", args, executedBy: `cli:restore@${hostname()}` }, async () => {
          restored = await restore();
          return { snapshotId: restored.snapshotId, objects: restored.objects };
        });
        r = restored!;
      } finally {
        await closeQueue();
        if (url) await approvals.close();
      }
    } else {
      r = await restore();
    }
    console.log(`restored snapshot ${r.snapshotId} (taken ${r.createdAt}) at migration level ${r.migrations}: ${r.objects} objects verified (${formatBytes(r.bytes)}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    printTables(r.tables);
    if (r.reshreddedKeys.length) console.log(`shredded again (they had been shredded after this snapshot): ${r.reshreddedKeys.join(", ")}`);
    if (r.unreadableCubbies.length) {
      console.log(`cubbies restored UNREADABLE (their key is shredded; their values never open again): ${r.unreadableCubbies.map((c) => `${c.name} (${c.items} values)`).join(", ")}`);
    }
  } finally {
    if (embedded) {
      await embedded.pglite.close();
      embedded.release();
    }
  }
});
