import { z } from "zod";
import { route } from "@/lib/http/route";
import { setModelExemption } from "@/lib/usage/budgets";

export const dynamic = "force-dynamic";

/** {"model", "exempt"}: a model no budget counts (its calls stay in the ledger), or the end of that (audited). */
export const PUT = route(
  { permission: "admin", body: z.object({ model: z.string().trim().min(1, "model must not be empty").max(200), exempt: z.boolean() }), maxBodyBytes: 1_000 },
  ({ access, body }) => setModelExemption(access, body.model, body.exempt),
);
