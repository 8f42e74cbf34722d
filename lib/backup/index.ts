// Encrypted incremental backups: the public surface for pages, the scheduler, scripts and workers.
export { startBackup, getBackup, listBackups, listBackupsQuery, backupStatus, runBackup, createBackupRecord, backupJobs, backupRunJob } from "./service";
export type { BackupView, BackupStatus, BackupTrigger } from "./types";
export { createSnapshot, listSnapshots, BackupInterruptedError } from "./snapshot";
export { restoreSnapshot, verifySnapshot, loadManifest, resolveSnapshotId, RestoreRefusedError } from "./restore";
export { applyRetention, sweepObjects, selectKept } from "./retention";
export { BackupIntegrityError } from "./format";
export { targetFromConfig, FolderTarget, S3Target, type BackupTarget } from "./target";
