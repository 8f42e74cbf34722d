// The OpenAI-compatible API (/v1) against the real server, through the official `openai` client: models
// are the caller's collections, chat completions run the Ask pipeline (streamed and not) with citations
// three ways that agree (inline [n], url_citation annotations whose offsets point at the markers, the
// `sot` extension), embeddings take a string or an array, and every bad input gets OpenAI's error shape.
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeEmbedding } from "@/tests/fakes/ollama";
import { ARCHIVE_CANARY, CANARY, LEAVE_URL, startConnectWorld, type ConnectWorld } from "@/tests/e2e/connect-fixtures";

const LEAVE_QUESTION = "How many days of paid leave do employees get per year?";

describe("OpenAI-compatible API (/v1)", () => {
  let w: ConnectWorld;
  const client = (key: string) => new OpenAI({ baseURL: `${w.app.baseUrl}/v1`, apiKey: key, maxRetries: 0 });
  /** A raw request, for what the SDK would hide (the SSE text, [DONE], invalid JSON, huge bodies). */
  const raw = (path: string, init: RequestInit & { key?: string } = {}) =>
    fetch(`${w.app.baseUrl}${path}`, {
      ...init,
      headers: { "content-type": "application/json", ...(init.key ? { authorization: `Bearer ${init.key}` } : {}), ...(init.headers as Record<string, string>) },
    });
  async function refusal(p: Promise<unknown>): Promise<APIError> {
    try {
      await p;
    } catch (err) {
      expect(err).toBeInstanceOf(OpenAI.APIError);
      return err as APIError;
    }
    throw new Error("the request was accepted");
  }

  beforeAll(async () => {
    w = await startConnectWorld();
  });
  afterAll(async () => {
    await w?.stop();
  });

  describe("models", () => {
    it("lists one model per readable collection, plus `sot` when there are several", async () => {
      const admin = (await client(w.keys.admin).models.list()).data;
      expect(admin.map((m) => m.id)).toEqual(["sot", "handbook", "payroll", "payroll-archive"]);
      for (const m of admin) {
        expect(m.object).toBe("model");
        expect(m.owned_by).toBe("sot");
        expect(m.created).toBeGreaterThan(1_700_000_000);
      }
      // A key limited to one collection sees one model; a viewer does not see the members-only ones.
      expect((await client(w.keys.handbookOnly).models.list()).data.map((m) => m.id)).toEqual(["handbook"]);
      expect((await client(w.keys.viewer).models.list()).data.map((m) => m.id)).toEqual(["handbook"]);
    });

    it("retrieves a readable model and answers 404 model_not_found for any other", async () => {
      expect((await client(w.keys.viewer).models.retrieve("handbook")).id).toBe("handbook");
      expect((await client(w.keys.admin).models.retrieve("handbook+payroll")).id).toBe("handbook+payroll");
      const err = await refusal(client(w.keys.viewer).models.retrieve("payroll"));
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect(err.code).toBe("model_not_found");
      expect(err.param).toBe("model");
      // The hint names only what the caller may read.
      expect(err.message).toContain("Available: handbook.");
      expect(err.message).not.toContain("payroll-archive");
    });
  });

  describe("chat completions", () => {
    it("answers with inline [n] citations, url_citation annotations on the markers and the sot extension", async () => {
      const completion = await client(w.keys.viewer).chat.completions.create({
        model: "handbook",
        messages: [
          { role: "system", content: "You are Open WebUI's default assistant." },
          { role: "user", content: LEAVE_QUESTION },
        ],
      });
      expect(completion.object).toBe("chat.completion");
      expect(completion.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
      expect(completion.model).toBe("handbook");
      const choice = completion.choices[0]!;
      expect(choice.finish_reason).toBe("stop");
      const content = choice.message.content!;
      expect(content).toContain("twenty five days");
      expect(content).toMatch(/\[\d\]/);
      const annotations = choice.message.annotations!;
      const markers = [...content.matchAll(/\[(\d+)\]/g)];
      expect(annotations).toHaveLength(markers.length);
      const sot = (completion as unknown as { sot: any }).sot;
      for (const a of annotations) {
        expect(a.type).toBe("url_citation");
        const marker = content.slice(a.url_citation.start_index, a.url_citation.end_index);
        expect(marker).toMatch(/^\[\d+\]$/);
        const source = sot.sources[Number(marker.slice(1, -1)) - 1];
        expect(a.url_citation.url).toBe(source.url);
        expect(a.url_citation.title).toContain(source.title);
      }
      // The leave page has a web address; the others open on SOT's document page.
      expect(annotations.some((a) => a.url_citation.url.startsWith(`${LEAVE_URL}#`))).toBe(true);
      for (const s of sot.sources) {
        expect(s.collection).toBe("handbook");
        expect(s.chunk_id).toMatch(/^[0-9a-f-]{36}$/);
        expect(typeof s.scores.fused).toBe("number");
        if (s.document_id === w.documents.leave) expect(s.url).toMatch(new RegExp(`^${LEAVE_URL}#[a-z-]+$`));
        else expect(s.url).toMatch(new RegExp(`^${w.app.baseUrl}/documents/${s.document_id}\\?chunk=${s.chunk_id}(#[a-z-]+)?$`));
      }
      expect(sot.citations.map((c: any) => content.slice(c.start_index, c.end_index))).toEqual(markers.map((m) => m[0]));
      expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
      expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
      // The query log holds this answer, for feedback and scoring, on behalf of the key.
      const log = await w.app.db!.prisma.queryLog.findUniqueOrThrow({ where: { id: sot.query_log_id } });
      expect(log.apiKeyId).not.toBeNull();
      expect(log.collectionIds).toEqual([w.collections.handbook]);
    });

    it("streams spec-exact chunks: the role first, text, one final chunk with annotations, finish reason and sources, then usage and [DONE]", async () => {
      const stream = await client(w.keys.viewer).chat.completions.create({
        model: "handbook",
        messages: [{ role: "user", content: LEAVE_QUESTION }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: any[] = [];
      for await (const c of stream) chunks.push(c);
      const ids = new Set(chunks.map((c) => c.id));
      expect(ids.size).toBe(1);
      for (const c of chunks) expect(c.object).toBe("chat.completion.chunk");
      expect(chunks[0].choices[0].delta).toMatchObject({ role: "assistant", content: "" });
      const usageChunk = chunks.at(-1);
      expect(usageChunk.choices).toEqual([]);
      expect(usageChunk.usage.total_tokens).toBeGreaterThan(0);
      for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
      const final = chunks.at(-2);
      expect(final.choices[0].finish_reason).toBe("stop");
      expect(chunks.filter((c) => c.choices[0]?.finish_reason).length).toBe(1);
      // Sources once, in the final chunk — never repeated per chunk.
      expect(chunks.filter((c) => "sot" in c)).toEqual([final]);
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
      expect(text).toContain("twenty five days");
      expect(text.length).toBeGreaterThan(0);
      const contentChunks = chunks.filter((c) => c.choices[0]?.delta?.content);
      expect(contentChunks.length).toBeGreaterThan(3);
      const annotations = final.choices[0].delta.annotations;
      expect(annotations.length).toBe([...text.matchAll(/\[\d+\]/g)].length);
      for (const a of annotations) expect(text.slice(a.url_citation.start_index, a.url_citation.end_index)).toMatch(/^\[\d+\]$/);
      expect(final.sot.sources.length).toBeGreaterThan(0);
    });

    it("works with the SDK's stream helper: the final message carries the annotations", async () => {
      const runner = client(w.keys.viewer).chat.completions.stream({ model: "handbook", messages: [{ role: "user", content: LEAVE_QUESTION }] });
      const done = await runner.finalChatCompletion();
      const message = done.choices[0]!.message;
      expect(message.annotations!.length).toBeGreaterThan(0);
      for (const a of message.annotations!) expect(message.content!.slice(a.url_citation.start_index, a.url_citation.end_index)).toMatch(/^\[\d+\]$/);
      expect((done as unknown as { sot: { sources: unknown[] } }).sot.sources.length).toBeGreaterThan(0);
    });

    it("ends the raw stream with data: [DONE], sends no usage unless asked, and an empty annotation list when nothing is cited", async () => {
      const res = await raw("/v1/chat/completions", {
        method: "POST",
        key: w.keys.viewer,
        body: JSON.stringify({ model: "handbook", stream: true, messages: [{ role: "user", content: "Which spaceship does the mascot fly?" }] }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const body = await res.text();
      const events = body.split("\n\n").filter(Boolean);
      expect(events.at(-1)).toBe("data: [DONE]");
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
      for (const c of chunks) expect("usage" in c).toBe(false);
      const final = chunks.at(-1);
      expect(final.choices[0].delta).toEqual({ annotations: [] });
      expect(final.choices[0].finish_reason).toBe("stop");
      expect(final.sot.covered).toBe(false);
      expect(chunks.map((c) => c.choices[0].delta.content ?? "").join("")).toBe("The wiki does not cover this.");
    });

    it("passes temperature and max_tokens to the model, and reports finish_reason length when the answer hit the limit", async () => {
      const before = w.ollama.calls.length;
      const completion = await client(w.keys.viewer).chat.completions.create({
        model: "handbook",
        messages: [{ role: "user", content: LEAVE_QUESTION }],
        temperature: 0.7,
        max_tokens: 3,
      });
      const chat = w.ollama.calls.slice(before).find((c) => c.path === "/api/chat")!;
      expect(chat.body.options).toMatchObject({ temperature: 0.7, num_predict: 3 });
      // The fake model does not stop at num_predict, but reports how many tokens it wrote.
      expect(completion.choices[0]!.finish_reason).toBe("length");
    });

    it("rewrites a follow-up with the conversation before it", async () => {
      const completion = await client(w.keys.viewer).chat.completions.create({
        model: "handbook",
        messages: [
          { role: "user", content: LEAVE_QUESTION },
          { role: "assistant", content: "Employees get twenty five days of paid leave per year [1]." },
          { role: "user", content: "And part-time staff?" },
        ],
      });
      const sot = (completion as unknown as { sot: { query_log_id: string } }).sot;
      const log = await w.app.db!.prisma.queryLog.findUniqueOrThrow({ where: { id: sot.query_log_id } });
      expect(log.question).toBe("And part-time staff?");
      expect(completion.choices[0]!.message.content).toMatch(/proportion/);
    });

    it("keeps a key inside its collections: no passage, answer or hint from another collection", async () => {
      const question = "What is the salary band for engineers?";
      // Control: a key that may read payroll gets the canary, so the check below could fail.
      const admin = await raw("/v1/chat/completions", { method: "POST", key: w.keys.admin, body: JSON.stringify({ model: "sot", messages: [{ role: "user", content: question }] }) });
      expect(await admin.text()).toContain(CANARY);
      for (const key of [w.keys.handbookOnly, w.keys.viewer]) {
        for (const stream of [false, true]) {
          const res = await raw("/v1/chat/completions", { method: "POST", key, body: JSON.stringify({ model: "sot", stream, messages: [{ role: "user", content: question }] }) });
          expect(res.status).toBe(200);
          const text = await res.text();
          expect(text).not.toContain(CANARY);
          expect(text).not.toContain(ARCHIVE_CANARY);
          expect(text).not.toContain(w.collections.payroll);
          expect(text).not.toContain(w.documents.salaries);
        }
        const err = await refusal(client(key).chat.completions.create({ model: "payroll", messages: [{ role: "user", content: question }] }));
        expect(err.status).toBe(404);
        expect(err.code).toBe("model_not_found");
        expect(err.message).not.toContain("payroll-archive");
      }
    });
  });

  describe("embeddings", () => {
    it("embeds a string and an array of strings (base64 by the SDK's default, or floats) with usage", async () => {
      const c = client(w.keys.viewer);
      const one = await c.embeddings.create({ model: "nomic-embed-text", input: "paid leave per year" });
      expect(one.object).toBe("list");
      expect(one.data).toHaveLength(1);
      expect(one.data[0]!.embedding).toHaveLength(768);
      const expected = fakeEmbedding("search_document: paid leave per year");
      one.data[0]!.embedding.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 6));
      expect(one.usage.prompt_tokens).toBeGreaterThan(0);
      expect(one.usage.total_tokens).toBe(one.usage.prompt_tokens);
      const many = await c.embeddings.create({ model: "nomic-embed-text", input: ["leave", "on-call pages", "salary"], encoding_format: "float" });
      expect(many.data.map((d) => d.index)).toEqual([0, 1, 2]);
      expect(many.data[1]!.embedding).toEqual(fakeEmbedding("on-call pages"));
      expect(many.model).toBe("nomic-embed-text");
    });

    it("refuses another model, `inputs` instead of `input`, empty and token inputs", async () => {
      const c = client(w.keys.viewer);
      const model = await refusal(c.embeddings.create({ model: "text-embedding-3-small", input: "x" }));
      expect(model.status).toBe(404);
      expect(model.code).toBe("model_not_found");
      expect(model.message).toContain("nomic-embed-text");
      const inputs = await raw("/v1/embeddings", { method: "POST", key: w.keys.viewer, body: JSON.stringify({ model: "nomic-embed-text", inputs: ["x"] }) });
      expect(inputs.status).toBe(400);
      expect((await inputs.json()).error).toMatchObject({ type: "invalid_request_error", param: "input" });
      expect((await refusal(c.embeddings.create({ model: "nomic-embed-text", input: ["ok", " "] }))).param).toBe("input[1]");
      expect((await refusal(c.embeddings.create({ model: "nomic-embed-text", input: [[1, 2, 3]] }))).code).toBe("unsupported_value");
      expect((await refusal(c.embeddings.create({ model: "nomic-embed-text", input: "x", dimensions: 256 }))).param).toBe("dimensions");
    });
  });

  describe("bad input", () => {
    const expectShape = async (res: Response, status: number, match: Record<string, unknown>) => {
      expect(res.status).toBe(status);
      const body = await res.json();
      expect(Object.keys(body)).toEqual(["error"]);
      expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
      expect(body.error).toMatchObject(match);
      expect(body.error.message.length).toBeGreaterThan(10);
      return body.error;
    };

    it("answers invalid JSON, an empty body and a wrong content type with 400/415 in OpenAI's shape", async () => {
      await expectShape(await raw("/v1/chat/completions", { method: "POST", key: w.keys.viewer, body: '{"model": "handbook", "messages": [' }), 400, { type: "invalid_request_error" });
      await expectShape(await raw("/v1/chat/completions", { method: "POST", key: w.keys.viewer, body: "" }), 400, { code: "missing_body" });
      await expectShape(
        await raw("/v1/chat/completions", { method: "POST", key: w.keys.viewer, body: "model=handbook", headers: { "content-type": "application/x-www-form-urlencoded" } }),
        415,
        { type: "invalid_request_error", code: "unsupported_media_type" },
      );
    });

    it("answers a wrong role order, an empty message list, an unknown model and unsupported features through the SDK's error classes", async () => {
      const c = client(w.keys.viewer);
      const order = await refusal(c.chat.completions.create({ model: "handbook", messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }] }));
      expect(order).toBeInstanceOf(OpenAI.BadRequestError);
      expect(order.param).toBe("messages[1].role");
      expect(order.message).toMatch(/last message must be the user's question/);
      const empty = await refusal(c.chat.completions.create({ model: "handbook", messages: [] }));
      expect(empty.status).toBe(400);
      expect(empty.param).toBe("messages");
      const unknown = await refusal(c.chat.completions.create({ model: "handbok", messages: [{ role: "user", content: "hi" }] }));
      expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
      expect(unknown.code).toBe("model_not_found");
      expect(unknown.message).toContain("Did you mean: handbook?");
      const tools = await refusal(
        c.chat.completions.create({ model: "handbook", messages: [{ role: "user", content: "hi" }], tools: [{ type: "function", function: { name: "lookup", parameters: {} } }] }),
      );
      expect(tools.code).toBe("unsupported_parameter");
      expect(tools.param).toBe("tools");
      expect((await refusal(c.chat.completions.create({ model: "handbook", messages: [{ role: "user", content: "hi" }], n: 2 }))).param).toBe("n");
      const image = await refusal(
        c.chat.completions.create({
          model: "handbook",
          messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] }],
        }),
      );
      expect(image.param).toBe("messages[0].content[1].type");
    });

    it("refuses a 10 MB message with 413 before reading it all", async () => {
      const huge = JSON.stringify({ model: "handbook", messages: [{ role: "user", content: "x".repeat(10 * 1024 * 1024) }] });
      const err = await expectShape(await raw("/v1/chat/completions", { method: "POST", key: w.keys.viewer, body: huge }), 413, { code: "request_too_large" });
      expect(err.message).toMatch(/larger than the limit/);
    });

    it("answers no key, a bad key and a key without the ask scope with 401/403 in OpenAI's shape", async () => {
      const none = await expectShape(await raw("/v1/models"), 401, { type: "invalid_request_error", code: "invalid_api_key" });
      expect(none.message).toMatch(/API key/);
      const bad = await refusal(client(`sot_abcdefgh_${"x".repeat(43)}`).models.list());
      expect(bad).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(bad.code).toBe("invalid_api_key");
      const noScope = await refusal(client(w.keys.scoreOnly).chat.completions.create({ model: "handbook", messages: [{ role: "user", content: "hi" }] }));
      expect(noScope).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(noScope.type).toBe("permission_error");
    });

    it("answers unknown /v1 paths with 404 and other methods with 405, both in OpenAI's shape", async () => {
      const unknown = await expectShape(await raw("/v1/completions", { method: "POST", key: w.keys.viewer, body: "{}" }), 404, { code: "not_found" });
      expect(unknown.message).toContain("POST /v1/completions");
      await expectShape(await raw("/v1/chat/completions", { method: "GET", key: w.keys.viewer }), 405, { code: "method_not_allowed" });
    });
  });
});
