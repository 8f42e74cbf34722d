// Shared by the server-rendered history and the client progress panel (plain module: callable on both sides).
// The API's view of a backup (GET /api/backups): one type, defined where it is made. Type-only: erased
// from the browser bundle.
export type { BackupView as BackupRow } from "@/lib/backup/service";

export function formatBytes(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

