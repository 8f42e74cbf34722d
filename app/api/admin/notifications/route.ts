import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { createTarget, createTargetBody, EVENT_KINDS, listDeliveries, listTargets } from "@/lib/notify";

export const dynamic = "force-dynamic";

/** The notification targets (never their secrets), the latest deliveries and the event kinds. */
export const GET = route({ permission: "admin", query: z.object({ targetId: z.string().uuid().optional() }) }, async ({ access, query }) => ({
  targets: await listTargets(access),
  deliveries: await listDeliveries(access, query.targetId),
  eventKinds: EVENT_KINDS,
}));

/** A Discord webhook, a signed generic webhook (its signing secret is in this answer only) or an SMTP e-mail target. */
export const POST = route({ permission: "admin", body: createTargetBody, maxBodyBytes: 20_000 }, async ({ access, body }) =>
  json(await createTarget(access, body), { status: 201 }),
);
