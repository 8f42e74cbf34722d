// Prepared statements (lib/db/sql-runner.ts, QueryOptions.prepare): a hot statement is planned once per
// connection and still reads the data as it is at each call (a revoked token or grant shows at once);
// a table changed under it (a migration adding a column to a `SELECT *`) does not break it; it works
// inside a transaction too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres, type Db } from "@/lib/db/client";
import { prepared } from "@/lib/db/sql-runner";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

let db: TestDb;
let one: Db; // one connection, so what it has prepared can be seen

beforeAll(async () => {
  db = await createTestDb();
  one = await openPostgres(db.url!, { poolSize: 1 });
  await db.sql.exec(`CREATE TABLE prep_t (id int PRIMARY KEY, revoked boolean NOT NULL DEFAULT false)`);
  await db.sql.exec(`INSERT INTO prep_t (id) VALUES (1), (2)`);
}, 120_000);
afterAll(async () => {
  await one?.close();
  await db?.drop();
});

const live = (id: number) => prepared(one.sql)<{ id: number; revoked: boolean }>`SELECT * FROM prep_t WHERE id = ${id}::int`;

describe("prepared statements", () => {
  it("are planned once per connection and read the data as it is at each call", async () => {
    expect(await live(1)).toEqual([{ id: 1, revoked: false }]);
    const names = await one.sql.query<{ name: string }>(`SELECT name FROM pg_prepared_statements`);
    expect(names.map((n) => n.name)).toEqual([expect.stringMatching(/^sot_[0-9a-f]{24}$/)]);
    for (let i = 0; i < 8; i++) await live(2); // past PostgreSQL's switch to a generic plan
    await db.sql.exec(`UPDATE prep_t SET revoked = true WHERE id = 2`);
    expect(await live(2)).toEqual([{ id: 2, revoked: true }]);
    expect(await one.sql.query(`SELECT name FROM pg_prepared_statements`)).toHaveLength(1); // the same one, reused
  });

  it("keep answering when the table changes under a SELECT *", async () => {
    await db.sql.exec(`ALTER TABLE prep_t ADD COLUMN note text`);
    expect(await live(1)).toEqual([{ id: 1, revoked: false, note: null }]);
    expect(await live(1)).toEqual([{ id: 1, revoked: false, note: null }]);
  });

  it("work inside a transaction", async () => {
    const rows = await one.sql.transaction(async (tx) => {
      await tx`UPDATE prep_t SET note = 'in tx' WHERE id = 1`;
      return prepared(tx)<{ note: string }>`SELECT note FROM prep_t WHERE id = ${1}::int`;
    });
    expect(rows).toEqual([{ note: "in tx" }]);
  });
});
