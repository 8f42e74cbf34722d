// The backup views the API, the Admin page and its client components share (times as ISO strings, so
// a page's props and the API's JSON have one shape). Components import them with `import type`.

export type BackupTrigger = "manual" | "schedule" | "cli";
export type BackupStatus = "queued" | "running" | "succeeded" | "failed";

/** One backup's record: what started it, where it is, its counters and outcome. */
export interface BackupView {
  id: string;
  trigger: BackupTrigger;
  scheduleRunId: string | null;
  status: BackupStatus;
  phase: string;
  target: string;
  snapshotId: string | null;
  rowsTotal: number;
  rowsDone: number;
  objectsTotal: number;
  objectsUploaded: number;
  bytesTotal: number;
  bytesUploaded: number;
  snapshotsDeleted: number;
  objectsSwept: number;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
}
