import { checkHealth, publicHealth } from "@/lib/health";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/** 200 when the app can serve (Ollama may be missing: then answers are full-text only), 503 naming what is down. */
// Not rate limited: monitors and load balancers poll it, and it returns no collection data.
export const GET = route({ permission: "public", rateLimit: "none" }, async ({ principal }) => {
  const health = await checkHealth();
  return json(principal ? health : publicHealth(health), { status: health.down.length ? 503 : 200 });
});
