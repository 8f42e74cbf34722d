// KES as its own process (workers/kes.ts, spawned): the master key exists only in ITS environment;
// this test process calls it over real HTTP with a service credential, and sees a clear 503 once it is
// gone. On PostgreSQL KES shares the test database; without one it keeps its own embedded database.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KesClient, httpTransport } from "@/lib/kes/client";
import { createTestDb, testServerUrl, type TestDb } from "@/tests/helpers/db";
import { startKesProcess, type KesProcess } from "@/tests/helpers/kes-process";

let db: TestDb | undefined;
let dir: string;
let kesProc: KesProcess;
let url: string;
let TOKEN: string;

beforeAll(async () => {
  // Without PostgreSQL, KES opens its own embedded database under DATA_DIR (migrating it takes a while).
  if (testServerUrl()) db = await createTestDb();
  dir = mkdtempSync(path.join(tmpdir(), "sot-kes-"));
  kesProc = await startKesProcess({ databaseUrl: db?.url, services: ["sot-web"], dataDir: dir });
  url = kesProc.url;
  TOKEN = kesProc.tokens["sot-web"]!;
}, 240_000);

afterAll(async () => {
  await kesProc?.stop();
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
    expect(kesProc.output()).not.toContain(TOKEN);
  });

  it("answers 503 once KES is down, and nothing is written", async () => {
    const kes = new KesClient(httpTransport(url, TOKEN, 2000));
    await kesProc.stop();
    await expect(kes.generateDataKey("wiki-knowledge-key", {})).rejects.toMatchObject({ status: 503, code: "kes_unavailable" });
    await expect(kes.createKey("never")).rejects.toMatchObject({ status: 503 });
  });
});
