// `npm run keys:rotate [-- --backups] [--rewrap-only] [--init <file>]`
//   (default)      adds a new current master key to the key file (old keys stay), then re-wraps every
//                  encrypted secret in the database under it; --backups also re-wraps backup objects
//                  and manifests (payloads are never re-encrypted).
//   --rewrap-only  only re-wraps (e.g. after adding a key to MASTER_KEYS by hand).
//   --init <file>  creates a new key file with one key (mode 0600) for MASTER_KEY_FILE.
// Key material is never printed.
import { stat } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { getConfig } from "../lib/config";
import { generateMasterKey, getKeyRing, resetKeyRing, writeKeyFile } from "../lib/crypto/keys";
import { addMasterKey, rewrapBackups, rewrapDatabaseSecrets } from "../lib/crypto/rotate";
import { targetFromConfig } from "../lib/backup/target";
import { closeDb, getDb } from "../lib/db/client";
import { main } from "./backup-cli";

const { values } = parseArgs({
  options: { backups: { type: "boolean", default: false }, "rewrap-only": { type: "boolean", default: false }, init: { type: "string" } },
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
  let ring = await getKeyRing();
  if (!values["rewrap-only"]) {
    const r = await addMasterKey(config);
    ring = r.ring;
    resetKeyRing();
    console.log(`added master key ${r.added.id} to ${r.file}; it is now current (older keys stay readable)`);
    console.log("restart running processes so they encrypt with the new key");
  }
  const db = await getDb();
  try {
    const s = await rewrapDatabaseSecrets(db, ring);
    console.log(`re-wrapped ${s.rewrapped} secrets in the database${s.columns.map((c) => ` ${c.table}.${c.column}: ${c.rewrapped}`).join(",")}`);
  } finally {
    await closeDb();
  }
  if (values.backups) {
    const target = targetFromConfig(config);
    const b = await rewrapBackups(target, ring, { concurrency: config.BACKUP_CONCURRENCY });
    console.log(`re-wrapped ${b.objects} backup objects and ${b.manifests} manifests in ${target.description}`);
  } else {
    console.log("backups keep their old key ids (still readable); pass --backups to re-wrap them too");
  }
});
