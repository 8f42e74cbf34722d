// The backup views the API, the Admin page and its client components share (times as ISO strings, so
// a page's props and the API's JSON have one shape). Components import them with `import type`.

export type BackupTrigger = "manual" | "schedule" | "cli";
export type BackupStatus = "queued" | "running" | "succeeded" | "failed";

/** How far a backup's transfer is: counted by the snapshot as it goes, stored on the backup row, shown on its page. */
export interface BackupCounters {
  rowsTotal: number;
  rowsDone: number;
  objectsTotal: number;
  objectsUploaded: number;
  bytesTotal: number;
  bytesUploaded: number;
}

/** One backup's record: what started it, where it is, its counters and outcome. */
export interface BackupView extends BackupCounters {
  id: string;
  trigger: BackupTrigger;
  scheduleRunId: string | null;
  status: BackupStatus;
  phase: string;
  target: string;
  snapshotId: string | null;
  snapshotsDeleted: number;
  objectsSwept: number;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
}
