// db.sql.transaction: the hot paths' (retrieval, ingest) way to run several statements on one
// connection — transaction-local settings stay inside it, an error rolls everything back, the
// connection goes back to the pool either way — on PostgreSQL and on the embedded PGlite.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usePglite, type Db } from "@/lib/db/client";
import { openInMemory } from "@/lib/db/embedded";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

let pg: TestDb;
let lite: Db;
beforeAll(async () => {
  pg = await createTestDb({ poolSize: 2 });
  lite = await usePglite(await openInMemory());
}, 120_000);
afterAll(async () => {
  await pg?.drop();
  await lite?.close();
});

describe.each([
  ["PostgreSQL", () => pg as Db],
  ["PGlite", () => lite],
])("db.sql.transaction on %s", (_name, get) => {
  it("keeps set_config(…, true) inside the transaction", async () => {
    const db = get();
    const inside = await db.sql.transaction(async (tx) => {
      await tx.query(`SELECT set_config('hnsw.ef_search', '123', true)`);
      const [r] = await tx.query<{ v: string }>(`SELECT current_setting('hnsw.ef_search', true) AS v`);
      return r!.v;
    });
    expect(inside).toBe("123");
    const [after] = await db.sql.query<{ v: string | null }>(`SELECT current_setting('hnsw.ef_search', true) AS v`);
    expect(after!.v).not.toBe("123");
  });

  it("rolls every statement back when one fails, and the pool stays usable", async () => {
    const db = get();
    await db.sql.exec(`CREATE TABLE IF NOT EXISTS tx_probe (id int PRIMARY KEY)`);
    await expect(
      db.sql.transaction(async (tx) => {
        await tx.query(`INSERT INTO tx_probe VALUES (1)`);
        // A nested call joins the same transaction rather than opening a second one.
        await tx.transaction((inner) => inner.query(`INSERT INTO tx_probe VALUES (2)`));
        await tx.query(`INSERT INTO tx_probe VALUES (1)`); // duplicate key
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await db.sql.query(`SELECT id FROM tx_probe`)).toEqual([]);
    // More transactions than the pool has connections: none was leaked by the failure.
    const sums = await Promise.all(
      [1, 2, 3, 4].map((i) => db.sql.transaction(async (tx) => (await tx.query<{ n: number }>(`SELECT $1::int + 1 AS n`, [i]))[0]!.n)),
    );
    expect(sums).toEqual([2, 3, 4, 5]);
  });
});
