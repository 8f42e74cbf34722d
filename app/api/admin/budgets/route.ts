import { json, route } from "@/lib/http/route";
import { setBudgetOrAskApproval } from "@/lib/approvals/gates";
import { listBudgets } from "@/lib/usage/budgets";
import { budgetInputSchema } from "@/lib/usage/types";

export const dynamic = "force-dynamic";

/** Every budget with its window, use and state; the exempt models. */
export const GET = route({ permission: "admin" }, ({ access }) => listBudgets(access));

/**
 * Creates a budget, or changes the limit and threshold of the one with the same scope, metric and period
 * (audited); raising one waits for another admin's approval (202).
 */
export const PUT = route({ permission: "admin", body: budgetInputSchema, maxBodyBytes: 5_000 }, async ({ access, body }) => {
  const r = await setBudgetOrAskApproval(access, body);
  return json(r, { status: "approval" in r ? 202 : 200 });
});
