// POST /v1/chat/completions' request checks (lib/openai/chat-request.ts) and OpenAI's error shape
// (lib/openai/errors.ts): every bad input is a 400 (or 404/413/…) naming the field the way OpenAI does.
import { describe, expect, it } from "vitest";
import { AppError, PayloadTooLargeError, RateLimitError, UnauthorizedError, ValidationError } from "@/lib/errors";
import { parseChatRequest } from "@/lib/openai/chat-request";
import { openAiErrorBody, OpenAiRequestError } from "@/lib/openai/errors";

const user = (content: unknown) => ({ role: "user", content });
const ask = (extra: Record<string, unknown> = {}) => ({ model: "handbook", messages: [user("How many leave days?")], ...extra });

function refusal(raw: unknown): { status: number; body: ReturnType<typeof openAiErrorBody> } {
  try {
    parseChatRequest(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return { status: (err as AppError).status, body: openAiErrorBody(err as AppError) };
  }
  throw new Error(`accepted: ${JSON.stringify(raw).slice(0, 200)}`);
}

describe("parseChatRequest", () => {
  it("takes the last user message as the question and the earlier turns as history; system prompts are accepted, not passed on", () => {
    const r = parseChatRequest({
      model: "handbook",
      messages: [
        { role: "system", content: "You are a helpful assistant." },
        user("What is the leave policy?"),
        { role: "assistant", content: "Twenty five days [1]." },
        { role: "developer", content: [{ type: "text", text: "Be brief." }] },
        user([{ type: "text", text: "And for" }, { type: "text", text: "part-timers?" }]),
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.4,
      max_tokens: 50,
      user: "someone@example.com",
      metadata: { ticket: "42" },
      some_future_field: { anything: true },
      tools: [],
      tool_choice: "none",
    });
    expect(r).toEqual({
      model: "handbook",
      question: "And for\npart-timers?",
      history: [
        { role: "user", content: "What is the leave policy?" },
        { role: "assistant", content: "Twenty five days [1]." },
      ],
      stream: true,
      includeUsage: true,
      temperature: 0.4,
      maxTokens: 50,
    });
  });

  it("prefers max_completion_tokens, asks for usage only when streaming, and keeps the 50 most recent turns, each cut to 20000 characters", () => {
    const long = "x".repeat(25_000);
    const messages = [...Array.from({ length: 60 }, (_, i) => (i % 2 ? { role: "assistant", content: `a${i}` } : user(i === 58 ? long : `q${i}`))), user("now?")];
    const r = parseChatRequest({ model: "m", messages, max_tokens: 10, max_completion_tokens: 20, stream_options: { include_usage: true } });
    expect(r.maxTokens).toBe(20);
    expect(r.includeUsage).toBe(false);
    expect(r.history).toHaveLength(50);
    expect(r.history[0]).toEqual({ role: "user", content: "q10" });
    expect(r.history.at(-2)!.content).toHaveLength(20_000);
    expect(r.history.at(-1)).toEqual({ role: "assistant", content: "a59" });
  });

  it("refuses a body that is not an object, a missing model and an empty message list, naming the field", () => {
    expect(refusal(undefined).body.error).toMatchObject({ type: "invalid_request_error", code: "missing_body", param: null });
    expect(refusal([1, 2]).body.error).toMatchObject({ code: "invalid_value", param: null });
    const noModel = refusal({ messages: [user("hi")] });
    expect(noModel.status).toBe(400);
    expect(noModel.body.error).toMatchObject({ code: "missing_required_parameter", param: "model" });
    expect(noModel.body.error.message).toMatch(/model/);
    const empty = refusal({ model: "m", messages: [] });
    expect(empty.body.error).toMatchObject({ param: "messages", code: "invalid_value" });
    expect(empty.body.error.message).toMatch(/at least one message/);
    expect(refusal({ model: "m", messages: "hello" }).body.error.param).toBe("messages");
  });

  it("refuses a conversation that does not end with the user's question", () => {
    const r = refusal({ model: "m", messages: [user("hi"), { role: "assistant", content: "Hello!" }] });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ param: "messages[1].role", code: "invalid_value" });
    expect(r.body.error.message).toMatch(/last message must be the user's question/);
    expect(refusal({ model: "m", messages: [user("  ")] }).body.error.param).toBe("messages[0].content");
    expect(refusal({ model: "m", messages: [{ role: "wizard", content: "x" }] }).body.error).toMatchObject({ param: "messages[0].role", code: "invalid_value" });
  });

  it("refuses a question longer than the pipeline takes", () => {
    const r = refusal({ model: "m", messages: [user("q".repeat(4001))] });
    expect(r.body.error).toMatchObject({ code: "string_above_max_length", param: "messages[0].content" });
    expect(r.body.error.message).toContain("4001");
  });

  it("refuses what SOT cannot do: tools, several choices, images, tool messages, structured output, log probabilities", () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [ask({ tools: [{ type: "function", function: { name: "f" } }] }), "tools", "unsupported_parameter"],
      [ask({ functions: [{ name: "f" }] }), "functions", "unsupported_parameter"],
      [ask({ tool_choice: "required" }), "tool_choice", "unsupported_parameter"],
      [ask({ n: 3 }), "n", "unsupported_value"],
      [ask({ response_format: { type: "json_schema", json_schema: {} } }), "response_format", "unsupported_parameter"],
      [ask({ logprobs: true }), "logprobs", "unsupported_parameter"],
      [ask({ modalities: ["text", "audio"] }), "modalities", "unsupported_parameter"],
      [
        { model: "m", messages: [user([{ type: "text", text: "what is this" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }])] },
        "messages[0].content[1].type",
        "unsupported_content",
      ],
      [{ model: "m", messages: [user("q"), { role: "tool", content: "42", tool_call_id: "x" }, user("q")] }, "messages[1].role", "unsupported_parameter"],
      [{ model: "m", messages: [{ role: "assistant", content: null, tool_calls: [{ id: "1" }] }, user("q")] }, "messages[0].tool_calls", "unsupported_parameter"],
    ];
    for (const [raw, param, code] of cases) {
      const r = refusal(raw);
      expect(r.status, param).toBe(400);
      expect(r.body.error, param).toMatchObject({ type: "invalid_request_error", param, code });
      expect(r.body.error.message.length, param).toBeGreaterThan(10);
    }
  });

  it("checks the types of the options it honours", () => {
    expect(refusal(ask({ temperature: 3 })).body.error.param).toBe("temperature");
    expect(refusal(ask({ max_tokens: 0 })).body.error.param).toBe("max_tokens");
    expect(refusal(ask({ stream: "yes" })).body.error.param).toBe("stream");
    expect(refusal({ model: "m", messages: [{ role: "user", content: 42 }] }).body.error.param).toBe("messages[0].content");
  });
});

describe("OpenAI's error shape", () => {
  it("maps the project's errors to OpenAI's type, code and param", () => {
    expect(openAiErrorBody(new UnauthorizedError())).toEqual({
      error: { message: expect.any(String), type: "invalid_request_error", param: null, code: "invalid_api_key" },
    });
    expect(openAiErrorBody(new RateLimitError(3)).error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(openAiErrorBody(new PayloadTooLargeError(4_000_000)).error).toMatchObject({ type: "invalid_request_error", code: "request_too_large" });
    expect(openAiErrorBody(new ValidationError("bad", [{ path: "messages.2.content", message: "x" }])).error.param).toBe("messages[2].content");
    expect(openAiErrorBody(new ValidationError("The body is not valid JSON", [{ path: "(body)", message: "invalid JSON" }])).error.param).toBeNull();
    expect(openAiErrorBody(new OpenAiRequestError(404, "model_not_found", "no", "model")).error).toEqual({ message: "no", type: "invalid_request_error", param: "model", code: "model_not_found" });
    expect(openAiErrorBody(new AppError(503, "model_unavailable", "down")).error.type).toBe("server_error");
  });
});
