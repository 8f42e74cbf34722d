// KES as its own process (workers/kes.ts) for tests and benchmarks: the master key exists only in ITS
// environment; callers reach it over HTTP with the service tokens given here.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

export interface KesProcess {
  url: string;
  /** service name → token */
  tokens: Record<string, string>;
  process: ChildProcess;
  output(): string;
  /** Stops it and waits for the exit. */
  stop(): Promise<void>;
}

export async function startKesProcess(opts: {
  /** Its database (KES shares SOT's); none: its own embedded database under dataDir. */
  databaseUrl?: string;
  services: string[];
  dataDir?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Extra arguments for KES's Node (e.g. `--cpu-prof` in a benchmark). */
  nodeArgs?: string[];
}): Promise<KesProcess> {
  const tokens = Object.fromEntries(opts.services.map((s) => [s, randomBytes(32).toString("base64url")]));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    MASTER_KEYS: `kes-test:${randomBytes(32).toString("base64")}`,
    KES_SERVICE_TOKENS: Object.entries(tokens).map(([s, t]) => `${s}:${t}`).join(","),
    KES_PORT: "0",
    LOG_LEVEL: "info",
    ...(opts.dataDir ? { DATA_DIR: opts.dataDir } : {}),
    ...opts.env,
  };
  delete env.MASTER_KEY_FILE;
  delete env.KES_URL;
  delete env.KES_TOKEN;
  if (opts.databaseUrl) Object.assign(env, { DATABASE_URL: opts.databaseUrl, AUTH_SECRET: env.AUTH_SECRET ?? randomBytes(32).toString("hex") });
  else delete env.DATABASE_URL;
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), "--import", "tsx", "workers/kes.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kes did not start:\n${output}`)), opts.timeoutMs ?? 230_000);
    child.stdout!.on("data", () => {
      const m = /"msg":"kes listening".*?"url":"([^"]+)"/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`kes exited (${code}):\n${output}`));
    });
  });
  return {
    url,
    tokens,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
