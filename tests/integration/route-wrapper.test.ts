// lib/http/route.ts: the one wrapper every route goes through, called with real Request objects.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { setDb, closeDb } from "@/lib/db/client";
import { NotFoundError } from "@/lib/errors";
import { route } from "@/lib/http/route";
import { LlmUnavailableError } from "@/lib/llm";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeApiKey, makeUser } from "@/tests/helpers/auth";

const Body = z.object({ question: z.string().min(1), topK: z.number().int().max(50).optional() });
const echo = route({ permission: "ask", body: Body, maxBodyBytes: 200 }, async ({ body, principal }) => ({ got: body, who: principal.label }));
const adminOnly = route({ permission: "admin" }, async () => ({ ok: true }));
const withParams = route({ permission: "public", params: z.object({ id: z.string().uuid() }) }, async ({ params }) => {
  throw new NotFoundError(`Document ${params.id}`);
});
const failing = route({ permission: "public" }, async () => {
  throw new Error("secret internals: password=hunter2");
});
const llmDown = route({ permission: "public" }, async () => {
  throw new LlmUnavailableError("Ollama at http://x is not reachable");
});

// Errors from another copy of lib/ (Next.js bundles lib/ apart from the web process's own copy).
const foreignNotFound = route({ permission: "public" }, async () => {
  throw Object.assign(new Error("Schedule x was not found."), { [Symbol.for("sot.AppError")]: true, status: 404, code: "not_found" });
});
const foreignLlmDown = route({ permission: "public" }, async () => {
  throw Object.assign(new Error("Ollama is not reachable"), { name: "LlmUnavailableError" });
});

const post = (body: string, headers: Record<string, string> = {}) =>
  new Request("http://app.test/api/x", { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

describe("route wrapper", () => {
  let db: TestDb;
  let ask: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDb();
    setDb(db);
    ask = (await makeApiKey(db, ["ask"], { creator: await makeUser(db, "viewer") })).headers;
  });
  afterAll(async () => {
    await db?.drop();
    await closeDb().catch(() => {});
  });

  it("answers 401 without credentials and with an unknown key, 403 without the permission", async () => {
    expect((await echo(post('{"question":"x"}'))).status).toBe(401);
    const bad = await echo(post('{"question":"x"}', { authorization: "Bearer sot_aaaaaaaa_" + "b".repeat(43) }));
    expect(bad.status).toBe(401);
    expect((await bad.json()).error.message).toMatch(/invalid, revoked or expired/);
    const forbidden = await adminOnly(new Request("http://app.test/api/admin", { headers: ask }));
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json()).error.message).toMatch(/"admin" permission/);
  });

  it("parses and validates the body, naming every wrong field", async () => {
    const ok = await echo(post('{"question":"What is SOT?","topK":5}', ask));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ got: { question: "What is SOT?", topK: 5 }, who: expect.stringMatching(/^key:/) });
    expect(ok.headers.get("x-request-id")).toBeTruthy();

    const invalid = await echo(post('{"question":"","topK":500}', ask));
    expect(invalid.status).toBe(400);
    const { error } = await invalid.json();
    expect(error.code).toBe("invalid_input");
    expect(error.details.map((d: { path: string }) => d.path).sort()).toEqual(["question", "topK"]);
    expect(error.details[0].in).toBe("body");
  });

  it("refuses malformed JSON (400), a wrong content type (415) and an oversized body (413)", async () => {
    const malformed = await echo(post('{"question":', ask));
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error.message).toMatch(/not valid JSON/);
    const text = await echo(new Request("http://app.test/api/x", { method: "POST", body: "question", headers: { ...ask, "content-type": "text/plain" } }));
    expect(text.status).toBe(415);
    const big = await echo(post(JSON.stringify({ question: "x".repeat(500) }), ask));
    expect(big.status).toBe(413);
    expect((await big.json()).error.details.limitBytes).toBe(200);
  });

  it("validates path parameters and maps typed errors to statuses", async () => {
    const bad = await withParams(new Request("http://app.test/api/d/1"), { params: Promise.resolve({ id: "not-a-uuid" }) });
    expect(bad.status).toBe(400);
    const missing = await withParams(new Request("http://app.test/api/d/1"), {
      params: Promise.resolve({ id: "0b8f1a3e-2f55-4a5e-9d5b-0c7a3c1e9f00" }),
    });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.message).toMatch(/was not found/);
    expect((await llmDown(new Request("http://app.test/x"))).status).toBe(503);
    expect((await foreignNotFound(new Request("http://app.test/x"))).status).toBe(404);
    expect((await foreignLlmDown(new Request("http://app.test/x"))).status).toBe(503);
  });

  it("hides internal errors behind a 500 with a request id", async () => {
    const res = await failing(new Request("http://app.test/x", { headers: { "x-request-id": "req-123" } }));
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.error.requestId).toBe("req-123");
    expect(JSON.stringify(body)).not.toMatch(/hunter2|internals/);
  });
});
