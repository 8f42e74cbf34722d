// The Ollama wrapper against the protocol-level fake, through the real `ollama` client.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";
import { Llm, LlmUnavailableError } from "@/lib/llm";
import { NOT_COVERED, startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";

const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe("lib/llm against the fake Ollama", () => {
  let fake: FakeOllama;
  let llm: Llm;
  beforeAll(async () => {
    fake = await startFakeOllama();
    llm = new Llm(parseConfig({ OLLAMA_HOST: fake.url, OLLAMA_NUM_CTX: "4096" }));
  });
  afterAll(() => fake.close());

  it("reports reachability and no missing models", async () => {
    const s = await llm.status();
    expect(s.reachable).toBe(true);
    expect(s.missing).toEqual([]);
    expect(s.models.find((m) => m.role === "embed")).toMatchObject({ name: "nomic-embed-text", present: true });
  });

  it("names the configured models Ollama lacks", async () => {
    const other = new Llm(parseConfig({ OLLAMA_HOST: fake.url, OLLAMA_JUDGE_MODEL: "mistral:7b" }));
    expect((await other.status()).missing).toEqual(["mistral:7b"]);
  });

  it("embeds a batch in one call with the task prefix, 768-d, similar texts closer", async () => {
    const before = fake.embedBatches.length;
    const [a, b, c] = await llm.embed(
      ["How do I rotate the on-call pager?", "Rotating the on-call pager schedule", "Expense reports for travel"],
      "document",
    );
    expect(fake.embedBatches.slice(before)).toEqual([3]);
    const call = fake.calls.filter((x) => x.path === "/api/embed").at(-1)!;
    expect(call.body.input[0]).toBe("search_document: How do I rotate the on-call pager?");
    expect(a!.length).toBe(768);
    expect(cosine(a!, b!)).toBeGreaterThan(cosine(a!, c!));
    const [q] = await llm.embed(["pager"], "query");
    expect(fake.calls.filter((x) => x.path === "/api/embed").at(-1)!.body.input[0]).toBe("search_query: pager");
    expect(q!.length).toBe(768);
  });

  it("streams tokens and reports token counts, with num_ctx always set", async () => {
    const messages = [
      { role: "system" as const, content: "Answer only from the sources.\n\n[1] The VPN gateway is vpn.example.test. Use the Pritunl client." },
      { role: "user" as const, content: "Question: What is the VPN gateway?" },
    ];
    const tokens: string[] = [];
    let done: { promptTokens: number; completionTokens: number; content: string } | undefined;
    for await (const ev of llm.chatStream(messages)) {
      if (ev.type === "token") tokens.push(ev.text);
      else done = ev;
    }
    expect(tokens.length).toBeGreaterThan(3);
    expect(done!.content).toBe(tokens.join(""));
    expect(done!.content).toMatch(/vpn\.example\.test.*\[1\]/);
    expect(done!.completionTokens).toBe(tokens.length);
    expect(done!.promptTokens).toBeGreaterThan(0);
    expect(fake.calls.filter((c) => c.path === "/api/chat").at(-1)!.body.options.num_ctx).toBe(4096);
  });

  it("says the wiki does not cover a question no source answers", async () => {
    const r = await llm.chat([
      { role: "system", content: "[1] Lunch is served at noon." },
      { role: "user", content: "Question: Which Kubernetes version do we run?" },
    ]);
    expect(r.content).toBe(NOT_COVERED);
  });

  it("sends the JSON schema as format with temperature 0 and a fixed seed", async () => {
    const schema = { type: "object", properties: { claims: { type: "array" }, ok: { type: "boolean" } }, required: ["claims", "ok"] };
    const r = await llm.chatJson([{ role: "user", content: "judge" }], schema);
    expect(JSON.parse(r.content)).toEqual({ claims: [], ok: false });
    const body = fake.calls.filter((c) => c.path === "/api/chat").at(-1)!.body;
    expect(body.format).toEqual(schema);
    expect(body.options).toMatchObject({ temperature: 0, seed: 42 });
    expect(body.stream).toBe(false);
  });

  it("falls back to the fallback model when the chat model is missing", async () => {
    const fb = await startFakeOllama({ models: ["qwen2.5:32b"] });
    try {
      const r = await new Llm(parseConfig({ OLLAMA_HOST: fb.url })).chat([{ role: "user", content: "hi" }]);
      expect(r.model).toBe("qwen2.5:32b");
    } finally {
      await fb.close();
    }
  });

  it("turns an unreachable Ollama into LlmUnavailableError, and status into reachable: false", async () => {
    const down = new Llm(parseConfig({ OLLAMA_HOST: "http://127.0.0.1:9" }));
    await expect(down.embed(["x"], "query")).rejects.toBeInstanceOf(LlmUnavailableError);
    await expect(down.chat([{ role: "user", content: "x" }])).rejects.toThrow(/not reachable/);
    const s = await down.status();
    expect(s.reachable).toBe(false);
    expect(s.missing.length).toBe(3);
  });

  it("stops a stream when the caller aborts", async () => {
    const slow = await startFakeOllama({ tokenDelayMs: 20 });
    try {
      const l = new Llm(parseConfig({ OLLAMA_HOST: slow.url }));
      const ac = new AbortController();
      let count = 0;
      const messages = [
        { role: "system" as const, content: "[1] " + "The deploy pipeline runs tests and lints and builds images. ".repeat(5) },
        { role: "user" as const, content: "Question: what does the deploy pipeline run?" },
      ];
      for await (const ev of l.chatStream(messages, { signal: ac.signal })) {
        if (ev.type === "token" && ++count === 2) ac.abort();
      }
      expect(count).toBe(2);
    } finally {
      await slow.close();
    }
  });
});
