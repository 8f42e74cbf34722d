// `npm run import:supabase` as people run it: its own process, on PostgreSQL (the test database) or on
// the embedded default (a data folder) when no PostgreSQL is given; killed with SIGKILL midway and run
// again; reading a live Supabase-shaped database as well as a dump.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usePglite } from "@/lib/db/client";
import { openEmbedded } from "@/lib/db/embedded";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, testServerUrl, type TestDb } from "@/tests/helpers/db";
import { makeFixture, type Fixture } from "@/tests/helpers/supabase-dumps";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const PAGES = 40;

let ollama: FakeOllama;
let fixture: Fixture;
let pgDb: TestDb | undefined;
let dataDir: string;
const embedCalls = () => ollama.calls.filter((c) => c.path === "/api/embed").length;

/** The SOT database the command line writes to: the test PostgreSQL, else an embedded data folder. */
const dbEnv = (): Record<string, string> => (pgDb?.url ? { DATABASE_URL: pgDb.url } : { DATA_DIR: dataDir });

async function sotQuery<T>(sql: string): Promise<T[]> {
  if (pgDb) return pgDb.sql.query<T>(sql);
  const { pglite, release } = await openEmbedded(dataDir);
  const db = await usePglite(pglite, { release });
  try {
    return await db.sql.query<T>(sql);
  } finally {
    await db.close();
  }
}

function cli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>; stderr: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, OLLAMA_HOST: ollama.url, LOG_LEVEL: "warn", INGEST_EMBED_BATCH_SIZE: "4", AUTH_SECRET: "move-in-test-secret-0123456789abcdef0123456789", ...dbEnv() };
  if (!pgDb) delete env.DATABASE_URL;
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/import-supabase.ts", ...args], { cwd: ROOT, env });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

beforeAll(async () => {
  // Each embedding call takes a while, so the import is still running when it is killed.
  ollama = await startFakeOllama({ embedDelayMs: 150 });
  fixture = await makeFixture(1536, { pages: PAGES });
  if (testServerUrl()) pgDb = await createTestDb();
  dataDir = mkdtempSync(path.join(tmpdir(), "sot-movein-"));
}, 180_000);

afterAll(async () => {
  await fixture?.close();
  await ollama?.close();
  await pgDb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("npm run import:supabase", () => {
  it("dry run from the live database: prints the report and writes nothing", async () => {
    const r = await cli(["--from", fixture.url, "--dry-run"]).done;
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Dry run \(nothing written\): postgresql:\/\/.* → collection wiki \(would be created\)/);
    expect(r.stdout).toMatch(/table\s+public\.wiki_chunks \(postgres\)/);
    expect(r.stdout).toMatch(/rows\s+122\n/);
    expect(r.stdout).toMatch(/chunks\s+120 \(1 empty, 1 duplicate: skipped\)/);
    expect(r.stdout).toMatch(/documents\s+40 \(by page id: 40\)/);
    expect(r.stdout).toMatch(/embeddings\s+1536-d: Google gemini-embedding-001/);
    expect(r.stdout).toMatch(/not reused — embedded again with nomic-embed-text/);
    const [n] = await sotQuery<{ c: number }>(`SELECT count(*)::int AS c FROM collections WHERE slug = 'wiki'`);
    expect(n.c).toBe(0);
  });

  it("killed with SIGKILL midway, run again: complete, no duplicate; a third run makes no embedding call", async () => {
    const dump = fixture.dump("kill.sql", []);
    const first = cli(["--from", dump, "--collection", "handbook"]);
    // Kill it once the first group of pages is written.
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (/importing… (1[6-9]|[2-3]\d)\/40 pages/.test(first.stderr())) {
          clearInterval(t);
          first.child.kill("SIGKILL");
          resolve();
        }
        if (first.child.exitCode !== null) {
          clearInterval(t);
          reject(new Error(`finished before it could be killed:\n${first.stderr()}`));
        }
      }, 20);
    });
    expect((await first.done).signal).toBe("SIGKILL");
    const [partial] = await sotQuery<{ c: number }>(`SELECT count(*)::int AS c FROM documents`);
    expect(partial.c).toBeGreaterThanOrEqual(16);
    expect(partial.c).toBeLessThan(PAGES);

    const again = await cli(["--from", dump, "--collection", "handbook", "--json"]).done;
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout).moveIn;
    expect(report.superseded).toBe(1);
    expect(report.job).toMatchObject({ status: "succeeded", found: PAGES, done: PAGES, failed: 0, unchanged: partial.c });
    const dup = await sotQuery<{ n: number; distinct_ids: number }>(`SELECT count(*)::int AS n, count(DISTINCT external_id)::int AS distinct_ids FROM documents`);
    expect(dup[0]).toEqual({ n: PAGES, distinct_ids: PAGES });
    const [staged] = await sotQuery<{ c: number }>(`SELECT count(*)::int AS c FROM supabase_import_rows`);
    expect(staged.c).toBe(0);

    const before = embedCalls();
    const third = await cli(["--from", dump, "--collection", "handbook"]).done;
    expect(third.code).toBe(0);
    expect(third.stdout).toMatch(/import job\s+\S+: succeeded — 0 imported, 40 unchanged, 0 failed, 0 chunks embedded/);
    expect(embedCalls()).toBe(before);
  });

  it("a binary dump: a clear error and exit code 1", async () => {
    const r = await cli(["--from", fixture.dump("x.dump", ["-Fc"]), "--collection", "handbook"]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: line 1: this is a binary pg_dump archive/);
  });
});
