import { z } from "zod";
import { route } from "@/lib/http/route";
import { resumeImportJob } from "@/lib/ingest";
import { runLimitsSchema } from "@/lib/usage/types";

export const dynamic = "force-dynamic";

/** Resumes an import that stopped at a limit (409 unless it is stopped); the body may set new limits. */
export const POST = route(
  { permission: "import", params: z.object({ id: z.string().uuid("must be a UUID") }), body: runLimitsSchema.default({}), maxBodyBytes: 2_000 },
  async ({ access, params, body }) => ({ job: await resumeImportJob(access, params.id, body) }),
);
