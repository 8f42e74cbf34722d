// JSON logs, one object per line. Callers pass ids, counts and timings — never wiki text, questions,
// answers or secrets (keys matching SECRET/TOKEN/PASSWORD/KEY/AUTHORIZATION are masked defensively).
import { getConfig } from "./config";

type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SENSITIVE = /secret|token|password|authorization|cookie|api[_-]?key|^key$/i;

function scrub(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, SENSITIVE.test(k) ? "***" : v]));
}

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  let min: Level = "info";
  try {
    min = getConfig().LOG_LEVEL;
  } catch {
    /* config not valid yet: log anyway */
  }
  if (ORDER[level] < ORDER[min]) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...scrub(fields) });
  (level === "error" || level === "warn" ? process.stderr : process.stdout).write(line + "\n");
}
