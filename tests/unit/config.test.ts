import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";

describe("configuration", () => {
  it("defaults to the embedded database with in-process workers", () => {
    const c = parseConfig({});
    expect(c.databaseKind).toBe("pglite");
    expect(c.workersInProcess).toBe(true);
    expect(c.OLLAMA_HOST).toBe("http://127.0.0.1:11434");
    expect(c.OLLAMA_EMBED_MODEL).toBe("nomic-embed-text");
    expect(c.PORT).toBe(3000);
  });

  it("runs workers as separate processes on PostgreSQL unless told otherwise", () => {
    const c = parseConfig({ DATABASE_URL: "postgresql://u@h/db", AUTH_SECRET: "x".repeat(40) });
    expect(c.databaseKind).toBe("postgres");
    expect(c.workersInProcess).toBe(false);
    expect(parseConfig({ DATABASE_URL: "postgresql://u@h/db", AUTH_SECRET: "x".repeat(40), WORKERS_IN_PROCESS: "true" }).workersInProcess).toBe(true);
  });

  it("treats empty values as unset", () => {
    expect(parseConfig({ PORT: "", OLLAMA_HOST: "" }).PORT).toBe(3000);
  });

  it("lists every problem in one error, with the fix, and never echoes secrets", () => {
    let error: unknown;
    try {
      parseConfig({
        PORT: "eighty",
        OLLAMA_HOST: "not a url",
        DATABASE_URL: "mysql://root:hunter2@db/x",
        LOG_QUERY_TEXT: "maybe",
        AUTH_SECRET: "short-secret-value",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.problems.length).toBe(5);
    expect(e.message).toMatch(/PORT="eighty"/);
    expect(e.message).toMatch(/OLLAMA_HOST="not a url" must be a URL/);
    expect(e.message).toMatch(/DATABASE_URL=.*must start with postgresql:\/\//);
    expect(e.message).toMatch(/LOG_QUERY_TEXT="maybe" must be true or false/);
    expect(e.message).toMatch(/AUTH_SECRET="\*\*\*" must be at least 32 characters/);
    expect(e.message).not.toMatch(/hunter2|short-secret-value/);
    expect(e.message).toMatch(/\.env\.example/);
  });

  it("requires AUTH_SECRET with PostgreSQL", () => {
    expect(() => parseConfig({ DATABASE_URL: "postgresql://u@h/db" })).toThrow(/AUTH_SECRET is required when DATABASE_URL is set/);
  });
});

describe(".env.example", () => {
  it("documents every setting", async () => {
    const { readFileSync } = await import("node:fs");
    const { CONFIG_KEYS } = await import("@/lib/config");
    const text = readFileSync(new URL("../../.env.example", import.meta.url), "utf8");
    const missing = CONFIG_KEYS.filter((k) => !new RegExp(`^#?\\s*${k}=`, "m").test(text));
    expect(missing).toEqual([]);
  });
});
