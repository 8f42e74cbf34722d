// Several web processes on one PostgreSQL, as on the minis: three started at the same moment on an empty
// database migrate it once, seed the demo wiki once and all serve; behind nginx (deploy/nginx/sot.conf with
// two upstream servers), a person's requests alternate between two processes and everything behaves as
// with one: sign-in and the session, sign-out ending it everywhere, uploads, and answers.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { createEmptyPostgres, type TestDb } from "@/tests/helpers/db";
import { makeCert, request, startNginx, type Answer, type Proxy } from "@/tests/helpers/nginx";
import { until } from "@/tests/helpers/until";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

/** Rows of one query on the database at `url`. */
async function rows<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

describe("three web processes started at the same moment on an empty database", () => {
  let empty: { url: string; drop(): Promise<void> };
  let apps: RunningApp[] = [];
  beforeAll(async () => {
    empty = (await createEmptyPostgres())!;
    // Each process its own data folder, one database: what three machines sharing Mini 3's PostgreSQL do.
    apps = await Promise.all([0, 1, 2].map(() => startApp({ db: { url: empty.url, drop: async () => {} } as TestDb, env: { DEMO_WIKI: "true" } })));
  }, 300_000);
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await empty?.drop();
  });

  it("all three serve, and the migrations were applied once each", async () => {
    for (const app of apps) expect((await fetch(`${app.baseUrl}/api/health`)).status).toBe(200);
    const applied = await rows<{ migration_name: string; n: string }>(empty.url, `SELECT migration_name, count(*) AS n FROM _prisma_migrations GROUP BY 1`);
    const onDisk = spawnSync("ls", ["prisma/migrations"], { cwd: ROOT, encoding: "utf8" }).stdout.split("\n").filter((d) => /^\d{14}_/.test(d));
    expect(applied.map((r) => r.migration_name).sort()).toEqual(onDisk.sort());
    expect(applied.every((r) => Number(r.n) === 1)).toBe(true);
  });

  it("the demo wiki was imported once: one collection, one source, each page once", async () => {
    await until(
      "the demo wiki import to finish",
      async () => {
        const jobs = await rows<{ status: string }>(empty.url, `SELECT status FROM import_jobs WHERE trigger = 'seed'`);
        return jobs.length > 0 && jobs.every((j) => j.status !== "running" && j.status !== "queued");
      },
      120_000,
    );
    const docs = await rows<{ external_id: string; n: string }>(
      empty.url,
      `SELECT d.external_id, count(*) AS n FROM documents d JOIN sources s ON s.id = d.source_id WHERE s.config->>'demo' = 'true' GROUP BY 1`,
    );
    expect(await rows(empty.url, `SELECT 1 FROM collections WHERE slug = 'demo'`)).toHaveLength(1);
    expect(await rows(empty.url, `SELECT 1 FROM sources WHERE config->>'demo' = 'true'`)).toHaveLength(1);
    expect(await rows(empty.url, `SELECT 1 FROM import_jobs WHERE trigger = 'seed'`)).toHaveLength(1);
    expect(docs.length).toBeGreaterThan(20);
    expect(docs.filter((d) => Number(d.n) !== 1)).toEqual([]);
  });

  it("one first administrator, however many processes are asked at once", async () => {
    const answers = await Promise.all(
      apps.map((app, i) =>
        fetch(`${app.baseUrl}/api/setup`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: app.baseUrl },
          body: JSON.stringify({ email: `first-${i}@example.com`, password: "a long enough password 1" }),
        }).then((r) => r.status),
      ),
    );
    expect(answers.filter((s) => s === 201)).toHaveLength(1);
    expect(answers.filter((s) => s === 409)).toHaveLength(2);
    expect(await rows(empty.url, `SELECT 1 FROM users`)).toHaveLength(1);
  });
});

describe("two web processes behind nginx: a person's requests alternate between them", () => {
  let ollama: FakeOllama;
  let a: RunningApp;
  let b: RunningApp;
  let proxy: Proxy;
  const certDir = mkdtempSync(path.join(tmpdir(), "sot-two-web-"));
  let cert: { crt: string; key: string };
  let cookie = "";

  const via = (pathname: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> =>
    request(proxy.httpsPort, cert.crt, pathname, { ...opts, headers: { ...(cookie ? { cookie } : {}), origin: "https://sot.lan", ...opts.headers } });
  const setCookies = (r: Answer) => ([] as string[]).concat(r.headers["set-cookie"] ?? []).map((c) => c.split(";")[0]!);
  /** How many requests each process has logged for a path. */
  const served = (p: string) => [a, b].map((app) => app.output().split("\n").filter((l) => l.includes(`"path":"${p}"`)).length);

  beforeAll(async () => {
    ollama = await startFakeOllama();
    cert = makeCert(certDir);
    // Every process of one deployment shares the database and AUTH_SECRET.
    const env = { OLLAMA_HOST: ollama.url, DEMO_WIKI: "false", PUBLIC_URL: "https://sot.lan", NEXTAUTH_URL: "https://sot.lan", LOG_LEVEL: "info", AUTH_SECRET: randomBytes(32).toString("hex") };
    a = await startApp({ env });
    b = await startApp({ db: a.db, env });
    proxy = await startNginx([Number(new URL(a.baseUrl).port), Number(new URL(b.baseUrl).port)], cert);
  }, 300_000);
  afterAll(async () => {
    await proxy?.stop();
    await b?.stop();
    await a?.stop();
    await ollama?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  it("signs in through one process and keeps the session on both", async () => {
    expect((await via("/api/setup", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "admin@example.com", password: "a long enough password 1" }) })).status).toBe(201);
    // The CSRF token and the sign-in itself may each reach either process.
    const csrf = await via("/api/auth/csrf");
    const { csrfToken } = JSON.parse(csrf.body) as { csrfToken: string };
    const signIn = await via("/api/auth/callback/credentials", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: setCookies(csrf).join("; ") },
      body: new URLSearchParams({ csrfToken, email: "admin@example.com", password: "a long enough password 1", json: "true" }).toString(),
    });
    cookie = setCookies(signIn).filter((c) => c.includes("next-auth.session-token=")).join("; ");
    expect(cookie).not.toBe("");
    const before = served("/api/admin/users");
    for (let i = 0; i < 6; i++) {
      const r = await via("/api/admin/users");
      expect(r.status).toBe(200);
      expect(r.body).toContain("admin@example.com");
    }
    const after = served("/api/admin/users");
    // Both processes answered some of them.
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
  });

  it("an upload through one process is there, whole, on the other", async () => {
    const created = await via("/api/admin/collections", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ slug: "handbook", name: "Handbook" }) });
    expect(created.status).toBe(201);
    const collectionId = (JSON.parse(created.body) as { id: string }).id;
    const boundary = "----sot" + randomBytes(8).toString("hex");
    const files = ["holidays", "expenses", "laptops"].map((name) => `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}.md"\r\nContent-Type: text/markdown\r\n\r\n# ${name}\n\nThe ${name} policy of the handbook, word ${name}word.\n\r\n`);
    const up = await via(`/api/import/upload?collectionId=${collectionId}`, { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, body: files.join("") + `--${boundary}--\r\n` });
    expect(up.status).toBe(200);
    for (let i = 0; i < 4; i++) {
      const r = await via("/api/sources");
      expect(r.status).toBe(200);
      const sources = (JSON.parse(r.body) as { sources: Array<{ collectionId: string; documentCount?: number; documents?: number }> }).sources.filter((s) => s.collectionId === collectionId);
      expect(sources).toHaveLength(1);
    }
    const docs = await a.db!.prisma.document.findMany({ where: { source: { collectionId } }, select: { title: true } });
    expect(docs.map((d) => d.title).sort()).toEqual(["expenses", "holidays", "laptops"]);
  });

  it("answers through either process with the uploaded page cited", async () => {
    const before = served("/api/evaluate");
    for (let i = 0; i < 4; i++) {
      const r = await via("/api/evaluate", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question: "What is the laptops policy?", stream: false }) });
      expect(r.status).toBe(200);
      expect(r.body).toContain("laptopsword");
    }
    const after = served("/api/evaluate");
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
  });

  it("signing out through one process ends the session on both", async () => {
    const csrf = await via("/api/auth/csrf");
    const { csrfToken } = JSON.parse(csrf.body) as { csrfToken: string };
    const out = await via("/api/auth/signout", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: [cookie, ...setCookies(csrf)].join("; ") },
      body: new URLSearchParams({ csrfToken, json: "true" }).toString(),
    });
    expect(out.status).toBeLessThan(400);
    // The old cookie, replayed (as a stolen one would be), is refused by both processes.
    const before = served("/api/admin/users");
    for (let i = 0; i < 6; i++) expect((await via("/api/admin/users")).status).toBe(401);
    const after = served("/api/admin/users");
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
  });
});
