import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { listBackups, startManualBackup } from "@/lib/backup";

export const dynamic = "force-dynamic";

/** Backup history, newest first. */
export const GET = route(
  { permission: "admin", query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict() },
  async ({ db, query }) => ({ backups: await listBackups(query.limit, db) }),
);

/** Starts a backup now (202); 409 while another one is queued or running. */
export const POST = route({ permission: "admin", body: z.object({}).strict().optional() }, async ({ access }) =>
  json(await startManualBackup(access), { status: 202 }),
);
