// GET /v1/models/{model} — one model (a collection slug, `sot`, or slugs joined with "+"), or 404 model_not_found.
import { z } from "zod";
import { route } from "@/lib/http/route";
import { OPENAI_ROUTE, retrieveModel } from "@/lib/openai";

export const dynamic = "force-dynamic";

const params = z.object({ model: z.string().min(1).max(2000) });

export const GET = route({ permission: "ask", params, ...OPENAI_ROUTE }, ({ access, params }) => retrieveModel(access, params.model));
