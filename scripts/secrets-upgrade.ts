// `npm run secrets:upgrade`: rewrites every secret still stored in the legacy form (`sot:v1:`, sealed by
// a master key) in the KES form bound to its row (lib/secrets). KES re-seals each one; the plaintext
// never reaches this process, which needs KES_URL and KES_TOKEN (or, on the embedded default, the
// master keys it runs KES with). Safe to run again or beside a running app: each row is one
// conditional update. Start-up does the same in the background; this says what it did.
import { closeDb, getDb } from "../lib/db/client";
import { upgradeLegacySecrets } from "../lib/secrets";
import { main } from "./backup-cli";

await main(async () => {
  const db = await getDb();
  try {
    const r = await upgradeLegacySecrets(db);
    console.log(
      `converted ${r.converted} legacy secrets to KES${r.fields.map((f) => ` ${f.table}.${f.field}: ${f.converted}`).join(",")}` +
        (r.skipped ? `; ${r.skipped} changed meanwhile and were left as they are now` : ""),
    );
  } finally {
    await closeDb();
  }
});
