// `npm run keys:rotate [-- --approval <id>] [--backups] [--rewrap-only] [--init <file>]`
//   (default)      adds a new current master key to the key file (old keys stay), then re-wraps every
//                  encrypted secret in the database under it; --backups also re-wraps backup objects
//                  and manifests (payloads are never re-encrypted). Waits for approval: an admin asks
//                  for `key.rotate` with { backups } (POST /api/approvals), another approves, and this
//                  runs once with --approval <id> and exactly those arguments (lib/approvals).
//   --rewrap-only  only re-wraps (e.g. after adding a key to MASTER_KEYS by hand).
//   --init <file>  creates a new key file with one key (mode 0600) for MASTER_KEY_FILE.
// Key material is never printed.
import { stat } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { getConfig } from "../lib/config";
import { generateMasterKey, getKeyRing, resetKeyRing, writeKeyFile } from "../lib/crypto/keys";
import { addMasterKey, rewrapBackups, rewrapDatabaseSecrets } from "../lib/crypto/rotate";
import { targetFromConfig } from "../lib/backup/target";
import { runApproved } from "../lib/approvals";
import { closeDb, getDb } from "../lib/db/client";
import { closeQueue } from "../lib/jobs/queue";
import { main } from "./backup-cli";

const { values } = parseArgs({
  options: {
    backups: { type: "boolean", default: false },
    "rewrap-only": { type: "boolean", default: false },
    init: { type: "string" },
    approval: { type: "string" },
  },
});

await main(async () => {
  if (values.init) {
    const file = path.resolve(values.init);
    if (await stat(file).then(() => true, () => false)) throw new Error(`${file} already exists; refusing to overwrite a key file.`);
    const k = generateMasterKey();
    await writeKeyFile(file, [k]);
    console.log(`created ${file} (mode 0600) with master key ${k.id}; set MASTER_KEY_FILE=${file} on every machine`);
    return;
  }
  const config = getConfig();
  if (values["rewrap-only"]) {
    try {
      await rewrap(await getKeyRing(), !!values.backups);
    } finally {
      await closeDb();
    }
    return;
  }
  if (!values.approval) {
    throw new Error(
      `Adding a master key waits for approval. An admin asks for it (POST /api/approvals with {"action":"key.rotate","args":{"backups":${!!values.backups}}}), ` +
        "another admin approves it on Admin → Approvals, then run this again with --approval <request id>.",
    );
  }
  const db = await getDb();
  try {
    await runApproved(db, { approvalId: values.approval, action: "key.rotate", args: { backups: !!values.backups }, executedBy: `cli:keys-rotate@${hostname()}` }, async () => {
      const r = await addMasterKey(config);
      resetKeyRing();
      console.log(`added master key ${r.added.id} to ${r.file}; it is now current (older keys stay readable)`);
      console.log("restart running processes so they encrypt with the new key");
      return { addedKey: r.added.id, ...(await rewrap(r.ring, !!values.backups)) };
    });
  } finally {
    await closeQueue(); // a notification about the outcome may have been queued
    await closeDb();
  }
});

/** Re-wraps the database's secrets (and, with `backups`, the backup objects) under the ring's current key. */
async function rewrap(ring: Awaited<ReturnType<typeof getKeyRing>>, backups: boolean): Promise<{ secrets: number; backupObjects: number | null }> {
  const config = getConfig();
  const db = await getDb();
  const s = await rewrapDatabaseSecrets(db, ring);
  console.log(`re-wrapped ${s.rewrapped} secrets in the database${s.columns.map((c) => ` ${c.table}.${c.column}: ${c.rewrapped}`).join(",")}`);
  if (!backups) {
    console.log("backups keep their old key ids (still readable); pass --backups to re-wrap them too");
    return { secrets: s.rewrapped, backupObjects: null };
  }
  const target = targetFromConfig(config);
  const b = await rewrapBackups(target, ring, { concurrency: config.BACKUP_CONCURRENCY });
  console.log(`re-wrapped ${b.objects} backup objects and ${b.manifests} manifests in ${target.description}`);
  return { secrets: s.rewrapped, backupObjects: b.objects };
}
