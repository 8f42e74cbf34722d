import { requirePageAccess } from "@/app/_server/access";
import { AgentsAdmin } from "@/components/admin/agents-admin";
import { FormError } from "@/components/ui/form-error";
import { PageHeader } from "@/components/ui/page-header";
import { listAgents, listTokens } from "@/lib/agents/service";
import { adminListCubbies, agentsAudit } from "@/lib/cubbies/admin";
import type { CubbyAdminView } from "@/lib/cubbies/types";
import { isAppError } from "@/lib/errors";

export const dynamic = "force-dynamic";
export const metadata = { title: "Agents and cubbies" };

export default async function AgentsPage() {
  const access = await requirePageAccess("admin");
  const [agents, tokens, audit] = await Promise.all([listAgents(access), listTokens(access, { limit: 50 }), agentsAudit(access, 50)]);
  // The cubbies' key facts come from KES: when it cannot be reached, the rest of the page still shows.
  let cubbies: CubbyAdminView[] = [];
  let kesError: string | null = null;
  try {
    cubbies = await adminListCubbies(access);
  } catch (err) {
    if (!isAppError(err) || err.status !== 503) throw err;
    kesError = err.message;
  }
  return (
    <div className="space-y-4">
      <PageHeader
        title="Agents and cubbies"
        description="Agents call with short-lived tokens; cubbies are encrypted spaces they share by grant. This page shows names, sizes, key versions and grants — never a cubby's contents."
      />
      <FormError message={kesError} testId="kes-error" />
      <AgentsAdmin agents={agents} tokens={tokens} cubbies={cubbies} audit={audit} />
    </div>
  );
}
