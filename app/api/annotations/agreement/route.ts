import { route } from "@/lib/http/route";
import { agreementFigures } from "@/lib/evaluate/annotations";

export const dynamic = "force-dynamic";

/** Judge-vs-human agreement over answers the caller may read: weighted kappa, exact and within-one agreement, MAE, most-disagreeing items. */
export const GET = route({ permission: "score" }, ({ access }) => agreementFigures(access));
