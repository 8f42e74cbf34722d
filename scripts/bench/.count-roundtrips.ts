// TEMPORARY measurement aid (not committed): statements and HTTP requests per cubby get/set.
import { readFileSync } from "node:fs";
import { accessContextFor, userPrincipal } from "@/lib/access/context";
import { createAgent } from "@/lib/agents/service";
import { createSotClient } from "@/lib/cubbies/client";
import { startApp } from "@/tests/helpers/app";
import { makeUser } from "@/tests/helpers/auth";
import type { TestDb } from "@/tests/helpers/db";
import { startKesProcess } from "@/tests/helpers/kes-process";
import { scratchDb } from "./lib";

const scratch = await scratchDb("count");
const kesProc = await startKesProcess({ databaseUrl: scratch.url, services: ["sot-web"] });
const testDb: TestDb = Object.assign(scratch.db, { url: scratch.url, drop: async () => {} });
const app = await startApp({ db: testDb, env: { KES_URL: kesProc.url, KES_TOKEN: kesProc.tokens["sot-web"]!, LOG_LEVEL: "error" } });
try {
  const admin = await makeUser(scratch.db, "admin");
  const ctx = await accessContextFor(scratch.db, (await userPrincipal(scratch.db, admin.id))!);
  const a = createSotClient({ baseUrl: app.baseUrl, credential: (await createAgent(ctx, { name: "count-a" })).credential, tokenTtlSeconds: 3600 });
  const b = createSotClient({ baseUrl: app.baseUrl, credential: (await createAgent(ctx, { name: "count-b" })).credential, tokenTtlSeconds: 3600 });
  const cubby = await a.createCubby({ name: "count", allowedAgents: ["count-b"] });
  await cubby.set("k", { x: "y".repeat(1000) });
  await b.cubby("count").get("k");
  const N = 20;
  const snap = async (label: string) => {
    await new Promise((r) => setTimeout(r, 300));
    for (const p of [app.process, kesProc.process]) p.kill("SIGUSR2");
    await new Promise((r) => setTimeout(r, 300));
    if (!label) return;
    for (const [name, p] of [["web", app.process], ["kes", kesProc.process]] as const) {
      const c = JSON.parse(readFileSync(`/tmp/consol/counts-${p.pid}.json`, "utf8"));
      console.log(`${label} ${name}: ${(c.statements / N).toFixed(2)} statements, ${(c.http / N).toFixed(2)} HTTP requests served per call`);
      for (const [t, n] of Object.entries(c.texts as Record<string, number>)) console.log(`    ${(n / N).toFixed(2)}  ${t}`);
    }
  };
  await snap("");
  for (let i = 0; i < N; i++) await b.cubby("count").get("k");
  await snap("get (grantee)");
  for (let i = 0; i < N; i++) await a.cubby("count").get("k");
  await snap("get (creator)");
  for (let i = 0; i < N; i++) await b.cubby("count").set(`w${i % 4}`, { x: "y".repeat(1000) });
  await snap("set (grantee)");
} finally {
  await app.stop();
  await kesProc.stop();
  await scratch.drop();
}
