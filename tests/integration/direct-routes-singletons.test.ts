// The web process loads the direct routes' modules (scripts/direct-routes.ts) a second time, through tsx,
// beside the copies inside Next.js's bundle: two copies of lib/db/client.ts, lib/kes/client.ts and the
// rest in one process. That is only sound because their process-wide singletons live on globalThis under
// Symbol.for keys, so the second copy finds the first one's database pool (and KES client) instead of
// opening its own. Here the modules are loaded twice the same way (a fresh module registry) against a
// real database: both copies must hand out the very same pool.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

let db: TestDb;
const saved = { ...process.env };

beforeAll(async () => {
  db = await createTestDb();
  Object.assign(process.env, { DATABASE_URL: db.url, AUTH_SECRET: "x".repeat(48), KES_URL: "http://127.0.0.1:9", KES_TOKEN: "a-service-token-of-24-characters-or-more" });
}, 120_000);
afterAll(async () => {
  process.env = saved;
  await db?.drop();
});

describe("modules loaded a second time (as scripts/direct-routes.ts does beside Next.js's bundle)", () => {
  it("share one database pool and one KES client with the first copy", async () => {
    vi.resetModules();
    const first = { db: await import("@/lib/db/client"), kes: await import("@/lib/kes/client"), config: await import("@/lib/config") };
    first.config.resetConfig();
    const pool = await first.db.getDb();
    const kes = await first.kes.getKes();
    expect(await pool.sql<{ one: number }>`SELECT 1 AS one`).toEqual([{ one: 1 }]);

    vi.resetModules();
    const second = { db: await import("@/lib/db/client"), kes: await import("@/lib/kes/client"), route: await import("@/app/api/cubbies/[name]/items/[key]/route") };
    expect(second.db).not.toBe(first.db); // really a second copy of the module
    expect(typeof second.route.GET).toBe("function");
    expect(await second.db.getDb()).toBe(pool);
    expect(await second.kes.getKes()).toBe(kes);
    await first.db.closeDb();
    expect(second.db.openedDb()).toBeNull(); // closed for both copies at once
  });
});
