import { checkHealth, publicHealth } from "@/lib/health";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/** 200 when the app can serve (Ollama may be missing: then answers are full-text only), 503 naming what is down. */
export const GET = route({ permission: "public" }, async ({ principal }) => {
  const health = await checkHealth();
  return json(principal ? health : publicHealth(health), { status: health.down.length ? 503 : 200 });
});
