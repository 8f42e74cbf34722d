// KES as its own process (workers/kes.ts, spawned): the master key exists only in ITS environment;
// this test process calls it over real HTTP with a service credential, and sees a clear 503 once it is
// gone. On PostgreSQL KES shares the test database; without one it keeps its own embedded database.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KesClient, httpTransport } from "@/lib/kes/client";
import { createTestDb, testServerUrl, type TestDb } from "@/tests/helpers/db";

const ROOT = path.resolve(__dirname, "../..");
const TOKEN = randomBytes(32).toString("base64url");
let db: TestDb | undefined;
let dir: string;
let child: ChildProcess;
let output = "";
let url: string;

beforeAll(async () => {
  // Without PostgreSQL, KES opens its own embedded database under DATA_DIR (migrating it takes a while).
  if (testServerUrl()) db = await createTestDb();
  dir = mkdtempSync(path.join(tmpdir(), "sot-kes-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    MASTER_KEYS: `kes-test:${randomBytes(32).toString("base64")}`,
    KES_SERVICE_TOKENS: `sot-web:${TOKEN}`,
    KES_PORT: "0",
    LOG_LEVEL: "info",
    DATA_DIR: dir,
  };
  delete env.MASTER_KEY_FILE;
  if (db?.url) Object.assign(env, { DATABASE_URL: db.url, AUTH_SECRET: "kes-process-test-secret-0123456789abcdef" });
  else delete env.DATABASE_URL;
  child = spawn(process.execPath, ["--import", "tsx", "workers/kes.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kes did not start:\n${output}`)), 230_000);
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
}, 240_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGTERM");
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("KES as its own process", () => {
  it("serves data keys over HTTP to a caller that holds no master key", async () => {
    expect(process.env.MASTER_KEYS ?? "").not.toContain("kes-test");
    // a generous limit: the first calls warm a fresh process on a shared machine
    const kes = new KesClient(httpTransport(url, TOKEN, 30_000));
    await kes.createKey("wiki-knowledge-key", { readers: ["service:sot-query"] });
    const blob = await kes.encrypt(Buffer.from("a chunk of the wiki"), { keyId: "wiki-knowledge-key", context: { document: "d1" } });
    expect((await kes.decrypt(blob, { context: { document: "d1" } })).toString()).toBe("a chunk of the wiki");
    const res = await fetch(`${url}/health`);
    expect(await res.json()).toEqual({ ok: true, masterKey: true });
    // a wrong credential and a malformed body are refused with what is wrong
    const stranger = new KesClient(httpTransport(url, "x".repeat(32)));
    await expect(stranger.listKeys()).rejects.toMatchObject({ status: 401 });
    const bad = await fetch(`${url}/v1/keys.create`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body: "{" });
    expect(bad.status).toBe(400);
    expect(output).not.toContain(TOKEN);
  });

  it("answers 503 once KES is down, and nothing is written", async () => {
    const kes = new KesClient(httpTransport(url, TOKEN, 2000));
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await expect(kes.generateDataKey("wiki-knowledge-key", {})).rejects.toMatchObject({ status: 503, code: "kes_unavailable" });
    await expect(kes.createKey("never")).rejects.toMatchObject({ status: 503 });
  });
});
