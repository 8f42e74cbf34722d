// Shared bits of the backup/restore/verify/rotate command-line scripts: the target and key ring from
// settings, and one place that turns a failure into a message and exit code 1.
import { getConfig } from "../lib/config";
import { processKeyRing } from "../lib/backup/service";
import { openPayloadKeys } from "../lib/backup/payload-keys";
import { getKes, type KesClient } from "../lib/kes/client";
import { targetFromConfig } from "../lib/backup/target";

/**
 * Settings, the target, and the keys that read it: the payload keys KES opens (its service token, or KES
 * inside this process on the embedded default) beside this process's master keys, if it has any
 * (snapshots written before KES).
 */
export async function setup(kes?: KesClient) {
  const config = getConfig();
  const target = targetFromConfig(config);
  const legacy = await processKeyRing();
  return { config, target, ring: await openPayloadKeys(target, kes ?? (await getKes()), legacy) };
}

export function printTables(tables: Array<{ name: string; rows: number }>): void {
  const width = Math.max(...tables.map((t) => t.name.length), 5);
  for (const t of tables) if (t.rows) console.log(`  ${t.name.padEnd(width)} ${String(t.rows).padStart(9)}`);
  const empty = tables.filter((t) => !t.rows).map((t) => t.name);
  if (empty.length) console.log(`  (empty: ${empty.join(", ")})`);
}

export async function main(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
