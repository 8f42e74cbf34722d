// Hostile input against the real pipeline on real PostgreSQL: SQL and tsquery metacharacters in search
// text, path traversal and markup in upload names, and collection boundaries in search.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetConfig } from "@/lib/config";
import { closeDb, setDb } from "@/lib/db/client";
import { ingestUploads } from "@/lib/ingest";
import { retrieve } from "@/lib/retrieve";
import { route } from "@/lib/http/route";
import { z } from "zod";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeCollection } from "@/tests/helpers/factories";

const enc = (s: string) => new TextEncoder().encode(s);

describe("injection and traversal attempts", () => {
  let db: TestDb;
  let a: { id: string };
  let b: { id: string };
  beforeAll(async () => {
    process.env.OLLAMA_HOST = "http://127.0.0.1:9"; // no model: full-text search only, still the real SQL
    process.env.LOG_LEVEL = "error";
    resetConfig();
    db = await createTestDb();
    setDb(db);
    a = await makeCollection(db, { slug: "secret-a", name: "A", restricted: true });
    b = await makeCollection(db, { slug: "open-b", name: "B" });
    await ingestUploads(db, { collectionId: a.id, files: [{ name: "salaries.md", bytes: enc("# Salaries\n\nThe salary band for engineers is confidential zebra.") }] });
    await ingestUploads(db, { collectionId: b.id, files: [{ name: "handbook.md", bytes: enc("# Handbook\n\nHoliday policy: twenty five days of leave per year.") }] });
  });
  afterAll(async () => {
    await db?.drop();
    await closeDb().catch(() => {});
  });

  it("treats SQL and tsquery syntax in search text as words, and never crosses a collection boundary", async () => {
    const hostile = [
      "'; DROP TABLE chunks; --",
      "zebra' OR '1'='1",
      "%' OR 1=1 --",
      "zebra & ! | :* ( ) <-> \\",
      "$$; SELECT pg_sleep(10); $$",
      "a".repeat(5000),
    ];
    for (const q of hostile) {
      const res = await retrieve(q, { collectionIds: [b.id], db, rerank: false });
      for (const c of res.candidates) expect(c.collectionId, q).toBe(b.id);
    }
    // The secret text is findable inside its own collection, and only there.
    const inside = await retrieve("confidential zebra salary", { collectionIds: [a.id], db, rerank: false });
    expect(inside.candidates.length).toBeGreaterThan(0);
    const outside = await retrieve("confidential zebra salary", { collectionIds: [b.id], db, rerank: false });
    expect(outside.candidates.every((c) => c.collectionId === b.id)).toBe(true);
    expect(JSON.stringify(outside.candidates)).not.toContain("zebra");
    const none = await retrieve("confidential zebra salary", { collectionIds: [], db, rerank: false });
    expect(none.candidates).toEqual([]);
    // Nothing was dropped or altered.
    expect(await db.prisma.chunk.count()).toBeGreaterThanOrEqual(2);
  });

  it("keeps traversal and markup in upload names as inert titles", async () => {
    await ingestUploads(db, {
      collectionId: b.id,
      files: [
        { name: "../../../etc/passwd.md", bytes: enc("root:x:0:0 not really") },
        { name: "<img src=x onerror=alert(1)>.md", bytes: enc("markup in a name") },
      ],
    });
    const docs = await db.prisma.document.findMany({ where: { collectionId: b.id }, select: { title: true, externalId: true } });
    const titles = docs.map((d) => d.title).join("\n");
    expect(titles).toContain("passwd");
    // Stored as data in the database; nothing was written to the file system outside it.
    const { existsSync, readFileSync } = await import("node:fs");
    expect(existsSync("/etc/passwd") && readFileSync("/etc/passwd", "utf8")).not.toContain("not really");
  });

  it("refuses NUL characters (which PostgreSQL text cannot hold) with a 400 naming the field, in body, query and path", async () => {
    const search = route({ permission: "public", body: z.object({ q: z.string(), filters: z.object({ tag: z.string() }).optional() }), query: z.object({ q: z.string().optional() }) }, async ({ body }) => ({ q: body.q }));
    const post = (body: unknown, qs = "") => search(new Request(`http://t/api/x${qs}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
    const bad = await post({ q: "ok", filters: { tag: "zebra\u0000salary" } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details).toEqual([{ path: "filters.tag", message: "contains a NUL character", in: "body" }]);
    expect((await post({ q: "ok" }, "?q=%00")).status).toBe(400);
    const withParam = route({ permission: "public" }, async () => ({}));
    expect((await withParam(new Request("http://t/api/x/a"), { params: Promise.resolve({ id: "a\u0000" }) })).status).toBe(400);
    expect((await post({ q: "fine" })).status).toBe(200);
  });
});
