// The embedded default: no DATABASE_URL → PGlite inside the app's process, data under DATA_DIR,
// migrations applied at start; a second process on the same folder is refused with a clear message.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startApp, type RunningApp } from "@/tests/helpers/app";

describe("embedded default (PGlite)", () => {
  let app: RunningApp;
  const dataDir = mkdtempSync(path.join(tmpdir(), "sot-embedded-"));
  beforeAll(async () => {
    app = await startApp({ embedded: true, dataDir });
  });
  afterAll(async () => {
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves with its own migrated database and says that Ollama is missing", async () => {
    const res = await fetch(`${app.baseUrl}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "degraded", degraded: ["ollama"], database: { ok: true }, queue: { ok: true } });
    expect(existsSync(path.join(dataDir, "pglite", "PG_VERSION"))).toBe(true);
    expect(existsSync(path.join(dataDir, "owner.pid"))).toBe(true);
  });

  it("refuses a second process on the same data folder, naming the owner", async () => {
    const port = await freePort();
    const second = spawnSync(process.execPath, ["--import", "tsx", "scripts/serve.ts"], {
      cwd: path.resolve(import.meta.dirname, "..", ".."),
      env: { ...process.env, DATABASE_URL: "", DATA_DIR: dataDir, PORT: String(port), OLLAMA_HOST: "http://127.0.0.1:9" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(second.status).toBe(3);
    expect(second.stderr).toContain(`already in use by process ${app.process.pid}`);
    expect(second.stderr).toMatch(/set DATABASE_URL/);
  });

  it("keeps its data across a restart and releases the folder on stop", { timeout: 240_000 }, async () => {
    await app.stop();
    expect(existsSync(path.join(dataDir, "owner.pid"))).toBe(false);
    app = await startApp({ embedded: true, dataDir });
    const res = await fetch(`${app.baseUrl}/api/health`);
    expect(res.status).toBe(200);
  });
});
