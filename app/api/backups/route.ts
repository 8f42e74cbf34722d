import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { getBackup, listBackups, startBackup } from "@/lib/backup";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

/** Backup history, newest first. */
export const GET = route(
  { permission: "admin", query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict() },
  async ({ db, query }) => ({ backups: await listBackups(query.limit, db) }),
);

/** Starts a backup now (202); 409 while another one is queued or running. */
export const POST = route({ permission: "admin", body: z.object({}).strict().optional() }, async ({ db, principal, requestId }) => {
  const { id } = await startBackup({ trigger: "manual" });
  await audit(db, principal, "backup.start", `backup:${id}`, {}, { requestId });
  return json(await getBackup(id, db), { status: 202 });
});
