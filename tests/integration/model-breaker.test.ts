// The breaker in the model client against the fake Ollama through the real `ollama` library: a chat model
// that keeps failing is paused, answers then come from the fallback model at once (the failing model is
// not called again during the cool-down), one trial after it closes the breaker, the health check and the
// metrics show it; an explicit model (the judge) is refused at once with a clear message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";
import { Llm, isLlmUnavailable } from "@/lib/llm";
import { breakerViews, publishBreakers } from "@/lib/llm/breaker";
import { renderProcessMetrics } from "@/lib/metrics";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";

describe("model circuit breaker in the client", () => {
  let fake: FakeOllama;
  let failing = true;
  beforeAll(async () => {
    fake = await startFakeOllama({
      onChat: (req) => {
        if (failing && req.model.startsWith("llama3.3")) throw new Error("CUDA error: out of memory");
        return `answered by ${req.model}`;
      },
    });
  });
  afterAll(async () => {
    await fake?.close();
  });

  const chatCalls = (model: string) => fake.calls.filter((c) => c.path === "/api/chat" && String(c.body.model).startsWith(model)).length;

  it("pauses the chat model after three failures and answers from the fallback at once, then closes after a good trial", async () => {
    const llm = new Llm(parseConfig({ OLLAMA_HOST: fake.url, OLLAMA_BREAKER_FAILURES: "3", OLLAMA_BREAKER_COOLDOWN_MS: "1500" }));
    publishBreakers(llm.breakers);
    const ask = () => llm.chat([{ role: "user", content: "hello" }]);
    for (let i = 0; i < 3; i++) await expect(ask()).rejects.toThrow(/CUDA error|500/);
    expect(chatCalls("llama3.3")).toBe(3);
    const status = await llm.status();
    expect(status.breakers).toEqual([expect.objectContaining({ model: "llama3.3:70b-instruct-q4_K_M", state: "open", consecutiveFailures: 3 })]);
    expect(renderProcessMetrics("test")).toContain('sot_model_breaker_open{model="llama3.3:70b-instruct-q4_K_M"} 1');

    // Paused: straight to the fallback, the chat model is not called.
    expect((await ask()).content).toBe("answered by qwen2.5:32b");
    const streamed: string[] = [];
    for await (const ev of llm.chatStream([{ role: "user", content: "hello" }])) if (ev.type === "done") streamed.push(ev.model);
    expect(streamed).toEqual(["qwen2.5:32b"]);
    expect(chatCalls("llama3.3")).toBe(3);

    // An explicit model (as the judge asks) is refused at once, saying when it is tried again.
    const judged = await llm.chat([{ role: "user", content: "judge" }], { model: "llama3.3:70b-instruct-q4_K_M" }).catch((e: unknown) => e);
    expect(isLlmUnavailable(judged)).toBe(true);
    expect((judged as Error).message).toMatch(/Model llama3\.3:70b-instruct-q4_K_M is paused after 3 failed calls in a row \(last: .*\); the next try is at \d{4}-/);
    expect(chatCalls("llama3.3")).toBe(3);

    // After the cool-down one trial reaches the model; it answers, and the breaker is closed.
    failing = false;
    await new Promise((r) => setTimeout(r, 1600));
    expect((await llm.chat([{ role: "user", content: "judge" }], { model: "llama3.3:70b-instruct-q4_K_M" })).content).toBe("answered by llama3.3:70b-instruct-q4_K_M");
    expect(chatCalls("llama3.3")).toBe(4);
    expect((await ask()).content).toBe("answered by llama3.3:70b-instruct-q4_K_M");
    expect((await llm.status()).breakers).toEqual([]);
    expect(breakerViews().find((b) => b.model.startsWith("llama3.3"))).toMatchObject({ state: "closed" });
    expect(renderProcessMetrics("test")).toContain('sot_model_breaker_open{model="llama3.3:70b-instruct-q4_K_M"} 0');
  });

  it("counts timeouts, not a caller who stops the answer or a model that is not there", async () => {
    // Tokens every 100 ms (a stream the caller stops half-way), and a server that takes 400 ms to start.
    const typing = await startFakeOllama({ tokenDelayMs: 100 });
    const slow = await startFakeOllama({ firstTokenDelayMs: 400 });
    try {
      const llm = new Llm(parseConfig({ OLLAMA_HOST: typing.url, OLLAMA_BREAKER_FAILURES: "2" }));
      for (let i = 0; i < 3; i++) {
        const stop = new AbortController();
        let tokens = 0;
        for await (const ev of llm.chatStream([{ role: "user", content: "Question: what is the leave policy for parents and carers?" }], { signal: stop.signal })) {
          if (ev.type === "token" && ++tokens === 2) stop.abort();
        }
        expect(tokens).toBe(2);
      }
      // A model Ollama does not have: an answer, not a failure.
      await expect(llm.chat([{ role: "user", content: "x" }], { model: "no-such-model" })).rejects.toThrow(/has no model no-such-model/);
      expect(llm.openBreakers()).toEqual([]);

      const timing = new Llm(parseConfig({ OLLAMA_HOST: slow.url, OLLAMA_TIMEOUT_MS: "150", OLLAMA_BREAKER_FAILURES: "2" }));
      for (let i = 0; i < 2; i++) await expect(timing.chat([{ role: "user", content: "x" }], { model: "qwen2.5:32b" })).rejects.toThrow(/timed out/);
      expect(timing.openBreakers()).toEqual([expect.objectContaining({ model: "qwen2.5:32b", state: "open", lastError: expect.stringMatching(/not reachable \(timed out\)/) })]);
    } finally {
      await typing.close();
      await slow.close();
    }
  });
});
