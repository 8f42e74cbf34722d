import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { listBackups, listBackupsQuery, startBackup } from "@/lib/backup";

export const dynamic = "force-dynamic";

/** Backup history, newest first. */
export const GET = route({ permission: "admin", query: listBackupsQuery }, async ({ access, query }) => ({ backups: await listBackups(access, query) }));

/** Starts a backup now (202); 409 while another one is queued or running. */
export const POST = route({ permission: "admin", body: z.object({}).strict().optional() }, async ({ access }) =>
  json(await startBackup(access, { trigger: "manual" }), { status: 202 }),
);
