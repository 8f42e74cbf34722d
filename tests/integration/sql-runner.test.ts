// db.sql.transaction: the hot paths' (retrieval, ingest) way to run several statements on one
// connection — transaction-local settings stay inside it, an error rolls everything back, the
// connection goes back to the pool either way — and `db.sql.query`'s prepared statements, on PostgreSQL and
// on the embedded PGlite.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usePglite, type Db } from "@/lib/db/client";
import { openInMemory } from "@/lib/db/embedded";
import { sqlFragment, toParameterised } from "@/lib/db/sql-runner";
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

describe.each([
  ["PostgreSQL", () => pg as Db],
  ["PGlite", () => lite],
])("db.sql tagged statements on %s", (_name, get) => {
  it("sends every ${} as a parameter, never as text", async () => {
    const db = get();
    const hostile = "O'Brien'); DROP TABLE users; --";
    const [row] = await db.sql<{ s: string; n: number; ids: string[] }>`
      SELECT ${hostile}::text AS s, ${41}::int + 1 AS n, ${["a", "b"]}::text[] AS ids`;
    expect(row).toEqual({ s: hostile, n: 42, ids: ["a", "b"] });
  });

  it("splices fragments with their own parameters, renumbered", async () => {
    const db = get();
    const atLeast = (n: number) => sqlFragment`x >= ${n}`;
    const rows = await db.sql<{ x: number }>`
      SELECT x FROM generate_series(1, 10) AS g(x) WHERE ${atLeast(4)} AND x <= ${6} ORDER BY x`;
    expect(rows.map((r) => r.x)).toEqual([4, 5, 6]);
    expect(toParameterised(["a ", " b ", ""], [sqlFragment`c ${1} d ${2}`, 3])).toEqual({ text: "a c $1 d $2 b $3", params: [1, 2, 3] });
  });

  it("splices a fragment made by another copy of the module (the built app's beside the server's)", async () => {
    // What a fragment of a second copy of lib/db/sql-runner.ts is to this one: another class's object, the same mark.
    const otherCopyFragment = { [Symbol.for("sot.sql-fragment")]: true, strings: ["x > ", ""], values: [3] };
    const rows = await get().sql<{ x: number }>`SELECT x FROM generate_series(1, 5) AS g(x) WHERE ${otherCopyFragment} ORDER BY x`;
    expect(rows.map((r) => r.x)).toEqual([4, 5]);
  });

  it("works inside a transaction, and rolls back with it", async () => {
    const db = get();
    await db.sql`CREATE TABLE IF NOT EXISTS tagged_probe (id int PRIMARY KEY)`;
    await expect(
      db.sql.transaction(async (tx) => {
        await tx`INSERT INTO tagged_probe (id) VALUES (${7})`;
        const [{ n }] = await tx<{ n: number }>`SELECT count(*)::int AS n FROM tagged_probe WHERE id = ${7}`;
        expect(n).toBe(1);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    const [{ n }] = await db.sql<{ n: number }>`SELECT count(*)::int AS n FROM tagged_probe`;
    expect(n).toBe(0);
  });
});

describe.each([
  ["PostgreSQL", () => pg as Db],
  ["PGlite", () => lite],
])("db.sql.query prepared on %s", (_name, get) => {
  it("answers like the plain statement, with new parameters on every use and on every connection, in and out of a transaction", async () => {
    const db = get();
    const text = `SELECT $1::int * 2 AS n, $2::text AS s`;
    // More concurrent uses than the pool has connections: each connection prepares it once.
    const outside = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => db.sql.query<{ n: number; s: string }>(text, [i, `v${i}`], { prepare: true })));
    expect(outside.map((r) => r[0])).toEqual([1, 2, 3, 4, 5, 6].map((i) => ({ n: i * 2, s: `v${i}` })));
    const inside = await db.sql.transaction((tx) => tx.query<{ n: number; s: string }>(text, [21, "tx"], { prepare: true }));
    expect(inside).toEqual([{ n: 42, s: "tx" }]);
    expect(await db.sql.query(text, [5, "plain"])).toEqual([{ n: 10, s: "plain" }]);
  });
});
