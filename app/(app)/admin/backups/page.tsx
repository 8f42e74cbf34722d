import { requirePageAccess } from "@/app/_server/access";
import { BackupHistory } from "@/components/backup/backup-history";
import { BackupPanel } from "@/components/backup/backup-panel";
import { PageHeader } from "@/components/ui/page-header";
import { listBackups, targetFromConfig } from "@/lib/backup";
import { getConfig } from "@/lib/config";
import { keySource } from "@/lib/crypto/keys";

export const dynamic = "force-dynamic";

export default async function BackupsPage() {
  const access = await requirePageAccess("admin");
  const config = getConfig();
  const backups = await listBackups(access, { limit: 50 });
  const active = backups.find((b) => b.status === "queued" || b.status === "running") ?? null;
  const keys = keySource(config);
  const last = backups.find((b) => b.status === "succeeded");
  return (
    <div className="space-y-6">
      <PageHeader title="Backups" description="Encrypted snapshots of the database: start one, follow it, and see every earlier one." />
      <dl className="grid grid-cols-1 gap-x-4 gap-y-1 text-sm break-words sm:grid-cols-[max-content_minmax(0,1fr)]">
        <dt className="text-zinc-500">Target</dt>
        <dd data-testid="backup-target">{targetFromConfig(config).description}</dd>
        <dt className="text-zinc-500">Master key</dt>
        <dd>
          {keys.kind === "env" && "MASTER_KEYS (environment)"}
          {keys.kind === "file" && `key file ${keys.file}`}
          {keys.kind === "generate" && `key file ${keys.file} (generated on first use — keep a copy apart from the backups)`}
          {keys.kind === "missing" && <span className="text-red-600">not configured: set MASTER_KEY_FILE or MASTER_KEYS before backing up</span>}
        </dd>
        <dt className="text-zinc-500">Retention</dt>
        <dd>
          newest snapshot of each of the last {config.BACKUP_KEEP_DAILY} days and {config.BACKUP_KEEP_WEEKLY} weeks
        </dd>
        <dt className="text-zinc-500">Last snapshot</dt>
        <dd className="font-mono text-xs">{last?.snapshotId ?? "none yet"}</dd>
      </dl>
      <BackupPanel active={active} />
      <section aria-labelledby="history-title" className="space-y-2">
        <h2 id="history-title" className="text-lg font-semibold">
          History
        </h2>
        <BackupHistory backups={backups} />
      </section>
    </div>
  );
}
