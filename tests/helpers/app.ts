// The real app as a real server for end-to-end tests: built once (scripts/run.sh build, under a lock),
// then started per test file as its own process (scripts/serve.ts) on a free port and a fresh database.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestDb, testServerUrl, type TestDb } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/until";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

export interface RunningApp {
  baseUrl: string;
  /** The app's database (PostgreSQL), for arranging and checking data. Absent on the embedded default. */
  db: TestDb | undefined;
  /** Everything the server printed so far. */
  output(): string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface StartAppOptions {
  env?: Record<string, string>;
  /** Use this database instead of a fresh one. */
  db?: TestDb;
  /** Run on the embedded default (PGlite in DATA_DIR) instead of PostgreSQL. */
  embedded?: boolean;
  /** Data folder (embedded database, local secrets); a fresh temporary one by default. */
  dataDir?: string;
  /** Extra arguments for the web process's Node (e.g. `--cpu-prof` in a benchmark). */
  nodeArgs?: string[];
}

let built = false;
/** Builds the app when sources changed since the last build (no-op otherwise). */
export function ensureBuilt(): void {
  if (built) return;
  const res = spawnSync("bash", ["scripts/run.sh", "build"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 });
  if (res.status !== 0) throw new Error(`next build failed (exit ${res.status})`);
  built = true;
}

/** A port nobody listens on now (the OS's choice). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * Several distinct free ports: all are held open until every one is known, since two ports asked for one
 * after the other may be the same (the first was closed before the second was chosen).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const srv = createServer();
          srv.on("error", reject);
          srv.listen(0, "127.0.0.1", () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((srv) => (srv.address() as { port: number }).port);
  await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  return ports;
}

export async function startApp(opts: StartAppOptions = {}): Promise<RunningApp> {
  ensureBuilt();
  const embedded = opts.embedded ?? false;
  if (!embedded && !opts.db && !testServerUrl()) {
    throw new Error("End-to-end tests need PostgreSQL: set TEST_DATABASE_URL (npm test does when a local server answers).");
  }
  const db = embedded ? undefined : (opts.db ?? (await createTestDb()));
  const ownDb = !opts.db;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), "sot-app-"));
  // A hard-linked snapshot of the build (cheap), taken under the build lock: a later rebuild in this
  // checkout replaces .next/ but cannot change the files this server runs from.
  // (At the same depth as .next/: the build's node_modules symlinks are relative.)
  const distDir = `.next-snap-${randomBytes(6).toString("hex")}`;
  const copy = spawnSync("flock", [".next-build.lock", "cp", "-al", ".next", distDir], { cwd: ROOT, encoding: "utf8" });
  if (copy.status !== 0) throw new Error(`could not snapshot the build: ${copy.stderr}`);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(port),
    PUBLIC_URL: baseUrl,
    NEXTAUTH_URL: baseUrl,
    DATA_DIR: dataDir,
    AUTH_SECRET: randomBytes(32).toString("hex"),
    // Nothing listens on port 9 (discard): "Ollama is down" unless a test gives its fake.
    OLLAMA_HOST: "http://127.0.0.1:9",
    WORKERS_IN_PROCESS: "true",
    LOG_LEVEL: "warn",
    SOT_NEXT_DIST_DIR: distDir,
    ...(db?.url ? { DATABASE_URL: db.url } : {}),
    ...opts.env,
  };
  if (embedded) delete env.DATABASE_URL;
  let out = "";
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), "--import", "tsx", "scripts/serve.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  try {
    await until(
      "the app to answer /api/health",
      async () => {
        if (exitCode !== undefined) throw new Error(`The app exited with ${exitCode} before serving`);
        const res = await fetch(`${baseUrl}/api/health`).catch(() => null); // null: not listening yet
        return res !== null && (res.status === 200 || res.status === 503);
      },
      180_000,
    );
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}:\n${out}`);
  }

  return {
    baseUrl,
    db,
    output: () => out,
    process: child,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(t);
      }
      if (ownDb) await db?.drop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      rmSync(path.join(ROOT, distDir), { recursive: true, force: true });
    },
  };
}
