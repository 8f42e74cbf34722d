// `npm run db:migrate`: applies prisma/migrations to DATABASE_URL (or the embedded database) without
// Prisma's schema engine, keeping Prisma's _prisma_migrations table so `prisma migrate deploy` can take over.
import { closeDb, getDb } from "../lib/db/client";
import { applyMigrations, migrationStatus } from "../lib/db/migrate";

const db = await getDb(); // the embedded database is migrated on open
if (db.kind === "postgres") await applyMigrations(db.sql, { log: (l) => console.log(l) });
const status = await migrationStatus(db.sql);
console.log(`${db.kind}: ${status.applied.length} migrations applied, ${status.pending.length} pending${status.modified.length ? `, changed after applying: ${status.modified.join(", ")}` : ""}`);
await closeDb();
