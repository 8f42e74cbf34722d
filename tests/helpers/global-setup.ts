// Runs once before all test files: checks the PostgreSQL test server (and pgvector) when one is
// configured, and builds the migrated template database so files do not race to build it.
import { ensureTemplate, testServerUrl } from "@/tests/helpers/db";
import pg from "pg";

export default async function setup() {
  const url = testServerUrl();
  if (!url) {
    console.log("[tests] TEST_DATABASE_URL not set: database tests run on PGlite (in-memory).");
    return;
  }
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const v = await client.query("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'");
    if (!v.rowCount) throw new Error("pgvector is not installed on the test server (scripts/install-pgvector.sh installs it).");
    console.log(`[tests] PostgreSQL at ${new URL(url).host} with pgvector ${v.rows[0].default_version}`);
  } catch (err) {
    throw new Error(`TEST_DATABASE_URL is set but unusable: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
  await ensureTemplate(url);
}
