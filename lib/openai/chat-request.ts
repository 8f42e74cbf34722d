// POST /v1/chat/completions' request, checked the way OpenAI checks it: each problem is a 400 naming the
// field (`param`) in OpenAI's spelling. What SOT does is answer the last user message from the wiki, with
// the earlier user and assistant messages as the conversation (for rewriting follow-ups). Accepted and
// honoured: stream, stream_options.include_usage, temperature, max_tokens / max_completion_tokens.
// Accepted and ignored: user, metadata, and any field this API does not know. Refused: what SOT cannot
// do (tools, several choices, images and audio, structured output, log probabilities).
import { z } from "zod";
import { OpenAiRequestError, openAiParam } from "./errors";

/** The longest question the Ask pipeline takes (askInputSchema in lib/answer/types.ts); history limits likewise. */
const MAX_QUESTION = 4000;
/** Earlier turns kept (the most recent ones): they only serve to rewrite a follow-up question. */
const MAX_HISTORY = 50;
/** Characters kept of each earlier turn. */
const MAX_TURN = 20000;

const part = z.object({ type: z.string() }).passthrough();
const message = z
  .object({
    role: z.string({ error: "must be a string" }),
    content: z.union([z.string(), z.array(part), z.null()]).optional(),
  })
  .passthrough();

const chatRequestSchema = z
  .object({
    model: z.string({ error: "you must provide a model parameter" }).min(1, "you must provide a model parameter"),
    messages: z.array(message, { error: "must be an array of messages" }).min(1, "must contain at least one message"),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).passthrough().nullish(),
    temperature: z.number().min(0, "must be between 0 and 2").max(2, "must be between 0 and 2").nullish(),
    max_tokens: z.number().int("must be an integer").min(1, "must be at least 1").nullish(),
    max_completion_tokens: z.number().int("must be an integer").min(1, "must be at least 1").nullish(),
    n: z.number().int("must be an integer").min(1, "must be at least 1").nullish(),
    user: z.string().max(512).nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();

export interface ChatRequest {
  model: string;
  question: string;
  history: Array<{ role: "user" | "assistant"; content: string }>;
  stream: boolean;
  includeUsage: boolean;
  temperature?: number;
  maxTokens?: number;
}

const bad = (param: string | null, message: string, code = "invalid_value") => new OpenAiRequestError(400, code, message, param);
const unsupported = (param: string, message: string) => new OpenAiRequestError(400, "unsupported_parameter", message, param);

/** A message's text: a string, or its text parts joined; other parts (images, audio, files) are refused. */
function textOf(content: unknown, at: string): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  const parts = content as Array<{ type: string; text?: unknown }>;
  return parts
    .map((p, j) => {
      if (p.type !== "text") {
        throw new OpenAiRequestError(
          400,
          "unsupported_content",
          `Content parts of type "${p.type}" are not supported: SOT answers text questions from the wiki (send text parts only).`,
          `${at}.content[${j}].type`,
        );
      }
      if (typeof p.text !== "string") throw bad(`${at}.content[${j}].text`, "A text part needs a `text` string.");
      return p.text;
    })
    .join("\n");
}

function refuseUnsupported(body: Record<string, unknown>): void {
  const nonEmpty = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
  if (nonEmpty(body.tools)) unsupportedThrow("tools", "Tools are not supported: SOT answers from the wiki and calls no tools.");
  if (nonEmpty(body.functions)) unsupportedThrow("functions", "Functions are not supported: SOT answers from the wiki and calls no functions.");
  if (nonEmpty(body.tool_choice) && body.tool_choice !== "none" && body.tool_choice !== "auto") {
    unsupportedThrow("tool_choice", "tool_choice is not supported: SOT calls no tools.");
  }
  if (nonEmpty(body.function_call) && body.function_call !== "none" && body.function_call !== "auto") {
    unsupportedThrow("function_call", "function_call is not supported: SOT calls no functions.");
  }
  const format = body.response_format as { type?: unknown } | null | undefined;
  if (format && typeof format === "object" && format.type !== undefined && format.type !== "text") {
    unsupportedThrow("response_format", `response_format ${JSON.stringify(format.type)} is not supported: answers are cited text.`);
  }
  if (body.logprobs === true) unsupportedThrow("logprobs", "Log probabilities are not supported.");
  if (typeof body.top_logprobs === "number" && body.top_logprobs > 0) unsupportedThrow("top_logprobs", "Log probabilities are not supported.");
  if (nonEmpty(body.audio) || (Array.isArray(body.modalities) && body.modalities.some((m) => m !== "text"))) {
    unsupportedThrow("modalities", "Only text answers are supported.");
  }
}
function unsupportedThrow(param: string, message: string): never {
  throw unsupported(param, message);
}

export function parseChatRequest(raw: unknown): ChatRequest {
  if (raw === undefined) throw bad(null, "The request has no body: send a JSON object with `model` and `messages`.", "missing_body");
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(null, "The body must be a JSON object with `model` and `messages`.");
  const parsed = chatRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = openAiParam(issue.path.map(String).join(".")) || null;
    const missing = issue.code === "invalid_type" && (raw as Record<string, unknown>)[String(issue.path[0])] === undefined && issue.path.length === 1;
    throw bad(param, `Invalid \`${param ?? "body"}\`: ${issue.message}.`, missing ? "missing_required_parameter" : "invalid_value");
  }
  const body = parsed.data;
  refuseUnsupported(body);
  if (body.n !== undefined && body.n !== null && body.n > 1) {
    throw new OpenAiRequestError(400, "unsupported_value", "Only one choice per request is supported (n must be 1).", "n");
  }

  const turns: ChatRequest["history"] = [];
  body.messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    switch (m.role) {
      case "system":
      case "developer":
        // SOT's own instructions decide how answers are grounded and cited; a client's system prompt
        // is accepted (chat clients always send one) but not passed to the model.
        textOf(m.content, at);
        return;
      case "user":
      case "assistant": {
        const toolCalls = m.tool_calls;
        if (m.role === "assistant" && Array.isArray(toolCalls) && toolCalls.length > 0) {
          throw unsupported(`${at}.tool_calls`, "Tool calls are not supported: SOT calls no tools.");
        }
        turns.push({ role: m.role, content: textOf(m.content, at) });
        return;
      }
      case "tool":
      case "function":
        throw unsupported(`${at}.role`, `Messages with role "${m.role}" are not supported: SOT calls no tools.`);
      default:
        throw bad(`${at}.role`, `Invalid role "${m.role}": use "system", "developer", "user" or "assistant".`);
    }
  });

  const lastIndex = body.messages.length - 1;
  const last = body.messages[lastIndex]!;
  if (last.role !== "user") {
    throw bad(
      `messages[${lastIndex}].role`,
      `The last message must be the user's question (role "user"); it has role "${last.role}". Earlier messages are the conversation so far.`,
    );
  }
  const question = turns.at(-1)!.content.trim();
  if (!question) throw bad(`messages[${lastIndex}].content`, "The last user message is empty: send the question as its content.");
  if (question.length > MAX_QUESTION) {
    throw bad(
      `messages[${lastIndex}].content`,
      `The question is ${question.length} characters long; the most SOT takes is ${MAX_QUESTION}.`,
      "string_above_max_length",
    );
  }
  const history = turns
    .slice(0, -1)
    .filter((t) => t.content.trim() !== "")
    .slice(-MAX_HISTORY)
    .map((t) => ({ role: t.role, content: t.content.length > MAX_TURN ? t.content.slice(0, MAX_TURN) : t.content }));

  const request: ChatRequest = {
    model: body.model,
    question,
    history,
    stream: body.stream === true,
    includeUsage: body.stream === true && body.stream_options?.include_usage === true,
    ...(typeof body.temperature === "number" ? { temperature: body.temperature } : {}),
    ...(body.max_completion_tokens ?? body.max_tokens ? { maxTokens: (body.max_completion_tokens ?? body.max_tokens)! } : {}),
  };
  return request;
}
