// Every job kind of Project SOT, so a worker process (or the embedded web process) can run them.
// Each area adds ONE import line here for the jobs it defines next to its rules.
import type { JobDefinition } from "./queue";
import { evaluateJobs } from "../evaluate/runs";
import { backupJobs } from "../backup/service";
import { ingestJobs } from "../ingest/jobs";
import { approvalJobs } from "../approvals/service";
import { notifyJobs } from "../notify";
import { cubbyJobs } from "../cubbies/rewrap";

export const ALL_JOBS: JobDefinition<any>[] = [
  // ingest, evaluate, backup… append `...xxxJobs,` entries here
  ...evaluateJobs,
  ...backupJobs,
  ...ingestJobs,
  ...approvalJobs,
  ...notifyJobs,
  ...cubbyJobs,
];

/** Job kinds by worker role (workers/<role>.ts runs them); the embedded default runs all of them. */
export function jobsFor(names?: string[]): JobDefinition<any>[] {
  if (!names || names.length === 0) return ALL_JOBS;
  return ALL_JOBS.filter((j) => names.some((n) => j.name === n || j.name.startsWith(`${n}.`)));
}
