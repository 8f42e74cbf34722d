// `npm run backup:verify -- [--snapshot <id|latest>] [--all]`: checks snapshots without restoring them —
// every object present, authentic (GCM tag) and matching its hash; the manifest's signature.
import { parseArgs } from "node:util";
import { verifySnapshot } from "../lib/backup/restore";
import { listSnapshots } from "../lib/backup/snapshot";
import { main, printTables, setup } from "./backup-cli";
import { formatBytes } from "../lib/units";

const { values } = parseArgs({ options: { snapshot: { type: "string" }, all: { type: "boolean", default: false } } });

await main(async () => {
  const { config, target, ring } = await setup();
  const ids = values.all ? (await listSnapshots(target)).map((s) => s.snapshotId) : [values.snapshot ?? "latest"];
  if (!ids.length) throw new Error(`There is no snapshot in ${target.description}.`);
  for (const id of ids) {
    const r = await verifySnapshot({ target, ring, snapshotId: id, concurrency: config.BACKUP_CONCURRENCY });
    console.log(`snapshot ${r.snapshotId} (taken ${r.createdAt}) OK: ${r.objects} objects, ${formatBytes(r.bytes)}`);
    if (!values.all) printTables(r.tables);
  }
});
