// Prisma CLI configuration (Prisma 7: the datasource URL lives here, not in the schema).
// `prisma generate` needs no database; `prisma migrate deploy` needs DATABASE_URL and the
// native schema engine, which `npm run db:migrate` (scripts/migrate.ts) replaces offline.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/sot" },
});
