// A real scheduler process (workers/scheduler.ts as a child) on a test database, for tests that need
// several of them at once: resolves once it logs "scheduler started"; its output is kept for messages.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface SchedulerProcess {
  child: ChildProcess;
  output: string;
  exited: Promise<number | null>;
}

export function spawnScheduler(url: string, env: Record<string, string> = {}): Promise<SchedulerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "workers/scheduler.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "production",
      DATABASE_URL: url,
      AUTH_SECRET: "scheduler-process-test-secret-0123456789abcdef",
      LOG_LEVEL: "info",
      SCHEDULER_POLL_MS: "100",
      OUTBOUND_ALLOW: "127.0.0.1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: SchedulerProcess = {
    child,
    output: "",
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
  child.stdout!.on("data", (d) => (proc.output += d));
  child.stderr!.on("data", (d) => (proc.output += d));
  return new Promise((resolve, reject) => {
    // Two tsx processes starting at once on a loaded 2-core machine take a while.
    const timer = setTimeout(() => reject(new Error(`scheduler did not start:\n${proc.output}`)), 90_000);
    const check = () => {
      if (proc.output.includes('"msg":"scheduler started"')) {
        clearTimeout(timer);
        resolve(proc);
      }
    };
    child.stdout!.on("data", check);
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`scheduler exited (${code}) before starting:\n${proc.output}`));
    });
  });
}
