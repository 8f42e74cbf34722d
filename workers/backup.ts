// The backup worker process (PostgreSQL deployments, on the storage machine; the embedded default runs
// backup jobs inside the web process). Takes `backup.run` jobs and runs them through lib/backup, and
// `kes.rewrap` jobs (a cubby's values rewrapped by KES, lib/cubbies/rewrap.ts): both long, both key work.
import { runWorkers } from "../lib/jobs/run-workers";

await runWorkers("backup", ["backup", "kes"]);
