import { route } from "@/lib/http/route";
import { usageSummary } from "@/lib/usage/ledger";
import { usageQuerySchema } from "@/lib/usage/types";

export const dynamic = "force-dynamic";

/** The usage ledger's totals over the last ?days= days (default 30): by day and model, by principal, overall. */
export const GET = route({ permission: "admin", query: usageQuerySchema }, ({ access, query }) => usageSummary(access, { days: query.days }));
