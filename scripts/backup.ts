// `npm run backup`: takes a snapshot now (encrypted, incremental) to BACKUP_TARGET, applies retention,
// and records it in the backup history shown on the Admin page.
// On the embedded default the app must be stopped (one process owns the data folder) — or start the
// backup from Admin → Backups instead.
import { createBackupRecord, runBackup } from "../lib/backup/service";
import { closeDb, getDb } from "../lib/db/client";
import { main, setup } from "./backup-cli";
import { formatBytes } from "../lib/units";

await main(async () => {
  const { target } = await setup();
  const db = await getDb();
  try {
    const id = await createBackupRecord(db, "cli", null, target);
    console.log(`backup ${id} → ${target.description}`);
    const started = Date.now();
    let lastLine = 0;
    const view = await runBackup(id, {
      db,
      target,
      onProgress: (p) => {
        if (Date.now() - lastLine < 2000) return;
        lastLine = Date.now();
        console.log(`  ${p.phase}: ${p.rowsDone}/${p.rowsTotal} rows, ${p.objectsUploaded} new objects (${formatBytes(p.bytesUploaded)})`);
      },
    });
    if (view.status !== "succeeded") throw new Error(view.error ?? "backup failed");
    console.log(
      `snapshot ${view.snapshotId}: ${view.rowsDone} rows in ${view.objectsTotal} objects (${formatBytes(view.bytesTotal)}); ` +
        `uploaded ${view.objectsUploaded} new objects (${formatBytes(view.bytesUploaded)}) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `retention removed ${view.snapshotsDeleted} snapshots and ${view.objectsSwept} objects`,
    );
    if (view.error) console.log(`note: ${view.error}`);
  } finally {
    await closeDb();
  }
});
