import { z } from "zod";
import { route } from "@/lib/http/route";
import { removeBudget, restartBudget } from "@/lib/usage/budgets";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid("must be a budget id (UUID)") });

/** {"action": "restart"}: starts the budget's window again now, with nothing used (audited). */
export const POST = route({ permission: "admin", params, body: z.object({ action: z.literal("restart") }), maxBodyBytes: 1_000 }, async ({ access, params }) => ({
  budget: await restartBudget(access, params.id),
}));

/** Deletes the budget (audited). */
export const DELETE = route({ permission: "admin", params }, async ({ access, params }) => {
  await removeBudget(access, params.id);
  return { deleted: params.id };
});
