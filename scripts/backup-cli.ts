// Shared bits of the backup/restore/verify/rotate command-line scripts: the target and key ring from
// settings, readable sizes, and one place that turns a failure into a message and exit code 1.
import { getConfig } from "../lib/config";
import { getKeyRing } from "../lib/crypto/keys";
import { targetFromConfig } from "../lib/backup/target";

export function bytes(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export async function setup() {
  const config = getConfig();
  return { config, target: targetFromConfig(config), ring: await getKeyRing() };
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
